package forwardauth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/forwardauth"
)

// The internal token verifies with the Signer's JWKS, names the caller,
// and lives no longer than the TTL or the access token.
func TestInternalToken(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now().Truncate(time.Second) // the access token (1 h) outlives the internal one (30 s)
	for name, key := range map[string]any{"ES256": ec, "EdDSA": ed} {
		t.Run(name, func(t *testing.T) {
			der, err := x509.MarshalPKCS8PrivateKey(key)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "key.pem")
			if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
				t.Fatal(err)
			}
			signer, err := forwardauth.LoadSigningKey(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := forwardauth.NewSigner(signer, "https://gateway.internal", "orders-backend", 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, testRules, forwardauth.WithInternalToken(s, ""), forwardauth.WithClock(func() time.Time { return now }))
			set, err := jwk.Parse(s.JWKS())
			if err != nil {
				t.Fatal(err)
			}
			access := bearer(f.token(t, "orders:read", "tenant", "acmé"))
			claims := func(req forwardauth.Request) map[string]any {
				t.Helper()
				dec := f.d.Decide(t.Context(), req)
				raw := dec.Header.Get(forwardauth.DefaultInternalTokenHeader)
				if !dec.Allowed || raw == "" {
					t.Fatalf("Decide = %d, token present %v; want allowed with a token", dec.Status, raw != "")
				}
				payload, err := jws.Verify([]byte(raw), jws.WithKeySet(set, jws.WithRequireKid(true)))
				if err != nil {
					t.Fatalf("the internal token does not verify with the JWKS: %v", err)
				}
				var c map[string]any
				if err := json.Unmarshal(payload, &c); err != nil {
					t.Fatal(err)
				}
				return c
			}
			c := claims(forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/orders/7?expand=lines", Header: access})
			// Bound to the request it allowed: an upstream compares
			// htm and htu (no query, as DPoP's) with its own request.
			want := map[string]any{"iss": "https://gateway.internal", "aud": "orders-backend", "sub": "user-1", "client_id": "app-1",
				"scope": "orders:read", "iat": float64(now.Unix()), "exp": float64(now.Add(30 * time.Second).Unix()),
				"htm": "GET", "htu": "https://api.example.com/orders/7", "route": "read"}
			for k, v := range want {
				if c[k] != v {
					t.Errorf("claim %s = %v, want %v", k, c[k], v)
				}
			}
			if id, _ := c["identity"].(map[string]any); len(id) != 1 || id["X-Auth-Tenant"] != "acm%C3%A9" {
				t.Errorf("claim identity = %v, want X-Auth-Tenant as its header carries it", c["identity"])
			}
			jti, _ := c["jti"].(string)
			if len(jti) != 22 {
				t.Errorf("claim jti = %q, want 128 random bits in base64url", jti)
			}
			c = claims(forwardauth.Request{Method: "PUT", Scheme: "http", Host: "api.example.com:8080", URI: "/orders/%37", Header: bearer(f.token(t, "orders:write"))})
			if c["htm"] != "PUT" || c["htu"] != "http://api.example.com:8080/orders/%37" || c["route"] != "write" || c["jti"] == jti {
				t.Errorf("second request: htm %v, htu %v, route %v, jti new %v; want PUT, the path as sent, write, a new jti", c["htm"], c["htu"], c["route"], c["jti"] != jti)
			}
			// The host as a URL parser normalizes it (review: Traefik passes
			// the client's spelling, nginx's $host:$server_port the default
			// port), so that an upstream can compare it with its own.
			for _, tt := range []struct{ scheme, host, want string }{
				{"", "API.Example.COM.", "https://api.example.com/orders/7"},
				{"https", "api.example.com:443", "https://api.example.com/orders/7"},
				{"http", "api.example.com:80", "http://api.example.com/orders/7"},
				{"http", "api.example.com:0443", "http://api.example.com:443/orders/7"},
				{"https", "[2001:DB8::1]:8443", "https://[2001:db8::1]:8443/orders/7"},
			} {
				if c := claims(forwardauth.Request{Method: "GET", Scheme: tt.scheme, Host: tt.host, URI: "/orders/7", Header: access}); c["htu"] != tt.want {
					t.Errorf("%s %q: htu %v, want %s", tt.scheme, tt.host, c["htu"], tt.want)
				}
			}
			// No host (HTTP/1.0 without Host): no URI to name, so no
			// token, which would be good for any (review).
			if dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", URI: "/orders/7", Header: access}); dec.Allowed || dec.Status != 400 {
				t.Errorf("no host: %d allowed %v, want 400", dec.Status, dec.Allowed)
			}
			// Behind a Guard with a public URL, the token names it, as
			// a DPoP proof's htu is compared with it.
			g, err := httpbearer.New(f.v, httpbearer.WithPublicURL("https://api.example.com/v1/"))
			if err != nil {
				t.Fatal(err)
			}
			pd, err := forwardauth.New(g, f.d.Rules(), forwardauth.WithInternalToken(s, ""), forwardauth.WithClock(func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			dec := pd.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: "orders-api:3000", URI: "/orders/7", Header: access})
			if payload, err := jws.Verify([]byte(dec.Header.Get(forwardauth.DefaultInternalTokenHeader)), jws.WithKeySet(set)); err != nil {
				t.Errorf("public URL: %d, %v", dec.Status, err)
			} else if claimsJSON := string(payload); !strings.Contains(claimsJSON, `"htu":"https://api.example.com/v1/orders/7"`) {
				t.Errorf("public URL: claims %s, want htu https://api.example.com/v1/orders/7", claimsJSON)
			}
			// An open route: the header is there, empty, so a forged one is overwritten.
			dec = f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", URI: "/healthz", Header: http.Header{}})
			if v, ok := dec.Header[forwardauth.DefaultInternalTokenHeader]; !ok || v[0] != "" {
				t.Errorf("open route: internal token header %q (present %v), want present and empty", v, ok)
			}
		})
	}
}

func TestNewSignerErrors(t *testing.T) {
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tests := []struct {
		name string
		key  crypto.Signer
		iss  string
		ttl  time.Duration
		want string
	}{
		{"small RSA", small, "x", 0, "2048"},
		{"P-384", p384, "x", 0, "P-256"},
		{"no issuer", p384, "", 0, "empty issuer"},
		{"long TTL", p384, "x", time.Hour, "lifetime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := forwardauth.NewSigner(tt.key, tt.iss, "", tt.ttl)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewSigner = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestLoadSigningKey(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	dir := t.TempDir()
	tests := []struct {
		name, pem string
		ok        bool
	}{
		{"SEC 1 EC", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})), true},
		{"PKCS #1 RSA", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})), true},
		{"certificate", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})), false},
		{"not PEM", "hello", false},
		{"bad DER", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if err := os.WriteFile(path, []byte(tt.pem), 0o600); err != nil {
				t.Fatal(err)
			}
			k, err := forwardauth.LoadSigningKey(path)
			if (err == nil) != tt.ok {
				t.Fatalf("LoadSigningKey = %v, %v; want ok %v", k, err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), "\x01") {
				t.Errorf("the error echoes key bytes: %v", err)
			}
			if tt.ok {
				if _, err := forwardauth.NewSigner(k, "bg", "", 0); err != nil {
					t.Errorf("NewSigner: %v", err)
				}
			}
		})
	}
	if _, err := forwardauth.LoadSigningKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadSigningKey(missing) = nil error")
	}
}
