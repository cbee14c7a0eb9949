package validator

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ReplayStore remembers DPoP proofs for as long as they could be accepted,
// so that each is accepted once (RFC 9449 §11.1). Keys are fixed-length
// digests that bind the token's issuer, the proof key's thumbprint and the
// proof's "jti"; they never contain request or token material.
// Implementations must be safe for concurrent use and bounded. A fleet of
// replicas shares one store (for instance redisstore.ReplayStore, in Redis), or a proof
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
//
// Shares. Every proof it holds for a [Validator] is counted against the
// token's principal (its issuer, client and subject; tokens naming neither
// client nor subject count as their issuer's). Once the store is half
// full, a principal holding a sixteenth of the store or more is refused
// ([ErrReplayStoreFull]) until some of its proofs expire: a client with a
// valid token, sending proofs with fresh "jti" as fast as it can, cannot
// lock everyone else out for the proofs' lifetime; it takes nine
// principals to fill the store. While the store is less than half full,
// a principal may hold any number: at the default size and proof window,
// a client alone has about 550 proofs a second, and about 68 (a
// sixteenth) while others keep the store half full; size the store at
// sixteen times the busiest client's proofs in a window. Tokens naming
// neither client nor subject share their issuer's principal.
// Proofs remembered through [MemoryReplayStore.Remember] by other callers
// (which name no principal) are bounded by the store's size only.
type MemoryReplayStore struct {
	mu     sync.Mutex
	max    int
	clock  func() time.Time
	seen   map[string]replayMark
	owners map[uint64]int // live entries per principal
	queue  []replayEntry  // in order of insertion; expiries are nearly monotonic
	head   int
	swept  time.Time // last full sweep, at most one a second
}

type replayMark struct {
	expires time.Time
	owner   uint64
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
	return &MemoryReplayStore{max: max(size, 1), clock: clock, seen: make(map[string]replayMark), owners: make(map[uint64]int)}
}

// replayShares: once a MemoryReplayStore is half full, a principal may
// hold at most 1/replayShares of it.
const replayShares = 16

// errShareUsed is the error of a proof refused because its principal
// holds its share of a store at least half full.
var errShareUsed = fmt.Errorf("%w: this client's share of it is in use", ErrReplayStoreFull)

// Remember implements [ReplayStore].
func (s *MemoryReplayStore) Remember(ctx context.Context, key string, expires time.Time) (bool, error) {
	return s.rememberFor(ctx, key, 0, expires)
}

// rememberFor is Remember for a proof of the principal owner (see
// [replayOwner]).
func (s *MemoryReplayStore) rememberFor(_ context.Context, key string, owner uint64, expires time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil { // the zero store
		s.seen, s.owners, s.max = make(map[string]replayMark), make(map[uint64]int), DefaultReplayStoreSize
	}
	now := time.Now()
	if s.clock != nil {
		now = s.clock()
	}
	s.dropExpired(now)
	if m, ok := s.seen[key]; ok && now.Before(m.expires) {
		return false, nil
	}
	if len(s.seen) >= s.max/2 {
		// Expiries are not in queue order (a proof's "iat" may be up to
		// the leeway in the past): look at every entry, at most once a
		// second, before counting a principal's share or refusing.
		s.sweep(now)
		if len(s.seen) >= s.max {
			return false, ErrReplayStoreFull
		}
		if owner != 0 && s.owners[owner] >= max(s.max/replayShares, 1) {
			return false, errShareUsed
		}
	}
	if old, ok := s.seen[key]; ok { // expired, not yet dropped
		s.forget(key, old)
	}
	s.seen[key] = replayMark{expires: expires, owner: owner}
	s.owners[owner]++
	if q := len(s.queue) - s.head; q-s.max >= s.max { // twice the size, without overflowing
		s.compact(now)
	}
	s.queue = append(s.queue, replayEntry{key: key, expires: expires})
	return true, nil
}

// forget deletes key, remembered as m.
func (s *MemoryReplayStore) forget(key string, m replayMark) {
	delete(s.seen, key)
	if n := s.owners[m.owner] - 1; n > 0 {
		s.owners[m.owner] = n
	} else {
		delete(s.owners, m.owner)
	}
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
		if m, ok := s.seen[e.key]; ok && !now.Before(m.expires) {
			s.forget(e.key, m)
		}
		s.queue[s.head] = replayEntry{}
		s.head++
	}
	if s.head > len(s.queue)/2 && s.head > 1024 {
		s.queue = append(s.queue[:0], s.queue[s.head:]...)
		s.head = 0
	}
}

// sweep drops every expired entry; it runs only when the store is at
// least half full, and at most once a second, so a full store costs no
// more than a lookup.
func (s *MemoryReplayStore) sweep(now time.Time) {
	if now.Sub(s.swept) < time.Second {
		return
	}
	s.swept = now
	for k, m := range s.seen {
		if !now.Before(m.expires) {
			s.forget(k, m)
		}
	}
	s.compact(now)
}

// compact drops from the queue every entry no longer remembered as it
// was queued (swept, or remembered again since), and forgets the expired
// ones: an entry expiring later at the queue's head would otherwise keep
// every key queued behind it, and the queue would grow past the store's
// size while the map did not. After it the queue holds one entry per
// unexpired key at most (a key is remembered again only once expired),
// so running it when the queue is twice the store's size costs amortized
// constant time per proof.
func (s *MemoryReplayStore) compact(now time.Time) {
	q := s.queue[:0]
	for _, e := range s.queue[s.head:] {
		m, ok := s.seen[e.key]
		if !ok || !m.expires.Equal(e.expires) {
			continue
		}
		if !now.Before(m.expires) {
			s.forget(e.key, m)
			continue
		}
		q = append(q, e)
	}
	clear(s.queue[len(q):])
	s.queue, s.head = q, 0
}

// ownedReplayStore is a store that counts proofs per principal
// ([MemoryReplayStore]).
type ownedReplayStore interface {
	rememberFor(ctx context.Context, key string, owner uint64, expires time.Time) (bool, error)
}

// replayOwner names the principal a proof is counted against: the token's
// issuer with its client and subject (a token naming neither counts as its
// issuer's: a client that gets a token for each new key must not become a
// new principal each time). Never 0, which stands for callers of Remember.
func replayOwner(tok *Token) uint64 {
	var buf [256]byte // on the stack for the usual lengths
	b := buf[:0]
	for _, f := range [...]string{"bearerguard/dpop-owner/v1", tok.Issuer, tok.ClientID, tok.Subject} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	sum := sha256.Sum256(b)
	return binary.BigEndian.Uint64(sum[:]) | 1
}
