package interop

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	echoapi "github.com/bearerguard/bearerguard/examples/echo/api"
	ginapi "github.com/bearerguard/bearerguard/examples/gin/api"
	nethttpapi "github.com/bearerguard/bearerguard/examples/nethttp/api"
	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

var handlers = map[string]func(setup.Config, *http.Client) (http.Handler, func(), error){
	"nethttp": nethttpapi.New,
	"gin":     ginapi.New,
	"echo":    echoapi.New,
}

// goToken gets a token with golang.org/x/oauth2/clientcredentials.
func (a *authServer) goToken(clientID, scope, resource string) string {
	a.t.Helper()
	cfg := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: a.endpoint("token_endpoint"),
		Scopes: strings.Fields(scope), EndpointParams: url.Values{"resource": {resource}}, AuthStyle: oauth2.AuthStyleInHeader}
	tok, err := cfg.Token(context.WithValue(context.Background(), oauth2.HTTPClient, a.client)) // a.client trusts an HTTPS provider
	if err != nil {
		a.t.Fatalf("x/oauth2 client credentials: %v", err)
	}
	return tok.AccessToken
}

type answer struct {
	status    int
	challenge string
	body      setup.DataReply
}

func call(t *testing.T, srv *httptest.Server, method, token string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+"/data", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, challenge: resp.Header.Get("WWW-Authenticate")}
	json.Unmarshal(b, &a.body)
	return a
}

func TestExamplesAgainstOIDCProvider(t *testing.T) {
	gin.SetMode(gin.TestMode)
	as := startAuthServer(t, newSigningKey(t, jwa.RS256), newSigningKey(t, jwa.ES256))
	for name, newHandler := range handlers {
		t.Run(name, func(t *testing.T) {
			for _, strict := range []bool{false, true} {
				cfg := setup.Config{Issuer: as.issuer, Audience: apiAudience, Leeway: validator.DefaultLeeway, RFC9068: strict,
					InsecureHTTP: true, IntrospectionURL: as.endpoint("introspection_endpoint"), ClientID: rsClientID, ClientSecret: rsSecret}
				h, closeFn, err := newHandler(cfg, nil) // discovery, the default client
				if err != nil {
					t.Fatal(err)
				}
				defer closeFn()
				srv := httptest.NewServer(h)
				defer srv.Close()

				// RS256 JWT from the npm simple-oauth2 client.
				jwtRS := as.nodeToken("simple-oauth2", rsaClientID, "read:data write:data", jwtResource)
				if a := call(t, srv, "GET", jwtRS); a.status != 200 || a.body.ClientID != rsaClientID || strings.Join(a.body.Scopes, " ") != "read:data write:data" {
					t.Errorf("strict=%v: RS256 JWT (simple-oauth2): %+v", strict, a)
				}
				// ES256 JWT from a plain fetch with client_secret_basic.
				jwtES := as.nodeToken("fetch", ecClientID, "read:data", jwtResource)
				if got := joseHeader(t, jwtRS); got["alg"] != "RS256" || got["typ"] != "at+jwt" {
					t.Fatalf("provider's RS256 token header: %v", got)
				}
				if got := joseHeader(t, jwtES); got["alg"] != "ES256" {
					t.Fatalf("provider's ES256 token header: %v", got)
				}
				if a := call(t, srv, "GET", jwtES); a.status != 200 || a.body.ClientID != ecClientID {
					t.Errorf("strict=%v: ES256 JWT (fetch): %+v", strict, a)
				}
				// A read-only token cannot write: 403 naming the scope.
				readOnly := as.goToken(readClientID, "read:data", jwtResource)
				if a := call(t, srv, "POST", readOnly); a.status != 403 || !strings.Contains(a.challenge, `error="insufficient_scope"`) || !strings.Contains(a.challenge, `scope="write:data"`) {
					t.Errorf("strict=%v: scope missing: %+v", strict, a)
				}
				if a := call(t, srv, "POST", as.goToken(rsaClientID, "write:data", jwtResource)); a.status != 201 {
					t.Errorf("strict=%v: write:data JWT (x/oauth2): %+v", strict, a)
				}
				if strict {
					continue
				}
				// Opaque token, checked by introspection as the API's own client.
				opaque := as.goToken(rsaClientID, "read:data", opaqueResrc)
				if strings.Count(opaque, ".") == 2 {
					t.Fatalf("expected an opaque token, got a JWT")
				}
				if a := call(t, srv, "GET", opaque); a.status != 200 || a.body.ClientID != rsaClientID {
					t.Errorf("opaque token: %+v", a)
				}
				// Revoked by its client: refused (this configuration reuses no active answer).
				as.revoke(rsaClientID, opaque)
				if a := call(t, srv, "GET", opaque); a.status != 401 || !strings.Contains(a.challenge, `error="invalid_token"`) {
					t.Errorf("revoked opaque token: %+v", a)
				}
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	rs1, es := newSigningKey(t, jwa.RS256), newSigningKey(t, jwa.ES256)
	as := startAuthServer(t, rs1, es)
	cfg := setup.Config{Issuer: as.issuer, Audience: apiAudience, Leeway: validator.DefaultLeeway, InsecureHTTP: true, RFC9068: true}
	h, closeFn, err := nethttpapi.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	srv := httptest.NewServer(h)
	defer srv.Close()
	old := as.goToken(rsaClientID, "read:data", jwtResource)
	if a := call(t, srv, "GET", old); a.status != 200 {
		t.Fatalf("before rotation: %+v", a)
	}

	// Rotate: a new signing key, the old one still published.
	rs2 := newSigningKey(t, jwa.RS256)
	as.restart(rs2, rs1, es)
	fresh := as.goToken(rsaClientID, "read:data", jwtResource)
	if a := call(t, srv, "GET", fresh); a.status != 200 {
		t.Errorf("new key, no API restart: %+v", a)
	}
	if a := call(t, srv, "GET", old); a.status != 200 {
		t.Errorf("old key still published: %+v", a)
	}

	// The old key is withdrawn: once the key set refreshes, its tokens fail.
	as.restart(rs2, es)
	keys, err := jwks.Discover(as.issuer, jwks.WithInsecureLoopbackHTTP())
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	v, err := validator.New(validator.WithIssuer(as.issuer, keys), validator.WithAudience(apiAudience), validator.WithRFC9068())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := v.Validate(ctx, fresh); err != nil {
		t.Errorf("current key: %v", err)
	}
	if _, err := v.Validate(ctx, old); !errors.Is(err, validator.ErrUnknownKey) {
		t.Errorf("withdrawn key: %v, want ErrUnknownKey", err)
	}
}

// joseHeader decodes a JWT's header (to check what the provider issued).
func joseHeader(t *testing.T, jwt string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	var h map[string]any
	json.Unmarshal(b, &h)
	return h
}

// startUpstream runs a Node upstream script (node/*.mjs, served by
// listen.mjs) and returns its port.
func startUpstream(t *testing.T, node, name, script string) int {
	t.Helper()
	port := 0
	if _, err := fmt.Sscan(startProcess(t, name, exec.Command(node, script), "READY "), &port); err != nil {
		t.Fatal(err)
	}
	return port
}
