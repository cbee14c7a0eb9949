package introspect

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/bearerguard/bearerguard/internal/nilness"
	"github.com/bearerguard/bearerguard/validator"
)

// Defaults.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultBodyLimit   = 1 << 20
	DefaultCacheSize   = 10_000
	DefaultInactiveTTL = 10 * time.Second

	// DefaultMaxTTL bounds the reuse of an active answer (see [WithMaxTTL]):
	// a token revoked at the authorization server is still accepted for at
	// most this long. 60 s is the common default of API gateways.
	DefaultMaxTTL = 60 * time.Second

	// DefaultMaxConcurrentRequests bounds the introspection requests one
	// Client has in flight (see [WithMaxConcurrentRequests]).
	DefaultMaxConcurrentRequests = 64
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
	maxRequests  int
	brkFailures  int
	brkMaxOpen   time.Duration
	clock        func() time.Time
	logger       *slog.Logger
	insecureHTTP bool
	signedKeys   validator.KeySource
	signedIss    string
	signedAud    string
	assertionAud string
	errs         []error

	meterProvider  metric.MeterProvider
	tracerProvider trace.TracerProvider
}

func defaults() config {
	return config{
		timeout:     DefaultTimeout,
		bodyLimit:   DefaultBodyLimit,
		cacheSize:   DefaultCacheSize,
		maxTTL:      DefaultMaxTTL,
		inactiveTTL: DefaultInactiveTTL,
		maxRequests: DefaultMaxConcurrentRequests,
		brkFailures: DefaultBreakerFailures,
		brkMaxOpen:  DefaultBreakerMaxOpen,
		clock:       time.Now,
		logger:      slog.Default(),
	}
}

// WithHTTPClient sets the HTTP client (default: 10 s timeouts, HTTPS-only
// redirects, for discovery). Its redirects are held to the same
// HTTPS-only policy, before its own CheckRedirect is asked; introspection
// requests follow none. The client itself is not modified: bound its
// response headers (http.Transport.MaxResponseHeaderBytes; net/http reads
// up to 10 MiB by default, the default client 64 KiB).
func WithHTTPClient(c *http.Client) Option {
	return func(cfg *config) {
		if c == nil {
			cfg.errs = append(cfg.errs, errors.New("WithHTTPClient: nil client"))
		}
		cfg.client = c
	}
}

// WithAssertionAudience sets the "aud" of [PrivateKeyJWT] assertions
// (default: the introspection endpoint's URL, which RFC 7523 and most
// servers accept). Give the authorization server's issuer identifier for
// servers that want it: Keycloak before 25, and servers following the
// update of RFC 7523 that makes the issuer the one audience. It must be
// an https URL (http only on loopback with [WithInsecureLoopbackHTTP]);
// [New] and [Discover] refuse it with any other [ClientAuth].
func WithAssertionAudience(aud string) Option {
	return func(cfg *config) {
		if aud == "" {
			cfg.errs = append(cfg.errs, errors.New("WithAssertionAudience: empty audience"))
		}
		cfg.assertionAud = aud
	}
}

