package validator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Validator checks bearer access tokens. Build one with [New]; it is safe
// for concurrent use. A zero Validator refuses every token as unavailable
// ([ErrUnavailable]).
type Validator struct {
	issuers map[string]*issuerConfig
	// requireGrant: some issuer refuses tokens that grant nothing
	// (IssuerRequireGrant), checked after every other check.
	requireGrant bool
	allowed      algSet // every algorithm some issuer may use
	audiences    []string
	checkAud     bool
	leeway       time.Duration
	maxSize      int
	maxAge       time.Duration
	requireExp   bool
	rfc9068      bool
	scopeClaims  []string
	checks       []func(context.Context, *Token) error
	now          func() time.Time
	logger       *slog.Logger

	introspector        Introspector
	introspectJWTs      bool
	introspectionIssuer string
	// introspectionAudOptional accepts introspection answers without "aud".
	introspectionAudOptional bool
	// introspectionTypeRequired refuses answers without "token_type";
	// introspectionTypeOptional accepts them even when nothing else says
	// the token is for this API (see WithIntrospectionTokenTypeOptional).
	introspectionTypeRequired, introspectionTypeOptional bool

	dpop dpopConfig
	tel  *telemetry

	cache *tokenCache // nil when disabled
}

// New builds a Validator. It checks the whole configuration at once and
// returns every problem together. At least one issuer ([WithIssuer],
// [WithIssuerSecret] or [WithIntrospection]) is required, and an audience
// ([WithAudience], or [WithoutAudienceCheck]) unless every issuer,
// the introspection endpoint's included, has its own ([IssuerAudience] or
// [IssuerClientIDs]).
func New(opts ...Option) (*Validator, error) {
	c := config{
		algs:    DefaultAlgorithms,
		leeway:  DefaultLeeway,
		maxSize: DefaultMaxTokenSize,
		clock:   time.Now,
		logger:  slog.Default(),

		cacheSize:   DefaultTokenCacheSize,
		cacheMaxTTL: DefaultTokenCacheMaxTTL,

		dpop: dpopConfig{window: DefaultProofWindow},
	}
	for _, a := range DefaultAlgorithms {
		c.dpop.algs |= 1 << parseAlg(string(a))
	}
	for _, opt := range opts {
		opt(&c)
	}
	errs := c.errs
	if len(c.issuers) == 0 && c.introspector == nil {
		errs = append(errs, errors.New("no issuer configured: use WithIssuer, WithIssuerSecret or WithIntrospection"))
	}
	if c.introspectionAudOptional && c.introspector == nil {
		errs = append(errs, errors.New("WithIntrospectionAudienceOptional needs WithIntrospection"))
	}
	if (c.introspectionTypeRequired || c.introspectionTypeOptional) && c.introspector == nil {
		errs = append(errs, errors.New("WithIntrospectionTokenTypeRequired and WithIntrospectionTokenTypeOptional need WithIntrospection"))
	}
	if c.introspectionTypeRequired && c.introspectionTypeOptional {
		errs = append(errs, errors.New("WithIntrospectionTokenTypeRequired and WithIntrospectionTokenTypeOptional are exclusive"))
	}
	if c.introspectJWTs && c.introspector == nil {
		errs = append(errs, errors.New("WithIntrospectJWTs needs WithIntrospection"))
	}
	// Every answer of the introspection endpoint is checked as its issuer's
	// (an answer naming another issuer is refused): an audience of that
	// issuer's own covers them.
	introspectionOwnAudience := slices.ContainsFunc(c.issuers, func(ic *issuerConfig) bool {
		return ic.issuer == c.introspectionIssuer && ic.policy.ownAudience()
	})
	if len(c.audiences) == 0 && !c.skipAudience && ((c.introspector != nil && !introspectionOwnAudience) ||
		slices.ContainsFunc(c.issuers, func(ic *issuerConfig) bool { return !ic.policy.ownAudience() })) {
		errs = append(errs, errors.New("no audience configured: use WithAudience, or WithoutAudienceCheck to accept any"))
	}
	if len(c.scopeClaims) > 255 {
		errs = append(errs, errors.New("WithScopeClaim: more than 255 claims"))
	}
	if len(c.audiences) > 0 && c.skipAudience {
		errs = append(errs, errors.New("WithAudience and WithoutAudienceCheck are exclusive"))
	}
	var asym algSet
	for _, a := range c.algs {
		if id := parseAlg(string(a)); !hmacAlgs.has(id) {
			asym |= 1 << id
		}
	}
	// Introspection only (no issuer with keys or a secret): every token
	// goes to introspection, JWT-shaped or not.
	introspectionOnly := c.introspector != nil && len(c.issuers) == 0
	v := &Validator{
		issuers:     make(map[string]*issuerConfig, len(c.issuers)),
		audiences:   slices.Clone(c.audiences),
		checkAud:    !c.skipAudience,
		leeway:      c.leeway,
		maxSize:     c.maxSize,
		maxAge:      c.maxAge,
		requireExp:  !c.expOptional,
		rfc9068:     c.rfc9068,
		scopeClaims: c.scopeClaims,
		checks:      c.checks,
		now:         c.clock,
		logger:      c.logger,

		introspector:        c.introspector,
		introspectJWTs:      c.introspectJWTs || introspectionOnly,
		introspectionIssuer: c.introspectionIssuer,

		introspectionAudOptional:  c.introspectionAudOptional,
		introspectionTypeRequired: c.introspectionTypeRequired,
		introspectionTypeOptional: c.introspectionTypeOptional,

		dpop: c.dpop,
	}
	if v.dpop.replay == nil {
		v.dpop.replay = NewMemoryReplayStore(DefaultReplayStoreSize, c.clock)
	}
	var algs strings.Builder
	for i, a := range v.DPoPAlgorithms() {
		if i > 0 {
			algs.WriteByte(' ')
		}
		algs.WriteString(string(a))
	}
	v.dpop.algsText = algs.String()
	for _, ic := range c.issuers {
		if ic.issuer == "" {
			errs = append(errs, errors.New("empty issuer"))
			continue
		}
		if padded(ic.issuer) {
			errs = append(errs, fmt.Errorf("issuer %q has white space around it: no token names it", ic.issuer))
			continue
		}
		if _, dup := v.issuers[ic.issuer]; dup {
			errs = append(errs, fmt.Errorf("issuer %q configured twice (an issuer has either keys or a secret)", ic.issuer))
			continue
		}
		if ic.secret == nil {
			ic.algs = asym
		}
		ic.skipScopeClaims = ic.policy.claimsNotScopes(c.scopeClaims)
		v.issuers[ic.issuer] = ic
		v.allowed |= ic.algs
		v.requireGrant = v.requireGrant || ic.policy.requireGrant
	}
	errs = append(errs, checkIntrospectionIssuer(c, v.issuers)...)
	tel, err := newTelemetry(c.meterProvider, c.tracerProvider)
	if err != nil {
		errs = append(errs, fmt.Errorf("telemetry: %w", err))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("bearerguard: invalid validator configuration: %w", errors.Join(errs...))
	}
	v.tel = tel
	if c.cacheSize > 0 {
		v.cache = newTokenCache(c.cacheSize, c.cacheMaxTTL)
		v.cache.entries.OnEvict(func() { tel.cacheEvent(context.Background(), tel.evict) })
	}
	return v, nil
}

