package httpbearer_test

import (
	"net/http"
	"net/http/httptest"
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
