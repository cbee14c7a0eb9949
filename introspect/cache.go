package introspect

import (
	"container/list"
	"sync"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

// Key identifies a token in a cache: the SHA-256 of the token, so that the
// cache never holds a usable token.
type Key [32]byte

// Entry is a cached introspection result.
type Entry struct {
	// Token is the active token, or nil for a token found inactive.
	Token *validator.Token
	// Expires is when the entry stops being used.
	Expires time.Time
}

// Cache stores introspection results. Implementations must be safe for
// concurrent use, must never return an entry at or after its Expires time,
// and must be bounded. [NewLRU] is the default; a shared store (Redis, …)
// can implement it to share results between instances.
type Cache interface {
	Get(key Key, now time.Time) (Entry, bool)
	Put(key Key, e Entry)
}

// LRU is a bounded, in-memory [Cache] that evicts the least recently used
// entry when full. Expired entries are dropped when read; there is no
// background goroutine.
type LRU struct {
	mu    sync.Mutex
	max   int
	ll    *list.List // front: most recent
	items map[Key]*list.Element
}

type lruItem struct {
	key Key
	e   Entry
}

// NewLRU returns an LRU cache holding at most max entries (max ≥ 1).
func NewLRU(max int) *LRU {
	if max < 1 {
		max = 1
	}
	return &LRU{max: max, ll: list.New(), items: make(map[Key]*list.Element, min(max, 1024))}
}

// Get returns the entry for key if it has not expired at now.
func (c *LRU) Get(key Key, now time.Time) (Entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return Entry{}, false
	}
	it := el.Value.(*lruItem)
	if !now.Before(it.e.Expires) {
		c.ll.Remove(el)
		delete(c.items, key)
		return Entry{}, false
	}
	c.ll.MoveToFront(el)
	return it.e, true
}

// Put stores e under key, evicting the least recently used entry if full.
func (c *LRU) Put(key Key, e Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*lruItem).e = e
		c.ll.MoveToFront(el)
		return
	}
	if c.ll.Len() >= c.max {
		if last := c.ll.Back(); last != nil {
			c.ll.Remove(last)
			delete(c.items, last.Value.(*lruItem).key)
		}
	}
	c.items[key] = c.ll.PushFront(&lruItem{key: key, e: e})
}

// Len returns the number of entries, expired or not.
func (c *LRU) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
