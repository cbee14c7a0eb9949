package bench

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"

	"github.com/bearerguard/bearerguard/adapters/echobearer"
	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/validator"
)

// BenchmarkMiddleware: one request with a reused RS256 token through each
// middleware, against the same handler without one (impl=none).
func BenchmarkMiddleware(b *testing.B) {
	e := setup(b)
	tok := e.tokens[validator.RS256]
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

	guard, err := httpbearer.New(e.warm)
	if err != nil {
		b.Fatal(err)
	}
	auth0 := jwtmiddleware.New(e.auth0[validator.RS256].ValidateToken)

	echoApp := func(mw ...echo.MiddlewareFunc) http.Handler {
		app := echo.New()
		app.GET("/data", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, mw...)
		return app
	}
	eb, err := echobearer.New(guard)
	if err != nil {
		b.Fatal(err)
	}
	handlers := []struct {
		name string
		h    http.Handler
	}{
		{"framework=nethttp/impl=none", ok},
		{"framework=nethttp/impl=bearerguard", guard.Handler(ok)},
		{"framework=nethttp/impl=auth0", auth0.CheckJWT(ok)},
		{"framework=echo/impl=none", echoApp()},
		{"framework=echo/impl=bearerguard", echoApp(eb.Authenticate())},
		{"framework=echo/impl=echo-jwt", echoApp(echojwt.WithConfig(echojwt.Config{KeyFunc: e.keyfunc.Keyfunc}))},
	}
	for _, c := range handlers {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			req := httptest.NewRequest("GET", "/data", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			for b.Loop() {
				w := httptest.NewRecorder()
				c.h.ServeHTTP(w, req)
				if w.Code != http.StatusNoContent {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkCacheMemory fills the validated-token cache with 100,000
// distinct tokens and reports its size and the heap held per entry, for a
// cache bounded at 100,000 (everything kept) and at the default 10,000.
// Each token is validated twice: the cache admits a token on its second
// sighting.
func BenchmarkCacheMemory(b *testing.B) {
	const n = 100_000
	seed := make([]byte, ed25519.SeedSize)
	priv := ed25519.NewKeyFromSeed(seed)
	key, _ := validator.NewKey("k", priv.Public(), validator.EdDSA)
	const issuer = "https://id.example.com/"
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"EdDSA","kid":"k","typ":"at+jwt"}`))
	now := time.Now()
	tokens := make([]string, n)
	for i := range tokens {
		claims, _ := json.Marshal(map[string]any{"iss": issuer, "aud": audience, "sub": "svc-billing", "client_id": "svc-billing",
			"scope": "read:data write:data", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": fmt.Sprintf("token-%d", i)})
		in := header + "." + enc.EncodeToString(claims)
		tokens[i] = in + "." + enc.EncodeToString(ed25519.Sign(priv, []byte(in)))
	}
	for _, size := range []int{n, validator.DefaultTokenCacheSize} {
		b.Run(fmt.Sprintf("bound=%d", size), func(b *testing.B) {
			for b.Loop() {
				v, err := validator.New(validator.WithIssuer(issuer, validator.NewKeys(key)), validator.WithAudience(audience),
					validator.WithTokenCache(size, time.Hour))
				if err != nil {
					b.Fatal(err)
				}
				before := heap()
				for _, tok := range tokens {
					for range 2 {
						if _, err := v.Validate(b.Context(), tok); err != nil {
							b.Fatal(err)
						}
					}
				}
				after := heap()
				cached := v.CachedTokens()
				if cached > size {
					b.Fatalf("%d entries cached, bound %d", cached, size)
				}
				b.ReportMetric(float64(cached), "entries")
				b.ReportMetric(float64(after-before)/float64(cached), "B/entry")
				runtime.KeepAlive(v)
			}
		})
	}
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
