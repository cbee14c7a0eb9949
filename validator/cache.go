package validator

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
)

// Defaults of the validated-token cache.
const (
	DefaultTokenCacheSize   = 10_000
	DefaultTokenCacheMaxTTL = 5 * time.Minute
)

// tokenCache remembers tokens that passed full validation, so that a token
// seen again (a client-credentials token is typically reused for up to an
// hour) costs a hash and a lookup instead of a signature check. It is a
// sharded LRU keyed by the SHA-256 of the whole token: a different token
// cannot hit another's entry without a SHA-256 collision.
//
// A hit is not blind reuse. [Validator.Validate] still checks, every time:
// "exp", "nbf" and "iat" against the clock; that the key that verified the
// token is still the same key in its issuer's key set (a key removed or
// replaced upstream ends its tokens' entries); and every user claim check.
// Everything else a full validation decides depends only on the token's
// bytes and the validator's fixed configuration, so it cannot change.
type tokenCache struct {
	shards [16]cacheShard
	maxTTL time.Duration
}

type cacheShard struct {
	mu    sync.Mutex
	max   int
	ll    list.List
	items map[[32]byte]*list.Element
}

type cacheEntry struct {
	hash [32]byte
	// tok is the cache's own copy: callers get copies of it
	// ([Token.clone]), never tok itself, so nothing they do to their token
	// reaches a later decision or another request.
	tok     *Token
	key     *Key      // the key that verified it; nil for HMAC
	keys    KeySource // where the key came from
	expires time.Time
}

func newTokenCache(size int, maxTTL time.Duration) *tokenCache {
	c := &tokenCache{maxTTL: maxTTL}
	per := max(size/len(c.shards), 1)
	for i := range c.shards {
		c.shards[i].max = per
		c.shards[i].items = make(map[[32]byte]*list.Element)
	}
	return c
}

func tokenHash(token string) [32]byte { return sha256.Sum256(bytesOf(token)) }

func (c *tokenCache) shard(h *[32]byte) *cacheShard { return &c.shards[h[0]&15] }

func (c *tokenCache) get(h [32]byte, now time.Time) (cacheEntry, bool) {
	s := c.shard(&h)
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.items[h]
	if !ok {
		return cacheEntry{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		s.ll.Remove(el)
		delete(s.items, h)
		return cacheEntry{}, false
	}
	s.ll.MoveToFront(el)
	return *e, true
}

func (c *tokenCache) put(e cacheEntry) {
	s := c.shard(&e.hash)
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.items[e.hash]; ok {
		*el.Value.(*cacheEntry) = e
		s.ll.MoveToFront(el)
		return
	}
	if s.ll.Len() >= s.max {
		if last := s.ll.Back(); last != nil {
			s.ll.Remove(last)
			delete(s.items, last.Value.(*cacheEntry).hash)
		}
	}
	entry := e
	s.items[e.hash] = s.ll.PushFront(&entry)
}

func (c *tokenCache) remove(h [32]byte) {
	s := c.shard(&h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.items[h]; ok {
		s.ll.Remove(el)
		delete(s.items, h)
	}
}

func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += s.ll.Len()
		s.mu.Unlock()
	}
	return n
}
