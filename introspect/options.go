package introspect

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

// Defaults.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultBodyLimit   = 1 << 20
	DefaultCacheSize   = 10_000
	DefaultMaxTTL      = 5 * time.Minute
	DefaultInactiveTTL = 10 * time.Second
)

// Option configures a [Client].
type Option func(*config)

type config struct {
	client       *http.Client
	timeout      time.Duration
	bodyLimit    int64
	cache        Cache
	cacheSize    int
	maxTTL       time.Duration
	inactiveTTL  time.Duration
	clock        func() time.Time
	logger       *slog.Logger
	insecureHTTP bool
	signedKeys   validator.KeySource
	signedIss    string
	signedAud    string
	errs         []error
}

func defaults() config {
	return config{
		timeout:     DefaultTimeout,
		bodyLimit:   DefaultBodyLimit,
		cacheSize:   DefaultCacheSize,
		maxTTL:      DefaultMaxTTL,
		inactiveTTL: DefaultInactiveTTL,
		clock:       time.Now,
		logger:      slog.Default(),
	}
}

// WithHTTPClient sets the HTTP client (default: 10 s timeouts, HTTPS-only
// redirects).
func WithHTTPClient(c *http.Client) Option {
	return func(cfg *config) {
		if c == nil {
			cfg.errs = append(cfg.errs, errors.New("WithHTTPClient: nil client"))
		}
		cfg.client = c
	}
}

// WithTimeout bounds one introspection request (default [DefaultTimeout]).
func WithTimeout(d time.Duration) Option {
	return func(cfg *config) {
		if d <= 0 {
			cfg.errs = append(cfg.errs, errors.New("WithTimeout: must be positive"))
		}
		cfg.timeout = d
	}
}

// WithBodyLimit caps a response's size in bytes (default [DefaultBodyLimit]).
func WithBodyLimit(n int64) Option {
	return func(cfg *config) {
		if n < 1024 {
			cfg.errs = append(cfg.errs, errors.New("WithBodyLimit: below 1 KiB"))
		}
		cfg.bodyLimit = n
	}
}

// WithCache replaces the default in-memory LRU cache.
func WithCache(c Cache) Option {
	return func(cfg *config) {
		if c == nil {
			cfg.errs = append(cfg.errs, errors.New("WithCache: nil cache"))
		}
		cfg.cache = c
	}
}

// WithCacheSize bounds the default LRU cache (default [DefaultCacheSize]
// entries).
func WithCacheSize(n int) Option {
	return func(cfg *config) {
		if n < 1 {
			cfg.errs = append(cfg.errs, errors.New("WithCacheSize: must be at least 1"))
		}
		cfg.cacheSize = n
	}
}

// WithMaxTTL bounds how long an active result is reused (default
// [DefaultMaxTTL]); it is never reused past the token's "exp". Revocation
// is seen at most this late. Zero disables caching of active results.
func WithMaxTTL(d time.Duration) Option {
	return func(cfg *config) {
		if d < 0 {
			cfg.errs = append(cfg.errs, errors.New("WithMaxTTL: negative"))
		}
		cfg.maxTTL = d
	}
}

// WithInactiveTTL sets how long an inactive result is reused (default
// [DefaultInactiveTTL]), so that a flood of bad tokens costs the server
// little. Zero disables it.
func WithInactiveTTL(d time.Duration) Option {
	return func(cfg *config) {
		if d < 0 {
			cfg.errs = append(cfg.errs, errors.New("WithInactiveTTL: negative"))
		}
		cfg.inactiveTTL = d
	}
}

// WithSignedResponses requires JWT responses (RFC 9701): requests send
// Accept: application/token-introspection+jwt, and only a response of that
// type, signed by keys with typ "token-introspection+jwt", whose "iss" is
// issuer (for [Discover], "" means the discovered issuer) and whose "aud"
// names audience (the resource server's identifier, often its client id;
// "" skips that check), is accepted. Without this option a JWT response
// cannot be verified and is treated as a failure.
func WithSignedResponses(issuer string, keys validator.KeySource, audience string) Option {
	return func(cfg *config) {
		if keys == nil {
			cfg.errs = append(cfg.errs, errors.New("WithSignedResponses: nil keys"))
		}
		cfg.signedKeys, cfg.signedIss, cfg.signedAud = keys, issuer, audience
	}
}

// WithClock sets the clock for cache expiry (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(cfg *config) {
		if now == nil {
			cfg.errs = append(cfg.errs, errors.New("WithClock: nil clock"))
		}
		cfg.clock = now
	}
}

// WithLogger sets the logger (default slog.Default()). Failures are logged
// at Warn; tokens and response bodies never are.
func WithLogger(l *slog.Logger) Option {
	return func(cfg *config) {
		if l == nil {
			cfg.errs = append(cfg.errs, errors.New("WithLogger: nil logger"))
		}
		cfg.logger = l
	}
}

// WithInsecureLoopbackHTTP allows plain http:// endpoints on loopback
// hosts, for development and tests.
func WithInsecureLoopbackHTTP() Option { return func(cfg *config) { cfg.insecureHTTP = true } }
