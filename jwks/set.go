package jwks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bearerguard/bearerguard/internal/discovery"
	"github.com/bearerguard/bearerguard/internal/httpfetch"
	"github.com/bearerguard/bearerguard/validator"
)

// Set is a JSON Web Key Set fetched from an issuer, kept fresh in the
// background. It implements [validator.KeySource]. Build one with [New] or
// [Discover]; call [Set.Close] to stop its goroutine. A Set is safe for
// concurrent use. A zero Set answers every Key as unavailable
// ([validator.ErrKeysUnavailable]), and Refresh and WaitReady with an
// error.
type Set struct {
	cfg    config
	issuer string // for discovery; "" when the JWKS URL was given
	client *http.Client
	owned  bool // client is ours to close

	snap atomic.Pointer[snapshot]

	ctx    context.Context // cancelled by Close; fetches run on it
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	kick   chan struct{} // an on-demand fetch succeeded: reschedule

	mu           sync.Mutex
	closed       bool   // set by Close before it waits: no fetch starts after
	jwksURL      string // known, or found by discovery
	inflight     *fetchCall
	lastOnDemand time.Time
	unknown      map[unknownKey]time.Time
	st           Status
	interval     time.Duration // next refresh interval, from the last success
	lastSkipped  string        // skipped keys of the last fetch, to warn once
	configErr    error         // the last fetch's configuration error (issuer mismatch), or nil
	attempted    chan struct{} // closed and replaced when a fetch ends or the set closes

	tel *telemetry
}

// Format prints the set as its issuer and JWKS URL (without user info or
// query values: a signed URL's signature is a credential), for every verb.
func (s *Set) Format(f fmt.State, _ rune) {
	if s == nil {
		fmt.Fprint(f, "<nil>")
		return
	}
	s.mu.Lock()
	u := s.jwksURL
	s.mu.Unlock()
	fmt.Fprintf(f, "jwks.Set{issuer: %q, url: %q}", s.issuer, httpfetch.Redact(u))
}

// snapshot is an immutable key set, replaced whole on every refresh.
type snapshot struct {
	keys    *validator.Keys
	fetched time.Time
	// empty: the issuer's last well-formed key set held no usable key,
	// so the keys it no longer lists are dropped and lookups are answered
	// as if none had loaded (unavailable), until it holds one again.
	empty bool
}

// ErrClosed reports use of a [Set] after [Set.Close] that its cached keys
// cannot answer. [Set.Refresh] returns it after Close, and so does a fetch
// that Close cut short. [Set.Key] returns it wrapped in a
// *[validator.UnavailableError] (matching [validator.ErrKeysUnavailable])
// when no usable key set is cached; a lookup the cached keys can answer
// still succeeds, or fails as [validator.ErrUnknownKey], after Close.
var ErrClosed = errors.New("jwks: set closed")

// Status describes a Set for health checks.
type Status struct {
	URL         string    // the JWKS URL ("" until discovery succeeds), without user info or query values
	Keys        int       // usable keys in the current set
	LastRefresh time.Time // last successful fetch; zero if never
	LastAttempt time.Time // last fetch attempt
	LastError   error     // error of the last attempt, nil if it succeeded
	NextRefresh time.Time // when the background refresh runs next
	Fetches     int64     // JWKS fetch attempts so far
	Skipped     int       // keys skipped in the last successful fetch
}

// New returns a Set for the JWK Set at jwksURL and starts its background
// refresh, which makes the first fetch at once. New itself does no I/O; a
// lookup made before the first fetch ends waits for it. The URL must be
// https (see [WithInsecureLoopbackHTTP]).
func New(jwksURL string, opts ...Option) (*Set, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if _, err := httpfetch.CheckURL(jwksURL, cfg.insecureHTTP); err != nil {
		cfg.errs = append(cfg.errs, err)
	}
	return start(cfg, "", jwksURL)
}

// Discover returns a Set for the issuer's keys, found through its metadata
// (OpenID Connect Discovery or RFC 8414; see package doc). The document's
// "issuer" must equal issuer exactly. Discovery happens in the background,
// like the first fetch, and a failed discovery is retried with backoff.
func Discover(issuer string, opts ...Option) (*Set, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if _, err := discovery.URLs(issuer, cfg.insecureHTTP); err != nil {
		cfg.errs = append(cfg.errs, fmt.Errorf("issuer: %w", err))
	}
	return start(cfg, issuer, "")
}

