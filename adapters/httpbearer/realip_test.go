package httpbearer_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
)

// realIP does what chi's middleware.RealIP (v5: a bare address) and
// gorilla's handlers.ProxyHeaders or chi v1's RealIP (the value as sent,
// a port too) do: it copies an address from a header any client can send
// into r.RemoteAddr.
func realIP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ip := r.Header.Get("X-Real-IP"); ip != "" {
			r.RemoteAddr = ip
		}
		next.ServeHTTP(w, r)
	})
}

// A client must not become a trusted proxy by naming its address in a
// header that middleware before the guard copies into RemoteAddr: with a
// certificate-bound token stolen without its key and the owner's
// certificate (public: sent in every handshake) in the proxy's header, it
// was served as the owner (red-team of bypasses; SECURITY.md 138). With
// ConnContext on the server the connection's own address decides,
// whatever RemoteAddr says; without it, a RemoteAddr without a port,
// never one net/http writes, names no proxy.
func TestRemoteAddrFromHeadersNamesNoProxy(t *testing.T) {
	v, mint := rtValidator(t)
	ca := bearertest.MustClientCA(t)
	_, victim := ca.MustIssue(t, "billing")
	stolen := mint(map[string]any{"cnf": map[string]any{"x5t#S256": rtX5T(victim)}})
	forged := bearertest.EscapedPEM(victim)

	serve := func(connContext bool, proxies ...string) *httptest.Server {
		g, err := httpbearer.New(v, httpbearer.WithClientCertHeader("X-SSL-Client-Cert", httpbearer.EscapedPEM, proxies...))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(realIP(g.Require(scopes.All("read:data"), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("billing's data"))
		}))))
		if connContext {
			srv.Config.ConnContext = httpbearer.ConnContext
		}
		srv.Start()
		t.Cleanup(srv.Close)
		return srv
	}
	// The proxy is elsewhere: these clients connect directly.
	remote, remoteConn := serve(false, "10.0.0.5"), serve(true, "10.0.0.5")
	// These clients are the proxy.
	viaProxy, viaProxyConn := serve(false, "127.0.0.1"), serve(true, "127.0.0.1")
	for _, tt := range []struct {
		name   string
		srv    *httptest.Server
		realIP string
		want   int
	}{
		{"no header: the peer is not a proxy", remote, "", http.StatusUnauthorized},
		{"X-Real-IP naming the proxy", remote, "10.0.0.5", http.StatusUnauthorized},
		{"the proxy's own connection", viaProxy, "", http.StatusOK},
		{"the proxy's connection, X-Real-IP naming it", viaProxy, "127.0.0.1", http.StatusUnauthorized},
		{"ConnContext: no header", remoteConn, "", http.StatusUnauthorized},
		{"ConnContext: X-Real-IP naming the proxy", remoteConn, "10.0.0.5", http.StatusUnauthorized},
		{"ConnContext: X-Real-IP naming the proxy with a port", remoteConn, "10.0.0.5:1", http.StatusUnauthorized},
		{"ConnContext: X-Real-IP naming it mapped, with a port", remoteConn, "[::ffff:10.0.0.5]:1", http.StatusUnauthorized},
		{"ConnContext: the proxy's own connection", viaProxyConn, "", http.StatusOK},
		{"ConnContext: the proxy's connection, X-Real-IP naming another", viaProxyConn, "203.0.113.9:1", http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Authorization": {"Bearer " + stolen}, "X-Ssl-Client-Cert": {forged}}
			if tt.realIP != "" {
				h.Set("X-Real-IP", tt.realIP)
			}
			if status, _ := rtDo(t, tt.srv, "GET", "/data", h); status != tt.want {
				t.Errorf("status %d, want %d", status, tt.want)
			}
		})
	}
}