// Leeway returns the clock skew the validator allows on "exp", "nbf" and
// "iat" ([WithLeeway]): a token is accepted until its expiry plus this.
// For callers that bound long-lived work by a token's lifetime (a stream
// opened with it).
func (v *Validator) Leeway() time.Duration { return v.leeway }

// Validate checks a bearer token and returns its claims. The checks run
// cheapest first; see the package documentation for the full list. Every
// error matches one class ([ErrInvalidToken], [ErrUnavailable], …) and,
// where one applies, a reason such as [ErrExpired]. The token counts as
// presented with the Bearer scheme and no client certificate: a token bound
// to a DPoP key or a certificate is refused ([ErrBoundToken]); use
// [Validator.ValidatePresentation] for those.
func (v *Validator) Validate(ctx context.Context, token string) (*Token, error) {
	return v.ValidatePresentation(ctx, Presentation{Token: token})
}

// ValidateInto is [Validator.Validate] writing the token into *dst, which
// it overwrites whole, instead of returning a new Token: a cache hit then
// allocates at most the token's Audience slice (nothing when the token
// has no "aud"), where Validate allocates a whole Token. It is for callers
// that reuse one Token, request after request (a worker, a pool of their
// own). The Token is still the caller's own copy, as Validate's is:
// nothing written to it reaches the cache or another request, and every
// call gives it a new Audience slice, so a copy taken earlier (t2 := *dst)
// keeps its own. On error *dst is the zero Token. Do not share dst between
// goroutines. It panics if dst is nil, a programming error (as
// [errors.As] does with a nil target).
func (v *Validator) ValidateInto(ctx context.Context, token string, dst *Token) error {
	return v.ValidatePresentationInto(ctx, Presentation{Token: token}, dst)
}

