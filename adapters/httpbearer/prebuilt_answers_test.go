package httpbearer_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// TestPrebuiltAnswersNotShared: the answers built once in New (here to no
// token and to a token that is not a JWT) are not shared mutable state. An
// observer and a body writer that mutate what they are given (the Challenge
// value, the response's header slices) never change what the next
// unauthenticated request gets, under -race with concurrent requests, for
// every DPoP mode. (Written by the red-team review of this change.)
func TestPrebuiltAnswersNotShared(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	keys, err := iss.NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	for _, mode := range []validator.DPoPMode{validator.DPoPOff, validator.DPoPAllowed, validator.DPoPRequired} {
		v, err := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithAudience("orders"), validator.WithDPoP(mode))
		if err != nil {
			t.Fatal(err)
		}
		g, err := httpbearer.New(v, httpbearer.WithRealm("orders"),
			httpbearer.WithResourceMetadata("https://api.example.com/.well-known/oauth-protected-resource"),
			httpbearer.WithObserver(func(r *http.Request, err error, c validator.Challenge) {
				c.Header += ", Evil"
				c = c.WithResourceMetadata("https://evil.example/")
				_ = c.Header
			}),
			httpbearer.WithErrorBody(func(w http.ResponseWriter, r *http.Request, c validator.Challenge) {
				h := w.Header()["Www-Authenticate"]
				if len(h) > 0 {
					*r.Context().Value(snapKey{}).(*string) = h[0]
					h[0] = "mutated" // the writer's own response only
					w.Header()["Www-Authenticate"] = append(h, "more")
				}
				c.Header = "mutated too"
				httpbearer.WriteJSONError(w, r, c)
			}))
		if err != nil {
			t.Fatal(err)
		}
		const metadata = "https://api.example.com/.well-known/oauth-protected-resource"
		wantNone := v.Challenge(validator.ErrNoToken, "orders", validator.SchemeBearer).WithResourceMetadata(metadata).Header
		refused := validator.ErrMalformed
		if mode == validator.DPoPRequired {
			refused = validator.ErrBearerNotAllowed // before the token is read
		}
		wantMalformed := v.Challenge(refused, "orders", validator.SchemeBearer).WithResourceMetadata(metadata).Header
		h := g.Require(scopes.All("read"), http.NotFoundHandler())
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 200 {
					var got string
					req := httptest.NewRequest("GET", "/", nil)
					want := wantNone
					if i%2 == 1 {
						req.Header.Set("Authorization", "Bearer not-a-jwt")
						want = wantMalformed
					}
					req = req.WithContext(context.WithValue(req.Context(), snapKey{}, &got))
					h.ServeHTTP(httptest.NewRecorder(), req)
					if got != want {
						t.Errorf("mode %v: WWW-Authenticate at WriteHeader %q, want %q", mode, got, want)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
}

type snapKey struct{}
