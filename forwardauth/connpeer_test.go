package forwardauth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/forwardauth"
)

// Mounted behind middleware that copies a client's header into RemoteAddr
// (gorilla's ProxyHeaders, chi v1's RealIP: the value as sent, a port
// too), the front ends must not take a client for a trusted gateway: with
// httpbearer.ConnContext on the server, the connection's own address
// decides (red-team of the fix for SECURITY.md 138). The gateway's own
// connection is still trusted whatever RemoteAddr was made to say.
func TestFrontendsTrustTheConnection(t *testing.T) {
	rewrite := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if v := r.Header.Get("X-Forwarded-For"); v != "" {
				r.RemoteAddr = v
			}
			next.ServeHTTP(w, r)
		})
	}
	serveConn := func(d *forwardauth.Decider) *httptest.Server {
		srv := httptest.NewUnstartedServer(rewrite(d.TraefikHandler()))
		srv.Config.ConnContext = httpbearer.ConnContext
		srv.Start()
		t.Cleanup(srv.Close)
		return srv
	}
	elsewhere := newFixture(t, testRules, forwardauth.WithTrustedProxies("10.0.0.5"))
	here := newFixture(t, testRules) // loopback: this test's client is the gateway
	req := http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/healthz"}, "X-Forwarded-Host": {"api.example.com"}, "X-Forwarded-Proto": {"https"}}
	for _, tt := range []struct {
		name string
		srv  *httptest.Server
		xff  string
		want int
	}{
		{"a client naming the gateway with a port", serveConn(elsewhere.d), "10.0.0.5:1", http.StatusForbidden},
		{"a client naming the gateway", serveConn(elsewhere.d), "10.0.0.5", http.StatusForbidden},
		{"a client", serveConn(elsewhere.d), "", http.StatusForbidden},
		{"the gateway", serveConn(here.d), "", http.StatusOK},
		{"the gateway, RemoteAddr made another", serveConn(here.d), "203.0.113.9:1", http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := req.Clone()
			if tt.xff != "" {
				h.Set("X-Forwarded-For", tt.xff)
			}
			if resp := do(t, tt.srv, "GET", "/", h); resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}
