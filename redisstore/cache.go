package redisstore

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bearerguard/bearerguard/introspect"
)

// Cache is an [introspect.Cache] in two tiers: a bounded local cache in
// front (hot tokens cost no round trip), Redis behind it (every replica
// sees every answer). Get looks in the local tier, then in Redis, and
// copies what it finds there into the local tier; Put writes both.
//
// Keys are the store's prefix, "introspect:" and the base64url of the
// [introspect.Key], which binds the endpoint, the client id and the
// token's hash: never the token. Redis keeps a value until the answer's
// expiry and no longer (the Entry's Expires, which already respects the
// token's "exp" and the client's maximum TTL); the local tier keeps it for
// its own short TTL, never past that expiry either.
//
// Redis failing is never an error here: a Get that Redis cannot answer in
// time is a miss (the introspect client then asks the authorization
// server), a Put it cannot take is dropped and the answer kept in the
// local tier until its expiry; after two failures in a row (or one probe
// with the store's whole timeout that Redis did not answer) the cache
// leaves Redis alone for a second. Both are counted ([Cache.Stats]). A
// zero Cache holds nothing: every Get misses, and Put drops.
type Cache struct {
	s     *Store
	local *introspect.LRU // nil when off
	codec *codec
	ns    string // the prefix of every Redis key

	localHits, redisHits, misses, errs, rejected, skipped atomic.Int64
}

// CacheStats counts what a [Cache] did since its store was made.
type CacheStats struct {
	// LocalHits were answered by the local tier, RedisHits by Redis.
	LocalHits, RedisHits int64
	// Misses found no answer in either: the authorization server was asked.
	Misses int64
	// Errors are Redis calls that failed or timed out: a Get counted a
	// miss, a Put dropped.
	Errors int64
	// Rejected are values read from Redis that could not be used: larger
	// than the cap, malformed, under an unknown key id or failing
	// authentication. Each counted a miss.
	Rejected int64
	// Skipped are answers not written to Redis: larger than the cap, or
	// not an introspection answer.
	Skipped int64
}

var _ introspect.ContextCache = (*Cache)(nil)

func newCache(s *Store) *Cache {
	c := &Cache{s: s, codec: newCodec(s.cfg.keys), ns: s.cfg.prefix + "introspect:"}
	if s.cfg.localSize > 0 && s.cfg.localTTL > 0 {
		c.local = introspect.NewLRU(s.cfg.localSize)
	}
	return c
}

// redisKey is the Redis key of k.
func (c *Cache) redisKey(k introspect.Key) string {
	b := make([]byte, len(c.ns), len(c.ns)+base64.RawURLEncoding.EncodedLen(len(k)))
	copy(b, c.ns)
	return string(base64.RawURLEncoding.AppendEncode(b, k[:]))
}

// Get implements [introspect.Cache].
func (c *Cache) Get(key introspect.Key, now time.Time) (introspect.Entry, bool) {
	return c.GetContext(context.Background(), key, now)
}

// GetContext implements [introspect.ContextCache]: Get, whose Redis read
// ends when ctx does, if before the store's timeout. A read ctx ended is a
// miss, not a failure of Redis: it neither counts as an error nor moves
// the cache to leave Redis alone. If Redis had kept it waiting 50 ms, Redis
// is probed in the background (a PING with the store's timeout, one at a
// time), and only the probe's failure counts.
func (c *Cache) GetContext(ctx context.Context, key introspect.Key, now time.Time) (introspect.Entry, bool) {
	if c.s == nil { // a zero Cache holds nothing
		return introspect.Entry{}, false
	}
	if c.local != nil {
		if e, ok := c.local.Get(key, now); ok {
			c.localHits.Add(1)
			return e, true
		}
	}
	e, left, ok := c.fromRedis(ctx, key, now)
	if !ok {
		c.misses.Add(1)
		return introspect.Entry{}, false
	}
	c.redisHits.Add(1)
	// A copy of what Redis had, which must not replace what this replica
	// stored while the read was in flight (its own inactive answer), and
	// lives no longer than the key does on Redis's clock, which every
	// replica shares: the expiry in the value is an instant on its
	// writer's clock, which ours may lag.
	local := e
	if left > 0 && now.Add(left).Before(local.Expires) {
		local.Expires = now.Add(left)
	}
	c.putLocal(key, local, now, true, true)
	return e, true
}

