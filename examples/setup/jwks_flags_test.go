package setup

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
)

// --jwks-max-staleness and --jwks-refresh-interval reach the key set (the
// jwks package's own tests show a set past its maximum staleness answering
// 503, on a test clock); a staleness not longer than the refresh interval,
// with which the keys would go stale between refreshes while the issuer is
// up, is refused.
func TestJWKSFlags(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	cfg, err := Parse("x", []string{"--issuer", iss.URL, "--audience", "orders", "--jwks-max-staleness", "3m"},
		env(map[string]string{"BEARERGUARD_JWKS_REFRESH_INTERVAL": "2m"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.JWKSMaxStaleness != 3*time.Minute || cfg.JWKSRefreshInterval != 2*time.Minute {
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
	// Both values reach jwks.New, which names them when it refuses them.
	cfg.JWKSMaxStaleness = 90 * time.Second
	if _, _, err := cfg.Guard(iss.Client()); err == nil || !strings.Contains(err.Error(), "WithMaxStaleness(1m30s) is not longer than the refresh interval (2m0s)") {
		t.Errorf("a staleness under the refresh interval past Parse: %v", err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--jwks-max-staleness", "300ms"}, "--jwks-max-staleness 300ms is not longer than the key set's refresh interval (15m0s)"},
		{[]string{"--jwks-max-staleness", "15m"}, "(15m0s)"},
		{[]string{"--jwks-max-staleness", "50s", "--jwks-refresh-interval", "10s"}, "refresh interval (1m0s)"},
	} {
		if _, err := Parse("x", append([]string{"--issuer", "https://id/", "--audience", "a"}, tt.args...), env(nil), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.args, err, tt.want)
		}
	}
	if _, err := Parse("x", []string{"--issuer", "https://id/", "--audience", "a", "--jwks-max-staleness", "16m"}, env(nil), &bytes.Buffer{}); err != nil {
		t.Errorf("a staleness past the default refresh interval: %v", err)
	}
	for _, args := range [][]string{{"--jwks-max-staleness", "0s"}, {"--jwks-refresh-interval", "soon"}, {"--jwks-max-staleness", "-1m"}} {
		if _, err := Parse("x", append([]string{"--issuer", "https://id/", "--audience", "a"}, args...), env(nil), &bytes.Buffer{}); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
