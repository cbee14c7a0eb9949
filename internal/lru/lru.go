// Package lru is the bounded, expiring, least-recently-used cache behind
// the validated-token cache and the introspection cache. It is sharded:
// each shard has its own lock, so concurrent requests for different keys
// rarely wait on each other.
//
// Entries expire on read (no background goroutine); a full shard evicts its
// least recently used entry. Values are stored inline in the entries, so a
// Put allocates one entry and, now and then as a shard fills, a larger
// table: a cache holds memory for the entries it holds, not for those it
// may hold, since every live byte makes the collector run sooner in the
// whole process and a table of pointers is scanned on every cycle.
//
// A hit on an entry among the most recent quarter of its shard leaves the
// order as it is, under a read lock: a token presented again and again
// from many cores at once (the common case of a service calling with one
// token) never makes them wait on each other. The entry can only have
// moved back by fewer places than the quarter since it was last put in
// front, so the shard still evicts a least recently used entry but for
// that quarter's order.
package lru

import (
	"sync"
	"time"
)

// Cache is a sharded LRU from K to V. The zero value is not usable; build
// one with [New]. A Cache is safe for concurrent use.
type Cache[K comparable, V any] struct {
	shards  []shard[K, V]
	mask    uint64
	shard   func(K) uint64
	onEvict func() // called when a full shard evicts an entry; may be nil
}

// OnEvict sets a function called (with the shard locked: keep it short)
// each time a full shard evicts an entry. Call it before the cache is used.
func (c *Cache[K, V]) OnEvict(f func()) { c.onEvict = f }

type shard[K comparable, V any] struct {
	mu     sync.RWMutex
	max    int
	recent uint64 // a hit this many places from the front or nearer stays put (max/4)
	pushes uint64 // entries put in front so far
	items  map[K]*entry[K, V]
	head   entry[K, V] // sentinel: head.next is the most recent
	_      [64]byte    // keep shards' locks on separate cache lines
}

type entry[K comparable, V any] struct {
	prev, next *entry[K, V]
	key        K
	val        V
	expires    time.Time
	pushed     uint64 // shard.pushes when it was last put in front
}

// New returns a cache of at most size entries (at least one per shard)
// split over shards shards (rounded up to a power of two), where hash
// spreads keys over the shards. Each shard holds size/shards entries, so
// the cache may evict a little before size entries are held, and never
// holds more (except that every shard holds at least one).
func New[K comparable, V any](size, shards int, hash func(K) uint64) *Cache[K, V] {
	n := 1
	for n < shards {
		n <<= 1
	}
	c := &Cache[K, V]{shards: make([]shard[K, V], n), mask: uint64(n - 1), shard: hash}
	per := max(size/n, 1)
	for i := range c.shards {
		s := &c.shards[i]
		s.max = per
		s.recent = uint64(per / 4)
		s.items = make(map[K]*entry[K, V]) // grows with use (see the package comment)
		s.head.next, s.head.prev = &s.head, &s.head
	}
	return c
}

func (c *Cache[K, V]) shardOf(k K) *shard[K, V] { return &c.shards[c.shard(k)&c.mask] }

// Get returns the value for k if it is present and has not expired at now.
// An expired entry is removed.
func (c *Cache[K, V]) Get(k K, now time.Time) (V, bool) {
	s := c.shardOf(k)
	s.mu.RLock()
	e, ok := s.items[k]
	if ok && now.Before(e.expires) && s.pushes-e.pushed < s.recent {
		v := e.val
		s.mu.RUnlock()
		return v, true
	}
	s.mu.RUnlock()
	if !ok {
		var zero V
		return zero, false
	}
	// Expired, or to be moved to the front: again under the write lock
	// (the entry may have changed meanwhile).
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok = s.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	if !now.Before(e.expires) {
		s.unlink(e)
		delete(s.items, k)
		var zero V
		return zero, false
	}
	s.moveToFront(e)
	return e.val, true
}

// Put stores v under k until expires, replacing any entry for k; a full
// shard first evicts its least recently used entry.
func (c *Cache[K, V]) Put(k K, v V, expires time.Time) {
	s := c.shardOf(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.items[k]; ok {
		e.val, e.expires = v, expires
		s.moveToFront(e)
		return
	}
	if len(s.items) >= s.max {
		last := s.head.prev
		s.unlink(last)
		delete(s.items, last.key)
		if c.onEvict != nil {
			c.onEvict()
		}
	}
	e := &entry[K, V]{key: k, val: v, expires: expires}
	s.items[k] = e
	s.pushFront(e)
}

// Remove deletes the entry for k, if any.
func (c *Cache[K, V]) Remove(k K) { c.RemoveIf(k, func(V) bool { return true }) }

// RemoveIf deletes the entry for k if drop reports true for its value
// (asked under the shard's lock, so the value asked about is the one
// deleted).
func (c *Cache[K, V]) RemoveIf(k K, drop func(V) bool) {
	s := c.shardOf(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.items[k]; ok && drop(e.val) {
		s.unlink(e)
		delete(s.items, k)
	}
}

// Len returns the number of entries, expired or not.
func (c *Cache[K, V]) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.items)
		s.mu.RUnlock()
	}
	return n
}

func (s *shard[K, V]) unlink(e *entry[K, V]) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (s *shard[K, V]) pushFront(e *entry[K, V]) {
	s.pushes++
	e.pushed = s.pushes
	e.prev, e.next = &s.head, s.head.next
	s.head.next.prev = e
	s.head.next = e
}

func (s *shard[K, V]) moveToFront(e *entry[K, V]) {
	if s.head.next == e {
		e.pushed = s.pushes // in front already (those before it went)
		return
	}
	s.unlink(e)
	s.pushFront(e)
}
