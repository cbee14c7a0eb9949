package introspect_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/introspect"
)

// The assertion's aud is the endpoint by default, and what
// WithAssertionAudience says otherwise (the issuer, for Keycloak before 25
// and RFC 7523's update).
func TestAssertionAudience(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auds := make(chan any, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		parts := strings.Split(r.PostForm.Get("client_assertion"), ".")
		var claims map[string]any
		if len(parts) == 3 {
			if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
				_ = json.Unmarshal(b, &claims)
			}
		}
		auds <- claims["aud"]
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"active":true,"aud":"orders"}`)
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name string
		opts []introspect.Option
		want string
	}{
		{"default: the endpoint", nil, srv.URL + "/introspect"},
		{"the issuer", []introspect.Option{introspect.WithAssertionAudience("https://sso.example.com/realms/prod")}, "https://sso.example.com/realms/prod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := introspect.New(srv.URL+"/introspect", introspect.PrivateKeyJWT("orders-api", key, ""),
				append([]introspect.Option{introspect.WithHTTPClient(srv.Client()), introspect.WithLogger(discard)}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Introspect(t.Context(), "opaque-"+tc.name); err != nil {
				t.Fatal(err)
			}
			if got := <-auds; got != tc.want {
				t.Errorf("aud = %v, want %q (a single string)", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name string
		auth introspect.ClientAuth
		aud  string
	}{
		{"not a private_key_jwt client", introspect.ClientSecretBasic("orders-api", "s"), "https://sso.example.com/"},
		{"empty", introspect.PrivateKeyJWT("orders-api", key, ""), ""},
		{"plain http", introspect.PrivateKeyJWT("orders-api", key, ""), "http://sso.example.com/"},
	} {
		if _, err := introspect.New(srv.URL, tc.auth, introspect.WithAssertionAudience(tc.aud)); err == nil {
			t.Errorf("%s: WithAssertionAudience(%q) accepted", tc.name, tc.aud)
		}
	}
}
