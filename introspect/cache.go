package introspect

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

// Key identifies a token in a cache. It is the SHA-256 of the fields
//
//	"bearerguard/introspect/v1", kind, URL, client id, token
//
// each written as its length (8 bytes, big-endian) followed by its bytes,
// so that no two different field lists share an encoding. kind and URL are
// "endpoint" and the endpoint URL given to [New], or "issuer" and the issuer
// URL given to [Discover]; the client id is that of the [ClientAuth] (""
// for [BearerToken]). A key therefore never contains the token, and Clients
// that differ in endpoint, issuer or client id never read each other's
// answers, even through one shared [Cache].
type Key [32]byte

// keyVersion starts every Key's input; change it if the encoding changes.
const keyVersion = "bearerguard/introspect/v1"

// keyPrefix encodes the fields of a Key that come before the token: a
// Client computes it once.
func keyPrefix(kind, url, clientID string) []byte {
	var b []byte
	for _, f := range []string{keyVersion, kind, url, clientID} {
		b = appendField(b, f)
	}
	return b
}

// tokenKey returns the Key of token under prefix (from [keyPrefix]): one
// SHA-256 over a short input, in a stack buffer for typical tokens.
func tokenKey(prefix []byte, token string) Key {
	var buf [512]byte
	b := appendField(append(buf[:0], prefix...), token)
	return sha256.Sum256(b)
}

// appendField appends s to b as its length (8 bytes, big-endian) and bytes.
func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

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
//
// A [Key] never contains the token, and already separates endpoints (or
// issuers) and the clients that ask them: a shared store can use it as it
// is, without a prefix of its own, and Clients configured differently can
// share one store safely. Clients with the same endpoint and client id
// share entries, which is the point of a shared store. Keep inactive
// results (Token nil) from evicting active ones, as [LRU] does, or a flood
// of unknown tokens empties the cache of good ones.
type Cache interface {
	// Get returns the entry for key if it has not expired at now.
	Get(key Key, now time.Time) (Entry, bool)
	// Put stores e under key, replacing any entry there.
	Put(key Key, e Entry)
}

// LRU is a bounded, in-memory [Cache]. Active and inactive results
// (Entry.Token nil) live in two partitions, each evicting its own least
// recently used entry when full: inactive results get a quarter of the
// entries (at least one), active ones the rest. A flood of unknown tokens,
// each cached as inactive, thus evicts only other inactive results, never
// an active one. Expired entries are dropped when read; there is no
// background goroutine.
type LRU struct {
	mu       sync.Mutex
	active   lruPart
	inactive lruPart
}

// lruPart is one partition of an LRU; the LRU's mutex guards it.
type lruPart struct {
	max   int
	ll    list.List // front: most recent
	items map[Key]*list.Element
}

type lruItem struct {
	key Key
	e   Entry
}

// NewLRU returns an LRU cache holding at most size entries, of which at
// most size/4 (at least one) inactive. A size below 2 counts as 2, one
// entry of each kind.
func NewLRU(size int) *LRU {
	size = max(size, 2)
	inactive := max(size/4, 1)
	return &LRU{active: newLRUPart(size - inactive), inactive: newLRUPart(inactive)}
}

func newLRUPart(size int) lruPart {
	return lruPart{max: size, items: make(map[Key]*list.Element, min(size, 1024))}
}

// Get returns the entry for key if it has not expired at now.
func (c *LRU) Get(key Key, now time.Time) (Entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.active.get(key, now); ok {
		return e, true
	}
	return c.inactive.get(key, now)
}

// Put stores e under key in its partition, evicting that partition's least
// recently used entry if it is full.
func (c *LRU) Put(key Key, e Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	part, other := &c.active, &c.inactive
	if e.Token == nil {
		part, other = other, part
	}
	other.remove(key) // a key lives in one partition at most
	part.put(key, e)
}

// Len returns the number of entries, expired or not.
func (c *LRU) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.active.ll.Len() + c.inactive.ll.Len()
}

func (p *lruPart) get(key Key, now time.Time) (Entry, bool) {
	el, ok := p.items[key]
	if !ok {
		return Entry{}, false
	}
	it := el.Value.(*lruItem)
	if !now.Before(it.e.Expires) {
		p.remove(key)
		return Entry{}, false
	}
	p.ll.MoveToFront(el)
	return it.e, true
}

func (p *lruPart) put(key Key, e Entry) {
	if el, ok := p.items[key]; ok {
		el.Value.(*lruItem).e = e
		p.ll.MoveToFront(el)
		return
	}
	if p.ll.Len() >= p.max {
		if last := p.ll.Back(); last != nil {
			p.remove(last.Value.(*lruItem).key)
		}
	}
	p.items[key] = p.ll.PushFront(&lruItem{key: key, e: e})
}

func (p *lruPart) remove(key Key) {
	if el, ok := p.items[key]; ok {
		p.ll.Remove(el)
		delete(p.items, key)
	}
}
