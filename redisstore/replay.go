package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bearerguard/bearerguard/validator"
)

// maxReplayKey bounds a replay key; the validator's are 43 bytes.
const maxReplayKey = 256

// replayMargin is how much longer than a proof's window Redis remembers
// it. The window ends on Redis's clock (see ReplayStore.set), so no clock
// of the replicas' can make Redis forget a proof one of them still
// accepts; the margin keeps a fresh proof acceptable when Redis's clock
// runs ahead of the client's by less than it.
const replayMargin = validator.DefaultLeeway

// maxReplayTTL bounds how long a proof is remembered, whatever expiry it
// is given (the validator's windows are minutes).
const maxReplayTTL = 365 * 24 * time.Hour

// ReplayStore is a [validator.ReplayStore] in Redis: each proof costs
// SET key <value> NX PXAT <end>, PTTL key and GETRANGE key, pipelined, one
// round trip, so a proof accepted by one replica is refused as replayed by
// every other. Keys are the store's prefix, "dpop:" and the validator's
// digest of issuer, proof key and "jti". A key lives until the end of the
// proof's window (its "iat", the window and the leeway) and a margin of
// 30 s (the validator's default leeway), an instant on Redis's clock,
// rounded up to the millisecond; a proof whose end has passed on Redis's
// clock (the key just set is gone at the next look, or holds another
// replica's value) is refused as a replay would be, and counted
// ([ReplayStore.PastWindow]). So no replica's clock decides how long a key
// lives, and a replica whose clock lags cannot accept a proof again once
// Redis has forgotten it. The three commands must reach the primary, in
// order, on one connection (no proxy that splits pipelines or reads from
// replicas). Needs Redis 6.2 or later (PXAT).
//
// When Redis cannot answer within the timeout (down, slow, out of memory,
// a reply it cannot read) Remember returns an error matching
// [ErrUnavailable], and the validator refuses the request with 503
// ([validator.ErrReplayUnavailable]): fail closed, the default. With
// [WithReplayFailOpen] the proof is accepted instead, after a check in a
// bounded in-process store, and counted ([ReplayStore.FailOpens]) and
// logged; when that store is full too, the proof is refused. Failing open,
// the replica also remembers the last 100,000 proofs it accepted through
// Redis (a few MB), so that one replayed to it during an outage is refused;
// after it had to forget a live one to make room, it refuses to fail open
// until that one's window has passed. Once Redis
// answers again, the proofs accepted that way are refused still and
// written to Redis, so that every replica refuses them. A zero
// ReplayStore refuses every proof (an error, never an acceptance).
type ReplayStore struct {
	s     *Store
	ns    string
	local *validator.MemoryReplayStore // fail open: the in-process check; nil when failing closed
	// recent (fail open only) remembers every proof this replica
	// accepted, through Redis or not, so that one is refused if replayed
	// to it during an outage.
	recent *recentProofs

	// Fail open: the proofs accepted without Redis, until their Redis
	// expiry, bounded as local is. Once Redis answers again they are
	// refused here still, and written to Redis (by one goroutine at a
	// time, owned by the Store) so that every replica refuses them.
	pendingMu sync.Mutex
	pending   map[string]time.Time
	flushing  bool         // a flushLoop runs; under pendingMu
	npending  atomic.Int64 // len(pending), read without the lock

	failOpens, errs, past atomic.Int64
	lastPastLog           atomic.Int64 // monoNow's reading at the last "Redis's clock is ahead" record
	lastLog               atomic.Int64 // monoNow's reading at the last fail-open log record
}

var _ validator.ReplayStore = (*ReplayStore)(nil)

func newReplayStore(s *Store) *ReplayStore {
	r := &ReplayStore{s: s, ns: s.cfg.prefix + "dpop:"}
	if s.cfg.failOpen {
		r.local = validator.NewMemoryReplayStore(validator.DefaultReplayStoreSize, s.cfg.clock)
		r.recent = &recentProofs{max: validator.DefaultReplayStoreSize, clock: s.cfg.clock, seen: map[string]time.Time{}}
	}
	return r
}

