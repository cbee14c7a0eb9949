package httpbearer_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// Each request's token is its own, whichever way the Guard binds it: a
// handler that writes to its token (as a careless one might) changes
// nothing another request sees, concurrent requests with one token
// included. The token the handler gets from the context is the very token
// Authorize returned.
func TestBoundTokenIsRequestsOwn(t *testing.T) {
	v, mint := contract.Offline()
	tests := []struct {
		name string
		v    httpbearer.TokenValidator
	}{
		{"validator", v},
		{"validator behind an interface of the application's", struct{ httpbearer.TokenValidator }{v}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := httpbearer.New(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			token := mint("read:data")
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				out, tok, ok := g.Authorize(w, r, scopes.All("read:data"))
				if !ok {
					return
				}
				ctxTok, found := validator.FromContext(out.Context())
				if printed := fmt.Sprint(out.Context()); strings.Contains(printed, "svc-example") || strings.Contains(printed, "read:data") {
					t.Errorf("the request's context prints the token: %s", printed)
				}
				switch {
				case !found || ctxTok != tok:
					t.Errorf("the context holds %p (found %v), Authorize returned %p", ctxTok, found, tok)
				case tok.Subject != "svc-example" || len(tok.Audience) != 1 || tok.Audience[0] != contract.Audience || tok.Scopes.Has("admin"):
					t.Errorf("a request saw another's writes: sub %q, aud %q, scopes %q", tok.Subject, tok.Audience, tok.Scopes)
				}
				tok.Subject = "scribbled"
				tok.Audience[0] = "evil"
				tok.Scopes = tok.Scopes.Union(scopes.MustParse("admin"))
				w.WriteHeader(http.StatusNoContent)
			})
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for range 50 {
						r := httptest.NewRequest("GET", "/data", nil)
						r.Header.Set("Authorization", "Bearer "+token)
						w := httptest.NewRecorder()
						h.ServeHTTP(w, r)
						if w.Code != http.StatusNoContent {
							t.Errorf("status %d", w.Code)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

// An inner Guard that reuses the token an outer Guard over the same
// validator bound decides on the token as it was validated: middleware
// between the two that writes to it (a scope, a role, an ACR and
// auth_time) gets nothing past the inner Guard's route check, and what it
// took away does not count either. The handler still gets the token as
// the middleware left it.
func TestReusedTokenDecidedAsValidated(t *testing.T) {
	v, mint := contract.Offline()
	outer, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	rewrite := func(f func(*validator.Token)) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tok, ok := validator.FromContext(r.Context())
				if !ok {
					t.Error("no token after the outer Guard")
					return
				}
				f(tok)
				next.ServeHTTP(w, r)
			})
		}
	}
	grant := func(tok *validator.Token) {
		tok.Scopes = tok.Scopes.Union(scopes.MustParse("admin"))
		tok.Roles = tok.Roles.Union(scopes.MustParse("Admin"))
		tok.ACR, tok.AuthTime = contract.StrongAuth.ACR[0], time.Now()
	}
	revoke := func(tok *validator.Token) { tok.Scopes = scopes.Set{} }
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	tests := []struct {
		name   string
		write  func(*validator.Token)
		inner  http.Handler
		status int
	}{
		{"a scope added", grant, inner.Require(scopes.All("admin"), ok), http.StatusForbidden},
		{"a role added", grant, inner.Require(scopes.AllOf(scopes.Role("Admin")), ok), http.StatusForbidden},
		{"step-up claimed", grant, inner.Require(scopes.Requirement{}, ok, httpbearer.WithStepUp(contract.StrongAuth)), http.StatusUnauthorized},
		{"a scope taken away", revoke, inner.Require(scopes.All("read:data"), ok), http.StatusNoContent},
		{"nothing written", func(*validator.Token) {}, inner.Require(scopes.All("read:data"), ok), http.StatusNoContent},
		// Authenticate, for an application's own checks, gives the token
		// as validated too.
		{"Authenticate after a scope was added", grant, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, err := inner.Authenticate(w, r)
			switch {
			case err != nil:
				w.WriteHeader(http.StatusUnauthorized)
			case tok.Scopes.Has("admin") || tok.ACR != "":
				w.WriteHeader(http.StatusForbidden)
			default:
				w.WriteHeader(http.StatusNoContent)
			}
		}), http.StatusNoContent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := outer.Handler(rewrite(tt.write)(tt.inner))
			r := httptest.NewRequest("GET", "/data", nil)
			r.Header.Set("Authorization", "Bearer "+mint("read:data"))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Errorf("status %d, want %d (WWW-Authenticate %q)", w.Code, tt.status, w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// What an unauthenticated caller costs the Guard: a refused request
// (forged signature) and an anonymous one on an optional route allocate a
// fixed number of objects, a token 4,000 bytes longer costs at most a few
// times those bytes more (linear, not worse), and nothing is left behind:
// 2,000 distinct forged tokens cache nothing.
func TestUnauthenticatedRequestsCostBounded(t *testing.T) {
	v, mint := contract.Offline()
	g, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	h := http.NewServeMux()
	h.Handle("GET /data", g.Require(scopes.All("read:data"), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	h.Handle("GET /optional", g.Optional(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	const pad = 4000
	forged := func(n int) string {
		tok := mint("read:data " + strings.Repeat("x", n))
		return tok[:len(tok)-4] + "AAAA"
	}
	// cost returns the objects and bytes one request allocates.
	cost := func(path, token string, want int) (objects, bytes float64) {
		r := httptest.NewRequest("GET", path, nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		serve := func() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != want {
				t.Fatalf("%s: status %d, want %d", path, w.Code, want)
			}
		}
		objects = testing.AllocsPerRun(50, serve)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 50 {
			serve()
		}
		runtime.ReadMemStats(&after)
		return objects, float64(after.TotalAlloc-before.TotalAlloc) / 50
	}
	shortN, shortB := cost("/data", forged(0), 401)
	longN, longB := cost("/data", forged(pad), 401)
	if longN > shortN+2 { // a constant apart (the race detector adds one now and then)
		t.Errorf("a refused request allocates %v objects with a short token, %v with a long one", shortN, longN)
	}
	if longB-shortB > 4*pad {
		t.Errorf("a token %d bytes longer costs %.0f bytes more per refused request", pad, longB-shortB)
	}
	if shortN > 64 {
		t.Errorf("a refused request allocates %v objects", shortN)
	}
	if anon, _ := cost("/optional", "", 200); anon > 15 {
		t.Errorf("an anonymous request allocates %v objects", anon)
	}
	for i := range 2000 {
		r := httptest.NewRequest("GET", "/data", nil)
		r.Header.Set("Authorization", "Bearer "+forged(i%50))
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if n := v.CachedTokens(); n != 0 {
		t.Errorf("forged tokens left %d entries in the cache", n)
	}
}
