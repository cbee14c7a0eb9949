package redisstore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/redistest"
	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/redisstore"
	"github.com/bearerguard/bearerguard/validator"
)

var (
	keyA = redisstore.EncryptionKey{ID: "2025-a", Key: bytes.Repeat([]byte{1}, 32)}
	keyB = redisstore.EncryptionKey{ID: "2026-b", Key: bytes.Repeat([]byte{2}, 16)}
)

// TestCacheSharesAnswers: what one replica puts, another replica (its own
// store and local tier) reads back from Redis, identical, in every mode.
func TestCacheSharesAnswers(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	clock := testclock.New(time.Now())
	tests := []struct {
		name string
		opts []redisstore.Option
	}{
		{"plain", nil},
		{"encrypted", []redisstore.Option{redisstore.WithEncryption(keyA)}},
		{"prefix", []redisstore.Option{redisstore.WithPrefix("svc-orders:")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]redisstore.Option{redisstore.WithClock(clock.Now)}, tt.opts...)
			a, b := open(t, srv, opts...).Cache(), open(t, srv, opts...).Cache()
			now := clock.Now()
			tok := answer(t, activeBody)
			a.Put(key(tt.name+"active"), introspect.Entry{Token: tok, Expires: now.Add(time.Minute)})
			a.Put(key(tt.name+"inactive"), introspect.Entry{Expires: now.Add(10 * time.Second)})

			e, ok := b.Get(key(tt.name+"active"), now)
			if !ok || e.Token == nil || !e.Expires.Equal(now.Add(time.Minute)) {
				t.Fatalf("active answer from Redis: %+v, %v", e, ok)
			}
			got := e.Token
			if got.Subject != "alice" || got.ClientID != "billing" || !got.Scopes.Has("write:data") || !slices.Equal(got.Audience, []string{"orders"}) ||
				got.Confirmation.JKT != tok.Confirmation.JKT || got.Source != validator.SourceIntrospection || !got.Expiry.Equal(tok.Expiry) {
				t.Errorf("token read back: %+v, want %+v", got, tok)
			}
			if d, _ := got.Claim("department"); d != "finance" {
				t.Errorf("custom claim read back: %v", d)
			}
			if e, ok := b.Get(key(tt.name+"inactive"), now); !ok || e.Token != nil {
				t.Errorf("inactive answer from Redis: %+v, %v", e, ok)
			}
			if _, ok := b.Get(key(tt.name+"never"), now); ok {
				t.Error("a key never put was found")
			}
			if st := b.Stats(); st.RedisHits != 2 || st.Misses != 1 || st.Errors != 0 || st.Rejected != 0 {
				t.Errorf("reader stats: %+v", st)
			}
			// The reader's second lookup is local: no round trip.
			if _, ok := b.Get(key(tt.name+"active"), now); !ok || b.Stats().LocalHits != 1 {
				t.Errorf("second lookup: %v, %+v", ok, b.Stats())
			}
		})
	}

	// What Redis holds: namespaced keys (the hashed key, never a token), and
	// encrypted values that do not show the answer.
	keys, err := rdb.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	want := []string{}
	for _, name := range []string{"plain", "encrypted"} {
		for _, kind := range []string{"active", "inactive"} {
			k := key(name + kind)
			want = append(want, "bearerguard:introspect:"+base64.RawURLEncoding.EncodeToString(k[:]))
		}
	}
	for _, kind := range []string{"active", "inactive"} {
		k := key("prefix" + kind)
		want = append(want, "svc-orders:introspect:"+base64.RawURLEncoding.EncodeToString(k[:]))
	}
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("keys in Redis:\n%q\nwant\n%q", keys, want)
	}
	k := key("encryptedactive")
	v, _ := rdb.Get(context.Background(), "bearerguard:introspect:"+base64.RawURLEncoding.EncodeToString(k[:])).Bytes()
	if bytes.Contains(v, []byte("alice")) || bytes.Contains(v, []byte("finance")) || !bytes.Contains(v, []byte(keyA.ID)) {
		t.Errorf("encrypted value shows the answer, or not its key id: %q", v)
	}
}

