package validator

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// StepUp is a route's requirement on how the user behind a token
// authenticated (RFC 9470): an "acr" (authentication context class) among
// ACR, and/or an "auth_time" no older than MaxAge. The zero StepUp requires
// nothing.
type StepUp struct {
	// ACR lists the acceptable "acr" values, most preferred first; empty
	// accepts any.
	ACR []string
	// MaxAge bounds the time since "auth_time"; zero means no bound. A
	// negative MaxAge is met by no token.
	MaxAge time.Duration
}

// Check returns a [*StepUpError] when tok does not meet s, at now (with
// the leeway), else nil. A token without "acr" (or "auth_time") does not
// meet a requirement on it, nor does one whose "auth_time" is ahead of
// now by more than the leeway; a negative MaxAge is met by no token.
func (s StepUp) Check(tok *Token, now time.Time, leeway time.Duration) error {
	if len(s.ACR) > 0 && (tok.ACR == "" || !slices.Contains(s.ACR, tok.ACR)) { // a token without "acr" never meets an acr list, even one holding ""
		return &StepUpError{ACRValues: s.ACR, MaxAge: s.MaxAge}
	}
	// A negative MaxAge (a sign slipped into a configured duration) is no
	// bound to skip: it fails closed, as httpbearer.WithStepUp refuses it.
	// An "auth_time" ahead of the clock (past the leeway) meets no max
	// age: it would meet every one for the token's whole life. The age is
	// compared as now-auth_time-leeway, which cannot overflow as
	// MaxAge+leeway would (time.Time.Sub saturates).
	if s.MaxAge < 0 || s.MaxAge > 0 && (tok.AuthTime.IsZero() || tok.AuthTime.After(now.Add(leeway)) || now.Sub(tok.AuthTime)-leeway > s.MaxAge) {
		return &StepUpError{ACRValues: s.ACR, MaxAge: s.MaxAge}
	}
	return nil
}

// StepUpError reports what a step-up requires. It matches
// [ErrInsufficientUserAuthentication] with errors.Is, and its challenge
// carries acr_values and max_age (RFC 9470 §3).
type StepUpError struct {
	// ACRValues are the route's StepUp.ACR: the "acr" values it accepts,
	// most preferred first (none: any).
	ACRValues []string
	// MaxAge is the route's StepUp.MaxAge: the longest time since
	// "auth_time" it accepts (zero: no bound).
	MaxAge time.Duration
}

// Error says a stronger or more recent authentication is required.
func (e *StepUpError) Error() string { return ErrInsufficientUserAuthentication.Error() }

// Unwrap returns [ErrInsufficientUserAuthentication].
func (e *StepUpError) Unwrap() error { return ErrInsufficientUserAuthentication }

// attributes are the challenge attributes of RFC 9470 §3: acr_values
// space-separated, max_age in whole seconds.
func (e *StepUpError) attributes() []challengeAttr {
	var out []challengeAttr
	if len(e.ACRValues) > 0 {
		out = append(out, challengeAttr{"acr_values", strings.Join(e.ACRValues, " ")})
	}
	if e.MaxAge > 0 {
		out = append(out, challengeAttr{"max_age", strconv.FormatInt(int64(e.MaxAge/time.Second), 10)})
	}
	return out
}

// CheckStepUp is [StepUp.Check] with the validator's clock and leeway. A
// Validator not built by New returns an unavailable error.
func (v *Validator) CheckStepUp(tok *Token, s StepUp) error {
	if v.now == nil {
		return errNotBuilt
	}
	return s.Check(tok, v.now(), v.leeway)
}