// WithTimeout bounds one introspection request (default [DefaultTimeout]).
// Under a millisecond it is refused: no request fits in it (a bare number
// is nanoseconds), and every opaque token would be answered 503.
func WithTimeout(d time.Duration) Option {
	return func(cfg *config) {
		if d < time.Millisecond {
			cfg.errs = append(cfg.errs, fmt.Errorf("WithTimeout: %v is under a millisecond", d))
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
		if nilness.IsNil(c) {
			cfg.errs = append(cfg.errs, errors.New("WithCache: nil cache"))
		}
		cfg.cache = c
	}
}

// WithCacheSize bounds the default LRU cache (default [DefaultCacheSize]
// entries, a quarter of them for inactive results: see [NewLRU]).
func WithCacheSize(n int) Option {
	return func(cfg *config) {
		if n < 1 {
			cfg.errs = append(cfg.errs, errors.New("WithCacheSize: must be at least 1"))
		}
		cfg.cacheSize = n
	}
}

// WithMaxTTL bounds how long an active result is reused (default
// [DefaultMaxTTL], 60 s, the common default of API gateways); it is never
// reused past the token's "exp". This is the revocation trade-off: a token
// revoked at the authorization server is still accepted for at most d
// (counted from when the server was asked, not from when its answer
// arrived, or from when it arrived if the clock was set back meanwhile;
// a signed answer's from its "iat" plus a minute of clock skew if
// earlier), while a longer d
// spares the server requests. Where revocation must be
// seen sooner, lower d (zero disables caching of active results), or use
// [validator.WithIntrospectJWTs] with short-lived tokens.
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

// WithMaxConcurrentRequests bounds the introspection requests in flight at
// once (n ≥ 1, default [DefaultMaxConcurrentRequests]). A call that needs a
// new request waits for a free slot as long as its own context allows and
// at most the request timeout ([WithTimeout]), then
// fails as [validator.ErrIntrospectionUnavailable] without sending
// anything; calls for a token already being asked about join that request
// and take no slot. This bounds the load a flood of unknown tokens puts on
// the endpoint and the goroutines it costs here. The circuit breaker's
// probes ([WithCircuitBreaker]; at most 4 alive) take no slot.
func WithMaxConcurrentRequests(n int) Option {
	return func(cfg *config) {
		if n < 1 {
			cfg.errs = append(cfg.errs, errors.New("WithMaxConcurrentRequests: must be at least 1"))
		}
		cfg.maxRequests = n
	}
}

// WithCircuitBreaker sets when the client stops asking an endpoint that
// gives no answer at all (default [DefaultBreakerFailures] requests in a
// row, [DefaultBreakerMaxOpen]). After failures requests in a row got no
// answer (the connection refused or reset, the timeout passed, the TLS
// handshake failed; a request whose deadline passed before it got a
// connection, in a slow token source or a capped pool, tells nothing), the
// client sends a probe: a request about [ProbeToken], on a goroutine of
// its own (and connections of its own when the client's transport is an
// *http.Transport), while callers' requests go on. A probe that outlives
// twice the request timeout (hung where its deadline does not reach) is
// given up on, and the next call may start another; at most 4 are alive at
// once, and while 4 hang, callers' requests go out instead.
// If the probe gets no answer either, the breaker opens: uncached tokens
// are answered [validator.ErrIntrospectionUnavailable] at once, with a
// Retry-After, without a request and without waiting for a request slot,
// for 1 s (or maxOpen if shorter). The first call after that pause starts
// another probe, and calls are answered so until it ends: its answer
// closes the breaker, none opens it again for twice as long, up to
// maxOpen. A caller joining a request already in flight for its token
// still gets that request's answer, and cached answers are served
// throughout.
//
// Only probes open the breaker, never a caller's token: a token that makes
// the endpoint, or a firewall before it, reset or hang cannot stop the
// requests of every other caller. Any answer at all (a status, a body the
// client refuses) counts the failures from zero and closes the breaker.
// failures 0 turns it off; otherwise maxOpen is at least 1 ms and at most
// [validator.MaxRetryAfter].
func WithCircuitBreaker(failures int, maxOpen time.Duration) Option {
	return func(cfg *config) {
		switch {
		case failures < 0:
			cfg.errs = append(cfg.errs, errors.New("WithCircuitBreaker: negative failures"))
		case failures > 0 && (maxOpen < time.Millisecond || maxOpen > validator.MaxRetryAfter):
			cfg.errs = append(cfg.errs, fmt.Errorf("WithCircuitBreaker: maxOpen %v out of range [1ms, %v]", maxOpen, validator.MaxRetryAfter))
		}
		cfg.brkFailures, cfg.brkMaxOpen = failures, maxOpen
	}
}

// WithSignedResponses requires JWT responses (RFC 9701): requests send
// Accept: application/token-introspection+jwt, and only a response of that
// type, signed by keys with typ "token-introspection+jwt", whose "iss" is
// issuer (for [Discover], "" means the discovered issuer) and whose "aud"
// names audience (the resource server's identifier: "" means the client id
// of the authentication, and skips the check only for one that has none,
// as [BearerToken]), and which is fresh ("iat" present and within the
// last 2 minutes, allowing 1 minute of clock skew; "exp", if present, not
// passed), is accepted. Without this option a JWT response
// cannot be verified and is treated as a failure.
func WithSignedResponses(issuer string, keys validator.KeySource, audience string) Option {
	return func(cfg *config) {
		if nilness.IsNil(keys) {
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
// hosts (a loopback address or "localhost"), for development and tests.
// The default client dials "localhost" as 127.0.0.1 or ::1 without
// resolving it; a client of your own ([WithHTTPClient]) resolves it its
// own way.
func WithInsecureLoopbackHTTP() Option { return func(cfg *config) { cfg.insecureHTTP = true } }
