package jwks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
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
// concurrent use.
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
}

// snapshot is an immutable key set, replaced whole on every refresh.
type snapshot struct {
	keys    *validator.Keys
	fetched time.Time
}

type fetchCall struct {
	done chan struct{}
	err  error
}

type unknownKey struct {
	kid string
	alg validator.Algorithm
}

// maxUnknown bounds the negative cache.
const maxUnknown = 4096

// Status describes a Set for health checks.
type Status struct {
	URL         string    // the JWKS URL ("" until discovery succeeds)
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
	if len(cfg.errs) > 0 {
		return nil, fmt.Errorf("jwks: invalid configuration: %w", errors.Join(cfg.errs...))
	}
	cfg.refreshInterval = clamp(cfg.refreshInterval)
	s := &Set{
		cfg:      cfg,
		issuer:   issuer,
		client:   cfg.client,
		jwksURL:  jwksURL,
		kick:     make(chan struct{}, 1),
		unknown:  make(map[unknownKey]time.Time),
		interval: cfg.refreshInterval,
	}
	if s.client == nil {
		s.client = httpfetch.NewClient(cfg.insecureHTTP)
		s.owned = true
	}
	s.st.URL = jwksURL
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
// cached, with no further fetches. Close is safe to call more than once.
func (s *Set) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true // under mu: no fetch can start (wg.Add) once Wait begins
		s.mu.Unlock()
		s.cancel()
		s.wg.Wait()
		if s.owned {
			s.client.CloseIdleConnections()
		}
	})
	return nil
}

// Key implements [validator.KeySource]: it returns the key for kid that may
// verify alg (see [validator.Keys.Lookup] for how an empty kid matches).
//
// On a miss it refetches the set, at most once per minimum refetch
// interval, with concurrent misses sharing that one fetch; each caller
// waits only as long as its ctx allows. A kid that a fetch did not find is
// then answered "unknown" from a short negative cache. Errors match
// [validator.ErrUnknownKey], or [validator.ErrKeysUnavailable] when no key
// set has ever loaded (or it is older than the maximum staleness).
func (s *Set) Key(ctx context.Context, kid string, alg validator.Algorithm) (*validator.Key, error) {
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
	call := s.onDemandLocked()
	s.mu.Unlock()
	if call == nil { // rate limited, or closed
		if snap == nil {
			return nil, s.unavailable(nil)
		}
		return nil, validator.ErrUnknownKey
	}
	select {
	case <-call.done:
	case <-ctx.Done():
		return nil, s.unavailable(ctx.Err())
	}
	snap = s.current()
	if snap == nil {
		return nil, s.unavailable(call.err)
	}
	if k, ok := snap.keys.Lookup(kid, alg); ok {
		return k, nil
	}
	if call.err == nil {
		s.mu.Lock()
		s.rememberUnknownLocked(uk)
		s.mu.Unlock()
	}
	return nil, validator.ErrUnknownKey
}

// current returns the key set, or nil if none has loaded or it is too stale.
func (s *Set) current() *snapshot {
	snap := s.snap.Load()
	if snap != nil && s.cfg.maxStaleness > 0 && s.cfg.clock().Sub(snap.fetched) > s.cfg.maxStaleness {
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
	if cause == nil {
		cause = errors.New("no key set loaded yet")
	}
	if s.snap.Load() != nil && s.current() == nil {
		cause = fmt.Errorf("key set older than the maximum staleness: %w", cause)
	}
	return &validator.UnavailableError{Reason: validator.ErrKeysUnavailable, Err: cause}
}

// Refresh fetches the key set now (or joins a fetch in flight) and waits
// for it, as long as ctx allows. It is not rate limited: use it at start-up
// or from an admin endpoint, not per request.
func (s *Set) Refresh(ctx context.Context) error {
	s.mu.Lock()
	call := s.inflight
	if call == nil {
		call = s.startFetchLocked()
	}
	s.mu.Unlock()
	if call == nil {
		return errors.New("jwks: set is closed")
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

// onDemandLocked returns the fetch in flight, or starts one if the refetch
// rate limit allows, or returns nil.
func (s *Set) onDemandLocked() *fetchCall {
	if s.inflight != nil {
		return s.inflight
	}
	now := s.cfg.clock()
	if !s.lastOnDemand.IsZero() && now.Sub(s.lastOnDemand) < s.cfg.minRefetch {
		return nil
	}
	call := s.startFetchLocked()
	if call != nil {
		s.lastOnDemand = now
	}
	return call
}

func (s *Set) knownUnknownLocked(uk unknownKey) bool {
	t, ok := s.unknown[uk]
	if !ok {
		return false
	}
	if s.cfg.clock().Sub(t) < s.cfg.unknownTTL {
		return true
	}
	delete(s.unknown, uk)
	return false
}

func (s *Set) rememberUnknownLocked(uk unknownKey) {
	if s.cfg.unknownTTL == 0 {
		return
	}
	now := s.cfg.clock()
	if len(s.unknown) >= maxUnknown {
		for k, t := range s.unknown {
			if now.Sub(t) >= s.cfg.unknownTTL {
				delete(s.unknown, k)
			}
		}
		if len(s.unknown) >= maxUnknown {
			clear(s.unknown)
		}
	}
	s.unknown[uk] = now
}

// startFetchLocked starts a fetch on the set's context, or returns nil if
// the set is closed. The caller holds s.mu and there is no fetch in flight.
func (s *Set) startFetchLocked() *fetchCall {
	if s.closed {
		return nil
	}
	call := &fetchCall{done: make(chan struct{})}
	s.inflight = call
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		call.err = s.fetch()
		s.mu.Lock()
		s.inflight = nil
		s.mu.Unlock()
		close(call.done)
	}()
	return call
}

// run is the background refresh loop.
func (s *Set) run(first *fetchCall) {
	defer s.wg.Done()
	call := first
	backoff := time.Duration(0)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if call != nil {
			select {
			case <-call.done:
			case <-s.ctx.Done():
				return
			}
		}
		var wait time.Duration
		if call == nil || call.err == nil {
			backoff = 0
			wait = s.nextInterval()
		} else {
			backoff = nextBackoff(backoff, s.cfg.refreshInterval)
			wait = backoff
			var se *httpfetch.StatusError
			if errors.As(call.err, &se) && se.RetryAfter > wait {
				wait = min(se.RetryAfter, s.cfg.refreshInterval)
			}
		}
		if backoff > 0 { // a success already recorded its next refresh
			s.mu.Lock()
			s.st.NextRefresh = s.cfg.clock().Add(wait)
			s.mu.Unlock()
		}
		timer.Reset(wait)
	sleep:
		select {
		case <-s.ctx.Done():
			return
		case <-s.kick:
			if backoff == 0 {
				// An on-demand fetch just succeeded; a full interval
				// from now is soon enough.
				timer.Reset(s.nextInterval())
			}
			goto sleep
		case <-timer.C:
		}
		s.mu.Lock()
		call = s.inflight
		if call == nil {
			call = s.startFetchLocked()
		}
		s.mu.Unlock()
	}
}

// nextBackoff doubles from 1 s up to min(limit, 5 min), with ±20 % jitter.
func nextBackoff(prev, limit time.Duration) time.Duration {
	const first, ceiling = time.Second, 5 * time.Minute
	next := first
	if prev > 0 {
		next = prev * 2
	}
	next = min(next, ceiling, limit)
	jitter := time.Duration(rand.Int64N(int64(next)/5+1)) - next/10
	return max(next+jitter, first/2)
}

// nextInterval is the refresh interval after the last successful fetch.
func (s *Set) nextInterval() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.interval
}