func start(cfg config, issuer, jwksURL string) (*Set, error) {
	if cfg.maxStaleness > 0 && cfg.refreshInterval > 0 && cfg.maxStaleness <= clamp(cfg.refreshInterval) {
		// The keys would be too old before the next refresh could renew
		// them: lookups would fail between refreshes while the issuer is
		// up (a bare number here is nanoseconds).
		cfg.errs = append(cfg.errs, fmt.Errorf("WithMaxStaleness(%v) is not longer than the refresh interval (%v): the keys would go stale between two refreshes", cfg.maxStaleness, clamp(cfg.refreshInterval)))
	}
	if len(cfg.errs) > 0 {
		return nil, fmt.Errorf("jwks: invalid configuration: %w", errors.Join(cfg.errs...))
	}
	cfg.refreshInterval = clamp(cfg.refreshInterval)
	s := &Set{
		cfg:       cfg,
		issuer:    issuer,
		client:    cfg.client,
		jwksURL:   jwksURL,
		kick:      make(chan struct{}, 1),
		attempted: make(chan struct{}),
		unknown:   make(map[unknownKey]time.Time),
		interval:  cfg.refreshInterval,
	}
	if s.client == nil {
		s.client = httpfetch.NewClient(cfg.insecureHTTP)
		s.owned = true
	} else {
		s.client = httpfetch.HoldToPolicy(s.client, cfg.insecureHTTP)
	}
	s.st.URL = httpfetch.Redact(jwksURL)
	tel, err := newTelemetry(s)
	if err != nil {
		return nil, fmt.Errorf("jwks: telemetry: %w", err)
	}
	s.tel = tel
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mu.Lock()
	first := s.startFetchLocked()
	s.mu.Unlock()
	s.wg.Add(1)
	go s.run(first)
	return s, nil
}

// Close stops the background refresh and waits for it and any fetch in
// flight to end. Lookups after Close are answered from the keys already
// cached, with no further fetches; what they cannot answer fails with
// [ErrClosed]. Close is safe to call more than once.
func (s *Set) Close() error {
	if s.ctx == nil {
		return nil // a Set not built by New or Discover has nothing to stop
	}
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true // under mu: no fetch can start (wg.Add) once Wait begins
		s.attemptEndedLocked(s.configErr)
		s.mu.Unlock()
		s.cancel()
		s.wg.Wait()
		_ = s.tel.registration.Unregister()
		if s.owned {
			s.client.CloseIdleConnections()
		}
	})
	return nil
}

// errNotBuilt is what a Set not built by [New] or [Discover] (a zero Set)
// answers: it has no URL to fetch, and must refuse rather than panic.
var errNotBuilt = errors.New("jwks: a Set not built by New or Discover")

// Key implements [validator.KeySource]: it returns the key for kid that may
// verify alg (see [validator.Keys.Lookup] for how an empty kid matches).
//
// On a miss it refetches the set, at most once per minimum refetch
// interval, with concurrent misses sharing that one fetch; each caller
// waits only as long as its ctx allows. A kid that a fetch begun after the
// lookup did not find is then answered "unknown" from a short negative
// cache (a fetch already in flight may have read the document before the
// key was published: the lookup then asks once more, rate limit allowing). Errors match
// [validator.ErrUnknownKey], or [validator.ErrKeysUnavailable] when no key
// set has ever loaded (or it is older than the maximum staleness), then
// also [ErrClosed] after [Set.Close].
func (s *Set) Key(ctx context.Context, kid string, alg validator.Algorithm) (*validator.Key, error) {
	if s.ctx == nil {
		return nil, &validator.UnavailableError{Reason: validator.ErrKeysUnavailable, Err: errNotBuilt}
	}
	snap := s.current()
	if snap != nil {
		if k, ok := snap.keys.Lookup(kid, alg); ok {
			return k, nil
		}
	}
	if len(kid) > validator.MaxKeyIDLen {
		return nil, validator.ErrUnknownKey
	}
	uk := unknownKey{kid: kid, alg: alg}
	s.mu.Lock()
	if snap != nil && s.knownUnknownLocked(uk) {
		s.mu.Unlock()
		return nil, validator.ErrUnknownKey
	}
	closed := s.closed
	call, joined := s.onDemandLocked()
	s.mu.Unlock()
	if call == nil { // rate limited, or closed
		switch {
		case snap != nil:
			return nil, validator.ErrUnknownKey
		case closed:
			return nil, s.unavailable(ErrClosed)
		}
		return nil, s.unavailable(nil)
	}
	if k, done, err := s.awaitKey(ctx, call, kid, alg); done {
		return k, err
	}
	if joined {
		// The fetch joined was in flight before this lookup, and may have
		// read the document before the issuer published kid (a rotation
		// racing the background refresh): ask once more if the rate limit
		// allows. If it does not, kid is unknown but not remembered as
		// such, so that the next lookup may ask.
		s.mu.Lock()
		call, _ = s.onDemandLocked()
		s.mu.Unlock()
		if call == nil {
			return nil, validator.ErrUnknownKey
		}
		if k, done, err := s.awaitKey(ctx, call, kid, alg); done {
			return k, err
		}
	}
	s.mu.Lock()
	s.rememberUnknownLocked(uk)
	s.mu.Unlock()
	return nil, validator.ErrUnknownKey
}