// Remember implements [validator.ReplayStore].
func (r *ReplayStore) Remember(ctx context.Context, key string, expires time.Time) (bool, error) {
	if r.s == nil {
		return false, errNotBuilt // a zero ReplayStore: refuse, never accept
	}
	if r.s.closed.Load() {
		return false, ErrClosed
	}
	if key == "" || len(key) > maxReplayKey {
		return false, fmt.Errorf("redisstore: replay key of %d bytes (1 to %d)", len(key), maxReplayKey)
	}
	if !expires.After(r.s.cfg.clock()) {
		// Past its window on this store's clock already: the validator's
		// clock said otherwise (another clock given to each). Refused:
		// nothing vouches that it was never used.
		return false, nil
	}
	forget := expires.Add(replayMargin)
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, r.s.cfg.timeout)
	defer cancel()
	res, err := r.set(cctx, key, forget)
	fresh := res == setFresh
	if res == setPast {
		r.pastEnd(forget)
	}
	if err == nil {
		r.s.succeeded()
		if r.npending.Load() > 0 && r.acceptedFailOpen(key) {
			fresh = false // accepted here while Redis could not answer: Redis has it now
		}
		if fresh && r.recent != nil && !r.recent.remember(key, expires) {
			// Failing open: accepted by this replica already, down the
			// other path (a proof racing itself through a flaky connection).
			fresh = false
		}
		return fresh, nil
	}
	switch {
	case r.s.closed.Load():
		return false, ErrClosed
	case r.s.judge(ctx, start, err, r.failed):
		// The caller is gone (its deadline, not Redis, ended the call):
		// nothing to decide, and above all nothing to accept failing open.
		// (A slow call has Redis probed, so that a Redis that hangs is
		// counted and logged under short deadlines too.)
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return false, context.DeadlineExceeded
	}
	// Redis's failure, counted by judge.
	err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	if r.local == nil {
		return false, err
	}
	switch fresh, lerr := r.local.Remember(ctx, key, expires); {
	case lerr != nil:
		return false, err // the in-process check cannot decide either (full): fail closed
	case !fresh:
		return false, nil // replayed to this very replica
	}
	if !r.recent.vouches() {
		return false, err // more proofs than the record holds: cannot tell a replay, fail closed
	}
	if !r.recent.remember(key, expires) {
		return false, nil // accepted by this replica through Redis before the outage
	}
	if !r.addPending(key, forget) {
		return false, err // cannot remember it for Redis either: fail closed
	}
	n := r.failOpens.Add(1)
	r.logFailOpen(n, err)
	return true, nil
}

// setResult is what Redis says of a proof.
type setResult int

const (
	setReplay setResult = iota // Redis has it
	setFresh                   // new: remembered until its end
	setPast                    // its end had passed on Redis's clock
)

// set remembers key in Redis until forget, an instant on Redis's clock.
// SET NX PXAT alone cannot tell a proof past its end (the key is set with
// an end already passed, so it is gone at the next look) from a new one;
// PTTL and GETRANGE in the same round trip can: the key must still be
// there, with time left, holding the value this call wrote (a value of
// its own, so that another replica's key, set in between, is never taken
// for this one's). The steps are not one atomic step, and need not be:
// SET succeeds only where the key is absent, which for a proof used
// before, by replicas with the same window, means its end had passed on
// Redis's clock; the key then cannot be read back with time left.
func (r *ReplayStore) set(ctx context.Context, key string, forget time.Time) (setResult, error) {
	if limit := r.s.cfg.clock().Add(maxReplayTTL); forget.After(limit) {
		forget = limit
	}
	at := forget.UnixMilli()
	if forget.After(time.UnixMilli(at)) {
		at++ // never sooner than asked
	}
	k := r.ns + key
	mark := strconv.FormatUint(rand.Uint64(), 36)
	var set, ttl, got *redis.Cmd
	if _, err := guarded(func() (bool, error) {
		_, _ = r.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			set = p.Do(ctx, "set", k, mark, "nx", "pxat", at)
			ttl = p.Do(ctx, "pttl", k)
			got = p.Do(ctx, "getrange", k, 0, -1)
			return nil
		})
		return true, nil
	}); err != nil {
		return setReplay, err // a reply that broke the client
	}
	switch v, err := set.Result(); {
	case errors.Is(err, redis.Nil):
		return setReplay, nil // Redis has it
	case err != nil && strings.Contains(err.Error(), "syntax error"):
		return setReplay, fmt.Errorf("%w (SET with PXAT needs Redis 6.2 or later)", err)
	case err != nil:
		return setReplay, err
	case v != "OK":
		return setReplay, errBadReply
	}
	// Typed replies only: an integer PTTL (a string that reads as one, or
	// a number of ms that overflows a Duration, is no answer), a string
	// value.
	n, nerr := ttl.Result()
	v, verr := got.Result()
	if nerr != nil {
		return setReplay, nerr
	}
	if verr != nil {
		return setReplay, verr
	}
	ms, ok := n.(int64)
	value, vok := v.(string)
	switch {
	case !ok || !vok || ms < -2 || ms == -1:
		return setReplay, errBadReply // -1: a key without expiry, not one SET wrote
	case ms > 0 && value == mark:
		return setFresh, nil
	}
	// Gone, less than a millisecond left, or another's value: the end had
	// passed when this call set it.
	return setPast, nil
}