func clamp(d time.Duration) time.Duration {
	return min(max(d, MinRefreshInterval), MaxRefreshInterval)
}

var errEmptySet = errors.New("key set has no usable keys")

// fetch fetches the set once (discovering its URL first if needed) and, on
// success, replaces the snapshot whole. On failure the last good snapshot
// stays in place.
func (s *Set) fetch() error {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.fetchTimeout)
	defer cancel()
	start := s.cfg.clock()
	hadKeys := s.snap.Load() != nil
	keys, skipped, interval, url, err := s.load(ctx, hadKeys)
	if s.ctx.Err() != nil {
		return errors.New("jwks: set closed") // Close interrupted us: nothing to report
	}
	skippedSig := fmt.Sprint(skipped)
	s.mu.Lock()
	warnSkipped := skippedSig != s.lastSkipped
	s.lastSkipped = skippedSig
	s.st.LastAttempt = start
	s.st.LastError = err
	if url != "" {
		s.st.URL = url
	}
	if err == nil {
		s.st.LastRefresh = start
		s.st.Skipped = len(skipped)
		s.st.NextRefresh = start.Add(interval)
		s.interval = interval
	}
	s.mu.Unlock()
	log := s.cfg.logger.With(slog.String("jwks_url", url))
	for _, sk := range skipped {
		if !warnSkipped {
			break
		}
		log.Warn("jwks: key skipped", slog.String("kid", sk.kid), slog.String("reason", sk.reason))
	}
	if err != nil {
		if hadKeys {
			log.Warn("jwks: refresh failed; serving the last good keys", slog.Any("error", err))
		} else {
			log.Error("jwks: fetch failed and no keys are loaded", slog.Any("error", err))
		}
		return err
	}
	if old := s.snap.Load(); old != nil {
		// Keep the identity of keys that did not change, so that tokens a
		// validator cached stay cached across refreshes.
		for i, k := range keys {
			for _, prev := range old.keys.All() {
				if prev.Equal(k) {
					keys[i] = prev
					break
				}
			}
		}
	}
	s.snap.Store(&snapshot{keys: validator.NewKeys(keys...), fetched: start})
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return nil
}

func (s *Set) load(ctx context.Context, refetch bool) (keys []*validator.Key, skipped []skippedKey, interval time.Duration, url string, err error) {
	s.mu.Lock()
	url = s.jwksURL
	s.mu.Unlock()
	if url == "" {
		md, err := discovery.Fetch(ctx, s.client, s.issuer, s.cfg.insecureHTTP, s.cfg.bodyLimit)
		if err != nil {
			return nil, nil, 0, "", err
		}
		if _, err := httpfetch.CheckURL(md.JWKSURI, s.cfg.insecureHTTP); err != nil {
			return nil, nil, 0, "", fmt.Errorf("discovery: jwks_uri: %w", err)
		}
		url = md.JWKSURI
		s.mu.Lock()
		s.jwksURL = url
		s.mu.Unlock()
	}
	var hdr http.Header
	if refetch {
		hdr = http.Header{"Cache-Control": {"no-cache"}}
	}
	s.mu.Lock()
	s.st.Fetches++
	s.mu.Unlock()
	resp, err := httpfetch.Get(ctx, s.client, url, "application/jwk-set+json, application/json", hdr, s.cfg.bodyLimit)
	if err != nil {
		return nil, nil, 0, url, err
	}
	keys, skipped, err = parseKeySet(resp.Body)
	if err != nil {
		return nil, nil, 0, url, err
	}
	if len(keys) == 0 {
		return nil, skipped, 0, url, errEmptySet
	}
	interval = s.cfg.refreshInterval
	if ma, ok := httpfetch.MaxAge(resp.Header.Get("Cache-Control")); ok {
		interval = clamp(ma)
	}
	return keys, skipped, interval, url, nil
}
