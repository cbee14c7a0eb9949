package httpbearer_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
)

// realIP does what chi's middleware.RealIP and gorilla's
// handlers.ProxyHeaders do: it copies an address from a header any client
// can send into r.RemoteAddr, without a port.
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
// was served as the owner. A RemoteAddr without a port is never a peer
// net/http saw, so it names no proxy (red-team of bypasses; SECURITY.md
// 138).
func TestRemoteAddrFromHeadersNamesNoProxy(t *testing.T) {
	v, mint := rtValidator(t)
	ca := bearertest.MustClientCA(t)
	_, victim := ca.MustIssue(t, "billing")
	stolen := mint(map[string]any{"cnf": map[string]any{"x5t#S256": rtX5T(victim)}})
	forged := bearertest.EscapedPEM(victim)

	serve := func(proxies ...string) *httptest.Server {
		g, err := httpbearer.New(v, httpbearer.WithClientCertHeader("X-SSL-Client-Cert", httpbearer.EscapedPEM, proxies...))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(realIP(g.Require(scopes.All("read:data"), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("billing's data"))
		}))))
		t.Cleanup(srv.Close)
		return srv
	}
	remote := serve("10.0.0.5")    // the proxy is elsewhere; this client connects directly
	viaProxy := serve("127.0.0.1") // this client is the proxy
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
