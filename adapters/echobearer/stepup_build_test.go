package echobearer_test

import (
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/scopes"
)

// TestRequireChecksStepUpsWhenBuilt: step-ups that no token could meet
// panic when the route is built (they panicked on every request, through
// Authorize).
func TestRequireChecksStepUpsWhenBuilt(t *testing.T) {
	contract.StepUpsPanicWhenBuilt(t, func(g *httpbearer.Guard, opts ...httpbearer.RouteOption) {
		must(t, g).Require(scopes.All("admin"), opts...)
	})
}
