package redisstore

import (
	"crypto/aes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Defaults.
const (
	// DefaultPrefix starts every key the store writes; the cache adds
	// "introspect:", the replay store "dpop:".
	DefaultPrefix = "bearerguard:"
	// DefaultTimeout bounds one Redis call, connection included: a slow
	// or unreachable Redis costs a request at most this long.
	DefaultTimeout = 100 * time.Millisecond
	// DefaultPoolSize bounds the connections an [Open] store keeps.
	DefaultPoolSize = 32
	// DefaultMaxValueSize caps a cached introspection answer in Redis, in
	// bytes, as written and as read.
	DefaultMaxValueSize = 64 << 10
	// DefaultLocalCacheSize bounds the local tier in front of Redis (the
	// same bound as the introspect package's default in-memory cache).
	DefaultLocalCacheSize = 10_000
	// DefaultLocalCacheTTL is how long the local tier reuses an answer
	// (never past the answer's own expiry) before reading Redis again.
	DefaultLocalCacheTTL = 5 * time.Second
)

const (
	maxPrefix  = 128
	maxKeyID   = 64
	minValue   = 1 << 10
	maxTimeout = time.Minute
)

// Option configures a [Store]. Options are recorded, then checked
// together: [Open] and [New] report every problem at once.
type Option func(*config)

type config struct {
	prefix    string
	timeout   time.Duration
	poolSize  int
	poolSet   bool
	maxValue  int
	localSize int
	localTTL  time.Duration
	keys      []EncryptionKey
	failOpen  bool
	tls       *tls.Config
	logger    *slog.Logger
	clock     func() time.Time
	errs      []error
}

func defaults() config {
	return config{
		prefix:    DefaultPrefix,
		timeout:   DefaultTimeout,
		poolSize:  DefaultPoolSize,
		maxValue:  DefaultMaxValueSize,
		localSize: DefaultLocalCacheSize,
		localTTL:  DefaultLocalCacheTTL,
		logger:    slog.Default(),
		clock:     time.Now,
	}
}

// WithPrefix sets the namespace every key starts with (default
// [DefaultPrefix]): give services that share one Redis but must not share
// answers different prefixes. At most 128 bytes, no spaces or control
// characters.
func WithPrefix(p string) Option {
	return func(c *config) {
		if len(p) > maxPrefix || strings.IndexFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
			c.errs = append(c.errs, errors.New("WithPrefix: at most 128 bytes, no spaces or control characters"))
		}
		c.prefix = p
	}
}

// WithTimeout bounds every Redis call, waiting for a pooled connection and
// dialing included (default [DefaultTimeout]; at most a minute). It is the
// most a slow or unreachable Redis adds to a request; a request whose own
// deadline comes sooner waits until that deadline only ([Cache] lookups
// through an introspect.Client, [ReplayStore.Remember]). A cancellation
// without a deadline ends a call blocked on Redis's reply only at the
// timeout (go-redis turns a deadline, not a cancellation, into the
// connection's). Under a millisecond it is refused: no call fits in it (a
// bare number is nanoseconds).
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d < time.Millisecond || d > maxTimeout {
			c.errs = append(c.errs, fmt.Errorf("WithTimeout: %v is not between a millisecond and a minute", d))
		}
		c.timeout = d
	}
}

// WithPoolSize bounds the connections to Redis (default
// [DefaultPoolSize]); callers beyond wait for a free one within the
// timeout. Only with [Open]: a client given to [New] has its own pool.
func WithPoolSize(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.errs = append(c.errs, errors.New("WithPoolSize: must be at least 1"))
		}
		c.poolSize, c.poolSet = n, true
	}
}

// WithMaxValueSize caps a cached answer in Redis, in bytes (default
// [DefaultMaxValueSize], at least 1 KiB). A larger answer stays in the
// local tier only; a larger value read from Redis is ignored (a miss), and
// never read past the cap.
func WithMaxValueSize(n int) Option {
	return func(c *config) {
		if n < minValue {
			c.errs = append(c.errs, errors.New("WithMaxValueSize: below 1 KiB"))
		}
		c.maxValue = n
	}
}

// WithLocalCache sizes the local tier in front of Redis (default
// [DefaultLocalCacheSize] entries reused for [DefaultLocalCacheTTL]): a
// hot token costs no round trip for ttl, and an answer never outlives its
// own expiry there. Size 0 or ttl 0 turns the tier off: every lookup then
// reads Redis.
func WithLocalCache(size int, ttl time.Duration) Option {
	return func(c *config) {
		if size < 0 || ttl < 0 {
			c.errs = append(c.errs, errors.New("WithLocalCache: negative size or TTL"))
		}
		c.localSize, c.localTTL = size, ttl
	}
}

