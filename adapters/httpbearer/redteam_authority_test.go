package httpbearer_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/h2raw"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// Go's HTTP/2 server takes :authority as the client sent it for r.Host,
// without the check HTTP/1.1's Host gets. Without WithPublicURL the guard
// built a DPoP proof's htu from it, so "addr/other?" moved the URL a proof
// is compared with to another path: a proof (and token) captured for one
// endpoint was accepted at another (gRPC/MCP differential review; the
// gRPC interceptor had this fixed as finding 11). Now a request whose
// authority is not a plain host[:port] matches no proof.
func TestRedteamCraftedAuthorityOverHTTP2(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience("orders"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpbearer.New(v, httpbearer.WithRealm("orders"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/data", g.Require(scopes.All("read:data"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")

	key := bearertest.MustDPoPKey(t, validator.ES256)
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"}, bearertest.BoundToKey(key))
	tests := []struct {
		name, authority, htu, want string
	}{
		{"its own URL", addr, "http://" + addr + "/data", "200"},
		{"a proof for /admin, the authority moving htu there", addr + "/admin?", "http://" + addr + "/admin", "401"},
		{"a proof for /admin, the authority moving htu there with a fragment", addr + "/admin#", "http://" + addr + "/admin", "401"},
		{"userinfo in the authority (Go's server resets the stream)", "user@" + addr, "http://" + addr + "/data", "reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := h2raw.Do(t, addr, [][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", "/data"}, {":authority", tt.authority},
				{"authorization", "DPoP " + tok}, {"dpop", key.MustProof(t, "GET", tt.htu, tok)}}, nil).Status()
			if got != tt.want {
				t.Errorf("status %s, want %s", got, tt.want)
			}
		})
	}
}
