package validator_test

import (
	"crypto"
	"errors"
	"testing"

	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/validator"
)

var classes = []error{validator.ErrNoToken, validator.ErrInvalidRequest, validator.ErrInvalidToken, validator.ErrInsufficientScope, validator.ErrUnavailable}

// FuzzValidate feeds arbitrary tokens to a validator: it must never panic,
// and every error must belong to exactly one class with a mapped answer.
func FuzzValidate(f *testing.F) {
	loadKeys(f)
	good := baseClaims(nil)
	f.Add(rs256(good))
	f.Add(jwstest.Token(`{"alg":"ES256","kid":"ec-1"}`, good, jwstest.ES(ecKey, crypto.SHA256)))
	f.Add(jwstest.Token(`{"alg":"EdDSA"}`, good, jwstest.EdDSA(edKey)))
	f.Add(jwstest.Token(`{"alg":"none"}`, good, jwstest.Fixed(nil)))
	f.Add(jwstest.Token(`{"alg":"RS256","kid":"rsa-1","crit":["x"]}`, `{"exp":"1","\u0065xp":2}`, jwstest.RS(rsaKey, crypto.SHA256)))
	f.Add("a.b.c.d.e")
	f.Add("..")
	f.Add(`{"payload":""}`)
	v := newValidator(f, validator.WithScopeClaim("permissions"))
	f.Fuzz(func(t *testing.T, token string) {
		tok, err := v.Validate(t.Context(), token)
		if err == nil {
			if tok == nil || tok.Issuer == "" {
				t.Fatalf("accepted %q with token %+v", token, tok)
			}
			return
		}
		n := 0
		for _, c := range classes {
			if errors.Is(err, c) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("error %v matches %d classes", err, n)
		}
		if c := validator.ChallengeFor(err, "api"); c.Status < 400 {
			t.Fatalf("status %d for %v", c.Status, err)
		}
	})
}
