package bearerguard_test

import (
	"errors"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

func TestEndToEndSmoke(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	algs := []validator.Algorithm{validator.RS256, validator.PS256, validator.ES256, validator.ES384, validator.ES512, validator.EdDSA}
	for _, alg := range algs[1:] {
		iss.Rotate(t, alg)
	}
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience("orders"))
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range algs {
		tok := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"}, bearertest.WithAlgorithm(alg))
		got, err := v.Validate(t.Context(), tok)
		if err != nil {
			t.Fatalf("%s: Validate = %v", alg, err)
		}
		if !scopes.All("read:data").Satisfied(got.Scopes) || got.Algorithm != alg {
			t.Errorf("%s: token = %+v", alg, got)
		}
	}
	tok := iss.Mint(t, bearertest.Claims{"aud": "other"})
	if _, err := v.Validate(t.Context(), tok); !errors.Is(err, validator.ErrAudience) {
		t.Errorf("wrong aud: %v", err)
	}
}