// validate checks token; a cache hit is written into dst when it is not
// nil (see [Validator.ValidateInto]).
func (v *Validator) validate(ctx context.Context, token string, dst *Token) (*Token, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	if len(token) > v.maxSize {
		return nil, ErrTooLarge
	}
	if v.introspector != nil && (v.introspectJWTs || !looksLikeJWS(token)) {
		return v.introspect(ctx, token)
	}
	var k cacheKey
	if v.cache != nil {
		k = v.cache.key(token)
		if tok, ok, err := v.cached(ctx, k, token, dst); ok {
			v.tel.cacheEvent(ctx, v.tel.hit)
			return tok, err
		}
		v.tel.cacheEvent(ctx, v.tel.miss)
	}
	tok, key, ic, err := v.validateJWT(ctx, token)
	if err != nil {
		if v.introspector != nil && ic == nil && errors.Is(err, ErrIssuer) {
			// A JWT whose issuer we hold no keys for (no "iss", or one not
			// configured): let its issuer decide. Not one refused by a
			// keyed issuer's own policy once its signature held (ic set).
			return v.introspect(ctx, token)
		}
		return nil, err
	}
	if v.cache != nil && v.cache.admit(k) {
		// The cache keeps a copy of its own, which no caller ever sees.
		v.remember(k, tok, token, key, ic)
	}
	if err := v.runChecks(ctx, tok); err != nil {
		return nil, err
	}
	return tok, nil
}

// cached answers from the token cache: ok is false on a miss, or when the
// entry no longer holds (its key changed), and full validation must run.
// A hit hands out a Token of its own, built from the entry, so that
// nothing a caller (or a claim check) does to its token reaches another
// request; its claims JSON is the presented token's payload. The Token is
// dst when it is not nil.
func (v *Validator) cached(ctx context.Context, k cacheKey, token string, dst *Token) (*Token, bool, error) {
	now := v.now() // once: the clock costs up to 0.1 µs a reading on some virtual machines
	e, ok := v.cache.get(k, now)
	if !ok {
		return nil, false, nil
	}
	if e.ic.keys != nil {
		cur, err := e.ic.keys.Key(ctx, e.keyID(), e.algorithm())
		if err != nil || cur != e.key {
			v.cache.remove(k)
			return nil, false, nil
		}
	}
	// The audience depends only on the token's bytes: it cannot change.
	exp, nbf, iat := e.times()
	if err := v.checkTimes(now, exp, nbf, iat, v.requireExp); err != nil {
		v.cache.remove(k)
		return nil, true, err
	}
	tok := e.token(v, token, dst)
	if err := v.runChecks(ctx, tok); err != nil {
		return nil, true, err
	}
	return tok, true, nil
}

// remember caches a token that passed full validation, until its "exp" or
// the cache's max TTL, whichever is sooner. The cache keeps a compact copy
// of its own (see cachedToken), which shares nothing writable with tok.
func (v *Validator) remember(k cacheKey, tok *Token, token string, key *Key, ic *issuerConfig) {
	expires := v.now().Add(v.cache.maxTTL)
	if !tok.Expiry.IsZero() && tok.Expiry.Before(expires) {
		expires = tok.Expiry
	}
	v.cache.put(k, v.compact(tok, token, key, ic), expires)
}

// CachedTokens returns the number of entries in the validated-token cache.
func (v *Validator) CachedTokens() int {
	if v.cache == nil {
		return 0
	}
	return v.cache.len()
}

