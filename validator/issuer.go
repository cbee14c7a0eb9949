package validator

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bearerguard/bearerguard/internal/nilness"
	"github.com/bearerguard/bearerguard/scopes"
)

// IssuerOption adds a check, or a source of roles or permissions, for one
// issuer only: what [WithIssuer], [WithIssuerSecret] or
// [WithTenantIssuers] configure for one issuer never changes how tokens of
// another issuer are checked. Identity-provider presets (package
// providers) are built from these. Every check runs after the signature
// holds: before it, only "iss" is decoded.
type IssuerOption func(*issuerPolicy)

// issuerPolicy is what one issuer's tokens must satisfy beyond the
// signature and the validator-wide checks.
type issuerPolicy struct {
	// audiences replace the validator's audiences for this issuer.
	audiences []string
	// clientIDs: "client_id" must be one of them, in place of any
	// audience check (Amazon Cognito access tokens carry no "aud").
	clientIDs []string
	// accessClaims: claims that say the token is an access token
	// ("token_use": "access"); a token without one is of the wrong type.
	// Each IssuerAccessTokenClaim adds one: all must hold.
	accessClaims []claimValues
	// values: string claims that must equal one of their values.
	values []claimValues
	// issuerClaims: string claims that must equal one of their values,
	// failing with ErrIssuer ("tid" of a tenant's issuer).
	issuerClaims []claimValues
	// roles and permissions: claim paths holding arrays of names.
	roles, permissions [][]string
	// clientIDClaim names the client when "client_id", "azp" and "cid"
	// are absent (Entra ID v1 "appid").
	clientIDClaim string
	// requireGrant: a token granting no scope, role or permission is
	// refused (ErrNoGrant).
	requireGrant bool
	errs         []error
}

type claimValues struct {
	name   string
	values []string
}

// ownAudience reports whether the issuer's tokens are checked against an
// audience or client list of its own instead of the validator's.
func (p *issuerPolicy) ownAudience() bool { return p.audiences != nil || p.clientIDs != nil }

// IssuerAudience checks this issuer's tokens against audiences instead of
// the validator's [WithAudience] (or [WithoutAudienceCheck]): "aud" must
// name one of them. For an identity provider whose tokens name the API in
// its own form (an Entra app ID URI or client id, an Auth0 API identifier).
// Given twice for one issuer, a preset's included, it is refused: a second
// list would widen the first.
func IssuerAudience(audiences ...string) IssuerOption {
	return func(p *issuerPolicy) {
		if len(audiences) == 0 || slices.Contains(audiences, "") || slices.ContainsFunc(audiences, padded) {
			p.errs = append(p.errs, errors.New("IssuerAudience: no audience, an empty one, or one with white space around it"))
		}
		if p.audiences != nil {
			p.errs = append(p.errs, errors.New("IssuerAudience given twice for one issuer: name every audience in one call (a second would widen the first, a preset's too)"))
		}
		p.audiences = append(p.audiences, audiences...)
	}
}

// IssuerClientIDs replaces the audience check, for this issuer only, by an
// allow-list of clients: "client_id" must be present and one of ids. For
// issuers whose access tokens carry no "aud" (Amazon Cognito). Exclusive
// with [IssuerAudience]. Given twice for one issuer, a preset's included,
// it is refused: a second list would widen the first.
func IssuerClientIDs(ids ...string) IssuerOption {
	return func(p *issuerPolicy) {
		if len(ids) == 0 || slices.Contains(ids, "") || slices.ContainsFunc(ids, padded) {
			p.errs = append(p.errs, errors.New("IssuerClientIDs: no client id, an empty one, or one with white space around it"))
		}
		if p.clientIDs != nil {
			p.errs = append(p.errs, errors.New("IssuerClientIDs given twice for one issuer: name every client in one call (a second would widen the first, a preset's too)"))
		}
		p.clientIDs = append(p.clientIDs, ids...)
	}
}

// IssuerAccessTokenClaim requires the string claim name to equal value
// (or one of more) on this issuer's tokens, else refuses them as not
// access tokens ([ErrType]): for issuers that sign ID and access tokens
// with the same keys and tell them apart by a claim (Amazon Cognito
// "token_use": "access"; Keycloak "typ": "Bearer" or "DPoP"). Each use
// adds a check, never replaces one: a check added to a preset's issuer
// keeps the preset's own.
func IssuerAccessTokenClaim(name, value string, more ...string) IssuerOption {
	values := append([]string{value}, more...)
	return func(p *issuerPolicy) {
		if name == "" || slices.Contains(values, "") {
			p.errs = append(p.errs, errors.New("IssuerAccessTokenClaim: empty claim name or value"))
		}
		p.accessClaims = append(p.accessClaims, claimValues{name: name, values: values})
	}
}

