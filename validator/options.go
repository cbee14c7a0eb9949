package validator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/bearerguard/bearerguard/internal/nilness"
)

// Defaults.
const (
	// DefaultMaxTokenSize caps the length of a token, in bytes.
	DefaultMaxTokenSize = 8 << 10
	// DefaultLeeway is the clock skew allowed for "exp", "nbf" and "iat".
	DefaultLeeway = 30 * time.Second
	// MaxLeeway is the most [WithLeeway] accepts: more is a mistake (a
	// unit slipped), and sums of times with it must not overflow.
	MaxLeeway = time.Hour
)

// Option configures a [Validator]. Options only record; [New] checks them
// all together.
type Option func(*config)

type issuerConfig struct {
	issuer string
	keys   KeySource
	secret []byte
	algs   algSet
	policy issuerPolicy // this issuer's own checks and claim sources
	// skipScopeClaims marks the validator's scope claims (WithScopeClaim)
	// that this issuer's policy reads as roles or permissions: not read as
	// scopes for its tokens. nil: none.
	skipScopeClaims []bool
}

type config struct {
	issuers      []*issuerConfig
	audiences    []string
	skipAudience bool
	algs         []Algorithm
	leeway       time.Duration
	maxSize      int
	maxAge       time.Duration
	expOptional  bool
	rfc9068      bool
	scopeClaims  []string
	checks       []func(context.Context, *Token) error
	clock        func() time.Time
	logger       *slog.Logger
	errs         []error

	introspector        Introspector
	introspectionIssuer string
	introspectJWTs      bool

	introspectionAudOptional  bool
	introspectionTypeRequired bool
	introspectionTypeOptional bool

	dpop dpopConfig

	meterProvider  metric.MeterProvider
	tracerProvider trace.TracerProvider

	cacheSize   int
	cacheMaxTTL time.Duration
}

// WithIssuer trusts tokens whose "iss" equals issuer exactly, verified
// with keys (usually a [jwks.Set]). Repeat it to trust several issuers; a
// token's unverified "iss" selects the keys, and nothing is fetched for an
// issuer not configured. At least one issuer is required. The opts add
// checks and claim sources for this issuer only ([IssuerOption]).
func WithIssuer(issuer string, keys KeySource, opts ...IssuerOption) Option {
	return func(c *config) {
		if nilness.IsNil(keys) {
			c.errs = append(c.errs, fmt.Errorf("issuer %q: nil key source", issuer))
		}
		p, errs := newPolicy(opts)
		for _, err := range errs {
			c.errs = append(c.errs, fmt.Errorf("issuer %q: %w", issuer, err))
		}
		c.issuers = append(c.issuers, &issuerConfig{issuer: issuer, keys: keys, policy: p})
	}
}

// WithIssuerSecret trusts tokens from issuer signed with HMAC under secret
// (HS256, and HS384/HS512 if the secret is long enough: RFC 7518 §3.2 wants
// at least as many bytes as the hash, so 32 bytes minimum). An issuer has
// either a secret or asymmetric keys, never both, and HMAC algorithms are
// allowed for no other issuer. Prefer asymmetric keys: anyone who can check
// an HMAC token can also mint one. The opts add checks and claim sources
// for this issuer only ([IssuerOption]).
func WithIssuerSecret(issuer string, secret []byte, opts ...IssuerOption) Option {
	return func(c *config) {
		p, errs := newPolicy(opts)
		for _, err := range errs {
			c.errs = append(c.errs, fmt.Errorf("issuer %q: %w", issuer, err))
		}
		var algs algSet
		if len(secret) >= 32 {
			algs |= 1 << algHS256
		}
		if len(secret) >= 48 {
			algs |= 1 << algHS384
		}
		if len(secret) >= 64 {
			algs |= 1 << algHS512
		}
		if algs == 0 {
			c.errs = append(c.errs, fmt.Errorf("issuer %q: HMAC secret shorter than 32 bytes", issuer))
		}
		c.issuers = append(c.issuers, &issuerConfig{issuer: issuer, secret: slices.Clone(secret), algs: algs, policy: p})
	}
}

// WithAudience accepts tokens whose "aud" names any of audiences. An
// audience (or [WithoutAudienceCheck]) is required, unless every issuer
// has an audience or client check of its own ([IssuerAudience],
// [IssuerClientIDs]), which replaces this one for that issuer's tokens.
// Given more than once, its lists are joined: each call names audiences
// the API answers to.
func WithAudience(audiences ...string) Option {
	return func(c *config) {
		for _, a := range audiences {
			if a == "" {
				c.errs = append(c.errs, errors.New("empty audience"))
			} else if padded(a) {
				c.errs = append(c.errs, fmt.Errorf("audience %q has white space around it: no token names it", a))
			}
		}
		c.audiences = append(c.audiences, audiences...)
	}
}

// WithoutAudienceCheck accepts tokens meant for any audience. Only safe
// when the issuer mints tokens for this API alone. An issuer's own
// [IssuerAudience] or [IssuerClientIDs] is still checked. Introspection
// answers must then carry "token_type", unless their issuer has its own
// [IssuerAudience] (see [WithIntrospectionTokenTypeRequired]).
func WithoutAudienceCheck() Option { return func(c *config) { c.skipAudience = true } }