// RefreshKey implements [validator.KeyRefresher]: stale, the key the set
// holds for kid and alg, failed to verify a signature, perhaps because the
// issuer put a new key under the same kid (or under none). It refetches
// the set, within the rate limit of lookups of unknown kids (joining a
// fetch in flight), and returns the key for kid and alg the set then
// holds; nil when that is still stale, there is none, or the rate limit
// allows no fetch. When the refetch fails, or ctx ends first, nobody can
// tell whether the issuer rotated: the error matches
// [validator.ErrKeysUnavailable] (503, as for a new kid in an outage).
func (s *Set) RefreshKey(ctx context.Context, kid string, alg validator.Algorithm, stale *validator.Key) (*validator.Key, error) {
	if s.ctx == nil {
		return nil, nil
	}
	other := func() *validator.Key {
		if snap := s.current(); snap != nil {
			if k, ok := snap.keys.Lookup(kid, alg); ok && k != stale {
				return k
			}
		}
		return nil
	}
	if k := other(); k != nil {
		return k, nil // a fetch since the lookup replaced it
	}
	// At most two fetches: one joined may have read the document before
	// the issuer put the new key in (a rotation racing a refresh in
	// flight), so it asks once more, as Key does for a new kid.
	for range 2 {
		s.mu.Lock()
		call, joined := s.onDemandLocked()
		s.mu.Unlock()
		if call == nil {
			return nil, nil
		}
		select {
		case <-call.done:
		case <-ctx.Done():
			return nil, s.unavailable(ctx.Err())
		}
		if k := other(); k != nil {
			return k, nil
		}
		if call.err != nil {
			return nil, s.unavailable(call.err)
		}
		if !joined {
			break
		}
	}
	return nil, nil
}

// awaitKey waits for call, as long as ctx allows, and looks kid up in the
// set it left. done is false only when the fetch succeeded and did not
// find kid.
func (s *Set) awaitKey(ctx context.Context, call *fetchCall, kid string, alg validator.Algorithm) (k *validator.Key, done bool, err error) {
	select {
	case <-call.done:
	case <-ctx.Done():
		return nil, true, s.unavailable(ctx.Err())
	}
	snap := s.current()
	if snap == nil {
		return nil, true, s.unavailable(call.err)
	}
	if k, ok := snap.keys.Lookup(kid, alg); ok {
		return k, true, nil
	}
	if call.err != nil {
		// The refetch this caller waited on failed: nobody could tell
		// whether the issuer rotated to this key. 503, so that a client
		// holding a token signed with a new key retries it rather than
		// throwing it away on a 401.
		return nil, true, s.unavailable(call.err)
	}
	return nil, false, nil
}

// current returns the key set, or nil if none has loaded or it is too stale.
func (s *Set) current() *snapshot {
	snap := s.snap.Load()
	if snap != nil && (snap.empty || s.cfg.maxStaleness > 0 && s.cfg.clock().Sub(snap.fetched) > s.cfg.maxStaleness) {
		return nil
	}
	return snap
}

func (s *Set) unavailable(cause error) error {
	if cause == nil {
		s.mu.Lock()
		cause = s.st.LastError
		s.mu.Unlock()
	}
	if snap := s.snap.Load(); snap != nil && s.current() == nil {
		switch {
		case snap.empty && cause == nil:
			cause = errors.New("the issuer's key set holds no usable key")
		case snap.empty:
			cause = fmt.Errorf("the issuer's key set holds no usable key: %w", cause)
		case cause == nil:
			cause = errors.New("key set older than the maximum staleness")
		default:
			cause = fmt.Errorf("key set older than the maximum staleness: %w", cause)
		}
	}
	if cause == nil {
		cause = errors.New("no key set loaded yet")
	}
	return &validator.UnavailableError{Reason: validator.ErrKeysUnavailable, Err: cause}
}

// Refresh fetches the key set now and waits for it, as long as ctx allows:
// it first waits for a fetch in flight, which may have read the document
// before the call, then joins or starts one that begins after it. It is
// not rate limited: use it at start-up or from an admin endpoint, not per
// request. After [Set.Close] it returns [ErrClosed].
func (s *Set) Refresh(ctx context.Context) error {
	if s.ctx == nil {
		return errNotBuilt
	}
	s.mu.Lock()
	older := s.inflight // may have read the document before this call
	s.mu.Unlock()
	if older != nil {
		select {
		case <-older.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	call := s.inflight // cleared before older.done closed: started after this call
	if call == nil {
		call = s.startFetchLocked()
	}
	s.mu.Unlock()
	if call == nil {
		return ErrClosed
	}
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Status returns the set's current state.
func (s *Set) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	if snap := s.snap.Load(); snap != nil {
		st.Keys = snap.keys.Len()
	}
	return st
}
