package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/bearerguard/bearerguard/internal/httpfetch"
	"github.com/bearerguard/bearerguard/internal/nilness"
)

// ErrClosed reports use of a [Store] after [Store.Close]: the replay store
// returns it (the proof is refused as unavailable); the cache answers from
// its local tier only.
var ErrClosed = errors.New("redisstore: store closed")

// ErrUnavailable matches every error the replay store (and Ping) returns
// because Redis did not answer in time or answered with an error (down,
// slow, out of memory, a read-only replica); the cause is wrapped with it.
var ErrUnavailable = errors.New("redisstore: Redis unavailable")

// cacheRetry is how long the cache leaves Redis alone after cacheTrip
// failed calls in a row: during an outage, cold tokens cost a replica
// about one failed call a second, not one per lookup, while a single slow
// call does not turn sharing off.
const (
	cacheRetry = time.Second
	cacheTrip  = 2
)

// logEvery is the least time between two "Redis unavailable" records.
const logEvery = 10 * time.Second

// Store is a Redis client shared by a [Cache] of introspection answers and
// a [ReplayStore] of DPoP proofs. It is safe for concurrent use; Close it
// when done.
type Store struct {
	rdb    redis.UniversalClient
	owned  bool
	cfg    config
	ctx    context.Context // ended by Close
	cancel context.CancelFunc
	once   sync.Once
	closed atomic.Bool
	bgMu   sync.Mutex     // orders goBackground with Close
	wg     sync.WaitGroup // background writes (goBackground); Close waits for them

	cache  *Cache
	replay *ReplayStore

	down      atomic.Bool  // the last call failed
	failures  atomic.Int64 // failed calls in a row
	downUntil atomic.Int64 // the cache skips Redis until then (monoNow's reading)
	probing   atomic.Bool  // a probe (suspect) is in flight

	logMu     sync.Mutex
	warned    time.Time // when the last outage was logged
	recovered bool      // whether its end was logged
}

// Format prints the store's type and key prefix, for every verb: fmt would
// print the encryption keys and the client's password it holds.
func (s *Store) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "redisstore.Store{prefix: %q, encrypted: %t}", s.cfg.prefix, len(s.cfg.keys) > 0)
}

// Open returns a store for the Redis server at rawURL: redis://, rediss://
// (TLS) or unix://, with credentials and database as go-redis reads them
// ([redis.ParseURL]). Pool size, timeouts and TLS settings come from the
// options, not from the URL: a URL asking to skip certificate
// verification (skip_verify) is refused. It does not connect: connections are made on first use
// and remade after failures, so a Redis that is down at start, or
// restarted later, needs no restart here. The URL's password never
// appears in errors or logs.
func Open(rawURL string, opts ...Option) (*Store, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	ro, err := parseURL(rawURL)
	if err != nil {
		cfg.errs = append(cfg.errs, err)
	}
	if cfg.tls != nil && ro != nil {
		if ro.TLSConfig == nil {
			cfg.errs = append(cfg.errs, errors.New("WithTLSConfig needs a rediss:// URL"))
		} else {
			tc := cfg.tls.Clone()
			if tc.ServerName == "" {
				tc.ServerName = ro.TLSConfig.ServerName // the URL's host, as go-redis sets it
			}
			ro.TLSConfig = tc
		}
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	ro.PoolSize = cfg.poolSize
	ro.MaxActiveConns = cfg.poolSize // a hard bound: callers beyond wait, within their timeout
	ro.PoolTimeout = cfg.timeout
	ro.DialTimeout = max(cfg.timeout, time.Second) // a dial that outlives its call still serves the next
	ro.DialerRetries = 1                           // one attempt per call: the call's deadline is short
	ro.ReadTimeout = cfg.timeout
	ro.WriteTimeout = cfg.timeout
	ro.ContextTimeoutEnabled = true // every call's own deadline holds
	ro.MaxRetries = -1              // no retries: a SET NX must not run twice, and the deadline is short
	ro.DisableIdentity = true       // no CLIENT SETINFO round trip per connection
	ro.PipelinePoolSize = -1        // no pipelines here: no second pool
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	rdb := redis.NewClient(ro)
	rdb.AddHook(replyGuard{maxBulk: int64(cfg.maxValue) + 1<<20})
	return newStore(rdb, true, cfg), nil
}

// New returns a store over a client you configured (Sentinel, Cluster,
// custom dialer); [Store.Close] does not close it. Unlike [Open]'s, your
// client reads whatever length a reply declares: go-redis allocates it, so
// a reply declaring terabytes from a hostile server, or from anyone on the
// path of a plain connection, ends the process (use TLS, and trust the
// server). A *redis.Client must
// have ContextTimeoutEnabled set, or the per-call timeout would not hold;
// set MaxRetries to -1 too, so that a DPoP proof's SET NX is never sent
// twice.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if nilness.IsNil(client) {
		cfg.errs = append(cfg.errs, errors.New("nil client"))
	}
	if cfg.poolSet {
		cfg.errs = append(cfg.errs, errors.New("WithPoolSize: only with Open; size the client's own pool"))
	}
	if cfg.tls != nil {
		cfg.errs = append(cfg.errs, errors.New("WithTLSConfig: only with Open; set the client's own TLSConfig"))
	}
	if c, ok := client.(*redis.Client); ok && c != nil && !c.Options().ContextTimeoutEnabled {
		cfg.errs = append(cfg.errs, errors.New("the client must set ContextTimeoutEnabled, or calls outlive their timeout"))
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return newStore(client, false, cfg), nil
}

