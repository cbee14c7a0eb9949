package introspect

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"sync"
	"time"

	"github.com/bearerguard/bearerguard/internal/lru"
	"github.com/bearerguard/bearerguard/validator"
)

// Key identifies a token in a cache. It is the SHA-256 of the fields
//
//	"bearerguard/introspect/v2", kind, URL, client id, policy, token
//
// each written as its length (8 bytes, big-endian) followed by its bytes,
// so that no two different field lists share an encoding. kind and URL are
// "endpoint" and the endpoint URL given to [New], or "issuer" and the issuer
// URL given to [Discover]; the client id is that of the [ClientAuth] (""
// for [BearerToken]); policy is what the Client requires of an answer
// before it is used: the maximum TTL of active answers ([WithMaxTTL]), and
// the issuer and audience of signed answers ([WithSignedResponses]). A key
// therefore never contains the token; Clients that differ in endpoint,
// issuer or client id never read each other's answers, even through one
// shared [Cache]; and a Client never takes an answer from one that
// requires less (an unsigned answer for a Client that requires signed
// ones, an answer kept 60 s for a Client whose maximum TTL is 0).
type Key [32]byte

// keyVersion starts every Key's input; change it if the encoding changes.
const keyVersion = "bearerguard/introspect/v2"

// keyPrefix encodes the fields of a Key that come before the token: a
// Client computes it once.
func keyPrefix(kind, url, clientID, policy string) []byte {
	var b []byte
	for _, f := range []string{keyVersion, kind, url, clientID, policy} {
		b = appendField(b, f)
	}
	return b
}

// keyPolicy is the policy field of a Client's keys (see [Key]).
func keyPolicy(cfg config, issuer string) string {
	p := "max-ttl=" + cfg.maxTTL.String()
	if cfg.signedKeys != nil {
		iss := cfg.signedIss
		if iss == "" {
			iss = issuer
		}
		p += " signed-iss=" + strconv.Quote(iss) + " signed-aud=" + strconv.Quote(cfg.signedAud)
	}
	return p
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

// ContextCache is a [Cache] that calls out (to Redis, say) and can stop
// when the request that called it ends. A [Client] whose cache implements
// it looks up a token with the caller's context (a request whose deadline
// is near does not wait on a slow store past it), and reads and writes on
// behalf of an introspection request with a context that [Client.Close]
// cancels. An implementation must not count a lookup its caller gave up
// on as the store's failure: one caller's deadline must not change what
// the store does for the others.
type ContextCache interface {
	Cache
	// GetContext is Get, stopping when ctx ends (a miss).
	GetContext(ctx context.Context, key Key, now time.Time) (Entry, bool)
	// PutContext is Put, stopping when ctx ends (dropped).
	PutContext(ctx context.Context, key Key, e Entry)
}

// cacheGet looks key up in c, with ctx when c takes one.
func cacheGet(ctx context.Context, c Cache, key Key, now time.Time) (Entry, bool) {
	if cc, ok := c.(ContextCache); ok {
		return cc.GetContext(ctx, key, now)
	}
	return c.Get(key, now)
}

// cachePut stores e in c, with ctx when c takes one.
func cachePut(ctx context.Context, c Cache, key Key, e Entry) {
	if cc, ok := c.(ContextCache); ok {
		cc.PutContext(ctx, key, e)
		return
	}
	c.Put(key, e)
}

// LRU is a bounded, in-memory [Cache]. Active and inactive results
// (Entry.Token nil) live in two partitions, each evicting its own least
// recently used entry when full: inactive results get a quarter of the
// entries (at least one), active ones the rest. A flood of unknown tokens,
// each cached as inactive, thus evicts only other inactive results, never
// an active one. A partition of n entries is split into min(n/64, 16)
// shards (at least one) with a lock each, so that concurrent requests
// rarely wait on each other; each shard holds its share of the entries, so
// a large cache may evict a little before it is full. Expired entries are
// dropped when read; there is no background goroutine. The zero LRU holds
// nothing: every Get misses.
type LRU struct {
	active   *lru.Cache[Key, Entry]
	inactive *lru.Cache[Key, Entry]
	// puts serializes the writes of one key, which touch both partitions
	// (a key lives in one at most): two Puts of one key interleaved could
	// leave it in both, and Get would answer the active one after a
	// revocation. Striped by the key; readers never take it.
	puts [16]sync.Mutex
}

// NewLRU returns an LRU cache holding at most size entries, of which at
// most size/4 (at least one) inactive. A size below 2 counts as 2, one
// entry of each kind.
func NewLRU(size int) *LRU {
	size = max(size, 2)
	inactive := max(size/4, 1)
	return &LRU{active: newPart(size - inactive), inactive: newPart(inactive)}
}

// newPart returns one partition, sharded once it is large.
func newPart(size int) *lru.Cache[Key, Entry] {
	shards := min(max(size/64, 1), 16)
	return lru.New[Key, Entry](size, shards, func(k Key) uint64 { return binary.LittleEndian.Uint64(k[:8]) })
}

// Get returns the entry for key if it has not expired at now.
func (c *LRU) Get(key Key, now time.Time) (Entry, bool) {
	if c.active == nil { // the zero LRU
		return Entry{}, false
	}
	if e, ok := c.active.Get(key, now); ok {
		return e, true
	}
	return c.inactive.Get(key, now)
}

// Put stores e under key in its partition, evicting that partition's least
// recently used entry if it is full.
func (c *LRU) Put(key Key, e Entry) {
	if c.active == nil {
		return
	}
	mu := &c.puts[key[8]%uint8(len(c.puts))]
	mu.Lock()
	defer mu.Unlock()
	c.put(key, e)
}

// Add stores e under key as Put does, unless key has an entry live at now,
// and reports whether it stored e: for a copy of an answer read elsewhere
// (a shared store's), which must not replace one stored here meanwhile
// (the inactive answer of a revocation, say).
func (c *LRU) Add(key Key, e Entry, now time.Time) bool {
	if c.active == nil {
		return false
	}
	mu := &c.puts[key[8]%uint8(len(c.puts))]
	mu.Lock()
	defer mu.Unlock()
	if _, ok := c.Get(key, now); ok {
		return false
	}
	c.put(key, e)
	return true
}

func (c *LRU) put(key Key, e Entry) {
	part, other := c.active, c.inactive
	if e.Token == nil {
		part, other = other, part
	}
	other.Remove(key) // a key lives in one partition at most
	part.Put(key, e, e.Expires)
}

// Len returns the number of entries, expired or not.
func (c *LRU) Len() int {
	if c.active == nil {
		return 0
	}
	return c.active.Len() + c.inactive.Len()
}
