package validator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/bearerguard/bearerguard/internal/nilness"
)

// Introspector asks an authorization server about a token (RFC 7662).
// [introspect.Client] implements it. Introspect returns the token an
// active response describes, [ErrInactive] for an inactive one, or an
// [ErrUnavailable] error when the server cannot answer.
type Introspector interface {
	Introspect(ctx context.Context, token string) (*Token, error)
}

// WithIntrospection checks tokens that are not JWTs from a configured
// issuer by asking introspector, whose answers come from issuer: a JWT is
// sent only when no configured issuer's keys can decide it (no "iss", or an
// issuer without keys), never one a keyed issuer's policy refused once its
// signature held. Active responses are still checked here, and read by the
// rules a JWT's claims obey (a well-formed answer those rules refuse is
// [ErrMalformed]; scopes come from "scope", "scp" and the [WithScopeClaim]
// claims): "iss", when present (even ""), must be issuer
// (an endpoint vouches for its own issuer's tokens only, never for another
// trusted issuer's users); "aud" must name a configured audience (unless
// [WithoutAudienceCheck] or [WithIntrospectionAudienceOptional]); "exp",
// "nbf" and "iat", when present, are checked like a JWT's. "exp" is not
// required of an introspection response. An answer without "iss" gets
// issuer as its [Token.Issuer]. An answer for an issuer configured with
// [WithIssuer] (or a preset; the issuer strings equal exactly, which [New]
// checks for a trailing slash) also gets that issuer's own checks
// ([IssuerOption]: token type, tenant, client allow-lists, its audience),
// as its JWTs do; roles and permissions are never read from answers. An
// answer about a refresh or ID token is refused ([ErrType]): its
// "token_type" names one, its "token_use" is not "access_token" (or
// Cognito's "access"), or its "typ" is Refresh, Offline or ID; an answer
// whose "aud" no audience of this API was compared with must carry a
// non-blank "token_type" ([WithIntrospectionTokenTypeRequired],
// [WithIntrospectionTokenTypeOptional]); "token_type": "DPoP" without a
// "cnf.jkt" is refused ([ErrUnsupportedBinding]).
//
// Introspection only: with no [WithIssuer] or [WithIssuerSecret], the
// validator holds no key at all and fetches nothing but the introspection
// answers: every token, JWT-shaped or not, is sent to introspector (as with
// [WithIntrospectJWTs]), and nothing about it is decided locally but its
// size and the checks above. This is the mode for authorization servers
// that issue opaque tokens and publish no keys (such as Express apps built
// on the npm oauth2-server package). issuer may then be "": answers that
// carry an "iss" are refused, since none is trusted.
func WithIntrospection(issuer string, introspector Introspector) Option {
	return func(c *config) {
		if nilness.IsNil(introspector) {
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
// API alone, or checks the audience itself. Answers without "aud" must
// then carry "token_type", unless [WithIntrospectionTokenTypeOptional].
func WithIntrospectionAudienceOptional() Option {
	return func(c *config) { c.introspectionAudOptional = true }
}

// WithIntrospectionTokenTypeRequired refuses every active introspection
// answer that carries no "token_type" ([ErrType]), even one that names
// this API in "aud".
//
// By default a non-blank "token_type" is required only of answers whose
// "aud" no audience of this API was compared with: answers without "aud"
// (accepted with [WithIntrospectionAudienceOptional]), answers under
// [WithoutAudienceCheck] (unless their issuer has its own
// [IssuerAudience]), and answers for an issuer checked by a client
// allow-list ([IssuerClientIDs]), which never looks at "aud". Authorization servers that introspect refresh
// tokens for any resource server tell them apart only by naming the type
// of access tokens: node-oidc-provider and Spring Authorization Server
// answer an access token with "token_type" ("Bearer" or "DPoP") and a
// refresh token (or an authorization code) without it, and without "aud",
// so a stolen refresh token would otherwise pass as an access token.
// Answers that name a refresh or ID token ("token_type", Ory Hydra's
// "token_use", Keycloak's "typ") are refused whatever the options. It needs
// [WithIntrospection], and excludes [WithIntrospectionTokenTypeOptional].
func WithIntrospectionTokenTypeRequired() Option {
	return func(c *config) { c.introspectionTypeRequired = true }
}

// WithIntrospectionTokenTypeOptional accepts active introspection answers
// without "token_type" even when their audience is not checked (see
// [WithIntrospectionTokenTypeRequired]), for authorization servers that
// send neither "aud" nor "token_type" and introspect access tokens only
// (Django OAuth Toolkit, for example). Use it only with such a server: with
// one that also answers about refresh tokens, a stolen refresh token
// passes as an access token. It needs [WithIntrospection], and excludes
// [WithIntrospectionTokenTypeRequired].
func WithIntrospectionTokenTypeOptional() Option {
	return func(c *config) { c.introspectionTypeOptional = true }
}

// WithIntrospectJWTs sends JWTs to introspection too, instead of checking
// them locally, so that revocation is seen at once (at the cost of a round
// trip per uncached token). It needs [WithIntrospection]. The answer
// decides, and the JWT's own claims are not read, with one exception: a
// JWT whose claims carry a "cnf" is refused ([ErrUnsupportedBinding]) when
// the answer names no binding, rather than taken as a bearer token (RFC
// 9449 §6.2 and RFC 8705 §3.2 have the answer carry the token's "cnf").
// This also holds for a JWT of an issuer without keys here, which is
// introspected whatever this option says.
func WithIntrospectJWTs() Option { return func(c *config) { c.introspectJWTs = true } }

// introspect checks token with the introspector and applies this
// validator's own checks to the answer.
func (v *Validator) introspect(ctx context.Context, token string) (*Token, error) {
	tok, err := v.introspector.Introspect(ctx, token)
	if err != nil {
		if _, ok := errors.AsType[*Error](err); ok {
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
	if !tok.Confirmation.Bound() && looksLikeJWS(token) && saysBound(token) {
		// The JWT says it is sender-constrained and the answer names no
		// key or certificate (RFC 9449 §6.2 and RFC 8705 §3.2 want its
		// "cnf"): taken as a bearer token, it would serve whoever stole
		// it. Its claims are not verified here, so all they can do is have
		// their own request refused.
		return nil, ErrUnsupportedBinding
	}
	if tok.Issuer != "" && tok.Issuer != v.introspectionIssuer {
		// Another issuer's name, even a trusted one: a hostile or
		// compromised endpoint would otherwise make up that issuer's
		// users for any opaque string.
		return nil, ErrIssuer
	}
	if tok.Issuer == "" {
		tok.Issuer = v.introspectionIssuer
	}
	ic := v.issuers[tok.Issuer]
	var spans claimSpans
	if raw := tok.claimsJSON(); raw != nil && (ic != nil || len(v.scopeClaims) > 0) {
		if v.scanClaims(raw, &spans) != nil {
			return nil, ErrMalformed
		}
		if len(v.scopeClaims) > 0 {
			// WithScopeClaim applies to answers as to JWTs (the answer was
			// read without this validator's scope claims), and as for the
			// issuer's JWTs, not to a claim its preset reads as roles.
			// Added to the scopes the Introspector gave, never read again
			// from "scope" and "scp": an Introspector of the caller's own
			// may have narrowed them.
			var skip []bool
			if ic != nil {
				skip = ic.skipScopeClaims
			}
			extra := spans
			extra.scope, extra.scp = nil, nil
			sc, err := extra.scopes(skip)
			if err != nil {
				return nil, ErrMalformed
			}
			tok.Scopes = tok.Scopes.Union(sc)
		}
	}
	if ic != nil {
		// An answer for a configured issuer gets that issuer's own checks
		// (its token type, tenant, client allow-lists and audience), as
		// its JWTs do: introspecting a token never skips them. Its roles
		// and permissions are not read from answers.
		if err := v.checkIssuerPolicy(ic, tok, &spans, true); err != nil {
			return nil, err
		}
	} else if v.checkAud && !v.audienceOK(tok.Audience) &&
		!(tok.Audience == nil && v.introspectionAudOptional) {
		return nil, ErrAudience
	}
	// An answer whose audience this API did not compare with its own must
	// at least say it is about an access token (refresh tokens come
	// without either).
	if v.introspectionTypeRequired || (!v.introspectionTypeOptional && !v.answerAudienceChecked(tok)) {
		val, ok, err := lookupClaim(tok.claimsJSON(), []string{"token_type"})
		if err != nil || !ok {
			return nil, ErrType
		}
		if tt, err := jsonString(val); err != nil || strings.TrimSpace(tt) == "" {
			return nil, ErrType // "" names no type
		}
	}
	if err := v.checkTimes(v.now(), tok.Expiry, tok.NotBefore, tok.IssuedAt, false); err != nil {
		return nil, err
	}
	if err := v.runChecks(ctx, tok); err != nil {
		return nil, err
	}
	return tok, nil
}

// saysBound reports whether token, a compact JWS, carries a "cnf" claim
// naming something (not null, not an empty object), or may carry one the
// strict reader cannot read (a payload that has "cnf" or an escape in it
// and does not parse: a "cnf" named twice, say): read without its
// signature, for [Validator.introspect] only.
func saysBound(token string) bool {
	_, payload, _, err := splitCompact(token)
	if err != nil {
		return false
	}
	raw, ok := decodeSegment(payload, nil)
	if !ok {
		return false
	}
	if !bytes.Contains(raw, []byte("cnf")) && bytes.IndexByte(raw, '\\') < 0 {
		return false // no member can be named "cnf", escaped or not
	}
	val, ok, err := lookupClaim(raw, []string{"cnf"})
	switch {
	case err != nil:
		return true
	case !ok || string(val) == "null":
		return false
	}
	var r objectReader
	if r.init(val) != nil {
		return true // a "cnf" that is no object: not a bearer token's
	}
	_, _, more, err := r.next()
	return more || err != nil
}

// answerAudienceChecked reports whether the audience check an answer
// passed compared its "aud" with an audience of this API: an issuer's own
// audiences ([IssuerAudience]) always do; a client allow-list
// ([IssuerClientIDs]) never looks at "aud"; otherwise the validator's
// audiences do when the answer has an "aud" and the check is on.
func (v *Validator) answerAudienceChecked(tok *Token) bool {
	if ic := v.issuers[tok.Issuer]; ic != nil {
		switch {
		case ic.policy.clientIDs != nil:
			return false
		case ic.policy.audiences != nil:
			return true
		}
	}
	return v.checkAud && tok.Audience != nil
}

// checkIntrospectionIssuer refuses an introspection issuer that cannot be
// meant as written: one a configured issuer's name differs from only in
// spelling (a trailing slash, white space, a fragment, the case of the
// scheme or host), whose answers would silently not get that issuer's
// checks; "" beside keyed issuers (answers without "iss" would get no
// issuer's checks; "" is for introspection only); and one that is not the
// issuer the introspector itself was built for.
func checkIntrospectionIssuer(c config, issuers map[string]*issuerConfig) []error {
	if c.introspector == nil {
		return nil
	}
	ii := c.introspectionIssuer
	var errs []error
	if named, ok := c.introspector.(interface{ Issuer() string }); ok {
		if own := named.Issuer(); own != "" && own != ii {
			errs = append(errs, fmt.Errorf("WithIntrospection issuer %q: the introspector asks the endpoint of issuer %q", ii, own))
		}
	}
	switch {
	case ii == "" && len(issuers) > 0:
		return append(errs, errors.New(`WithIntrospection issuer "" beside WithIssuer: name the issuer whose endpoint answers ("" is for introspection only)`))
	case ii == "":
		return errs
	case strings.TrimSpace(ii) != ii || strings.ContainsAny(ii, "#\x00\r\n\t"):
		return append(errs, fmt.Errorf("WithIntrospection issuer %q has white space, a control character or a fragment", ii))
	case issuers[ii] != nil:
		return errs
	}
	for iss := range issuers {
		if spelledAlike(iss, ii) {
			errs = append(errs, fmt.Errorf("WithIntrospection issuer %q and WithIssuer %q differ only in spelling: make them equal, or the issuer's checks do not apply to introspection answers", ii, iss))
		}
	}
	return errs
}

// spelledAlike reports whether two issuer names are the same URL spelled
// otherwise (RFC 3986 section 6.2.2): by a trailing slash, the case of
// their scheme and host, a default port spelled out
// (https://id.example.com:443) or with leading zeros, a host's trailing
// dot, an IPv6 address written at length, an unreserved character
// percent-encoded (%7E for ~), the case of a percent-encoding's hex, or a
// dot segment in the path. An encoded delimiter (%2F) is not a slash: two
// names that differ by one are different issuers.
func spelledAlike(a, b string) bool {
	return normalIssuer(a) == normalIssuer(b)
}

// normalIssuer is an issuer name in the form spelledAlike compares: the
// host folded further than a DPoP "htu" is (a trailing dot, an IPv6
// address at length, a port with leading zeros name the same server to
// whoever configures it, though a stricter htu is the safer one), then
// normalizeHTU's RFC 3986 normalization, the query kept. A name that is
// not an http(s) URL with a host is compared as written.
func normalIssuer(s string) string {
	s = strings.TrimRight(s, "/")
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	host := strings.TrimSuffix(u.Hostname(), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.String()
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.ParseUint(port, 10, 16); err == nil {
			port = strconv.FormatUint(n, 10)
		}
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	u.Host = host
	n, ok := normalizeHTU(u.String())
	if !ok {
		return s
	}
	return strings.TrimRight(n, "/") + "?" + u.RawQuery
}