// TestCacheTTL: Redis never keeps an answer past its expiry, and an entry
// at or after its expiry is never returned.
func TestCacheTTL(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	clock := testclock.New(time.Now())
	c := open(t, srv, redisstore.WithClock(clock.Now), redisstore.WithLocalCache(0, 0)).Cache()
	now := clock.Now()
	expires := now.Add(1500*time.Millisecond + 700*time.Microsecond)
	c.Put(key("ttl"), introspect.Entry{Token: answer(t, activeBody), Expires: expires})
	k := key("ttl")
	pttl, err := rdb.PTTL(context.Background(), "bearerguard:introspect:"+base64.RawURLEncoding.EncodeToString(k[:])).Result()
	if err != nil || pttl <= 0 || pttl > 1500*time.Millisecond {
		t.Errorf("PTTL = %v, %v; want in (0, 1.5 s]", pttl, err)
	}
	if _, ok := c.Get(key("ttl"), expires.Add(-time.Millisecond)); !ok {
		t.Error("not found just before its expiry")
	}
	if _, ok := c.Get(key("ttl"), expires); ok {
		t.Error("found at its expiry")
	}
	// Already expired, or less than a millisecond to live: nothing written.
	c.Put(key("past"), introspect.Entry{Expires: now.Add(-time.Second)})
	c.Put(key("µs"), introspect.Entry{Expires: now.Add(500 * time.Microsecond)})
	if n, _ := rdb.DBSize(context.Background()).Result(); n != 1 {
		t.Errorf("%d keys in Redis, want 1", n)
	}
}

// TestCacheLocalTier: the local tier answers for its TTL, never past the
// answer's expiry, and then Redis is read again.
func TestCacheLocalTier(t *testing.T) {
	srv := redistest.Start(t)
	clock := testclock.New(time.Now())
	writer := open(t, srv, redisstore.WithClock(clock.Now)).Cache()
	reader := open(t, srv, redisstore.WithClock(clock.Now), redisstore.WithLocalCache(10, 2*time.Second)).Cache()
	now := clock.Now()
	writer.Put(key("hot"), introspect.Entry{Token: answer(t, activeBody), Expires: now.Add(time.Minute)})
	writer.Put(key("short"), introspect.Entry{Token: answer(t, activeBody), Expires: now.Add(time.Second)})
	for _, k := range []string{"hot", "short"} {
		if _, ok := reader.Get(key(k), now); !ok {
			t.Fatalf("%s: not in Redis", k)
		}
	}
	tests := []struct {
		name  string
		key   string
		at    time.Duration
		found bool
		stats redisstore.CacheStats // cumulative
	}{
		{"hot, local", "hot", time.Second, true, redisstore.CacheStats{LocalHits: 1, RedisHits: 2}},
		{"short, expired locally as in Redis", "short", time.Second, false, redisstore.CacheStats{LocalHits: 1, RedisHits: 2, Misses: 1}},
		{"hot, past the local TTL: from Redis", "hot", 2 * time.Second, true, redisstore.CacheStats{LocalHits: 1, RedisHits: 3, Misses: 1}},
		{"hot, local again", "hot", 3 * time.Second, true, redisstore.CacheStats{LocalHits: 2, RedisHits: 3, Misses: 1}},
	}
	for _, tt := range tests {
		_, ok := reader.Get(key(tt.key), now.Add(tt.at))
		if ok != tt.found || reader.Stats() != tt.stats {
			t.Errorf("%s: found %v, stats %+v; want %v, %+v", tt.name, ok, reader.Stats(), tt.found, tt.stats)
		}
	}
}

