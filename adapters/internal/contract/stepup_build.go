package contract

import (
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/validator"
)

// StepUpsPanicWhenBuilt checks that build, handed a Guard and route options
// no token could meet (two step-ups with no acr value in common), panics:
// when the route is built, as httpbearer's Require does, not on each
// request that reaches it.
func StepUpsPanicWhenBuilt(t *testing.T, build func(g *httpbearer.Guard, opts ...httpbearer.RouteOption)) {
	t.Helper()
	v, _ := Offline()
	g, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a route with two step-ups with no acr value in common: no panic when built")
		}
	}()
	build(g, httpbearer.WithStepUp(validator.StepUp{ACR: []string{"urn:example:mfa"}}),
		httpbearer.WithStepUp(validator.StepUp{ACR: []string{"urn:example:otp"}}))
}
