package ginbearer_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/bearerguard/bearerguard/adapters/ginbearer"
	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/scopes"
)

// BenchmarkMiddleware measures one request through the middleware against
// the same route without it, in the same run.
func BenchmarkMiddleware(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	v, mint := contract.Offline()
	g, err := httpbearer.New(v)
	if err != nil {
		b.Fatal(err)
	}
	auth, err := ginbearer.New(g)
	if err != nil {
		b.Fatal(err)
	}
	tok := mint("read:data")
	r := gin.New()
	ok := func(c *gin.Context) { c.Status(http.StatusNoContent) }
	r.GET("/bare", ok)
	r.GET("/guarded", auth.Require(scopes.All("read:data")), ok)
	for _, path := range []string{"/bare", "/guarded"} {
		b.Run(path[1:], func(b *testing.B) {
			b.ReportAllocs()
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			for b.Loop() {
				w := httptest.NewRecorder()
				r.ServeHTTP(w, req)
				if w.Code != http.StatusNoContent {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