// fromRedis reads key's entry from Redis, at most the value cap, and the
// time the key has left on Redis's clock (0 when unknown).
func (c *Cache) fromRedis(ctx context.Context, key introspect.Key, now time.Time) (e introspect.Entry, left time.Duration, ok bool) {
	e, left, ok = c.readRedis(ctx, key, true)
	if !ok || !now.Before(e.Expires) {
		return introspect.Entry{}, 0, false
	}
	// The expiry decoded is an instant on the wall clock alone: on now's
	// clock (its monotonic reading), a wall clock stepped back later does
	// not keep the entry the step longer.
	e.Expires = now.Add(e.Expires.Sub(now))
	return e, left, true
}

// readRedis reads key's entry from Redis, whatever its expiry, and the
// time the key has left on Redis's clock. With count, a failure, a
// success and a value that cannot be used are counted and recorded; a
// Put's look at what Redis kept counts nothing.
func (c *Cache) readRedis(caller context.Context, key introspect.Key, count bool) (e introspect.Entry, left time.Duration, ok bool) {
	if c.s.cacheSkips() {
		return introspect.Entry{}, 0, false
	}
	rkey := c.redisKey(key)
	start := time.Now()
	ctx, cancel := c.s.callContext(caller)
	defer cancel()
	// GETRANGE reads at most one byte past the cap, so an oversized value
	// is recognised without being read; a missing key reads as "". PTTL
	// in the same round trip.
	v, err := guarded(func() ([]byte, error) {
		pipe := c.s.rdb.Pipeline()
		get := pipe.GetRange(ctx, rkey, 0, int64(c.s.cfg.maxValue))
		pttl := pipe.PTTL(ctx, rkey)
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, err
		}
		left = pttl.Val()
		return get.Bytes()
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		if count {
			c.s.judge(caller, start, err, func(err error) { c.fail("get", err) })
		}
		return introspect.Entry{}, 0, false
	}
	if count {
		c.s.succeeded()
	}
	if len(v) == 0 {
		return introspect.Entry{}, 0, false
	}
	if len(v) > c.s.cfg.maxValue {
		if count {
			c.reject(errors.New("value larger than the cap"))
		}
		return introspect.Entry{}, 0, false
	}
	e, err = c.codec.decode(rkey, v)
	if err != nil {
		if count {
			c.reject(err)
		}
		return introspect.Entry{}, 0, false
	}
	return e, left, true
}

// Put implements [introspect.Cache].
func (c *Cache) Put(key introspect.Key, e introspect.Entry) {
	c.PutContext(context.Background(), key, e)
}

// PutContext implements [introspect.ContextCache]: Put, whose Redis calls
// end when ctx does, if before the store's timeout; the answer is then
// kept in the local tier only, as when Redis is down.
func (c *Cache) PutContext(ctx context.Context, key introspect.Key, e introspect.Entry) {
	if c.s == nil {
		return
	}
	now := c.s.cfg.clock()
	if !now.Before(e.Expires) {
		return
	}
	// A year at most: past 2262 the encoded expiry's nanoseconds would
	// wrap, and the value would read as expired for as long as Redis
	// kept it (WithMaxTTL allows any TTL).
	if until := now.Add(maxShared); until.Before(e.Expires) {
		e.Expires = until
	}
	switch c.toRedis(ctx, key, e, now) {
	case stored:
		c.putLocal(key, e, now, true, false)
	case notStored:
		c.putLocal(key, e, now, false, false)
	case keptOther:
		// Redis keeps another answer (an "inactive" one another replica
		// wrote after a revocation, say): the next Get reads it, and this
		// replica does not keep its own. Unless what Redis keeps is an
		// active answer, live on Redis's clock, that this replica reads
		// as expired (its clock runs ahead of the writer's): then each
		// check would ask the server, and it keeps its own for the local
		// TTL, no longer than that key lives. An inactive answer, or one
		// it cannot read, may be a revocation: it keeps nothing.
		if held, left, ok := c.readRedis(ctx, key, false); ok && held.Token != nil && left > 0 {
			if until := now.Add(left); until.Before(e.Expires) {
				e.Expires = until
			}
			c.putLocal(key, e, now, true, false)
		}
	}
}

