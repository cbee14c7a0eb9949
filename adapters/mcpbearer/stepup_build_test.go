package mcpbearer_test

import (
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/mcpbearer"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// TestWithRequirementChecksStepUps: step-ups that no token could meet
// panic when the option is built (they panicked on every request).
func TestWithRequirementChecksStepUps(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("WithRequirement with two step-ups with no acr value in common: no panic")
		}
	}()
	mcpbearer.WithRequirement(scopes.All("mcp"), httpbearer.WithStepUp(validator.StepUp{ACR: []string{"urn:example:mfa"}}),
		httpbearer.WithStepUp(validator.StepUp{ACR: []string{"urn:example:otp"}}))
}
