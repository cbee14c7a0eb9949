package setup

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
)

// --jwks-max-staleness reaches the key set: once the issuer has been
// unreachable for that long, tokens are answered 503, not checked against
// keys it may have revoked; --jwks-refresh-interval is parsed the same way.
func TestJWKSFlags(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	cfg, err := Parse("x", []string{"--issuer", iss.URL, "--audience", "orders", "--jwks-max-staleness", "300ms"},
		env(map[string]string{"BEARERGUARD_JWKS_REFRESH_INTERVAL": "2m"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.JWKSMaxStaleness != 300*time.Millisecond || cfg.JWKSRefreshInterval != 2*time.Minute {
		t.Fatalf("parsed %v and %v", cfg.JWKSMaxStaleness, cfg.JWKSRefreshInterval)
	}
	g, closeFn, err := cfg.Guard(iss.Client())
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	srv := httptest.NewServer(g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv.Close()
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	if r := do(t, srv.URL+"/", bearer(iss.Mint(t, bearertest.Claims{"aud": "orders"}))); r.StatusCode != 200 {
		t.Fatalf("issuer up: %d, want 200", r.StatusCode)
	}
	iss.Close()
	time.Sleep(400 * time.Millisecond)
	if r := do(t, srv.URL+"/", bearer(iss.Mint(t, bearertest.Claims{"aud": "orders", "jti": "after"}))); r.StatusCode != 503 {
		t.Errorf("issuer gone past --jwks-max-staleness: %d, want 503", r.StatusCode)
	}
	for _, args := range [][]string{{"--jwks-max-staleness", "0s"}, {"--jwks-refresh-interval", "soon"}, {"--jwks-max-staleness", "-1m"}} {
		if _, err := Parse("x", append([]string{"--issuer", "https://id/", "--audience", "a"}, args...), env(nil), &bytes.Buffer{}); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