// EncryptionKey is an AES key for cached answers at rest, named by an id
// that is stored with each value. It prints (fmt, slog) as its id and
// size, never the key.
type EncryptionKey struct {
	// ID names the key in stored values: 1 to 64 bytes.
	ID string
	// Key is 16, 24 or 32 bytes (AES-128, -192, -256), from a secret
	// store, the same on every replica.
	Key []byte
}

// Format prints the key's id and size, for every verb.
func (k EncryptionKey) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "redisstore.EncryptionKey{ID: %q, Key: %d bytes, not shown}", k.ID, len(k.Key))
}

// MarshalJSON is the key's id and size (encoding/json, and slog's JSON
// handler for a slice of keys, would otherwise print the key in base64).
func (k EncryptionKey) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID    string `json:"id"`
		Bytes int    `json:"bytes"`
	}{k.ID, len(k.Key)})
}

// LogValue is the key's id and size, for slog's handlers (the JSON one
// would otherwise print the key in base64).
func (k EncryptionKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", k.ID), slog.Int("bytes", len(k.Key)))
}

// WithEncryption encrypts and authenticates cached answers (they carry
// personal data) with AES-GCM: the first key encrypts, every key decrypts
// values written under its id. Each value gets its own AES key, derived
// with HKDF-SHA256 from the configured key and a random 128-bit salt, so a
// configured key has no practical limit on how many values it encrypts.
// The value's Redis key is authenticated with it: a value altered, or
// moved to another token's key, is refused. With encryption on, values
// written without it are refused too.
//
// Given more than once, the keys add up in order (the first of the first
// call encrypts); an id given twice, in one call or across calls, is a
// configuration error.
//
// Rotation: add the new key after the current one on every replica (it
// now decrypts), then move it first (it now encrypts), then, once the
// longest answer TTL has passed, remove the old one. A value no replica
// can decrypt is only a cache miss, so skipping steps costs the
// authorization server some requests, never a wrong answer.
func WithEncryption(keys ...EncryptionKey) Option {
	return func(c *config) {
		if len(keys) == 0 {
			c.errs = append(c.errs, errors.New("WithEncryption: no key"))
		}
		// Ids are unique across every WithEncryption of a store: a later
		// key under an earlier id would replace it in the codec, so the
		// store would encrypt with, and accept, the key meant retired.
		seen := map[string]bool{}
		for _, k := range c.keys {
			seen[k.ID] = true
		}
		for i, k := range keys {
			if k.ID == "" || len(k.ID) > maxKeyID {
				c.errs = append(c.errs, fmt.Errorf("WithEncryption: key %d: the id must be 1 to %d bytes", i, maxKeyID))
			}
			if seen[k.ID] {
				c.errs = append(c.errs, fmt.Errorf("WithEncryption: key %d: id %q given twice", i, k.ID))
			}
			seen[k.ID] = true
			if _, err := aes.NewCipher(k.Key); err != nil {
				c.errs = append(c.errs, fmt.Errorf("WithEncryption: key %q: must be 16, 24 or 32 bytes", k.ID))
			}
		}
		c.keys = append(c.keys, keys...)
	}
}

// WithTLSConfig sets the TLS configuration of an [Open] store's rediss://
// connections, to trust a private CA (RootCAs) or present a client
// certificate; the server name defaults to the URL's host. Certificates
// are always verified: a configuration with InsecureSkipVerify is
// refused. Not for [New], whose client you configure yourself.
func WithTLSConfig(tc *tls.Config) Option {
	return func(c *config) {
		switch {
		case tc == nil:
			c.errs = append(c.errs, errors.New("WithTLSConfig: nil configuration"))
		case tc.InsecureSkipVerify:
			c.errs = append(c.errs, errors.New("WithTLSConfig: InsecureSkipVerify is refused"))
		}
		c.tls = tc
	}
}

// WithReplayFailOpen makes the replay store accept a DPoP proof it cannot
// check in Redis (unreachable, slow, full), instead of refusing the
// request with 503, the default. Each such proof is counted
// ([ReplayStore.FailOpens]) and logged at Error level (at most once a
// second), and still checked against a bounded in-process store, so a
// proof replayed to the same replica is refused; a proof replayed to
// another replica during the outage is not. Once Redis answers again,
// those proofs stay refused by this replica, and it writes them to Redis
// (in the background, for what is left of their time) so that every
// replica refuses them. Choose it only where availability matters more
// than replay protection.
func WithReplayFailOpen() Option { return func(c *config) { c.failOpen = true } }

// WithLogger sets the logger (default slog.Default()): Redis becoming
// unreachable (Warn) and reachable again (Info), replay checks failing
// open (Error). Keys, values and tokens are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.errs = append(c.errs, errors.New("WithLogger: nil logger"))
		}
		c.logger = l
	}
}

// WithClock sets the clock that turns expiry times into Redis TTLs
// (default time.Now); give it the same clock as the introspect client and
// the validator.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.errs = append(c.errs, errors.New("WithClock: nil clock"))
		}
		c.clock = now
	}
}
