package contract

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/validator"
)

// DenyList is how an application adds a check of its own around the
// library's validator: it embeds *validator.Validator and overrides the
// two validation methods. Everything else (ValidatePresentationInto
// included) is promoted from the embedded Validator, so a guard that found
// a faster path through an interface would skip the overrides.
type DenyList struct {
	*validator.Validator
	denied string
	calls  atomic.Int64
}

// NewDenyList returns v refusing tokens whose subject is denied.
func NewDenyList(v *validator.Validator, denied string) *DenyList {
	return &DenyList{Validator: v, denied: denied}
}

// Calls is how many times an override ran.
func (d *DenyList) Calls() int64 { return d.calls.Load() }

// Validate is ValidatePresentation of a Bearer token.
func (d *DenyList) Validate(ctx context.Context, token string) (*validator.Token, error) {
	return d.ValidatePresentation(ctx, validator.Presentation{Token: token})
}

// ValidatePresentation refuses the denied subject.
func (d *DenyList) ValidatePresentation(ctx context.Context, p validator.Presentation) (*validator.Token, error) {
	d.calls.Add(1)
	tok, err := d.Validator.ValidatePresentation(ctx, p)
	if err == nil && tok.Subject == d.denied {
		return nil, fmt.Errorf("%w: subject on the deny list", validator.ErrInvalidToken)
	}
	return tok, err
}

// wrappedCases checks that a guard over a type that embeds a Validator
// calls that type's own methods: every request, cache hits included.
func wrappedCases(t *testing.T, f *fixture, build Build) {
	t.Run("wrapped validator", func(t *testing.T) {
		d := NewDenyList(f.v, "svc-denied")
		srv := serve(t, build, guard(t, d))
		denied := f.iss.Mint(t, bearertest.Claims{"aud": Audience, "scope": "read:data", "sub": "svc-denied"})
		allowed := f.token(t, "read:data")
		refused := `Bearer realm="orders", error="invalid_token", error_description="The access token is invalid"`
		for i := range 3 { // the later requests are cache hits of the embedded Validator
			check(t, do(t, srv, "GET", "/data", auth("Bearer "+denied), ""), 401, refused, "", false)
			check(t, do(t, srv, "GET", "/data", auth("Bearer "+allowed), ""), 200, "", "svc-read-data", false)
			if got, want := d.Calls(), int64(2*(i+1)); got != want {
				t.Fatalf("after %d pairs of requests the override ran %d times, want %d", i+1, got, want)
			}
		}
	})
}
