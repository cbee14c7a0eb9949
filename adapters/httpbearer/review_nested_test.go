package httpbearer_test

import (
	"crypto/x509/pkix"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
)

// An inner guard reused the token an outer guard over the same validator
// had validated, whatever way the outer one had taken it: a header-only
// guard on a state-changing API (the CSRF protection WithCookie's doc asks
// for) let a cookie, query or form token through once a site-wide
// Optional guard that takes them was put in front, and a guard trusting
// no forwarded certificate accepted a certificate-bound token on one
// (review of this session). An inner guard now reuses a token only from a
// guard that takes tokens the same ways; else it decides on the request
// itself, as it would alone.
func TestReviewNestedGuardsTakeTokensTheirOwnWay(t *testing.T) {
	v, mint := rtValidator(t)
	tok := mint(map[string]any{"scope": "write:data"})
	cert := rtCert(t, pkix.Name{CommonName: "client"}, nil, nil)
	bound := mint(map[string]any{"scope": "write:data", "cnf": map[string]any{"x5t#S256": rtX5T(cert)}})
	certHeader := httpbearer.WithClientCertHeader("X-Client-Cert", httpbearer.EscapedPEM, "127.0.0.0/8", "::1")
	for _, tt := range []struct {
		name         string
		outer, inner []httpbearer.Option
		path         string
		header       map[string]string
		body         string
		want         int // nested, and the inner guard alone
	}{
		{"cookie, inner header-only", []httpbearer.Option{httpbearer.WithCookie("session")}, nil,
			"/api", map[string]string{"Cookie": "session=" + tok}, "", http.StatusUnauthorized},
		{"query, inner header-only", []httpbearer.Option{httpbearer.WithQueryToken()}, nil,
			"/api?access_token=" + tok, nil, "", http.StatusBadRequest},
		{"form, inner header-only", []httpbearer.Option{httpbearer.WithFormToken()}, nil,
			"/api", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "access_token=" + tok, http.StatusUnauthorized},
		{"certificate header, inner trusts none", []httpbearer.Option{certHeader}, nil,
			"/api", map[string]string{"Authorization": "Bearer " + bound, "X-Client-Cert": bearertest.EscapedPEM(cert)}, "", http.StatusUnauthorized},
		{"cookie, another cookie name", []httpbearer.Option{httpbearer.WithCookie("session")}, []httpbearer.Option{httpbearer.WithCookie("api")},
			"/api", map[string]string{"Cookie": "session=" + tok}, "", http.StatusUnauthorized},
		// The same settings: the token is reused, and the request passes.
		{"cookie, both take it", []httpbearer.Option{httpbearer.WithCookie("session")}, []httpbearer.Option{httpbearer.WithCookie("session")},
			"/api", map[string]string{"Cookie": "session=" + tok}, "", http.StatusOK},
		{"header, both header-only", nil, nil,
			"/api", map[string]string{"Authorization": "Bearer " + tok}, "", http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			outer, err := httpbearer.New(v, tt.outer...)
			if err != nil {
				t.Fatal(err)
			}
			inner, err := httpbearer.New(v, tt.inner...)
			if err != nil {
				t.Fatal(err)
			}
			reached := false
			api := inner.Require(scopes.All("write:data"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
			for _, h := range []struct {
				name string
				h    http.Handler
			}{{"inner alone", api}, {"nested under an Optional outer guard", outer.Optional(api)}} {
				reached = false
				req := httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body))
				for k, v := range tt.header {
					req.Header.Set(k, v)
				}
				w := httptest.NewRecorder()
				h.h.ServeHTTP(w, req)
				if w.Code != tt.want || reached != (tt.want == http.StatusOK) {
					t.Errorf("%s: %d (handler reached: %v), want %d", h.name, w.Code, reached, tt.want)
				}
			}
		})
	}
}

// WithClientCertHeader refuses a name that is no header name, and one that
// never carries what a gateway forwards: a client's credentials (a Cookie
// is the client's own to write), Host, hop-by-hop headers. serve's flag
// once refused Cookie itself while the option took it (SECURITY.md 78):
// the option decides now, for every caller.
func TestClientCertHeaderName(t *testing.T) {
	v, _ := rtValidator(t)
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"X-SSL-Client-Cert", true}, {"x-forwarded-client-cert", true},
		{"", false}, {"X SSL", false}, {"Cookie", false}, {"authorization", false}, {"DPoP", false}, {"Host", false}, {"Connection", false},
	} {
		_, err := httpbearer.New(v, httpbearer.WithClientCertHeader(tt.name, httpbearer.EscapedPEM, "127.0.0.1"))
		if (err == nil) != tt.ok {
			t.Errorf("WithClientCertHeader(%q): %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
