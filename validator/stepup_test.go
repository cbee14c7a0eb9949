package validator_test

import (
	"errors"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

// TestStepUpCheck: StepUp.Check, the step-up check of every entry point
// (Validator.CheckStepUp for gRPC and other callers, the HTTP routes, the
// forward-auth route files). A negative MaxAge once read as no bound: a
// user who authenticated a year ago passed, and so did a token without
// auth_time (SECURITY.md 101).
func TestStepUpCheck(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	recent := &validator.Token{ACR: "mfa", AuthTime: now.Add(-time.Minute)}
	old := &validator.Token{ACR: "mfa", AuthTime: now.Add(-365 * 24 * time.Hour)}
	bare := &validator.Token{}
	for _, tc := range []struct {
		name string
		s    validator.StepUp
		tok  *validator.Token
		ok   bool
	}{
		{"zero requires nothing", validator.StepUp{}, bare, true},
		{"acr met", validator.StepUp{ACR: []string{"pwd", "mfa"}}, recent, true},
		{"acr not met", validator.StepUp{ACR: []string{"hwk"}}, recent, false},
		{"no acr, list with empty", validator.StepUp{ACR: []string{""}}, bare, false},
		{"max age met", validator.StepUp{MaxAge: 10 * time.Minute}, recent, true},
		{"max age within leeway", validator.StepUp{MaxAge: 30 * time.Second}, recent, true},
		{"max age not met", validator.StepUp{MaxAge: 10 * time.Minute}, old, false},
		{"max age, no auth_time", validator.StepUp{MaxAge: 10 * time.Minute}, bare, false},
		{"negative max age, recent", validator.StepUp{MaxAge: -5 * time.Minute}, recent, false},
		{"negative max age, old", validator.StepUp{MaxAge: -5 * time.Minute}, old, false},
		{"negative max age, no auth_time", validator.StepUp{MaxAge: -time.Nanosecond}, bare, false},
		{"huge max age, no auth_time", validator.StepUp{MaxAge: time.Duration(1<<63 - 1)}, bare, false},
		// A MaxAge+leeway that overflowed met no token; an auth_time ahead
		// of the clock met every max age (SECURITY.md 107).
		{"huge max age, old", validator.StepUp{MaxAge: time.Duration(1<<63 - 1)}, old, true},
		{"auth_time ahead, past the leeway", validator.StepUp{MaxAge: 10 * time.Minute}, &validator.Token{AuthTime: now.Add(2 * time.Minute)}, false},
		{"auth_time a year ahead", validator.StepUp{MaxAge: 10 * time.Minute}, &validator.Token{AuthTime: now.Add(365 * 24 * time.Hour)}, false},
		{"auth_time ahead, within the leeway", validator.StepUp{MaxAge: 10 * time.Minute}, &validator.Token{AuthTime: now.Add(30 * time.Second)}, true},
	} {
		err := tc.s.Check(tc.tok, now, time.Minute)
		if ok := err == nil; ok != tc.ok {
			t.Errorf("%s: %v, want ok %v", tc.name, err, tc.ok)
		}
		var se *validator.StepUpError
		if err != nil && (!errors.Is(err, validator.ErrInsufficientUserAuthentication) || !errors.As(err, &se)) {
			t.Errorf("%s: %v is not a StepUpError", tc.name, err)
		}
	}
}
