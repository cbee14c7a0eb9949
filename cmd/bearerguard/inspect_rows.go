package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/bearerguard/bearerguard/internal/httpfetch"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

// explainer turns one inspection into check rows, each with a verdict and
// a reason in plain words.
type explainer struct {
	f   *validateFlags // with the page's settings
	req *inspectRequest
	now time.Time
	err error // the API's decision
	pr  *presentation
	// verified: the API's validator verified the token itself.
	verified bool
}

// afterSignature reports whether err refused a JWT for a check the
// validator makes only once the signature holds (claims, audience,
// times, policy, binding, scopes).
func afterSignature(err error) bool {
	for _, e := range []error{validator.ErrAudience, validator.ErrExpired, validator.ErrNotYetValid, validator.ErrTooOld,
		validator.ErrMissingClaim, validator.ErrClaimValue, validator.ErrClaimCheck, validator.ErrInsufficientScope} {
		if errors.Is(err, e) {
			return true
		}
	}
	return bindingRefusal(err)
}

// Row identifiers, in the order the page shows them.
const (
	rowFormat        = "format"
	rowIssuer        = "issuer"
	rowSignature     = "signature"
	rowIntrospection = "introspection"
	rowExpiry        = "expiry"
	rowNotBefore     = "not_before"
	rowIssuedAt      = "issued_at"
	rowAudience      = "audience"
	rowType          = "type"
	rowBinding       = "binding"
	rowScopes        = "scopes"
	rowPolicy        = "policy"
)

var rowNames = map[string]string{
	rowFormat: "Format", rowIssuer: "Issuer", rowSignature: "Signature and key", rowIntrospection: "Introspection",
	rowExpiry: "Expiry (exp)", rowNotBefore: "Not before (nbf)", rowIssuedAt: "Issued at (iat) and age",
	rowAudience: "Audience (aud)", rowType: "RFC 9068 access token type", rowBinding: "Sender constraint (DPoP, mTLS)",
	rowScopes: "Scopes required", rowPolicy: "Issuer policy (clients, tenants, claims, grant)",
}

func row(id, verdict, format string, args ...any) checkRow {
	return checkRow{ID: id, Name: rowNames[id], Verdict: verdict, Reason: fmt.Sprintf(format, args...)}
}

// jwtChecks explains a JWT checked with the issuer's keys.
func (e *explainer) jwtChecks(header, claims map[string]any, keys *jwks.Set, r relaxedResult) []checkRow {
	verified := r.tok != nil
	unverified := ""
	if !verified {
		unverified = " (unverified: the signature does not hold)"
	}
	rows := []checkRow{e.formatRow(header, claims)}
	rows = append(rows, e.issuerRow(claims))
	rows = append(rows, e.signatureRow(header, keys, r))
	rows = append(rows, e.timeRows(claims, unverified)...)
	rows = append(rows, e.audienceRow(claims, unverified))
	rows = append(rows, e.typeRow(header, claims, r))
	if e.f.provider.name != "" || errors.Is(e.err, validator.ErrClaimValue) {
		rows = append(rows, e.policyRow())
	}
	rows = append(rows, e.bindingRow())
	rows = append(rows, e.scopesRow(claims, unverified))
	return rows
}

func (e *explainer) formatRow(header, claims map[string]any) checkRow {
	switch {
	case errors.Is(e.err, validator.ErrTooLarge):
		return row(rowFormat, verdictFail, "the token is %d bytes, more than the API accepts", len(e.req.Token))
	case header == nil:
		return row(rowFormat, verdictFail, "it has three dot-separated parts, but its header is not base64url-encoded JSON")
	case claims == nil:
		return row(rowFormat, verdictFail, "its header decodes, but its claims are not base64url-encoded JSON")
	case errors.Is(e.err, validator.ErrMalformed), errors.Is(e.err, validator.ErrUnsupported):
		return row(rowFormat, verdictFail, "it decodes, but the API refuses its form: %v (duplicate members, a claim of the wrong type, or a JOSE extension)", e.err)
	}
	kid, alg := headerKeyID(header)
	return row(rowFormat, verdictPass, "a signed JWT (compact JWS): alg %s, kid %q, %d bytes", orNone(alg), kid, len(e.req.Token))
}

