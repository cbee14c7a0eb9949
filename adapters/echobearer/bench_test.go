package echobearer_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/bearerguard/bearerguard/adapters/echobearer"
	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/scopes"
)

// BenchmarkMiddleware measures one request through the middleware against
// the same route without it, in the same run.
func BenchmarkMiddleware(b *testing.B) {
	v, mint := contract.Offline()
	g, err := httpbearer.New(v)
	if err != nil {
		b.Fatal(err)
	}
	auth, err := echobearer.New(g)
	if err != nil {
		b.Fatal(err)
	}
	tok := mint("read:data")
	e := echo.New()
	ok := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	e.GET("/bare", ok)
	e.GET("/guarded", ok, auth.Require(scopes.All("read:data")))
	for _, path := range []string{"/bare", "/guarded"} {
		b.Run(path[1:], func(b *testing.B) {
			b.ReportAllocs()
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			for b.Loop() {
				w := httptest.NewRecorder()
				e.ServeHTTP(w, req)
				if w.Code != http.StatusNoContent {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
