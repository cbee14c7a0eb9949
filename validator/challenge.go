package validator

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Challenge is the HTTP answer to a failed request, as RFC 6750 §3 and
// this module's single mapping table prescribe:
//
//	class                              status  WWW-Authenticate
//	ErrNoToken                         401     Bearer realm="…" (no error attribute)
//	ErrInvalidRequest                  400     Bearer realm="…", error="invalid_request", …
//	ErrInvalidToken                    401     Bearer realm="…", error="invalid_token", …
//	ErrInsufficientScope               403     Bearer realm="…", error="insufficient_scope", …, scope="…"
//	ErrInsufficientUserAuthentication  401     Bearer …, error="insufficient_user_authentication", acr_values="…", max_age="…"
//	ErrInvalidDPoPProof, ErrUseDPoPNonce 401   DPoP …, error="invalid_dpop_proof" / "use_dpop_nonce"
//	ErrUnavailable                     503     (none; Retry-After instead)
//
// Every adapter writes its answers through [ChallengeFor] or
// [Validator.Challenge].
type Challenge struct {
	Status      int           // HTTP status code
	Code        string        // RFC 6750 error code, "" for no token and unavailable
	Description string        // fixed, safe text: never token material or upstream content
	Scope       string        // space-delimited missing scopes, for insufficient_scope
	Header      string        // WWW-Authenticate value, "" when none is sent
	RetryAfter  time.Duration // for 503: when to try again (at least 1 s)
	Nonce       string        // DPoP-Nonce value (RFC 9449 §8), "" when none is sent

	parts []challengePart // what Header renders
}

// challengePart is one challenge of the header: a scheme and attributes.
type challengePart struct {
	scheme string
	attrs  []challengeAttr
}

type challengeAttr struct{ name, value string }

// DefaultRetryAfter is the Retry-After sent with a 503 when the cause gives
// no better hint.
const DefaultRetryAfter = 5 * time.Second

// MaxRetryAfter bounds the Retry-After sent with a 503, and how long an
// introspection endpoint's own Retry-After keeps package introspect from
// asking it (a key set's paces the refreshes of package jwks). An
// authorization server's Retry-After may say up to a day: passed on whole,
// one 429 of it (to a flood of made-up tokens, say) would send this API's
// well-behaved clients away for that long.
const MaxRetryAfter = time.Minute

// ChallengeFor maps err to its HTTP answer. realm may be empty; characters
// RFC 6750 does not allow in a quoted attribute value are dropped from it.
// An error of no known class is answered as invalid_token, so that a bug
// never lets a request through and never reveals detail.
func ChallengeFor(err error, realm string) Challenge {
	c, _ := challengeFor(err, realm)
	if c.parts != nil {
		c.render()
	}
	return c
}

// challengeFor is ChallengeFor without the header rendered (when it has
// parts), and the error's class.
func challengeFor(err error, realm string) (Challenge, *Error) {
	class, reason := classOf(err)
	c := Challenge{Code: class.code, Description: reason.desc}
	var extra []challengeAttr
	switch class {
	case ErrNoToken:
		c.Status = http.StatusUnauthorized
		c.Description = ""
	case ErrInvalidRequest:
		c.Status = http.StatusBadRequest
	case ErrInsufficientScope:
		c.Status = http.StatusForbidden
		if se, ok := AsScopeError(err); ok {
			scope := se.Scope
			if scope == nil {
				scope = se.Missing
			}
			c.Scope = sanitize(strings.Join(scope, " "))
		}
	case ErrInsufficientUserAuthentication:
		c.Status = http.StatusUnauthorized
		if se, ok := errors.AsType[*StepUpError](err); ok {
			extra = se.attributes()
		}
	case ErrUnavailable:
		c.Status = http.StatusServiceUnavailable
		c.RetryAfter = DefaultRetryAfter
		if ue, ok := asUnavailable(err); ok && ue.RetryAfter > 0 {
			c.RetryAfter = ue.RetryAfter
		}
		c.RetryAfter = min(max(c.RetryAfter.Round(time.Second), time.Second), MaxRetryAfter)
		return c, class
	default:
		c.Status = http.StatusUnauthorized
	}
	c.parts = []challengePart{{scheme: "Bearer", attrs: append(errorAttrs(realm, c.Code, c.Description, c.Scope), extra...)}}
	return c, class
}

// errorAttrs are a challenge's realm and error attributes.
func errorAttrs(realm, code, description, scope string) []challengeAttr {
	return []challengeAttr{{"realm", realm}, {"error", code}, {"error_description", description}, {"scope", scope}}
}

// WithResourceMetadata returns c with the RFC 9728 §5.1 resource_metadata
// attribute (the URL of the protected resource metadata document) on every
// challenge, so that a client learns where to find the authorization
// servers and scopes.
func (c Challenge) WithResourceMetadata(url string) Challenge {
	if url == "" || len(c.parts) == 0 {
		return c
	}
	parts := make([]challengePart, len(c.parts))
	for i, p := range c.parts {
		parts[i] = challengePart{scheme: p.scheme, attrs: append(append([]challengeAttr(nil), p.attrs...), challengeAttr{"resource_metadata", url})}
	}
	c.parts = parts
	c.render()
	return c
}