// check reports every recorded problem at once.
func (c *config) check() error {
	if len(c.errs) > 0 {
		return fmt.Errorf("redisstore: invalid configuration: %w", errors.Join(c.errs...))
	}
	return nil
}

func newStore(rdb redis.UniversalClient, owned bool, cfg config) *Store {
	s := &Store{rdb: rdb, owned: owned, cfg: cfg}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.cache = newCache(s)
	s.replay = newReplayStore(s)
	return s
}

// parseURL reads a Redis URL without ever putting its password in an
// error.
func parseURL(raw string) (*redis.Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("the Redis URL does not parse")
	}
	if u.Query().Has("skip_verify") {
		// go-redis would turn certificate verification off: whoever
		// answers the connection could then answer every replay check.
		return nil, errors.New("the Redis URL's skip_verify is refused: trust a private CA with WithTLSConfig instead")
	}
	ro, err := redis.ParseURL(raw)
	if err != nil {
		// go-redis's message may quote any part of the URL (a path that
		// holds a password typed with one slash too few, an option's
		// value): only its kind is shown, with the option's name.
		msg := "go-redis refused it (a malformed address or option value)"
		switch e := err.Error(); {
		case strings.Contains(e, "invalid URL scheme"):
			msg = "invalid URL scheme " + strconv.Quote(u.Scheme)
		case strings.Contains(e, "invalid database"):
			msg = "invalid database number (the path after the host)"
		case strings.Contains(e, "unexpected option: "):
			if _, name, _ := strings.Cut(e, "unexpected option: "); u.Query().Has(name) {
				msg = "go-redis does not know the option " + strconv.Quote(name)
			}
		}
		return nil, fmt.Errorf("the Redis URL %s: %s", httpfetch.Redact(raw), msg)
	}
	return ro, nil
}

// Cache returns the store's cache of introspection answers, for
// [introspect.WithCache].
func (s *Store) Cache() *Cache { return s.cache }

// errBadReply is a reply the Redis client library could not read: it
// panicked (go-redis allocates whatever length a bulk reply declares, so a
// hostile or broken server, or anyone on the path of a plain redis://
// connection, can make it). The call counts as failed.
var errBadReply = errors.New("unreadable reply from Redis")

// guarded runs one Redis call, turning a panic of the client library into
// errBadReply: a bad reply fails that call, never the process.
func guarded[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if recover() != nil {
			var zero T
			v, err = zero, errBadReply
		}
	}()
	return f()
}

// ReplayStore returns the store's DPoP replay store, for
// [validator.WithDPoPReplayStore].
func (s *Store) ReplayStore() *ReplayStore { return s.replay }

// Ping checks that Redis answers within the timeout, for readiness
// probes.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	if _, err := guarded(func() (string, error) { return s.rdb.Ping(ctx).Result() }); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// Close ends calls in flight and, for a store made by [Open], closes its
// connections. The cache then answers from its local tier only, and the
// replay store refuses every proof ([ErrClosed]). Safe to call more than
// once.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.bgMu.Lock()
		s.closed.Store(true)
		s.bgMu.Unlock()
		s.cancel()
		s.wg.Wait()
		if s.owned {
			err = s.rdb.Close()
		}
	})
	return err
}

// goBackground runs f in a goroutine that Close waits for, unless the
// store is closed.
func (s *Store) goBackground(f func()) bool {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.closed.Load() {
		return false
	}
	s.wg.Go(f)
	return true
}

