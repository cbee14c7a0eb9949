package forwardauth_test

import (
	"testing"

	"github.com/bearerguard/bearerguard/forwardauth"
)

// A scope with a leading or trailing space passed requirementOf's check
// (scopes.Parse trims it and finds one token) and then panicked in
// scopes.All/Any: ParseRules returns an error, never panics.
func TestRedteamParseRulesScopeWithSpaceDoesNotPanic(t *testing.T) {
	for _, y := range []string{
		"routes:\n  - path: /x\n    scopes: [\" admin\"]\n",
		"routes:\n  - path: /x\n    any_scopes: [\"admin \"]\n",
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