// maxShared bounds how long an entry is kept.
const maxShared = 365 * 24 * time.Hour

// putResult says what became of an entry written to Redis.
type putResult int

const (
	stored    putResult = iota // Redis has it
	notStored                  // Redis was skipped, down, or refused it
	keptOther                  // Redis kept the entry it had (an active answer is never written over one)
)

// toRedis writes e to Redis.
func (c *Cache) toRedis(caller context.Context, key introspect.Key, e introspect.Entry, now time.Time) putResult {
	// Redis keeps whole milliseconds: round down, never past Expires.
	ttl := e.Expires.Sub(now).Truncate(time.Millisecond)
	if ttl <= 0 || c.s.cacheSkips() {
		return notStored
	}
	rkey := c.redisKey(key)
	v, err := c.codec.encode(rkey, e)
	if err != nil || len(v) > c.s.cfg.maxValue {
		c.skipped.Add(1)
		return notStored
	}
	start := time.Now()
	ctx, cancel := c.s.callContext(caller)
	defer cancel()
	// An inactive answer replaces whatever is there; an active one never
	// replaces anything (SET NX). So an answer asked before a revocation,
	// arriving after the "inactive" another replica wrote, cannot undo it.
	written, err := guarded(func() (bool, error) {
		if e.Token == nil {
			return true, c.s.rdb.Set(ctx, rkey, v, ttl).Err()
		}
		return c.s.rdb.SetNX(ctx, rkey, v, ttl).Result()
	})
	if err != nil {
		c.s.judge(caller, start, err, func(err error) { c.fail("set", err) })
		return notStored
	}
	c.s.succeeded()
	if !written {
		return keptOther
	}
	return stored
}

// putLocal keeps e in the local tier: for the tier's TTL when Redis has
// it too, else until its expiry, so that an outage does not multiply the
// requests to the authorization server. With ifAbsent, only if the tier
// has no live entry for key.
func (c *Cache) putLocal(key introspect.Key, e introspect.Entry, now time.Time, shared, ifAbsent bool) {
	if c.local == nil {
		return
	}
	if until := now.Add(c.s.cfg.localTTL); shared && until.Before(e.Expires) {
		e.Expires = until
	}
	if ifAbsent {
		c.local.Add(key, e, now)
		return
	}
	c.local.Put(key, e)
}

// fail counts and records a failed call, unless Close caused it.
func (c *Cache) fail(op string, err error) {
	if c.s.closed.Load() {
		return
	}
	c.errs.Add(1)
	c.s.failed("introspection cache "+op, err)
}

// reject counts a value that could not be used. One that fails
// authentication, or is unencrypted while encryption is on, was written by
// something else than a replica with the keys: that is logged at Warn.
func (c *Cache) reject(err error) {
	c.rejected.Add(1)
	level := slog.LevelDebug
	if errors.Is(err, errOpen) || errors.Is(err, errPlain) {
		level = slog.LevelWarn
	}
	c.s.cfg.logger.Log(context.Background(), level, "redisstore: cached value ignored", slog.Any("reason", err))
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	return CacheStats{
		LocalHits: c.localHits.Load(), RedisHits: c.redisHits.Load(), Misses: c.misses.Load(),
		Errors: c.errs.Load(), Rejected: c.rejected.Load(), Skipped: c.skipped.Load(),
	}
}
