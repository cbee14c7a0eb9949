package validator

import (
	"slices"
	"time"
)

// checkTimes checks "exp", "nbf" and "iat" (zero when absent) against now
// (the validator's clock, read once per validation), with the leeway, and
// the maximum token age.
func (v *Validator) checkTimes(now, exp, nbf, iat time.Time, requireExp bool) error {
	if exp.IsZero() {
		if requireExp {
			return ErrExpired
		}
	} else if !now.Before(exp.Add(v.leeway)) {
		return ErrExpired // RFC 7519 §4.1.4: "on or after" exp, MUST NOT accept
	}
	if !nbf.IsZero() && now.Add(v.leeway).Before(nbf) {
		return ErrNotYetValid
	}
	if !iat.IsZero() && now.Add(v.leeway).Before(iat) {
		return ErrNotYetValid
	}
	if v.maxAge > 0 {
		if iat.IsZero() {
			return ErrMissingClaim
		}
		// Not maxAge+leeway, which overflows for a maxAge near the
		// largest Duration: iat is no later than now+leeway here, so this
		// cannot.
		if now.Sub(iat)-v.leeway > v.maxAge {
			return ErrTooOld
		}
	}
	return nil
}

// audienceOK reports whether aud names a configured audience.
func (v *Validator) audienceOK(aud []string) bool {
	return slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(v.audiences, a) })
}
