package validator

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bearerguard/bearerguard/internal/lru"
)

// Defaults of the validated-token cache.
const (
	DefaultTokenCacheSize   = 10_000
	DefaultTokenCacheMaxTTL = 5 * time.Minute
)

// tokenCache remembers tokens that passed full validation, so that a token
// seen again (a client-credentials token is typically reused for up to an
// hour) costs a MAC and a lookup instead of a signature check.
//
// Keys. An entry is keyed by a 128-bit MAC of the whole token: AES-GMAC
// (GHASH under a secret key, masked with AES, as in AES-GCM with an empty
// plaintext and a fixed nonce) under a random key drawn for each cache and
// never leaving the process. This is a Carter–Wegman MAC: for two different
// tokens of at most n 16-byte blocks the chance that their tags collide is
// at most (n+1)/2^128 over the key, and the tags are never shown to anyone,
// so a token that is not byte for byte a cached one finds its entry with
// probability below 2^-115 per try (8 KiB tokens), however it is chosen.
// It is four to five times cheaper than SHA-256 over the same bytes, with
// AES-NI and carry-less multiplication.
//
// Admission. A token is admitted on its second sighting: the first only
// marks a small table of 32-bit tag fragments (the doorkeeper), so a flood
// of tokens seen once (fresh tokens, forged ones) costs no insertion, no
// eviction of reused tokens and no memory. The doorkeeper decides only
// what is cached, never whether a token is valid.
//
// A hit is not blind reuse. [Validator.Validate] still checks, every time:
// "exp", "nbf" and "iat" against the clock; that the key that verified the
// token is still the same key in its issuer's key set (a key removed or
// replaced upstream ends its tokens' entries); and every user claim check.
// Everything else a full validation decides depends only on the token's
// bytes and the validator's fixed configuration, so it cannot change.
type tokenCache struct {
	entries *lru.Cache[uint64, cachedEntry] // by the tag's first half
	maxTTL  time.Duration
	mac     cipher.AEAD
	bufs    sync.Pool // *[16]byte, so computing a tag allocates nothing
	door    []atomic.Uint32
	scopes  scopeSets
}

// cacheKey is a token's tag (see tokenCache).
type cacheKey [16]byte

// cachedEntry is an entry of the cache: its table is keyed by the tag's
// first half (an 8-byte key makes the table's slots a third smaller), and
// the entry holds the second, so that a hit still matches all 128 bits of
// the tag. Two tokens whose tags share a first half (a chance of 2^-64 a
// pair, which nobody can steer: the key is secret) only take each
// other's place.
type cachedEntry struct {
	tagRest uint64
	tok     cachedToken
}

func (k *cacheKey) halves() (first, rest uint64) {
	return binary.LittleEndian.Uint64(k[:8]), binary.LittleEndian.Uint64(k[8:])
}

// gmacNonce is the fixed nonce of the tag computation: GMAC under one key
// with one nonce is a deterministic MAC, which is what a lookup key needs.
var gmacNonce [12]byte

func newTokenCache(size int, maxTTL time.Duration) *tokenCache {
	var k [16]byte
	if _, err := rand.Read(k[:]); err != nil {
		panic("bearerguard: no randomness for the token cache key: " + err.Error())
	}
	block, err := aes.NewCipher(k[:])
	if err != nil {
		panic(err) // a 16-byte key is always valid
	}
	mac, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	doorSize := 1024
	for doorSize < 4*size && doorSize < 1<<16 {
		doorSize <<= 1
	}
	c := &tokenCache{
		entries: lru.New[uint64, cachedEntry](size, 16, func(first uint64) uint64 { return first }),
		maxTTL:  maxTTL,
		mac:     mac,
		door:    make([]atomic.Uint32, doorSize),
	}
	c.bufs.New = func() any { return new([16]byte) }
	return c
}

// key returns the tag of token.
func (c *tokenCache) key(token string) cacheKey {
	buf := c.bufs.Get().(*[16]byte)
	var k cacheKey
	copy(k[:], c.mac.Seal(buf[:0], gmacNonce[:], nil, bytesOf(token)))
	c.bufs.Put(buf)
	return k
}

// admit reports whether a validated token should be cached: true on its
// second sighting while its doorkeeper slot still holds its mark.
func (c *tokenCache) admit(k cacheKey) bool {
	slot := &c.door[binary.LittleEndian.Uint32(k[4:8])&uint32(len(c.door)-1)]
	mark := binary.LittleEndian.Uint32(k[8:12]) | 1 // never 0, the empty slot
	if slot.Load() == mark {
		slot.Store(0)
		return true
	}
	slot.Store(mark)
	return false
}

func (c *tokenCache) get(k cacheKey, now time.Time) (cachedToken, bool) {
	first, rest := k.halves()
	e, ok := c.entries.Get(first, now)
	if !ok || e.tagRest != rest {
		return cachedToken{}, false
	}
	return e.tok, true
}

func (c *tokenCache) put(k cacheKey, e cachedToken, expires time.Time) {
	first, rest := k.halves()
	c.entries.Put(first, cachedEntry{tagRest: rest, tok: e}, expires)
}

// remove drops the entry of k, if it is still k's: another token whose
// tag shares the first half may have taken the slot since k's was read.
func (c *tokenCache) remove(k cacheKey) {
	first, rest := k.halves()
	c.entries.RemoveIf(first, func(e cachedEntry) bool { return e.tagRest == rest })
}

func (c *tokenCache) len() int { return c.entries.Len() }
