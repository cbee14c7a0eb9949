package httpbearer_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/scopes"
)

// BenchmarkMiddleware measures one request through the middleware against
// the same handler without it, in the same run.
func BenchmarkMiddleware(b *testing.B) {
	v, mint := contract.Offline()
	g, err := httpbearer.New(v)
	if err != nil {
		b.Fatal(err)
	}
	gq, err := httpbearer.New(v, httpbearer.WithQueryToken())
	if err != nil {
		b.Fatal(err)
	}
	tok := mint("read:data")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, c := range []struct {
		name   string
		h      http.Handler
		query  bool // the token in ?access_token= (WithQueryToken), not the header
		token  string
		status int
	}{
		{"bare", h, false, tok, http.StatusNoContent},
		{"guarded", g.Require(scopes.All("read:data"), h), false, tok, http.StatusNoContent},
		{"guarded, query token", gq.Require(scopes.All("read:data"), h), true, tok, http.StatusNoContent},
		// The refusals an unauthenticated caller gets: what a flood costs.
		{"refused, no token", g.Require(scopes.All("read:data"), h), false, "", http.StatusUnauthorized},
		{"refused, not a JWT", g.Require(scopes.All("read:data"), h), false, "not-a-jwt", http.StatusUnauthorized},
		{"refused, wrong scope", g.Require(scopes.All("write:data"), h), false, tok, http.StatusForbidden},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			req := httptest.NewRequest("GET", "/data", nil)
			switch {
			case c.query:
				req = httptest.NewRequest("GET", "/data?access_token="+c.token, nil)
			case c.token != "":
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			for b.Loop() {
				w := httptest.NewRecorder()
				c.h.ServeHTTP(w, req)
				if w.Code != c.status {
					b.Fatalf("status %d, want %d", w.Code, c.status)
				}
			}
		})
	}
}