// WithAlgorithms replaces the allowlist of asymmetric algorithms (default
// [DefaultAlgorithms]). HMAC algorithms are configured by
// [WithIssuerSecret], and "none" never.
func WithAlgorithms(algs ...Algorithm) Option {
	return func(c *config) {
		c.algs = algs
		if len(algs) == 0 {
			c.errs = append(c.errs, errors.New("WithAlgorithms: empty allowlist"))
		}
		for _, a := range algs {
			if id := parseAlg(string(a)); id == algUnknown || hmacAlgs.has(id) {
				c.errs = append(c.errs, fmt.Errorf("WithAlgorithms: %q is not an asymmetric algorithm", a))
			}
		}
	}
}

// WithLeeway sets the clock skew allowed when checking "exp", "nbf" and
// "iat" (default [DefaultLeeway]). WithLeeway(0) allows none; more than
// [MaxLeeway] is refused.
func WithLeeway(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.errs = append(c.errs, errors.New("WithLeeway: negative leeway"))
		}
		if d > MaxLeeway {
			c.errs = append(c.errs, fmt.Errorf("WithLeeway: %v is more than %v", d, MaxLeeway))
		}
		c.leeway = d
	}
}

// WithMaxTokenSize caps a token's length in bytes (default
// [DefaultMaxTokenSize]); longer tokens are refused before any parsing.
func WithMaxTokenSize(n int) Option {
	return func(c *config) {
		if n < 64 {
			c.errs = append(c.errs, errors.New("WithMaxTokenSize: below 64 bytes"))
		}
		c.maxSize = n
	}
}

// WithMaxTokenAge refuses tokens issued more than d ago, and then requires
// "iat". Default: no limit.
func WithMaxTokenAge(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, errors.New("WithMaxTokenAge: must be positive"))
		}
		c.maxAge = d
	}
}

// WithoutExpiryRequirement accepts tokens with no "exp" claim. By default
// "exp" is required. An "exp" that is present is always checked.
func WithoutExpiryRequirement() Option { return func(c *config) { c.expOptional = true } }

// WithRFC9068 enforces the JWT access token profile of RFC 9068: "typ"
// must be "at+jwt" (or "application/at+jwt"), and "iss", "exp", "aud",
// "sub", "client_id", "iat" and "jti" must be present (§2.2).
func WithRFC9068() Option { return func(c *config) { c.rfc9068 = true } }

// WithScopeClaim adds a claim to read scopes from, as a space-delimited
// string or an array of strings (e.g. "permissions" for Auth0, "roles").
// "scope" and "scp" are always read; all are merged. It applies to every
// issuer's tokens but for an issuer that reads the same top-level claim as
// roles or permissions ([IssuerRoleClaims], [IssuerPermissionClaims], as
// the Entra ID and Auth0 presets do): one issuer's claim mapping never
// turns another's roles into scopes.
func WithScopeClaim(name string) Option {
	return func(c *config) {
		if name == "" || padded(name) {
			c.errs = append(c.errs, fmt.Errorf("WithScopeClaim: claim name %q is empty or has white space around it", name))
		}
		c.scopeClaims = append(c.scopeClaims, name)
	}
}

// WithClaimCheck adds a check run on every token after the built-in ones.
// A returned error refuses the token; it is answered as invalid_token
// ([ErrClaimCheck]) unless it already matches a class of this package.
func WithClaimCheck(check func(ctx context.Context, tok *Token) error) Option {
	return func(c *config) {
		if check == nil {
			c.errs = append(c.errs, errors.New("WithClaimCheck: nil check"))
		}
		c.checks = append(c.checks, check)
	}
}

// WithClock sets the clock used for every time check (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.errs = append(c.errs, errors.New("WithClock: nil clock"))
		}
		c.clock = now
	}
}

// WithLogger sets the logger (default slog.Default()). Rejections are
// logged at Debug, never with token material.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.errs = append(c.errs, errors.New("WithLogger: nil logger"))
		}
		c.logger = l
	}
}

// WithTokenCache sizes the validated-token cache (on by default:
// [DefaultTokenCacheSize] entries, [DefaultTokenCacheMaxTTL]). The cache
// is split into 16 shards of size/16 entries each, so it may evict a
// little before size entries are held, and never holds more. A token is
// admitted on its second sighting (a small table of tag fragments remembers
// first sightings), so a flood of tokens seen once costs no insertion and
// evicts nothing. A cached token seen again within maxTTL and before its
// "exp" skips parsing and the signature check; its times, its key's
// presence in the issuer's key set and the user claim checks are still
// checked on every call. Entries are keyed by an AES-GMAC tag of the whole
// token under a random key of the cache's own, which never leaves the
// process. See the package documentation for why this is safe.
func WithTokenCache(size int, maxTTL time.Duration) Option {
	return func(c *config) {
		if size < 1 || maxTTL <= 0 {
			c.errs = append(c.errs, errors.New("WithTokenCache: size and max TTL must be positive"))
		}
		c.cacheSize, c.cacheMaxTTL = size, maxTTL
	}
}

// WithoutTokenCache validates every token in full on every call.
func WithoutTokenCache() Option { return func(c *config) { c.cacheSize = -1 } }

// padded reports whether s has white space around it: an identifier read
// from a file or a template with its newline or a space, which no token
// carries, so that the check it configures would refuse everything
// without saying why.
func padded(s string) bool { return strings.TrimSpace(s) != s }
