package jwks

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Defaults and bounds.
const (
	// DefaultRefreshInterval is how often keys are refreshed, unless the
	// response's Cache-Control max-age is shorter.
	DefaultRefreshInterval = 15 * time.Minute
	// MinRefreshInterval and MaxRefreshInterval clamp both the configured
	// interval and a response's Cache-Control max-age.
	MinRefreshInterval = time.Minute
	MaxRefreshInterval = 24 * time.Hour
	// DefaultMinRefetchInterval is the least time between two refetches
	// triggered by tokens with an unknown "kid".
	DefaultMinRefetchInterval = 30 * time.Second
	// FloorRefetchInterval is the least [WithMinRefetchInterval] can
	// set: each made-up "kid" may cost the issuer a fetch, so a value
	// written without its unit (30 meaning 30 ns) must not let them.
	FloorRefetchInterval = time.Second
	// DefaultUnknownKeyTTL is how long a kid stays known-unknown after a
	// fetch did not find it.
	DefaultUnknownKeyTTL = time.Minute
	// DefaultBodyLimit caps a JWKS or discovery response.
	DefaultBodyLimit = 1 << 20
	// DefaultFetchTimeout bounds one fetch, whatever the HTTP client.
	DefaultFetchTimeout = 10 * time.Second
)

// Option configures a [Set].
type Option func(*config)

type config struct {
	client          *http.Client
	refreshInterval time.Duration
	minRefetch      time.Duration
	unknownTTL      time.Duration
	maxStaleness    time.Duration
	bodyLimit       int64
	fetchTimeout    time.Duration
	logger          *slog.Logger
	clock           func() time.Time
	meterProvider   metric.MeterProvider
	tracerProvider  trace.TracerProvider
	insecureHTTP    bool
	errs            []error
}

func defaults() config {
	return config{
		refreshInterval: DefaultRefreshInterval,
		minRefetch:      DefaultMinRefetchInterval,
		unknownTTL:      DefaultUnknownKeyTTL,
		bodyLimit:       DefaultBodyLimit,
		fetchTimeout:    DefaultFetchTimeout,
		logger:          slog.Default(),
		clock:           time.Now,
	}
}

// WithHTTPClient sets the client used for discovery and JWKS fetches.
// Default: a client with 10 s timeouts whose redirects must stay on HTTPS.
// A client given here has its redirects held to that same policy too,
// before its own CheckRedirect is asked; the client itself is not
// modified: bound its response headers (http.Transport.MaxResponseHeaderBytes;
// net/http reads up to 10 MiB by default, the default client 64 KiB).
func WithHTTPClient(c *http.Client) Option {
	return func(cfg *config) {
		if c == nil {
			cfg.errs = append(cfg.errs, errors.New("WithHTTPClient: nil client"))
		}
		cfg.client = c
	}
}

// WithRefreshInterval sets how often keys are refreshed in the background
// (default [DefaultRefreshInterval]): the longest a key the issuer removed
// is still trusted. A response's Cache-Control max-age shortens it, never
// lengthens it.
// d must be positive: zero or negative is an error that [New] and
// [Discover] report. A positive d outside [[MinRefreshInterval],
// [MaxRefreshInterval]] is not refused but clamped to that range, as a
// max-age is.
func WithRefreshInterval(d time.Duration) Option {
	return func(cfg *config) {
		if d <= 0 {
			cfg.errs = append(cfg.errs, errors.New("WithRefreshInterval: must be positive"))
		}
		cfg.refreshInterval = d
	}
}

// WithMinRefetchInterval sets the least time between two fetches triggered
// by tokens whose "kid" is not in the set, or whose signature failed with
// the key under their "kid" ([Set.RefreshKey]) (default
// [DefaultMinRefetchInterval]). Callers never wait for the window to pass:
// a miss inside it is answered "unknown key" at once. A positive d under
// [FloorRefetchInterval] is not refused but raised to it.
func WithMinRefetchInterval(d time.Duration) Option {
	return func(cfg *config) {
		if d <= 0 {
			cfg.errs = append(cfg.errs, errors.New("WithMinRefetchInterval: must be positive"))
		}
		cfg.minRefetch = max(d, FloorRefetchInterval)
	}
}

// WithUnknownKeyTTL sets how long a kid that a fetch did not find is
// answered "unknown" without asking again (default [DefaultUnknownKeyTTL]).
// Zero disables this negative cache; the refetch rate limit still applies.
func WithUnknownKeyTTL(d time.Duration) Option {
	return func(cfg *config) {
		if d < 0 {
			cfg.errs = append(cfg.errs, errors.New("WithUnknownKeyTTL: negative"))
		}
		cfg.unknownTTL = d
	}
}

// WithMaxStaleness stops trusting keys that have not been refreshed
// successfully for d: lookups then fail as unavailable. Default: no limit,
// so an issuer outage never turns into 401s or 503s while keys are cached.
// d must be longer than the refresh interval ([WithRefreshInterval], after
// its clamp): [New] and [Discover] refuse a shorter one, with which the
// keys would go stale between two refreshes while the issuer is up. Give
// it several intervals: one just above the interval still lets the keys
// turn stale for the length of a fetch, each cycle.
func WithMaxStaleness(d time.Duration) Option {
	return func(cfg *config) {
		if d <= 0 {
			cfg.errs = append(cfg.errs, errors.New("WithMaxStaleness: must be positive"))
		}
		cfg.maxStaleness = d
	}
}

// WithBodyLimit caps the size of a JWKS or discovery response in bytes
// (default [DefaultBodyLimit]).
func WithBodyLimit(n int64) Option {
	return func(cfg *config) {
		if n < 1024 {
			cfg.errs = append(cfg.errs, errors.New("WithBodyLimit: below 1 KiB"))
		}
		cfg.bodyLimit = n
	}
}

// WithFetchTimeout bounds each fetch, including discovery (default
// [DefaultFetchTimeout]), whatever the HTTP client's own timeouts. Under a
// millisecond it is refused: no fetch fits in it (a bare number is
// nanoseconds), and no key set would ever load.
func WithFetchTimeout(d time.Duration) Option {
	return func(cfg *config) {
		if d < time.Millisecond {
			cfg.errs = append(cfg.errs, fmt.Errorf("WithFetchTimeout: %v is under a millisecond", d))
		}
		cfg.fetchTimeout = d
	}
}

// WithLogger sets the logger (default slog.Default()). Skipped keys and
// failed refreshes with keys cached are logged at Warn, failures with no
// keys at all at Error.
func WithLogger(l *slog.Logger) Option {
	return func(cfg *config) {
		if l == nil {
			cfg.errs = append(cfg.errs, errors.New("WithLogger: nil logger"))
		}
		cfg.logger = l
	}
}

// WithClock sets the clock for staleness, rate limits and status times
// (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(cfg *config) {
		if now == nil {
			cfg.errs = append(cfg.errs, errors.New("WithClock: nil clock"))
		}
		cfg.clock = now
	}
}

// WithInsecureLoopbackHTTP allows plain http:// URLs whose host is a
// loopback address or "localhost", for development and tests. Any other
// http:// URL is refused regardless. The default client dials "localhost"
// as 127.0.0.1 or ::1 without resolving it; a client of your own
// ([WithHTTPClient]) resolves it its own way.
func WithInsecureLoopbackHTTP() Option { return func(cfg *config) { cfg.insecureHTTP = true } }
