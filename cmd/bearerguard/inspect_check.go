package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bearerguard/bearerguard/internal/httpfetch"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// run inspects one token: the API's own validator decides (built from the
// command's flags with the page's settings, as validate builds it), and
// each check is then explained on its own, so that a refusal for one
// reason does not hide the others. Everything built is closed before it
// returns.
func (s *inspectServer) run(ctx context.Context, req *inspectRequest) *inspectReport {
	start := time.Now()
	f := *s.flags // the page's settings over the command line's
	f.leeway, f.rfc9068, f.mode, f.scope = req.leeway, req.RFC9068, req.mode, req.Scopes
	if f.provider.name == "" {
		// A preset's audiences were parsed at start and stay as given.
		f.audience = req.Audience
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()

	rep := &inspectReport{
		Settings: settingFacts{Issuer: f.issuer, JWKSURL: httpfetch.Redact(f.jwksURL), Introspection: httpfetch.Redact(f.introURL), Audience: f.audience,
			Leeway: f.leeway.String(), RFC9068: f.rfc9068, DPoP: f.mode.String(), Scopes: strings.Join(req.need.Scopes(), " ")},
		Token: tokenFacts{Size: len(req.Token), Fingerprint: validator.TokenFingerprint(req.Token), Format: "opaque"},
	}
	rec := &callRecorder{}
	var tr tokenRecorder
	v, probe, keys, closeAll, errs := f.build(s.clientFor(rec), &tr)
	if len(errs) > 0 {
		rep.Decision, rep.Summary = "undecided", "The settings cannot make a validator."
		rep.Answer = answerFacts{StatusText: "none: the API could not start with these settings", Headers: []headerRow{}}
		for _, err := range errs {
			rep.Checks = append(rep.Checks, checkRow{ID: "settings", Name: "Settings", Verdict: verdictFail, Reason: err.Error()})
		}
		rep.Outgoing, _, _ = rec.snapshot()
		rep.Took = time.Since(start).Round(time.Microsecond).String()
		return rep
	}
	closeAll = sync.OnceFunc(closeAll) // closed before the report is made, or on the way out
	defer closeAll()

	pr := presentation{p: validator.Presentation{Scheme: validator.SchemeBearer, Token: req.Token, Method: req.Method, ClientCert: f.cert}}
	if req.DPoPProof != "" {
		pr.p.Scheme, pr.p.Proof, pr.p.URL = validator.SchemeDPoP, req.DPoPProof, req.URL
		pr.proof = decodeProof(req.DPoPProof, v.DPoPAlgorithms())
	}

	// The decision, exactly as validate makes it: err is what the API
	// answers. When it refused the request for how the token was
	// presented before looking at the token, the probe tells whether the
	// token itself is good; the rows below say what is wrong with it
	// either way.
	tok, err := v.ValidatePresentation(ctx, pr.p)
	verified := tr.tok != nil
	if bindingRefusal(err) && !verified {
		_, _ = probe.ValidatePresentation(ctx, pr.p)
		verified = tr.tok != nil
	}
	if verified {
		tok = tr.tok
	}
	if err == nil && !req.need.Satisfied(tok.Scopes) {
		err = &validator.ScopeError{Missing: req.need.Missing(tok.Scopes), Scope: req.need.NeededBy(tok.Scopes)}
	}

	now := time.Now()
	rep.Clock.Now = now.UTC().Format("2006-01-02 15:04:05 UTC")
	header, claims, isJWT := decodeJWT(req.Token)
	introspected := (verified && tok.Source == validator.SourceIntrospection) || (!isJWT || keys == nil) && f.introURL != ""
	e := explainer{f: &f, req: req, now: now, err: err, pr: &pr, verified: verified}
	switch {
	case verified:
		pr.cnf, pr.known = tok.Confirmation, true
	case isJWT && claims != nil:
		pr.cnf, pr.known = confirmationOf(claims), true
	}

	var introAnswer map[string]any // the introspection answer, decoded
	if isJWT && !introspected {
		rep.Token.Format = "jwt"
		// Without an issuer of its own (a --provider preset names
		// several), the API's decision says what it can.
		r := relaxedResult{err: err}
		if verified && tok.Source == validator.SourceJWT {
			r = relaxedResult{tok: tok}
		}
		if keys != nil && f.issuer != "" && f.provider.name == "" {
			r = relaxedCheck(ctx, &f, keys, req.Token, claims)
			if r.tok != nil {
				if vc := decodeSegmentJSON(r.tok.RawClaims()); vc != nil {
					claims = vc
				}
				pr.cnf, pr.known = r.tok.Confirmation, true
			}
		}
		rep.Token.Verified = r.tok != nil
		rep.Header = claimRows(header, now, true)
		rep.Claims = claimRows(claims, now, req.RevealPersonal)
		rep.Key = keyFactsFor(ctx, keys, header, r)
		rep.Checks = e.jwtChecks(header, claims, keys, r)
	} else {
		var answer map[string]any
		rep.Intro, answer = introFactsFor(&f, rec, err, verified, now, req.RevealPersonal)
		introAnswer = answer
		rep.Token.Verified = verified
		if answer != nil && rep.Intro.Active != nil && *rep.Intro.Active {
			pr.cnf, pr.known = confirmationOf(answer), true
		}
		if isJWT {
			// The claims shown are the JWT's own, decoded here: the
			// introspection answer vouches for the token, not for them.
			rep.Token.Verified = false
			rep.Token.Format = "jwt"
			rep.Header = claimRows(header, now, true)
			rep.Claims = claimRows(claims, now, req.RevealPersonal)
		}
		rep.Checks = e.introspectionChecks(answer, rep.Intro)
	}
	if claims == nil && rep.Intro != nil {
		claims = introAnswer
	}
	rep.Clock.Skew = skewNote(claims, now, f.leeway)
	rep.Checks = e.reconcile(rep.Checks)
	rep.Answer = answerFor(v, err, f.audience, pr.p.Scheme)
	rep.Decision, rep.Summary = decisionOf(err, verified)
	rep.Token.Presented = pr.describe()
	closeAll() // the key set's goroutine and the introspection client: done
	rep.Outgoing, _, _ = rec.snapshot()
	rep.Took = time.Since(start).Round(time.Microsecond).String()
	return rep
}

func decisionOf(err error, verified bool) (decision, summary string) {
	switch {
	case err == nil:
		return "valid", "The API would accept this token."
	case errors.Is(err, validator.ErrUnavailable):
		return "undecided", "The API cannot decide: what it needs to check the token is unavailable. It would answer 503."
	case verified && bindingRefusal(err):
		return "invalid", "The token itself is good, but the API would refuse it for how it was presented."
	}
	return "invalid", "The API would refuse this token."
}

// answerFor is the HTTP answer the API would send, built by the
// validator's own Challenge.
func answerFor(v *validator.Validator, err error, realm string, scheme validator.Scheme) answerFacts {
	if err == nil {
		return answerFacts{Status: http.StatusOK, StatusText: "OK (the request reaches the handler)", Headers: []headerRow{}}
	}
	c := v.Challenge(err, realm, scheme)
	a := answerFacts{Status: c.Status, StatusText: http.StatusText(c.Status), Headers: []headerRow{}}
	if c.Header != "" {
		a.Headers = append(a.Headers, headerRow{"WWW-Authenticate", c.Header})
	}
	if c.Nonce != "" {
		a.Headers = append(a.Headers, headerRow{"DPoP-Nonce", c.Nonce})
	}
	if c.RetryAfter > 0 {
		a.Headers = append(a.Headers, headerRow{"Retry-After", fmt.Sprint(int(c.RetryAfter / time.Second))})
	}
	return a
}

// relaxedResult is a JWT checked for its issuer, form and signature alone:
// no audience, and a clock inside the token's own validity window, so
// that a token refused for its audience or times still shows whether it
// is authentic.
type relaxedResult struct {
	tok     *validator.Token // set when the signature and issuer hold
	err     error            // why not
	typeErr error            // with RFC 9068 on: the profile's verdict on the authentic token
}

func relaxedCheck(ctx context.Context, f *validateFlags, keys *jwks.Set, token string, claims map[string]any) relaxedResult {
	at, leeway := windowTime(claims, time.Now())
	var rec tokenRecorder
	opts := []validator.Option{
		validator.WithIssuer(f.issuer, keys), validator.WithoutAudienceCheck(), validator.WithoutExpiryRequirement(),
		validator.WithClock(func() time.Time { return at }), validator.WithLeeway(leeway), validator.WithoutTokenCache(),
		validator.WithDPoP(validator.DPoPAllowed), validator.WithLogger(discardLogger()), rec.option(),
	}
	r, err := validator.New(opts...)
	if err != nil {
		return relaxedResult{err: err}
	}
	_, err = r.Validate(ctx, token)
	res := relaxedResult{tok: rec.tok, err: err}
	if res.tok != nil {
		res.err = nil
		if f.rfc9068 {
			rec.tok = nil
			if r9068, err := validator.New(append(opts, validator.WithRFC9068())...); err == nil {
				_, res.typeErr = r9068.Validate(ctx, token)
				if rec.tok != nil {
					res.typeErr = nil
				}
			}
		}
	}
	return res
}

// windowTime is a clock, and a leeway, that the token's own "nbf", "iat"
// and "exp" agree with: now if they do; else just before "exp" (an
// expired token), or, for a token whose times contradict each other
// (issued after it expired), the start of its window with the leeway that
// covers it, as long as the validator takes that leeway
// ([validator.MaxLeeway]).
func windowTime(claims map[string]any, now time.Time) (time.Time, time.Duration) {
	var start time.Time // the latest of "nbf" and "iat"
	for _, name := range []string{"nbf", "iat"} {
		if t, ok := claimTime(claims, name); ok && t.After(start) {
			start = t
		}
	}
	at := now
	if start.After(at) {
		at = start
	}
	exp, ok := claimTime(claims, "exp")
	switch {
	case !ok || at.Before(exp):
		return at, 0
	case start.Before(exp):
		// Expired: a second before "exp", unless the window starts later.
		if before := exp.Add(-time.Second); before.After(start) {
			return before, 0
		}
		return start, 0
	case start.Sub(exp) <= validator.MaxLeeway-time.Second: // Sub saturates: no overflow
		return start, start.Sub(exp) + time.Second
	}
	// "nbf" or "iat" long after "exp": no leeway reaches that far; look
	// just before "exp", where only the signature and "exp" can still be
	// judged.
	return exp.Add(-time.Second), 0
}

// claimTime reads a NumericDate claim as the validator does: a date past
// year 5138 (1e11) reads as 5138.
func claimTime(claims map[string]any, name string) (time.Time, bool) {
	f, ok := claims[name].(float64)
	if !ok || f < 0 {
		return time.Time{}, false
	}
	return time.Unix(int64(min(f, 1e11)), 0), true
}

// decodeSegmentJSON decodes verified claims for display.
func decodeSegmentJSON(b []byte) map[string]any {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// claimOrder puts the claims people look for first.
var claimOrder = []string{"alg", "typ", "kid", "iss", "sub", "aud", "client_id", "scope", "scp", "iat", "nbf", "exp", "auth_time", "jti", "cnf", "active"}

// timeClaims are NumericDates shown with the time in words.
var timeClaims = map[string]bool{"iat": true, "nbf": true, "exp": true, "auth_time": true}

// claimRows lists m for display: known names first, then the rest in
// order; times in words; personal claims redacted unless reveal.
func claimRows(m map[string]any, now time.Time, reveal bool) []claimRow {
	if m == nil {
		return nil
	}
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	rank := func(n string) int {
		if i := slices.Index(claimOrder, n); i >= 0 {
			return i
		}
		return len(claimOrder)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	rows := make([]claimRow, 0, len(names))
	for _, name := range names {
		row := claimRow{Name: name}
		if isPersonal(name) && !reveal {
			row.Value, row.Redacted = redactedValue, true
		} else {
			v, nested := m[name], false
			if !reveal {
				v, nested = redactNested(v)
			}
			b, _ := json.Marshal(v)
			row.Value, row.Redacted = string(b), nested
		}
		if t, ok := claimTime(m, name); ok && timeClaims[name] {
			row.When = humanTime(t, now)
		}
		rows = append(rows, row)
	}
	return rows
}

// redactNested returns v with the values of personal members of the
// objects inside it (at any depth) replaced, and whether it replaced any:
// a namespaced object ("https://example.com/user": {"email": …}) is no
// less personal than a top-level claim.
func redactNested(v any) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			var r any
			var did bool
			if isPersonal(k) {
				r, did = "[redacted]", true
			} else {
				r, did = redactNested(e)
			}
			if did {
				if out == nil {
					out = maps.Clone(x)
				}
				out[k] = r
			}
		}
		if out != nil {
			return out, true
		}
	case []any:
		var out []any
		for i, e := range x {
			if r, did := redactNested(e); did {
				if out == nil {
					out = slices.Clone(x)
				}
				out[i] = r
			}
		}
		if out != nil {
			return out, true
		}
	}
	return v, false
}