func (e *explainer) issuerRow(claims map[string]any) checkRow {
	iss, ok := claims["iss"].(string)
	if p := e.f.provider.name; p != "" {
		switch {
		case errors.Is(e.err, validator.ErrIssuer):
			return row(rowIssuer, verdictFail, "issued by %q, which the --provider %s preset does not trust (another tenant, realm or pool?)", iss, p)
		case e.verified || afterSignature(e.err):
			return row(rowIssuer, verdictPass, "issued by %q, an issuer the --provider %s preset trusts", iss, p)
		}
		return row(rowIssuer, verdictSkip, "not reached: issued by %q (unverified)", iss)
	}
	switch {
	case e.f.issuer == "":
		return row(rowIssuer, verdictSkip, "no --issuer: this API verifies no JWT locally")
	case !ok || iss == "":
		return row(rowIssuer, verdictFail, "the token has no iss: the API cannot tell who issued it")
	case iss != e.f.issuer:
		return row(rowIssuer, verdictFail, "issued by %q; this API trusts %q only (the comparison is exact: a trailing slash counts)", iss, e.f.issuer)
	}
	return row(rowIssuer, verdictPass, "issued by %q, the issuer this API trusts", iss)
}

func (e *explainer) signatureRow(header map[string]any, keys *jwks.Set, r relaxedResult) checkRow {
	kid, alg := headerKeyID(header)
	switch {
	case r.tok != nil:
		return row(rowSignature, verdictPass, "the signature verifies with the issuer's key %q (%s)", r.tok.KeyID, r.tok.Algorithm)
	case keys == nil:
		return row(rowSignature, verdictSkip, "no key set: the API has no --issuer to verify signatures with")
	case afterSignature(r.err) || kindFromClaims(header, r.err):
		return row(rowSignature, verdictPass, "the signature verifies with the issuer's key %q (%s); the token was refused later, for its claims", kid, orNone(alg))
	case errors.Is(r.err, validator.ErrKeysUnavailable):
		msg := "unknown: the issuer's key set could not be fetched, so the API answers 503 until it can"
		if st := keys.Status(); st.LastError != nil {
			msg += " (" + st.LastError.Error() + ")"
		}
		return row(rowSignature, verdictUnknown, "%s", msg)
	case errors.Is(r.err, validator.ErrUnknownKey):
		return row(rowSignature, verdictFail, "no key in the issuer's set has kid %q for %s: the key was rotated out, or the token comes from another issuer or environment", kid, orNone(alg))
	case errors.Is(r.err, validator.ErrSignature):
		return row(rowSignature, verdictFail, "the issuer's key %q was found, but the signature does not verify with it: the token was altered, or signed by another key with the same kid", kid)
	case errors.Is(r.err, validator.ErrAlgorithm):
		return row(rowSignature, verdictFail, "alg %q is not allowed for this issuer, or does not fit its key %q", alg, kid)
	case errors.Is(r.err, validator.ErrIssuer):
		return row(rowSignature, verdictSkip, "not checked: the issuer is not trusted, so there is no key set to check against")
	case errors.Is(r.err, validator.ErrType):
		return row(rowSignature, verdictSkip, "not checked: the token's typ is not an access token's")
	}
	return row(rowSignature, verdictFail, "not verified: %v", r.err)
}