// failed records a failed call: after cacheTrip in a row the cache leaves
// Redis alone for a moment, and the first failure after a success is
// logged, at most once every logEvery so that a flapping Redis does not
// flood the log.
func (s *Store) failed(op string, err error) {
	if s.failures.Add(1) >= cacheTrip {
		s.downUntil.Store(monoNow() + int64(cacheRetry))
	}
	if s.down.Swap(true) {
		return
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if !s.warned.IsZero() && time.Since(s.warned) < logEvery {
		return
	}
	s.warned, s.recovered = time.Now(), false
	s.cfg.logger.Warn("redisstore: Redis unavailable: introspection answers fall back to the local cache and the authorization server; DPoP proofs are "+s.replay.outageMode(),
		slog.String("op", op), slog.Any("error", err))
}

// succeeded records a call that Redis answered; the end of an outage that
// was logged is logged too.
func (s *Store) succeeded() {
	if !s.down.Load() || !s.down.Swap(false) {
		return
	}
	s.failures.Store(0)
	s.downUntil.Store(0)
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if !s.warned.IsZero() && !s.recovered {
		s.recovered = true
		s.cfg.logger.Info("redisstore: Redis reachable again")
	}
}

// cacheSkips reports whether the cache should leave Redis alone now.
func (s *Store) cacheSkips() bool {
	return s.closed.Load() || monoNow() < s.downUntil.Load()
}

// monoStart is the reference of monoNow.
var monoStart = time.Now()

// monoNow reads the monotonic clock, in nanoseconds since the package was
// loaded: a deadline kept in an atomic integer as a wall-clock reading
// (UnixNano) loses the monotonic reading, and a clock stepped back by an
// hour would make a one-second pause last an hour.
func monoNow() int64 { return int64(time.Since(monoStart)) }

// callContext bounds one Redis call by the caller's context, the store's
// timeout and Close. go-redis ends a call blocked on a reply at its
// deadline, not at a cancellation: the caller's deadline, if sooner than
// the timeout, is what shortens a wait.
func (s *Store) callContext(caller context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(caller, s.cfg.timeout)
	stop := context.AfterFunc(s.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// callerGone reports whether a call that failed with err, started at
// start, failed because its caller's context ended: the context says so,
// or its deadline came before the store's timeout would have and the call
// failed on a timeout at that deadline. go-redis turns a deadline into the
// connection's, so a read can fail with an i/o timeout a moment before the
// context itself reports its end; neither may then pass for Redis's
// failure. A timeout well before the caller's deadline (a client whose
// ReadTimeout is shorter than the store's timeout) is Redis's.
func (s *Store) callerGone(caller context.Context, start time.Time, err error) bool {
	if caller.Err() != nil {
		return true
	}
	dl, ok := caller.Deadline()
	if !ok || !dl.Before(start.Add(s.cfg.timeout)) {
		return false
	}
	left := time.Until(dl)
	if left <= 0 {
		return true
	}
	if left > deadlineSlack {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	ne, isNet := errors.AsType[net.Error](err)
	return isNet && ne.Timeout()
}

// deadlineSlack is how far before its caller's deadline a call's timeout
// may come and still be the caller's (the connection's deadline and the
// context's are the same instant, read by two timers).
const deadlineSlack = 2 * time.Millisecond

// judge records a failed call, and reports whether its caller ended it.
// One its caller did not end counts against Redis now (fail). One its
// caller ended says nothing about Redis, unless Redis had kept it waiting
// slowCall (a healthy Redis nearby answers in a millisecond): then a probe
// with the store's whole timeout decides ([Store.suspect]). So callers with short deadlines cannot make the cache
// leave a healthy Redis alone, however far away it is, and a Redis that
// hangs is still found within the store's timeout whatever their
// deadlines.
func (s *Store) judge(caller context.Context, start time.Time, err error, fail func(error)) (callerGone bool) {
	if !s.callerGone(caller, start, err) {
		fail(err)
		return false
	}
	if time.Since(start) >= min(s.cfg.timeout/2, slowCall) {
		s.suspect(fail)
	}
	return true
}

// slowCall is how long a Redis call ended by its caller may have waited
// before Redis is probed.
const slowCall = 50 * time.Millisecond

// suspect probes Redis in the background, one probe at a time: a PING with
// the store's whole timeout. If Redis does not answer it, that is what an
// outage is: fail is called and the cache leaves Redis alone at once (one
// such probe is as much evidence as cacheTrip calls that failed). If it
// answers, nothing is counted.
func (s *Store) suspect(fail func(error)) {
	if !s.probing.CompareAndSwap(false, true) {
		return
	}
	started := s.goBackground(func() {
		defer s.probing.Store(false)
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.timeout)
		defer cancel()
		_, err := guarded(func() (string, error) { return s.rdb.Ping(ctx).Result() })
		switch {
		case err == nil:
			s.succeeded()
		case s.closed.Load():
		default:
			s.failures.Add(cacheTrip - 1)
			fail(fmt.Errorf("no answer to a probe within %v: %w", s.cfg.timeout, err))
		}
	})
	if !started {
		s.probing.Store(false)
	}
}