// skewNote compares the token's times with this machine's clock.
func skewNote(claims map[string]any, now time.Time, leeway time.Duration) string {
	iat, hasIat := claimTime(claims, "iat")
	nbf, hasNbf := claimTime(claims, "nbf")
	switch {
	case hasIat && iat.After(now.Add(time.Second)):
		ahead := iat.Sub(now)
		verdict := "within"
		if ahead > leeway {
			verdict = "beyond"
		}
		return fmt.Sprintf("The token was issued %s in the future by this machine's clock: the issuer's clock is at least %s ahead, %s the leeway of %s.",
			humanDuration(ahead), humanDuration(ahead), verdict, humanDuration(leeway))
	case hasNbf && nbf.After(now.Add(time.Second)):
		return fmt.Sprintf("The token is not valid for another %s by this machine's clock (leeway %s).", humanDuration(nbf.Sub(now)), humanDuration(leeway))
	case hasIat:
		return fmt.Sprintf("No sign of clock skew: the token was issued %s by this machine's clock.", humanRelative(iat, now))
	}
	return "The token has no iat: the clocks cannot be compared."
}

// keyFactsFor describes the key a JWT names and the one that verified it.
func keyFactsFor(ctx context.Context, keys *jwks.Set, header map[string]any, r relaxedResult) *keyFacts {
	if keys == nil {
		return nil
	}
	kid, alg := headerKeyID(header)
	k := &keyFacts{KeyID: kid, Algorithm: alg}
	if r.tok != nil {
		k.KeyID, k.Algorithm = r.tok.KeyID, string(r.tok.Algorithm)
	}
	st := keys.Status()
	k.SetURL, k.SetKeys = st.URL, st.Keys
	if !st.LastRefresh.IsZero() {
		k.Fetched = humanTime(st.LastRefresh, time.Now())
	}
	switch {
	case r.tok != nil:
		if key, err := keys.Key(ctx, k.KeyID, validator.Algorithm(k.Algorithm)); err == nil {
			k.Thumbprint, k.Type = publicKeyThumbprint(key.Public())
		}
		k.Matched, k.Note = true, "this key of the issuer's set verified the signature"
	case errors.Is(r.err, validator.ErrKeysUnavailable):
		k.Note = "not checked: the issuer's key set could not be fetched"
		if st.LastError != nil {
			k.Note += ": " + st.LastError.Error()
		}
	case errors.Is(r.err, validator.ErrUnknownKey):
		k.Note = fmt.Sprintf("no key in the issuer's set has kid %q for %s", kid, alg)
	case errors.Is(r.err, validator.ErrSignature):
		k.Note = "the key was found, but the signature does not verify with it"
		if key, err := keys.Key(ctx, kid, validator.Algorithm(alg)); err == nil {
			k.Thumbprint, k.Type = publicKeyThumbprint(key.Public())
		}
	default:
		k.Note = "not checked: the token was refused before its signature was"
	}
	return k
}

// scopesOf reads the scopes of unverified claims ("scope" and "scp").
func scopesOf(claims map[string]any) scopes.Set {
	var names []string
	if s, ok := claims["scope"].(string); ok {
		names = append(names, strings.Fields(s)...)
	}
	switch scp := claims["scp"].(type) {
	case string:
		names = append(names, strings.Fields(scp)...)
	case []any:
		for _, v := range scp {
			if s, ok := v.(string); ok {
				names = append(names, s)
			}
		}
	}
	set, _ := scopes.Parse(strings.Join(names, " "))
	return set
}