// timeRows explain exp, nbf and iat as checkTimes applies them, with the
// leeway.
func (e *explainer) timeRows(claims map[string]any, unverified string) []checkRow {
	now, leeway := e.now, e.f.leeway
	lw := fmt.Sprintf("leeway %s", humanDuration(leeway))
	var rows []checkRow
	if exp, ok := claimTime(claims, "exp"); !ok {
		rows = append(rows, row(rowExpiry, verdictFail, "the token has no exp: tokens without an expiry are refused%s", unverified))
	} else if !now.Before(exp.Add(leeway)) {
		rows = append(rows, row(rowExpiry, verdictFail, "expired %s (%s, %s)%s", humanRelative(exp, now), exp.UTC().Format(time.RFC3339), lw, unverified))
	} else if !now.Before(exp) {
		rows = append(rows, row(rowExpiry, verdictPass, "expired %s, but within the %s%s", humanRelative(exp, now), lw, unverified))
	} else {
		rows = append(rows, row(rowExpiry, verdictPass, "expires %s (%s)%s", humanRelative(exp, now), exp.UTC().Format(time.RFC3339), unverified))
	}
	if nbf, ok := claimTime(claims, "nbf"); !ok {
		rows = append(rows, row(rowNotBefore, verdictSkip, "the token has no nbf: valid from when it was issued"))
	} else if now.Add(leeway).Before(nbf) {
		rows = append(rows, row(rowNotBefore, verdictFail, "not valid until %s (%s, beyond the %s): the issuer's clock may be ahead of this machine's%s",
			nbf.UTC().Format(time.RFC3339), humanRelative(nbf, now), lw, unverified))
	} else {
		rows = append(rows, row(rowNotBefore, verdictPass, "valid since %s%s", humanRelative(nbf, now), unverified))
	}
	if iat, ok := claimTime(claims, "iat"); !ok {
		rows = append(rows, row(rowIssuedAt, verdictSkip, "the token has no iat: its age cannot be told"))
	} else if now.Add(leeway).Before(iat) {
		rows = append(rows, row(rowIssuedAt, verdictFail, "issued %s by this machine's clock, beyond the %s: the issuer's clock is ahead%s", humanRelative(iat, now), lw, unverified))
	} else if iat.After(now) {
		rows = append(rows, row(rowIssuedAt, verdictPass, "issued %s by this machine's clock: the clocks differ, within the %s%s", humanRelative(iat, now), lw, unverified))
	} else {
		rows = append(rows, row(rowIssuedAt, verdictPass, "issued %s; the API sets no maximum age%s", humanRelative(iat, now), unverified))
	}
	return rows
}

