package httpbearer_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

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