// pastEnd counts a proof whose end had passed on Redis's clock, and, when
// this replica's clock still puts that end ahead by more than the margin,
// warns (at most every logEvery) that Redis's clock runs ahead of the
// replica's: every proof older than the margin is then refused.
func (r *ReplayStore) pastEnd(forget time.Time) {
	r.past.Add(1)
	if forget.Sub(r.s.cfg.clock()) <= replayMargin {
		return // a proof at the end of its window, or one this replica took as fresh a little late
	}
	now := monoNow()
	last := r.lastPastLog.Load()
	if last != 0 && now-last < int64(logEvery) || !r.lastPastLog.CompareAndSwap(last, now) {
		return
	}
	r.s.cfg.logger.Warn("redisstore: a DPoP proof's window has ended on Redis's clock and not on this replica's: Redis's clock runs ahead by more than 30 s, and proofs are refused as replays; correct the clock that is wrong, Redis's by slewing: stepped back, it lets the proofs whose keys it dropped early be replayed until their windows end",
		slog.Int64("past_window", r.past.Load()))
}

// addPending records a proof accepted fail open until its Redis expiry;
// false when the record is full of live proofs.
func (r *ReplayStore) addPending(key string, until time.Time) bool {
	r.pendingMu.Lock()
	defer r.pendingMu.Unlock()
	if r.pending == nil {
		r.pending = map[string]time.Time{}
	}
	if len(r.pending) >= validator.DefaultReplayStoreSize {
		now := r.s.cfg.clock()
		for k, exp := range r.pending {
			if !now.Before(exp) {
				delete(r.pending, k)
			}
		}
		if len(r.pending) >= validator.DefaultReplayStoreSize {
			return false
		}
	}
	r.pending[key] = until
	r.npending.Store(int64(len(r.pending)))
	if !r.flushing {
		r.flushing = r.s.goBackground(r.flushLoop)
	}
	return true
}

// acceptedFailOpen reports whether key was accepted fail open, and
// forgets it: Redis, which has just taken it, remembers it from now on.
func (r *ReplayStore) acceptedFailOpen(key string) bool {
	r.pendingMu.Lock()
	defer r.pendingMu.Unlock()
	until, ok := r.pending[key]
	if ok {
		delete(r.pending, key)
		r.npending.Store(int64(len(r.pending)))
	}
	return ok && r.s.cfg.clock().Before(until)
}

// flushEvery is how often the proofs accepted fail open are offered to
// Redis until it has them all.
const flushEvery = time.Second

// flushLoop writes the proofs accepted fail open to Redis, so that other
// replicas refuse them too once Redis answers again: every flushEvery,
// each with SET NX for what is left of its time, until none is left (or
// the Store closes). One runs at a time, owned by the Store.
func (r *ReplayStore) flushLoop() {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-r.s.ctx.Done():
			return
		case <-t.C:
		}
		if r.flushOnce() {
			return
		}
	}
}

// flushOnce offers every pending proof to Redis, stopping at the first
// failure, and reports whether none is left (then the loop ends, under the
// lock that starts the next one).
func (r *ReplayStore) flushOnce() bool {
	r.pendingMu.Lock()
	keys := make([]string, 0, len(r.pending))
	for k := range r.pending {
		keys = append(keys, k)
	}
	r.pendingMu.Unlock()
	for _, k := range keys {
		r.pendingMu.Lock()
		until, ok := r.pending[k]
		r.pendingMu.Unlock()
		if !ok {
			continue // Remember found it in Redis meanwhile
		}
		if r.s.cfg.clock().Before(until) {
			ctx, cancel := context.WithTimeout(r.s.ctx, r.s.cfg.timeout)
			_, err := r.set(ctx, k, until)
			cancel()
			if err != nil {
				break // Redis cannot answer yet: the next tick tries again
			}
		}
		r.pendingMu.Lock()
		if r.pending[k] == until {
			delete(r.pending, k)
		}
		r.npending.Store(int64(len(r.pending)))
		r.pendingMu.Unlock()
	}
	r.pendingMu.Lock()
	defer r.pendingMu.Unlock()
	if len(r.pending) == 0 {
		r.flushing = false
		return true
	}
	return false
}