func (v *Validator) validateJWT(ctx context.Context, token string) (*Token, *Key, *issuerConfig, error) {
	hseg, pseg, sseg, err := splitCompact(token)
	if err != nil {
		return nil, nil, nil, err
	}
	var hbuf [512]byte
	hjson, ok := decodeSegment(hseg, hbuf[:])
	if !ok {
		return nil, nil, nil, ErrMalformed
	}
	h, headerRecheck, err := parseUnsignedHeader(hjson, v.allowed)
	if err != nil {
		return nil, nil, nil, err
	}
	if !v.typeAllowed(h.typ) {
		return nil, nil, nil, ErrType
	}
	payload, ok := decodeSegment(pseg, nil)
	if !ok {
		return nil, nil, nil, ErrMalformed
	}
	// Before the signature: validate the claims' JSON in one linear pass
	// and decode "iss" alone, to choose the keys. Nothing else an attacker
	// sends is decoded until the signature holds.
	var spans claimSpans
	if err := v.scanUnsigned(payload, &spans); err != nil {
		return nil, nil, nil, err
	}
	iss, err := spans.issuer()
	if err != nil {
		return nil, nil, nil, err
	}
	ic := v.issuers[iss]
	if ic == nil {
		return nil, nil, nil, ErrIssuer
	}
	if !ic.algs.has(h.alg) {
		return nil, nil, nil, ErrAlgorithm
	}
	var sbuf [512]byte
	sig, ok := decodeSegment(sseg, sbuf[:])
	if !ok {
		return nil, nil, nil, ErrMalformed
	}
	if len(sig) == 0 {
		return nil, nil, nil, ErrSignature
	}
	var key *Key
	if ic.keys != nil {
		key, err = ic.keys.Key(ctx, h.kid, algNames[h.alg])
		if err != nil {
			return nil, nil, nil, keyError(err)
		}
		if key == nil || !key.algs.has(h.alg) {
			return nil, nil, nil, ErrAlgorithm
		}
	}
	if !verifySignature(h.alg, key, ic.secret, token[:len(hseg)+1+len(pseg)], sig) {
		// The issuer may have put a new key under the same kid (or under
		// none): ask a source that can look again, once.
		kr, ok := ic.keys.(KeyRefresher)
		if !ok || key == nil {
			return nil, nil, nil, ErrSignature
		}
		next, err := kr.RefreshKey(ctx, h.kid, algNames[h.alg], key)
		if err != nil {
			return nil, nil, nil, keyError(err)
		}
		if next == nil || next == key || !next.algs.has(h.alg) ||
			!verifySignature(h.alg, next, nil, token[:len(hseg)+1+len(pseg)], sig) {
			return nil, nil, nil, ErrSignature
		}
		key = next
	}
	if headerRecheck {
		// Signed: now the name checks parseUnsignedHeader left.
		if _, err := parseHeader(hjson, v.allowed); err != nil {
			return nil, nil, nil, err
		}
	}
	if spans.recheck {
		// Signed: now the duplicate names scanUnsigned left.
		spans = claimSpans{}
		if err := v.scanClaims(payload, &spans); err != nil {
			return nil, nil, nil, err
		}
	}
	b := &tokenBlock{tok: Token{Source: SourceJWT, Type: h.typ, KeyID: h.kid, Algorithm: algNames[h.alg], claims: stringOf(payload)}}
	tok := &b.tok
	if err := decodeClaims(&spans, tok, b.aud[:0], ic.skipScopeClaims); err != nil {
		return nil, nil, nil, err
	}
	if err := spans.kind(); err != nil {
		return nil, nil, nil, err // a refresh or ID token, as introspection refuses one
	}
	if err := spans.bindingSaid(tok); err != nil {
		return nil, nil, nil, err
	}
	if v.rfc9068 {
		const required = hasIss | hasExp | hasAud | hasSub | hasClientID | hasIat | hasJti
		if spans.present&required != required {
			return nil, nil, nil, ErrMissingClaim
		}
	}
	// The issuer's own checks, its audience (or the validator's), and its
	// roles and permissions: all after the signature.
	if err := v.checkIssuerPolicy(ic, tok, &spans, false); err != nil {
		// With ic: the issuer is known, only its policy refused (a
		// tenant's "tid", say): no other server may decide.
		return nil, nil, ic, err
	}
	if err := v.checkTimes(v.now(), tok.Expiry, tok.NotBefore, tok.IssuedAt, v.requireExp); err != nil {
		return nil, nil, nil, err
	}
	return tok, key, ic, nil
}

func (v *Validator) runChecks(ctx context.Context, tok *Token) error {
	for _, check := range v.checks {
		if err := check(ctx, tok); err != nil {
			if _, ok := errors.AsType[*Error](err); ok || errors.Is(err, ErrInsufficientScope) {
				return err
			}
			return fmt.Errorf("%w: %w", ErrClaimCheck, err)
		}
	}
	return nil
}

// keyError maps a key source's error onto this package's classes: a
// source that returns something else is treated as unavailable, not as a
// verdict on the token.
func keyError(err error) error {
	if _, ok := errors.AsType[*Error](err); ok {
		return err
	}
	return &UnavailableError{Reason: ErrKeysUnavailable, Err: err}
}