// IssuerAccessTokenClaimPresent requires the string claim name to be
// present on this issuer's tokens, with any value, else refuses them as
// not access tokens ([ErrType]): for issuers whose access tokens carry a
// claim their ID tokens never do (Entra ID: "azp" in v2 tokens, "appid"
// in v1). Each use adds a check, as [IssuerAccessTokenClaim] does.
func IssuerAccessTokenClaimPresent(name string) IssuerOption {
	return func(p *issuerPolicy) {
		if name == "" {
			p.errs = append(p.errs, errors.New("IssuerAccessTokenClaimPresent: empty claim name"))
		}
		p.accessClaims = append(p.accessClaims, claimValues{name: name}) // no values: any
	}
}

// IssuerClaimValues requires the top-level string claim name to be
// present on this issuer's tokens and equal one of values, else refuses
// them ([ErrClaimValue]): an allow-list of "azp" (Keycloak) or "cid"
// (Okta) clients, for example. Repeat it for several claims; all must
// hold.
func IssuerClaimValues(name string, values ...string) IssuerOption {
	return func(p *issuerPolicy) {
		if name == "" || len(values) == 0 || slices.Contains(values, "") {
			p.errs = append(p.errs, fmt.Errorf("IssuerClaimValues(%q): empty name, no values, or an empty value", name))
		}
		p.values = append(p.values, claimValues{name: name, values: slices.Clone(values)})
	}
}

// IssuerClientIDClaim sets [Token.ClientID] from the string claim name
// when the token has no "client_id", "azp" or "cid": Entra ID v1 tokens
// name the client in "appid". It checks nothing; a claim of another type
// makes the token malformed. Given twice for one issuer, it is refused.
func IssuerClientIDClaim(name string) IssuerOption {
	return func(p *issuerPolicy) {
		if name == "" {
			p.errs = append(p.errs, errors.New("IssuerClientIDClaim: empty claim name"))
		}
		if p.clientIDClaim != "" {
			p.errs = append(p.errs, errors.New("IssuerClientIDClaim given twice for one issuer"))
		}
		p.clientIDClaim = name
	}
}

// IssuerRequireGrant refuses this issuer's tokens that grant nothing: no
// scope, no role and no permission ([ErrNoGrant], answered 403
// insufficient_scope). For identity providers that issue access tokens
// for an API to clients nobody granted anything (Entra ID gives any
// client of the tenant, or a third-party app a user consented to, a
// client-credentials token without "roles" or "scp"): without it, a route
// that asks only for a valid token serves them. Introspection answers
// grant their scopes only: roles and permissions are never read from
// them.
func IssuerRequireGrant() IssuerOption { return func(p *issuerPolicy) { p.requireGrant = true } }

// IssuerRoleClaims reads the token's roles ([Token.Roles]) from the claims
// at paths, RFC 6901 JSON Pointers such as "/roles" (Entra ID),
// "/realm_access/roles" or "/resource_access/orders-api/roles" (Keycloak).
// Each claim, when present, must be an array of strings (or one string),
// else the token is malformed. A route requires a role with
// [scopes.Role]. Default: no roles are read.
func IssuerRoleClaims(paths ...string) IssuerOption {
	return func(p *issuerPolicy) { p.roles = append(p.roles, parsePaths("IssuerRoleClaims", paths, &p.errs)...) }
}

// IssuerPermissionClaims reads the token's permissions
// ([Token.Permissions]) from the claims at paths, RFC 6901 JSON Pointers
// such as "/permissions" (Auth0 RBAC), with the rules of
// [IssuerRoleClaims]. A route requires one with [scopes.Permission].
// Default: no permissions are read.
func IssuerPermissionClaims(paths ...string) IssuerOption {
	return func(p *issuerPolicy) {
		p.permissions = append(p.permissions, parsePaths("IssuerPermissionClaims", paths, &p.errs)...)
	}
}

// claimsNotScopes marks the scope claims (by index) that p reads as roles
// or permissions, at the top level; nil when there are none.
func (p *issuerPolicy) claimsNotScopes(scopeClaims []string) []bool {
	var skip []bool
	for i, c := range scopeClaims {
		for _, path := range slices.Concat(p.roles, p.permissions) {
			if len(path) == 1 && path[0] == c {
				if skip == nil {
					skip = make([]bool, len(scopeClaims))
				}
				skip[i] = true
			}
		}
	}
	return skip
}

func parsePaths(opt string, paths []string, errs *[]error) [][]string {
	if len(paths) == 0 {
		*errs = append(*errs, fmt.Errorf("%s: no path", opt))
	}
	out := make([][]string, 0, len(paths))
	for _, s := range paths {
		segs, err := scopes.ParseClaimPath(s)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("%s: %w", opt, err))
			continue
		}
		out = append(out, segs)
	}
	return out
}