func audienceList(claims map[string]any) []string {
	switch a := claims["aud"].(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, v := range a {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func (e *explainer) audienceRow(claims map[string]any, unverified string) checkRow {
	aud := audienceList(claims)
	if p := e.f.provider.name; p != "" {
		what := "names no audience"
		if len(aud) > 0 {
			what = "meant for " + quoteAll(aud)
		}
		switch {
		case errors.Is(e.err, validator.ErrAudience):
			return row(rowAudience, verdictFail, "%s, which the --provider %s preset does not accept (--audience %q)", what, p, e.f.audience)
		case e.verified || afterSignature(e.err):
			return row(rowAudience, verdictPass, "%s, accepted by the --provider %s preset", what, p)
		}
		return row(rowAudience, verdictSkip, "not reached: %s (unverified)", what)
	}
	switch {
	case len(aud) == 0:
		return row(rowAudience, verdictFail, "the token names no audience; this API is %q%s", e.f.audience, unverified)
	case slices.Contains(aud, e.f.audience):
		return row(rowAudience, verdictPass, "meant for %q, this API%s", e.f.audience, unverified)
	}
	return row(rowAudience, verdictFail, "meant for %s, not for this API (%q): the client asked for a token for another resource%s", quoteAll(aud), e.f.audience, unverified)
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func (e *explainer) typeRow(header, claims map[string]any, r relaxedResult) checkRow {
	typ, _ := header["typ"].(string)
	switch {
	case kindFromClaims(header, r.err) || !e.f.rfc9068 && kindFromClaims(header, e.err):
		return row(rowType, verdictFail, "the token's claims say it is not an access token (%s): a refresh or ID token, or one its issuer's policy does not take as an access token", kindClaims(claims))
	case errors.Is(r.err, validator.ErrType) || errors.Is(e.err, validator.ErrType) && !e.f.rfc9068:
		return row(rowType, verdictFail, "typ %q names a token that is not an access token (an ID token, a logout token…)", typ)
	case !e.f.rfc9068:
		return row(rowType, verdictSkip, "the RFC 9068 profile is off; typ is %q", typ)
	case r.tok == nil:
		return row(rowType, verdictSkip, "not checked: the token's signature was not verified")
	case errors.Is(r.typeErr, validator.ErrType):
		return row(rowType, verdictFail, "typ %q: RFC 9068 access tokens have typ at+jwt", typ)
	case errors.Is(r.typeErr, validator.ErrMissingClaim):
		var missing []string
		for _, c := range []string{"iss", "exp", "aud", "sub", "client_id", "iat", "jti"} {
			if v, _ := r.tok.Claim(c); v == nil {
				missing = append(missing, c)
			}
		}
		return row(rowType, verdictFail, "RFC 9068 requires iss, exp, aud, sub, client_id, iat and jti; the token lacks %s", strings.Join(missing, ", "))
	case r.typeErr != nil:
		return row(rowType, verdictFail, "refused by the RFC 9068 profile: %v", r.typeErr)
	}
	return row(rowType, verdictPass, "typ %q and every claim RFC 9068 requires", typ)
}

// kindFromClaims reports whether err, an ErrType refusal, came from the
// token's claims, checked once its signature held ("typ", "token_use" or
// "token_type" naming a refresh or ID token, or a preset's access-token
// claim), not from the header's typ: the check without the RFC 9068
// profile takes a header typ that is absent, empty, JWT or at+jwt.
func kindFromClaims(header map[string]any, err error) bool {
	if !errors.Is(err, validator.ErrType) {
		return false
	}
	typ, present := header["typ"]
	if !present {
		return true
	}
	s, ok := typ.(string)
	t := strings.ToLower(s)
	if len(t) > len("application/") {
		t = strings.TrimPrefix(t, "application/")
	}
	return ok && (s == "" || t == "jwt" || t == "at+jwt")
}

// kindClaims names the claims that say what kind of token this is, with
// their values as the token gives them.
func kindClaims(claims map[string]any) string {
	var said []string
	for _, name := range []string{"typ", "token_use", "token_type"} {
		switch v, ok := claims[name]; {
		case !ok:
		case isString(v):
			said = append(said, fmt.Sprintf("%s %q", name, v))
		default:
			said = append(said, name+" (not a string)")
		}
	}
	if len(said) == 0 {
		return "a claim its issuer's policy requires"
	}
	return strings.Join(said, ", ")
}

func isString(v any) bool { _, ok := v.(string); return ok }

// policyRow: the checks a --provider preset adds after the signature
// (allowed clients in azp or client_id, tenants, claim values).
func (e *explainer) policyRow() checkRow {
	switch {
	case errors.Is(e.err, validator.ErrNoGrant):
		return row(rowPolicy, verdictFail, "the token grants no scope, role or permission, and the --provider %s preset requires a grant (the provider issues such tokens to clients nobody granted anything)", e.f.provider.name)
	case errors.Is(e.err, validator.ErrClaimValue):
		return row(rowPolicy, verdictFail, "%v: the token's client (azp, client_id, cid), tenant or another claim is not one the issuer's policy allows", e.err)
	case e.verified:
		return row(rowPolicy, verdictPass, "the --provider %s preset's checks of clients, tenants and claims accept the token", e.f.provider.name)
	}
	return row(rowPolicy, verdictSkip, "not reached: the API refused the token before its issuer's policy")
}

func (e *explainer) bindingRow() checkRow {
	pr := e.pr
	bound := ""
	switch {
	case !pr.known:
	case pr.cnf.JKT != "":
		bound = "bound to a DPoP key (cnf.jkt " + pr.cnf.JKT + ")"
	case pr.cnf.X5TS256 != "":
		bound = "bound to a client certificate (cnf x5t#S256 " + pr.cnf.X5TS256 + ")"
	default:
		bound = "a plain bearer token, bound to nothing"
	}
	switch {
	case bindingRefusal(e.err):
		problems := pr.problems(e.err, validator.DefaultProofWindow+e.f.leeway)
		if len(problems) == 0 {
			problems = []string{e.err.Error()}
		}
		if bound != "" {
			problems = append([]string{bound}, problems...)
		}
		return row(rowBinding, verdictFail, "%s", strings.Join(problems, "; "))
	case e.err == nil:
		if bound == "" {
			bound = "sent as the API accepts it"
		}
		if pr.p.Scheme == validator.SchemeDPoP {
			bound += "; the DPoP proof matches its key, this request and this token"
		}
		return row(rowBinding, verdictPass, "%s", bound)
	case errors.Is(e.err, validator.ErrInsufficientScope):
		return row(rowBinding, verdictPass, "%s; presented as the API requires", orDefault(bound, "presented as the API requires"))
	}
	if bound == "" {
		bound = "what the token is bound to is not known"
	}
	return row(rowBinding, verdictSkip, "not reached: the API refused the token before looking at how it was presented; %s", bound)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (e *explainer) scopesRow(claims map[string]any, unverified string) checkRow {
	need := e.req.need
	if need.IsZero() {
		return row(rowScopes, verdictSkip, "the route requires no scopes")
	}
	has := scopesOf(claims)
	if missing := need.Missing(has); len(missing) > 0 {
		return row(rowScopes, verdictFail, "lacks %s; the token has %s%s", strings.Join(missing, " "), orNone(has.String()), unverified)
	}
	return row(rowScopes, verdictPass, "has %s, all the route requires%s", strings.Join(need.Scopes(), " "), unverified)
}

// introFactsFor describes the introspection answer the inspection got,
// and returns it decoded (nil when there is none).
func introFactsFor(f *validateFlags, rec *callRecorder, err error, verified bool, now time.Time, reveal bool) (*introFacts, map[string]any) {
	in := &introFacts{Endpoint: httpfetch.Redact(f.introURL)}
	_, body, full := rec.snapshot()
	var answer map[string]any
	if body != nil && !full {
		answer = decodeSegmentJSON(body)
	}
	switch {
	case verified:
		in.Status = "active: the issuer says the token is good"
	case errors.Is(err, validator.ErrInactive):
		in.Status = "inactive: the issuer says the token is revoked, expired, or unknown to it"
	case errors.Is(err, validator.ErrIntrospectionUnavailable):
		in.Status = "unavailable: the introspection endpoint did not answer usefully"
	case f.introURL == "":
		in.Status = "not configured: no --introspection-url"
	}
	if answer != nil {
		active, _ := answer["active"].(bool)
		in.Active = &active
		in.Answer = claimRows(answer, now, reveal)
		for _, r := range in.Answer {
			if r.Redacted {
				in.Redacted++
			}
		}
		if in.Status == "" {
			if active {
				in.Status = "active, but refused by the API's checks below"
			} else {
				in.Status = "inactive"
			}
		}
	} else if body != nil {
		in.Status += " (the answer is not plain JSON, or too large to show)"
	}
	return in, answer
}

// introspectionChecks explain a token checked by introspection.
func (e *explainer) introspectionChecks(answer map[string]any, in *introFacts) []checkRow {
	var rows []checkRow
	if e.f.introURL == "" {
		return []checkRow{row(rowFormat, verdictFail, "not a JWT, and the API has no introspection endpoint to ask about opaque tokens (--introspection-url)")}
	}
	rows = append(rows, row(rowFormat, verdictPass, "%d bytes, checked by introspection at %s", len(e.req.Token), httpfetch.Redact(e.f.introURL)))
	switch {
	case errors.Is(e.err, validator.ErrIntrospectionUnavailable) || (answer == nil && errors.Is(e.err, validator.ErrUnavailable)):
		rows = append(rows, row(rowIntrospection, verdictUnknown, "unknown: the introspection endpoint could not be asked (%v), so the API answers 503", e.err))
		return rows
	case answer == nil:
		rows = append(rows, row(rowIntrospection, verdictUnknown, "no answer to show: %s", orDefault(in.Status, "the endpoint was not asked")))
		return rows
	}
	if active, _ := answer["active"].(bool); !active {
		rows = append(rows, row(rowIntrospection, verdictFail, "the issuer answers active: false: the token is revoked, expired, or unknown to it"))
		return rows
	}
	rows = append(rows, row(rowIntrospection, verdictPass, "the issuer answers active: true"))
	if iss, ok := answer["iss"].(string); ok && e.f.issuer != "" {
		if iss == e.f.issuer {
			rows = append(rows, row(rowIssuer, verdictPass, "issued by %q, the issuer this API trusts", iss))
		} else {
			rows = append(rows, row(rowIssuer, verdictFail, "issued by %q; this API trusts %q", iss, e.f.issuer))
		}
	}
	rows = append(rows, e.introspectedTimeRows(answer)...)
	rows = append(rows, e.audienceRow(answer, ""))
	rows = append(rows, e.bindingRow())
	rows = append(rows, e.scopesRow(answer, ""))
	return rows
}

// introspectedTimeRows: an active answer's exp and nbf (both optional in
// RFC 7662).
func (e *explainer) introspectedTimeRows(answer map[string]any) []checkRow {
	rows := e.timeRows(answer, "")
	if _, ok := claimTime(answer, "exp"); !ok {
		rows[0] = row(rowExpiry, verdictSkip, "the answer has no exp: the issuer vouches for the token now")
	}
	return rows
}

// reconcile makes the rows agree with the API's decision: the row of the
// check that refused the token says fail, whatever the explanation
// found; a refusal no row stands for gets a row of its own.
func (e *explainer) reconcile(rows []checkRow) []checkRow {
	if e.err == nil {
		return rows
	}
	id := rowOf(e.err)
	for i := range rows {
		if rows[i].ID == id {
			if rows[i].Verdict != verdictFail && rows[i].Verdict != verdictUnknown {
				rows[i].Verdict = verdictFail
				rows[i].Reason = "the API refused the token here: " + e.err.Error()
			}
			return rows
		}
	}
	return append(rows, checkRow{ID: "decision", Name: "Other", Verdict: verdictFail, Reason: "the API refused the token: " + e.err.Error()})
}

// rowOf names the row of the check that produced err.
func rowOf(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, validator.ErrNoGrant):
		return rowPolicy
	case errors.Is(err, validator.ErrInsufficientScope):
		return rowScopes
	case bindingRefusal(err):
		return rowBinding
	case errors.Is(err, validator.ErrIssuer):
		return rowIssuer
	case errors.Is(err, validator.ErrUnknownKey), errors.Is(err, validator.ErrSignature), errors.Is(err, validator.ErrAlgorithm), errors.Is(err, validator.ErrKeysUnavailable):
		return rowSignature
	case errors.Is(err, validator.ErrInactive), errors.Is(err, validator.ErrIntrospectionUnavailable):
		return rowIntrospection
	case errors.Is(err, validator.ErrExpired):
		return rowExpiry
	case errors.Is(err, validator.ErrAudience):
		return rowAudience
	case errors.Is(err, validator.ErrType), errors.Is(err, validator.ErrMissingClaim):
		return rowType
	case errors.Is(err, validator.ErrClaimValue):
		return rowPolicy
	case errors.Is(err, validator.ErrMalformed), errors.Is(err, validator.ErrUnsupported), errors.Is(err, validator.ErrTooLarge):
		return rowFormat
	}
	return ""
}

// publicKeyThumbprint returns the RFC 7638 SHA-256 thumbprint of a public
// key and its JWK key type.
func publicKeyThumbprint(pub any) (thumbprint, kty string) {
	b64 := base64.RawURLEncoding.EncodeToString
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return jwkThumbprint(map[string]any{"kty": "RSA", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}), "RSA"
	case *ecdsa.PublicKey:
		raw, err := k.Bytes() // 0x04 || X || Y
		if err != nil || len(raw) < 3 {
			return "", "EC"
		}
		n := (len(raw) - 1) / 2
		crv := map[elliptic.Curve]string{elliptic.P256(): "P-256", elliptic.P384(): "P-384", elliptic.P521(): "P-521"}[k.Curve]
		return jwkThumbprint(map[string]any{"kty": "EC", "crv": crv, "x": b64(raw[1 : 1+n]), "y": b64(raw[1+n:])}), "EC"
	case ed25519.PublicKey:
		return jwkThumbprint(map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(k)}), "OKP"
	}
	return "", ""
}