// TestCacheEncryptionRotation: which readers can use which values.
func TestCacheEncryptionRotation(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	now := time.Now()
	noLocal := redisstore.WithLocalCache(0, 0)
	writers := map[string]*redisstore.Cache{
		"plain": open(t, srv, noLocal).Cache(),
		"A":     open(t, srv, noLocal, redisstore.WithEncryption(keyA)).Cache(),
		"B":     open(t, srv, noLocal, redisstore.WithEncryption(keyB, keyA)).Cache(),
	}
	for name, w := range writers {
		w.Put(key(name), introspect.Entry{Token: answer(t, activeBody), Expires: now.Add(time.Minute)})
	}
	// Tampering, and a value moved to another token's key.
	kA, kMoved, kBad := key("A"), key("moved"), key("tampered")
	rk := func(k introspect.Key) string {
		return "bearerguard:introspect:" + base64.RawURLEncoding.EncodeToString(k[:])
	}
	v, _ := rdb.Get(ctx, rk(kA)).Bytes()
	rdb.Set(ctx, rk(kMoved), v, time.Minute)
	bad := slices.Clone(v)
	bad[len(bad)-20] ^= 1
	rdb.Set(ctx, rk(kBad), bad, time.Minute)

	tests := []struct {
		reader []redisstore.EncryptionKey
		value  string
		ok     bool
	}{
		{nil, "plain", true},
		{nil, "A", false}, // encrypted: no key to read it
		{[]redisstore.EncryptionKey{keyA}, "A", true},
		{[]redisstore.EncryptionKey{keyA}, "plain", false},  // plain while encryption is on: refused
		{[]redisstore.EncryptionKey{keyA}, "B", false},      // B unknown to this reader: a miss
		{[]redisstore.EncryptionKey{keyA, keyB}, "B", true}, // rotation, step 1: B decrypts
		{[]redisstore.EncryptionKey{keyB, keyA}, "A", true}, // step 2: B encrypts, A still decrypts
		{[]redisstore.EncryptionKey{keyB}, "A", false},      // step 3: A retired
		{[]redisstore.EncryptionKey{keyA}, "moved", false},
		{[]redisstore.EncryptionKey{keyA}, "tampered", false},
	}
	for _, tt := range tests {
		opts := []redisstore.Option{noLocal}
		if tt.reader != nil {
			opts = append(opts, redisstore.WithEncryption(tt.reader...))
		}
		r := open(t, srv, opts...).Cache()
		e, ok := r.Get(key(tt.value), now)
		if ok != tt.ok || (ok && e.Token.Subject != "alice") {
			t.Errorf("reader with keys %v, value %q: found %v (%+v), want %v", ids(tt.reader), tt.value, ok, e, tt.ok)
		}
		if st := r.Stats(); !tt.ok && (st.Rejected != 1 || st.Misses != 1) {
			t.Errorf("reader with keys %v, value %q: stats %+v, want one rejected miss", ids(tt.reader), tt.value, st)
		}
	}
}

func ids(keys []redisstore.EncryptionKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}

// TestCacheValueCap: an answer larger than the cap stays local; a larger
// value in Redis is a miss.
func TestCacheValueCap(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	now := time.Now()
	c := open(t, srv, redisstore.WithMaxValueSize(1024)).Cache()
	big := answer(t, `{"active":true,"sub":"bob","aud":"orders","blob":"`+strings.Repeat("x", 2000)+`"}`)
	c.Put(key("big"), introspect.Entry{Token: big, Expires: now.Add(time.Minute)})
	if n, _ := rdb.DBSize(context.Background()).Result(); n != 0 || c.Stats().Skipped != 1 {
		t.Errorf("an answer over the cap: %d keys in Redis, stats %+v", n, c.Stats())
	}
	if e, ok := c.Get(key("big"), now.Add(30*time.Second)); !ok || e.Token.Subject != "bob" {
		t.Errorf("an answer over the cap is not kept locally until its expiry: %v", ok)
	}
	// A reader with a smaller cap than the writer's.
	open(t, srv).Cache().Put(key("big2"), introspect.Entry{Token: big, Expires: now.Add(time.Minute)})
	if _, ok := c.Get(key("big2"), now); ok || c.Stats().Rejected != 1 {
		t.Errorf("a value over the reader's cap: found %v, stats %+v", ok, c.Stats())
	}
	// Something that is not an introspection answer is not shared.
	jwtTok := &validator.Token{Subject: "x", Source: validator.SourceJWT}
	c.Put(key("jwt"), introspect.Entry{Token: jwtTok, Expires: now.Add(time.Minute)})
	if n, _ := rdb.DBSize(context.Background()).Result(); n != 1 || c.Stats().Skipped != 2 {
		t.Errorf("a JWT token: %d keys in Redis, stats %+v", n, c.Stats())
	}
}