// TenantPlaceholder is the placeholder of an issuer template, as Microsoft
// Entra ID's multi-tenant discovery document writes it:
// "https://login.microsoftonline.com/{tenantid}/v2.0".
const TenantPlaceholder = "{tenantid}"

// WithTenantIssuers trusts one issuer per allowed tenant, for a
// multi-tenant application: each tenant t in tenants stands for the issuer
// template with [TenantPlaceholder] replaced by t, verified with keys (the
// keys of the provider's common endpoint), and its tokens must carry a
// "tid" claim equal to t, else they are refused ([ErrIssuer]). So the
// expanded issuer equals "iss", and "tid" equals the tenant in it and is
// allowed. A tenant not listed is not trusted: there is no wildcard. The
// opts apply to every tenant's issuer. Tenants are identifiers (letters,
// digits, '-' and '.'), not URLs.
func WithTenantIssuers(template string, tenants []string, keys KeySource, opts ...IssuerOption) Option {
	return func(c *config) {
		if strings.Count(template, TenantPlaceholder) != 1 {
			c.errs = append(c.errs, fmt.Errorf("WithTenantIssuers: template %q must contain %s once", template, TenantPlaceholder))
			return
		}
		if len(tenants) == 0 {
			c.errs = append(c.errs, errors.New("WithTenantIssuers: no tenant allowed"))
		}
		if nilness.IsNil(keys) {
			c.errs = append(c.errs, fmt.Errorf("WithTenantIssuers %q: nil key source", template))
		}
		for _, t := range tenants {
			if !validTenant(t) {
				c.errs = append(c.errs, fmt.Errorf("WithTenantIssuers: %q is not a tenant identifier", t))
				continue
			}
			tenantOpt := func(p *issuerPolicy) {
				p.issuerClaims = append(p.issuerClaims, claimValues{name: "tid", values: []string{t}})
			}
			WithIssuer(strings.Replace(template, TenantPlaceholder, t, 1), keys, append(slices.Clone(opts), tenantOpt)...)(c)
		}
	}
}

