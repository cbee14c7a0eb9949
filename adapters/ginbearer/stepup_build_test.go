package ginbearer_test

import (
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// TestRequireChecksStepUpsWhenBuilt: step-ups that no token could meet
// panic when the route is built, as httpbearer's Require does (they
// panicked on every request, through Authorize).
func TestRequireChecksStepUpsWhenBuilt(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience("api"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	m := must(t, g)
	defer func() {
		if recover() == nil {
			t.Error("Require with two step-ups with no acr value in common: no panic when built")
		}
	}()
	m.Require(scopes.All("admin"), httpbearer.WithStepUp(validator.StepUp{ACR: []string{"urn:example:mfa"}}),
		httpbearer.WithStepUp(validator.StepUp{ACR: []string{"urn:example:otp"}}))
}