// render writes Header from the parts: challenges separated by ", ",
// empty attributes left out.
func (c *Challenge) render() {
	n := 0 // at most the length written: one allocation
	for _, p := range c.parts {
		n += len(p.scheme) + 2
		for _, a := range p.attrs {
			n += len(a.name) + len(a.value) + 5
		}
	}
	var b strings.Builder
	b.Grow(n)
	for i, p := range c.parts {
		if i > 0 {
			b.WriteString(", ")
		}
		writeChallenge(&b, p)
	}
	c.Header = b.String()
}

// Apply writes the challenge's headers to h: WWW-Authenticate (or
// Retry-After for 503), DPoP-Nonce when a nonce is asked for, and
// Cache-Control: no-store. It does not write the status or a body.
func (c Challenge) Apply(h http.Header) {
	// The keys as http.Header.Set would canonicalize them, written so:
	// canonicalizing "WWW-Authenticate" costs every refusal an allocation.
	if c.Header != "" {
		h["Www-Authenticate"] = []string{c.Header}
	}
	if c.RetryAfter > 0 {
		h["Retry-After"] = []string{strconv.Itoa(int(c.RetryAfter / time.Second))}
	}
	if c.Nonce != "" {
		h["Dpop-Nonce"] = []string{c.Nonce}
	}
	h["Cache-Control"] = []string{"no-store"}
}

// BuildChallenge builds a WWW-Authenticate value for the Bearer scheme
// (RFC 6750 §3). Empty attributes are left out. Characters RFC 6750 does not
// allow in an attribute's value are dropped, so the result always parses.
func BuildChallenge(realm, code, description, scope string) string {
	var b strings.Builder
	writeChallenge(&b, challengePart{scheme: "Bearer", attrs: errorAttrs(realm, code, description, scope)})
	return b.String()
}

func writeChallenge(b *strings.Builder, p challengePart) {
	b.WriteString(p.scheme)
	sep := " "
	for _, a := range p.attrs {
		value := sanitize(a.value)
		if value == "" {
			continue
		}
		b.WriteString(sep)
		b.WriteString(a.name)
		b.WriteString(`="`)
		b.WriteString(value)
		b.WriteByte('"')
		sep = ", "
	}
}

// Challenge maps err to its HTTP answer for a request that used scheme,
// with the validator's DPoP policy (RFC 9449 §7.1): with [DPoPAllowed] the
// answer carries a Bearer and a DPoP challenge (with "algs"), the error
// attributes on the scheme the request used (DPoP errors always on the DPoP
// challenge); with [DPoPRequired] only the DPoP challenge; with [DPoPOff]
// only the Bearer one, as [ChallengeFor]. A [NonceError] adds its nonce.
func (v *Validator) Challenge(err error, realm string, scheme Scheme) Challenge {
	c, class := challengeFor(err, realm)
	if ne, ok := asNonceError(err); ok { // also one an error's own As method gives
		c.Nonce = ne.Nonce
	}
	mode := v.dpop.mode
	if len(c.parts) == 0 || mode == DPoPOff {
		if c.parts != nil {
			c.render()
		}
		return c
	}
	onDPoP := scheme == SchemeDPoP || class == ErrInvalidDPoPProof || class == ErrUseDPoPNonce || mode == DPoPRequired
	algs := challengeAttr{"algs", v.dpop.algsText}
	full := c.parts[0].attrs
	bare := []challengeAttr{{"realm", realm}}
	bearer := challengePart{scheme: "Bearer", attrs: full}
	dpop := challengePart{scheme: "DPoP", attrs: []challengeAttr{bare[0], algs}}
	if onDPoP {
		bearer.attrs = bare
		dpop.attrs = append(full[:len(full):len(full)], algs)
	}
	if mode == DPoPRequired {
		c.parts = []challengePart{dpop}
	} else {
		c.parts = []challengePart{bearer, dpop}
	}
	c.render()
	return c
}

func asNonceError(err error) (*NonceError, bool) {
	return errors.AsType[*NonceError](err)
}

// isDescChar: %x20-21 / %x23-5B / %x5D-7E (RFC 6750 §3 error,
// error_description). A scope's characters are the same set: scope-token
// characters and SP (RFC 6750 §3, RFC 6749 §3.3).
func isDescChar(c byte) bool { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' }

// sanitize drops from s every character an attribute's quoted value may
// not hold (isDescChar).
func sanitize(s string) string {
	for i := 0; i < len(s); i++ {
		if !isDescChar(s[i]) {
			var b strings.Builder
			for j := 0; j < len(s); j++ {
				if isDescChar(s[j]) {
					b.WriteByte(s[j])
				}
			}
			return b.String()
		}
	}
	return s
}