func validTenant(t string) bool {
	if t == "" || len(t) > 256 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func newPolicy(opts []IssuerOption) (issuerPolicy, []error) {
	var p issuerPolicy
	for _, o := range opts {
		if o == nil {
			p.errs = append(p.errs, errors.New("nil IssuerOption"))
			continue
		}
		o(&p)
	}
	if p.audiences != nil && p.clientIDs != nil {
		p.errs = append(p.errs, errors.New("IssuerAudience and IssuerClientIDs are exclusive"))
	}
	return p, p.errs
}

// checkIssuerPolicy applies ic's own checks to a token whose signature
// holds (or, answer true, to an introspection answer for ic's issuer),
// then the audience check (the issuer's own, else the validator's), and
// reads a JWT's roles and permissions.
func (v *Validator) checkIssuerPolicy(ic *issuerConfig, tok *Token, s *claimSpans, answer bool) error {
	p := &ic.policy
	for _, cv := range p.accessClaims {
		if err := checkClaimValues(tok.claimsJSON(), cv, ErrType); err != nil {
			return err
		}
	}
	for _, cv := range p.issuerClaims {
		if err := checkClaimValues(tok.claimsJSON(), cv, ErrIssuer); err != nil {
			return err
		}
	}
	switch {
	case p.clientIDs != nil:
		// "client_id" itself: not the Token's ClientID, which falls back
		// to "azp" and "cid" when "client_id" is empty.
		if s.clientID == nil {
			return ErrAudience
		}
		id, err := jsonStringView(s.clientID)
		if err != nil {
			return ErrMalformed
		}
		if !slices.Contains(p.clientIDs, id) {
			return ErrAudience
		}
	case p.audiences != nil:
		if !slices.ContainsFunc(tok.Audience, func(a string) bool { return slices.Contains(p.audiences, a) }) {
			return ErrAudience
		}
	default:
		if v.checkAud && !v.audienceOK(tok.Audience) &&
			!(answer && tok.Audience == nil && v.introspectionAudOptional) {
			return ErrAudience
		}
	}
	for _, cv := range p.values {
		if err := checkClaimValues(tok.claimsJSON(), cv, ErrClaimValue); err != nil {
			return err
		}
	}
	if tok.ClientID == "" && p.clientIDClaim != "" {
		val, ok, err := lookupClaim(tok.claimsJSON(), []string{p.clientIDClaim})
		if err != nil {
			return ErrMalformed
		}
		if ok {
			if tok.ClientID, err = jsonStringView(val); err != nil {
				return ErrMalformed
			}
		}
	}
	if answer {
		return nil // roles and permissions fail closed for answers
	}
	var err error
	if tok.Roles, err = namesAt(tok.claimsJSON(), p.roles); err != nil {
		return err
	}
	if tok.Permissions, err = namesAt(tok.claimsJSON(), p.permissions); err != nil {
		return err
	}
	return nil
}

// checkGrant refuses a token that grants no scope, role or permission
// when its issuer requires a grant ([IssuerRequireGrant]). It runs last,
// after the times and the binding, so that an expired token, or one
// presented without its binding, is answered as such (401) and not as
// granting nothing (403). An introspection answer grants its scopes
// only: roles and permissions are never read from answers.
func (v *Validator) checkGrant(tok *Token) error {
	if ic := v.issuers[tok.Issuer]; ic != nil && ic.policy.requireGrant &&
		tok.Scopes.Len() == 0 && tok.Roles.Len() == 0 && tok.Permissions.Len() == 0 {
		return ErrNoGrant
	}
	return nil
}

// checkClaimValues requires the top-level string claim cv.name to equal one
// of cv.values (to be present, when cv.values is nil); else it returns
// fail. A claim of another type is malformed.
func checkClaimValues(raw []byte, cv claimValues, fail error) error {
	val, ok, err := lookupClaim(raw, []string{cv.name})
	if err != nil {
		return ErrMalformed
	}
	if !ok {
		return fail
	}
	s, err := jsonStringView(val)
	if err != nil {
		return ErrMalformed
	}
	if cv.values != nil && !slices.Contains(cv.values, s) {
		return fail
	}
	return nil
}

// namesAt collects the names in the arrays at paths into one Set, with
// duplicates removed in linear time.
func namesAt(raw []byte, paths [][]string) (scopes.Set, error) {
	var list []string
	for _, path := range paths {
		val, ok, err := lookupClaim(raw, path)
		if err != nil {
			return scopes.Set{}, ErrMalformed
		}
		if !ok {
			continue
		}
		more, err := jsonStringsView(val, nil)
		if err != nil {
			return scopes.Set{}, ErrMalformed
		}
		list = append(list, more...)
	}
	if list == nil {
		return scopes.Set{}, nil
	}
	set, err := scopes.FromNames(list)
	if err != nil {
		return scopes.Set{}, ErrMalformed
	}
	return set, nil
}

// lookupClaim returns the raw value at path in the claims object raw, a
// document the strict reader has validated. Each object on the path is
// read to its end, so a member named twice at any level is an error, not a
// first-or-last guess. The work is linear in len(raw) times the path's
// depth (at most scopes.MaxClaimPathDepth).
func lookupClaim(raw []byte, path []string) (val []byte, ok bool, err error) {
	cur := raw
	for _, seg := range path {
		var r objectReader
		if r.init(cur) != nil {
			return nil, false, nil // not an object: nothing at this path
		}
		var found []byte
		for {
			name, v, more, err := r.next()
			if err != nil {
				return nil, false, err
			}
			if !more {
				break
			}
			if string(name) == seg {
				found = v
			}
		}
		if found == nil {
			return nil, false, nil
		}
		cur = found
	}
	return cur, true, nil
}

// claimHas reports whether the value at path in raw is the string want, or
// an array holding it. Anything else (absent, another type, malformed)
// does not match.
func claimHas(raw []byte, t scopes.Term) bool {
	_, n := t.PathSegment(0)
	var path [scopes.MaxClaimPathDepth]string
	for i := range n {
		path[i], _ = t.PathSegment(i)
	}
	val, ok, err := lookupClaim(raw, path[:n])
	if err != nil || !ok || len(val) == 0 {
		return false
	}
	switch val[0] {
	case '"':
		s, err := jsonStringView(val)
		return err == nil && s == t.Name()
	case '[':
		return arrayHasString(val, t.Name())
	}
	return false
}

// arrayHasString reports whether the JSON array val (validated) has a
// string element equal to want; other elements are skipped.
func arrayHasString(val []byte, want string) bool {
	i := skipWS(val, 1)
	if i >= len(val) || val[i] == ']' {
		return false
	}
	for i < len(val) {
		end, err := skipValue(val, i, 1, nil)
		if err != nil {
			return false
		}
		if val[i] == '"' {
			if s, err := jsonStringView(val[i:end]); err == nil && s == want {
				return true
			}
		}
		i = skipWS(val, end)
		if i >= len(val) || val[i] != ',' {
			return false
		}
		i = skipWS(val, i+1)
	}
	return false
}

// Options combines opts into one Option, applied in order: for a value
// such as an identity-provider preset that configures several issuers and
// is passed to [New] next to other options.
func Options(opts ...Option) Option {
	return func(c *config) {
		for _, o := range opts {
			if o == nil {
				c.errs = append(c.errs, errors.New("nil Option"))
				continue
			}
			o(c)
		}
	}
}