// TestCacheRedisFailures: Redis down or slow is a miss, within the
// timeout; answers stay local until their expiry meanwhile; Redis back is
// used again without a new store.
func TestCacheRedisFailures(t *testing.T) {
	srv := redistest.Start(t)
	logger, logs := captureLogs()
	a := open(t, srv, redisstore.WithTimeout(faultTimeout), redisstore.WithLogger(logger), redisstore.WithLocalCache(100, time.Second))
	b := open(t, srv, redisstore.WithTimeout(faultTimeout), redisstore.WithLocalCache(0, 0))
	now := time.Now()
	a.Cache().Put(key("known"), introspect.Entry{Token: answer(t, activeBody), Expires: now.Add(time.Minute)})

	srv.Pause() // slow: connections open, nothing answered
	for i := range 2 {
		start := time.Now()
		_, ok := b.Cache().Get(key("known"), now)
		if elapsed := time.Since(start); ok || elapsed > faultTimeout+900*time.Millisecond {
			t.Errorf("Get %d with Redis paused: found %v after %v; want a miss within the timeout", i, ok, elapsed)
		}
	}
	if st := b.Cache().Stats(); st.Errors != 2 || st.Misses != 2 {
		t.Errorf("stats after two slow Gets: %+v", st)
	}
	// After two failures in a row the cache leaves Redis alone: no call, no wait.
	if _, ok := b.Cache().Get(key("known"), now); ok || b.Cache().Stats().Errors != 2 {
		t.Errorf("third Get while Redis is slow: %v, %+v", ok, b.Cache().Stats())
	}
	srv.Resume()
	srv.Kill()

	// Down: the local tier still answers, past its own TTL for an answer it
	// could not share.
	a.Cache().Put(key("during"), introspect.Entry{Token: answer(t, activeBody), Expires: now.Add(time.Minute)})
	if st := a.Cache().Stats(); st.Errors != 1 {
		t.Errorf("Put with Redis down: %+v, want one error", st)
	}
	if _, ok := a.Cache().Get(key("gone"), now); ok || a.Cache().Stats().Errors != 2 {
		t.Errorf("Get with Redis down: %v, %+v; want a miss and a second error", ok, a.Cache().Stats())
	}
	if _, ok := a.Cache().Get(key("during"), now.Add(30*time.Second)); !ok {
		t.Error("an answer Redis could not take is not kept locally until its expiry")
	}
	if !strings.Contains(logs.String(), "level=WARN msg=\"redisstore: Redis unavailable") {
		t.Errorf("no warning logged:\n%s", logs)
	}

	srv.Restart()
	eventually(t, 5*time.Second, "cache writes to the restarted Redis", func() bool {
		a.Cache().Put(key("after"), introspect.Entry{Token: answer(t, activeBody), Expires: time.Now().Add(time.Minute)})
		_, ok := b.Cache().Get(key("after"), time.Now())
		return ok
	})
	if !strings.Contains(logs.String(), "Redis reachable again") {
		t.Errorf("recovery not logged:\n%s", logs)
	}
}

// TestCacheWithIntrospect: two replicas' introspect clients, each with its
// own store, ask the authorization server once per token between them,
// for active and inactive tokens alike.
func TestCacheWithIntrospect(t *testing.T) {
	srv := redistest.Start(t)
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "s"})
	var replicas []*introspect.Client
	for range 3 {
		ic, err := introspect.New(iss.IntrospectionURL(), introspect.ClientSecretBasic("orders-api", "s"),
			introspect.WithHTTPClient(iss.Client()), introspect.WithCache(open(t, srv).Cache()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ic.Close() })
		replicas = append(replicas, ic)
	}
	ctx := context.Background()
	active := iss.Opaque(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "carol"})
	for i := range 30 {
		tok, err := replicas[i%3].Introspect(ctx, active)
		if err != nil || tok.Subject != "carol" {
			t.Fatalf("request %d: %+v, %v", i, tok, err)
		}
		if _, err := replicas[i%3].Introspect(ctx, "opaque-never-issued"); !errors.Is(err, validator.ErrInactive) {
			t.Fatalf("request %d, unknown token: %v", i, err)
		}
	}
	if n := iss.IntrospectionRequests(); n != 2 {
		t.Errorf("%d introspection requests for two tokens on three replicas, want 2", n)
	}
}
