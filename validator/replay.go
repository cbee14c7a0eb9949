package validator

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ReplayStore remembers DPoP proofs for as long as they could be accepted,
// so that each is accepted once (RFC 9449 §11.1). Keys are fixed-length
// digests that bind the token's issuer, the proof key's thumbprint and the
// proof's "jti"; they never contain request or token material.
// Implementations must be safe for concurrent use and bounded. A fleet of
// replicas shares one store (for instance Redis with SET NX PX), or a proof
// replayed to another replica is accepted there.
type ReplayStore interface {
	// Remember records key until expires and reports whether it was new:
	// false means a replay. An error means the store cannot decide (full,
	// unreachable); the proof is then refused, never accepted.
	Remember(ctx context.Context, key string, expires time.Time) (fresh bool, err error)
}

// DefaultReplayStoreSize bounds the default in-memory replay store.
const DefaultReplayStoreSize = 100_000

// ErrReplayStoreFull is returned by a [MemoryReplayStore] that holds its
// maximum of unexpired proofs: it refuses rather than forgets one early.
var ErrReplayStoreFull = errors.New("bearerguard: DPoP replay store full")

// MemoryReplayStore is a bounded, in-process [ReplayStore]: a map and a
// queue in order of expiry. Expired entries are dropped as new ones come
// (amortized constant time, no goroutine). When it holds its maximum of
// unexpired entries it refuses new proofs with [ErrReplayStoreFull]: a
// store that forgot early would let a replay through. The zero
// MemoryReplayStore holds [DefaultReplayStoreSize] proofs, with time.Now.
type MemoryReplayStore struct {
	mu    sync.Mutex
	max   int
	clock func() time.Time
	seen  map[string]time.Time
	queue []replayEntry // in order of insertion; expiries are nearly monotonic
	head  int
	swept time.Time // last full sweep, at most one a second
}

type replayEntry struct {
	key     string
	expires time.Time
}

// NewMemoryReplayStore returns a store of at most size unexpired proofs
// (at least 1), using clock (time.Now if nil) to drop expired ones.
func NewMemoryReplayStore(size int, clock func() time.Time) *MemoryReplayStore {
	if clock == nil {
		clock = time.Now
	}
	return &MemoryReplayStore{max: max(size, 1), clock: clock, seen: make(map[string]time.Time)}
}

// Remember implements [ReplayStore].
func (s *MemoryReplayStore) Remember(_ context.Context, key string, expires time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil { // the zero store
		s.seen, s.max = make(map[string]time.Time), DefaultReplayStoreSize
	}
	now := time.Now()
	if s.clock != nil {
		now = s.clock()
	}
	s.dropExpired(now)
	if exp, ok := s.seen[key]; ok && now.Before(exp) {
		return false, nil
	}
	if len(s.seen) >= s.max {
		s.sweep(now) // expiries not in queue order: look at all once
		if len(s.seen) >= s.max {
			return false, ErrReplayStoreFull
		}
	}
	s.seen[key] = expires
	s.queue = append(s.queue, replayEntry{key: key, expires: expires})
	return true, nil
}

// Len returns the number of proofs remembered, expired or not.
func (s *MemoryReplayStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// dropExpired pops expired entries off the queue's head.
func (s *MemoryReplayStore) dropExpired(now time.Time) {
	for s.head < len(s.queue) && !now.Before(s.queue[s.head].expires) {
		e := s.queue[s.head]
		if exp, ok := s.seen[e.key]; ok && !now.Before(exp) {
			delete(s.seen, e.key)
		}
		s.queue[s.head] = replayEntry{}
		s.head++
	}
	if s.head > len(s.queue)/2 && s.head > 1024 {
		s.queue = append(s.queue[:0], s.queue[s.head:]...)
		s.head = 0
	}
}

// sweep drops every expired entry; it runs only when the store is full,
// and at most once a second, so a full store costs no more than a lookup.
func (s *MemoryReplayStore) sweep(now time.Time) {
	if now.Sub(s.swept) < time.Second {
		return
	}
	s.swept = now
	for k, exp := range s.seen {
		if !now.Before(exp) {
			delete(s.seen, k)
		}
	}
}