// logFailOpen logs an accepted proof at Error level, at most once a second.
func (r *ReplayStore) logFailOpen(n int64, err error) {
	now := monoNow()
	last := r.lastLog.Load()
	if last != 0 && now-last < int64(time.Second) || !r.lastLog.CompareAndSwap(last, now) {
		return
	}
	r.s.cfg.logger.Error("redisstore: DPoP replay check failed open: proof accepted without the fleet-wide check",
		slog.Int64("fail_opens", n), slog.Any("error", err))
}

// FailOpens returns how many proofs were accepted without the fleet-wide
// check because Redis could not answer ([WithReplayFailOpen]); always 0
// when failing closed.
func (r *ReplayStore) FailOpens() int64 { return r.failOpens.Load() }

// PastWindow returns how many proofs were refused because their window
// (and the 30 s margin) had ended on Redis's clock: none while the clocks
// of Redis, the replicas and the clients agree, as they must.
func (r *ReplayStore) PastWindow() int64 { return r.past.Load() }

// Errors returns how many replay checks Redis could not answer.
func (r *ReplayStore) Errors() int64 { return r.errs.Load() }

// outageMode says what happens to proofs while Redis is unreachable.
func (r *ReplayStore) outageMode() string {
	if r.local != nil {
		return "accepted after an in-process check only (fail open)"
	}
	return "refused with 503 (fail closed)"
}

// recentProofs remembers the proofs a replica failing open accepted, until
// their window ends, so that one accepted through Redis just before an
// outage is refused if replayed to the replica during it. It is bounded:
// when full of live proofs it forgets the oldest rather than refuse (Redis
// decided those), and until the last proof it forgot has expired, it can
// no longer vouch for the replica: failing open is then refused (lost), so
// that a client flooding it with proofs cannot make it forget another's.
// The store that bounds what is accepted without Redis is
// ReplayStore.local, which refuses when full.
type recentProofs struct {
	mu        sync.Mutex
	max       int
	clock     func() time.Time
	seen      map[string]time.Time
	queue     []recentProof // in order of insertion
	head      int
	swept     time.Time // last full sweep, at most one a second
	lostUntil time.Time // a live proof was forgotten: unsure until then
}

type recentProof struct {
	key     string
	expires time.Time
}

// remember records key until expires and reports whether it was new.
func (p *recentProofs) remember(key string, expires time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock()
	if exp, ok := p.seen[key]; ok && now.Before(exp) {
		return false
	}
	if len(p.seen) >= p.max || len(p.queue)-p.head >= 2*p.max {
		p.sweep(now) // expiries not in queue order, and stale entries: look at all
	}
	// Pop the head while it has expired, or to make room. An entry whose
	// key was remembered again since (expired, then seen anew) is stale:
	// it must not drop the newer record.
	for p.head < len(p.queue) {
		e := p.queue[p.head]
		current := p.seen[e.key] == e.expires
		if current && now.Before(e.expires) && len(p.seen) < p.max {
			break
		}
		if current {
			delete(p.seen, e.key)
			if now.Before(e.expires) && e.expires.After(p.lostUntil) {
				p.lostUntil = e.expires // forgot a live proof
			}
		}
		p.queue[p.head] = recentProof{}
		p.head++
	}
	if p.head > len(p.queue)/2 && p.head > 1024 {
		p.queue = append(p.queue[:0], p.queue[p.head:]...)
		p.head = 0
	}
	p.seen[key] = expires
	p.queue = append(p.queue, recentProof{key, expires})
	return true
}

// sweep drops every expired entry and every stale queue entry; at most
// once a second, so a full record costs no more than a lookup.
func (p *recentProofs) sweep(now time.Time) {
	if now.Sub(p.swept) < time.Second {
		return
	}
	p.swept = now
	live := p.queue[:0]
	for _, e := range p.queue[p.head:] {
		if p.seen[e.key] != e.expires {
			continue // stale
		}
		if !now.Before(e.expires) {
			delete(p.seen, e.key)
			continue
		}
		live = append(live, e)
	}
	clear(p.queue[len(live):])
	p.queue, p.head = live, 0
}

// vouches reports whether the record still holds every live proof the
// replica accepted (none was forgotten to make room).
func (p *recentProofs) vouches() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.clock().Before(p.lostUntil)
}

// errNotBuilt is what a ReplayStore not built by its Store (a zero one)
// answers: it has no Redis to ask, and must refuse rather than panic.
var errNotBuilt = errors.New("redisstore: a ReplayStore not built by Store.ReplayStore")

// failed counts and records a failed call, unless Close caused it.
func (r *ReplayStore) failed(err error) {
	if r.s.closed.Load() {
		return
	}
	r.errs.Add(1)
	r.s.failed("dpop replay check", err)
}
