package forwardauth_test

import (
	"testing"

	"github.com/bearerguard/bearerguard/forwardauth"
)

// A scope with a leading or trailing space passed requirementOf's check
// (scopes.Parse trims it and finds one token) and then panicked in
// scopes.All/Any; a bad acr value or max age, reported, still reached
// WithStepUp, which panics on it. ParseRules returns an error, never
// panics.
func TestRedteamParseRulesDoesNotPanic(t *testing.T) {
	for _, y := range []string{
		"routes:\n  - path: /x\n    scopes: [\" admin\"]\n",
		"routes:\n  - path: /x\n    any_scopes: [\"admin \"]\n",
		// A bad step-up is reported, and WithStepUp (which panics on it)
		// is not called.
		"routes:\n  - path: /x\n    acr_values: [\"\"]\n",
		"routes:\n  - path: /x\n    acr_values: [\"a b\"]\n",
		"routes:\n  - path: /x\n    acr_values: [\"a\\\"b\"]\n",
		"routes:\n  - path: /x\n    acr_values: [\"mfa\"]\n    max_age: -1s\n",
	} {
		func() {
			defer func() {
				if e := recover(); e != nil {
					t.Errorf("ParseRules(%q) panicked: %v", y, e)
				}
			}()
			if _, err := forwardauth.ParseRules([]byte(y)); err == nil {
				t.Errorf("ParseRules(%q): no error", y)
			}
		}()
	}
}
