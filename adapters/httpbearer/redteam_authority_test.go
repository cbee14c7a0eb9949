package httpbearer_test

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
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
			got := h2Status(t, addr, tt.authority, "/data", [][2]string{{"authorization", "DPoP " + tok}, {"dpop", key.MustProof(t, "GET", tt.htu, tok)}})
			if got != tt.want {
				t.Errorf("status %s, want %s", got, tt.want)
			}
		})
	}
}

// h2Status sends one GET over a fresh h2c connection with exactly the given
// :authority (Go's HTTP/2 client would not send a crafted one) and returns
// the answer's :status.
func h2Status(t *testing.T, addr, authority, path string, fields [][2]string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range append([][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", path}, {":authority", authority}}, fields...) {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true, EndStream: true}); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			for _, hf := range f.Fields {
				if hf.Name == ":status" {
					return hf.Value
				}
			}
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			return "reset"
		}
	}
}
