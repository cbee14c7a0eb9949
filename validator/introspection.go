package validator

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// Introspector asks an authorization server about a token (RFC 7662).
// [introspect.Client] implements it. Introspect returns the token an
// active response describes, [ErrInactive] for an inactive one, or an
// [ErrUnavailable] error when the server cannot answer.
type Introspector interface {
	Introspect(ctx context.Context, token string) (*Token, error)
}

// WithIntrospection checks tokens that are not JWTs from a configured
// issuer by asking introspector, whose answers come from issuer. Active
// responses are still checked here: "iss", when present, must be a trusted
// issuer; "aud" must name a configured audience (unless
// [WithoutAudienceCheck]); "exp", "nbf" and "iat", when present, are
// checked like a JWT's. "exp" is not required of an introspection response.
func WithIntrospection(issuer string, introspector Introspector) Option {
	return func(c *config) {
		if introspector == nil {
			c.errs = append(c.errs, errors.New("WithIntrospection: nil introspector"))
		}
		if c.introspector != nil {
			c.errs = append(c.errs, errors.New("WithIntrospection: given twice"))
		}
		c.introspector = introspector
		c.introspectionIssuer = issuer
	}
}

// WithIntrospectionAudienceOptional accepts active introspection answers
// that carry no "aud" member at all, for authorization servers that never
// send one (many do not: RFC 7662 makes "aud" optional). An answer whose
// "aud" is present must still name a configured audience, and JWTs checked
// locally must still carry one: unlike [WithoutAudienceCheck], this drops
// nothing but the requirement that introspection answers say who the token
// is for. Use it only when the authorization server issues tokens for this
// API alone, or checks the audience itself.
func WithIntrospectionAudienceOptional() Option {
	return func(c *config) { c.introspectionAudOptional = true }
}

// WithIntrospectJWTs sends JWTs to introspection too, instead of checking
// them locally, so that revocation is seen at once (at the cost of a round
// trip per uncached token). It needs [WithIntrospection].
func WithIntrospectJWTs() Option { return func(c *config) { c.introspectJWTs = true } }

// looksLikeJWS reports whether token has the shape of a compact JWS: three
// segments whose first decodes to something that starts as a JSON object.
func looksLikeJWS(token string) bool {
	h, _, _, err := splitCompact(token)
	if err != nil || len(h) < 4 {
		return false
	}
	var buf [3]byte
	n, err := b64.Decode(buf[:], bytesOf(h[:4]))
	return err == nil && n > 0 && buf[0] == '{'
}

// introspect checks token with the introspector and applies this
// validator's own checks to the answer.
func (v *Validator) introspect(ctx context.Context, token string) (*Token, error) {
	tok, err := v.introspector.Introspect(ctx, token)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, err
		}
		return nil, &UnavailableError{Reason: ErrIntrospectionUnavailable, Err: err}
	}
	if tok == nil {
		return nil, ErrInactive
	}
	// A copy of our own: whatever the introspector caches, nothing a
	// handler does to its token reaches another request.
	tok = tok.clone()
	if tok.Issuer != "" && tok.Issuer != v.introspectionIssuer && v.issuers[tok.Issuer] == nil {
		return nil, ErrIssuer
	}
	if v.checkAud && !v.audienceOK(tok.Audience) &&
		!(tok.Audience == nil && v.introspectionAudOptional) {
		return nil, ErrAudience
	}
	if err := v.checkTimes(tok.Expiry, tok.NotBefore, tok.IssuedAt, false); err != nil {
		return nil, err
	}
	if err := v.runChecks(ctx, tok); err != nil {
		return nil, err
	}
	return tok, nil
}

// VerifySigned verifies a compact JWS made by a trusted party other than
// a token issuer, such as a signed introspection response (RFC 9701): the
// header "typ" must equal typ (case-insensitively, "application/" prefix
// optional), "alg" must be one of algs (or [DefaultAlgorithms] if empty),
// and keys must yield a key that verifies the signature. It returns the
// payload. Errors match [ErrInvalidToken] classes, or [ErrUnavailable] when
// the keys cannot be had.
func VerifySigned(ctx context.Context, jws string, keys KeySource, typ string, algs []Algorithm) ([]byte, error) {
	if len(algs) == 0 {
		algs = DefaultAlgorithms
	}
	var allowed algSet
	for _, a := range algs {
		if id := parseAlg(string(a)); id != algUnknown && !hmacAlgs.has(id) {
			allowed |= 1 << id
		}
	}
	hseg, pseg, sseg, err := splitCompact(jws)
	if err != nil {
		return nil, err
	}
	hjson, ok := decodeSegment(hseg, nil)
	if !ok {
		return nil, ErrMalformed
	}
	hv := &Validator{allowed: allowed}
	h, err := hv.parseHeader(hjson)
	if err != nil && !errors.Is(err, ErrType) {
		return nil, err
	}
	t := strings.TrimPrefix(strings.ToLower(h.typ), "application/")
	if t != strings.ToLower(strings.TrimPrefix(typ, "application/")) {
		return nil, ErrType
	}
	payload, ok := decodeSegment(pseg, nil)
	if !ok {
		return nil, ErrMalformed
	}
	sig, ok := decodeSegment(sseg, nil)
	if !ok || len(sig) == 0 {
		return nil, ErrSignature
	}
	key, err := keys.Key(ctx, h.kid, algNames[h.alg])
	if err != nil {
		return nil, keyError(err)
	}
	if key == nil || !key.algs.has(h.alg) {
		return nil, ErrAlgorithm
	}
	if !verifySignature(h.alg, key, nil, jws[:len(hseg)+1+len(pseg)], sig) {
		return nil, ErrSignature
	}
	return payload, nil
}

// audienceOK reports whether aud names a configured audience.
func (v *Validator) audienceOK(aud []string) bool {
	return slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(v.audiences, a) })
}
