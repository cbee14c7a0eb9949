package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/redistest"
	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/redisstore"
	"github.com/bearerguard/bearerguard/validator"
	"github.com/redis/go-redis/v9"
)

// TestReplayStore: each key is fresh once across replicas, remembered for
// its window rounded up to the millisecond.
func TestReplayStore(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	clock := testclock.New(time.Now())
	a := open(t, srv, redisstore.WithClock(clock.Now)).ReplayStore()
	b := open(t, srv, redisstore.WithClock(clock.Now)).ReplayStore()
	ctx := context.Background()
	now := clock.Now()
	window := now.Add(90 * time.Second)
	tests := []struct {
		name      string
		store     *redisstore.ReplayStore
		key       string
		expires   time.Time
		fresh     bool
		wantErr   bool
		wantTTLms int64 // 0: not written; the window and the 30 s margin for the replicas' clocks
	}{
		{"first use", a, "proof-1", window, true, false, 120_000},
		{"replayed to another replica", b, "proof-1", window, false, false, 120_000},
		{"replayed to the same replica", a, "proof-1", window, false, false, 120_000},
		{"another proof", b, "proof-2", window, true, false, 120_000},
		{"sub-millisecond window rounds up", a, "proof-3", now.Add(1200 * time.Microsecond), true, false, 30_002},
		{"past its window on the store's clock: refused, nothing written", a, "proof-4", now.Add(-time.Second), false, false, 0},
		{"empty key", a, "", window, false, true, 0},
		{"oversized key", a, strings.Repeat("k", 257), window, false, true, 0},
	}
	for _, tt := range tests {
		fresh, err := tt.store.Remember(ctx, tt.key, tt.expires)
		if fresh != tt.fresh || (err != nil) != tt.wantErr {
			t.Errorf("%s: Remember = %v, %v; want %v, error %v", tt.name, fresh, err, tt.fresh, tt.wantErr)
		}
		if tt.key == "" || len(tt.key) > 256 {
			continue
		}
		pttl, err := rdb.PTTL(ctx, "bearerguard:dpop:"+tt.key).Result()
		switch {
		case err != nil:
			t.Errorf("%s: PTTL: %v", tt.name, err)
		case tt.wantTTLms == 0 && pttl >= 0:
			t.Errorf("%s: a key was written (PTTL %v)", tt.name, pttl)
		case tt.wantTTLms > 0 && (pttl > time.Duration(tt.wantTTLms)*time.Millisecond || pttl < time.Duration(tt.wantTTLms)*time.Millisecond-time.Second):
			t.Errorf("%s: PTTL %v, want at most %d ms (and close)", tt.name, pttl, tt.wantTTLms)
		}
	}
	if a.Errors() != 0 || a.FailOpens() != 0 {
		t.Errorf("errors %d, fail opens %d", a.Errors(), a.FailOpens())
	}
}

// TestReplayConcurrent: of many replicas racing with one proof, exactly
// one accepts it.
func TestReplayConcurrent(t *testing.T) {
	srv := redistest.Start(t)
	var stores []*redisstore.ReplayStore
	for range 4 {
		stores = append(stores, open(t, srv).ReplayStore())
	}
	expires := time.Now().Add(time.Minute)
	for round := range 20 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted := 0
		for i := range 32 {
			wg.Go(func() {
				fresh, err := stores[i%4].Remember(context.Background(), "race-"+string(rune('a'+round)), expires)
				if err != nil {
					t.Error(err)
				}
				if fresh {
					mu.Lock()
					accepted++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if accepted != 1 {
			t.Fatalf("round %d: %d of 32 concurrent uses accepted, want 1", round, accepted)
		}
	}
}

// TestReplayFailures: Redis down or slow refuses (fail closed) or accepts
// with a count and a log (fail open), within the timeout, and Redis back
// is used again without a new store.
func TestReplayFailures(t *testing.T) {
	tests := []struct {
		name     string
		failOpen bool
	}{
		{"fail closed", false},
		{"fail open", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t)
			logger, logs := captureLogs()
			opts := []redisstore.Option{redisstore.WithTimeout(faultTimeout), redisstore.WithLogger(logger)}
			if tt.failOpen {
				opts = append(opts, redisstore.WithReplayFailOpen())
			}
			r := open(t, srv, opts...).ReplayStore()
			ctx := context.Background()
			expires := time.Now().Add(time.Minute)
			if fresh, err := r.Remember(ctx, "before", expires); !fresh || err != nil {
				t.Fatalf("healthy: %v, %v", fresh, err)
			}
			check := func(what, key string, wantFreshOpen bool, wantFailOpens int64) {
				t.Helper()
				start := time.Now()
				fresh, err := r.Remember(ctx, key, expires)
				if elapsed := time.Since(start); elapsed > faultTimeout+900*time.Millisecond {
					t.Errorf("%s: took %v, beyond the timeout", what, elapsed)
				}
				if tt.failOpen {
					if fresh != wantFreshOpen || err != nil || r.FailOpens() != wantFailOpens {
						t.Errorf("%s: %v, %v, %d fail opens; want %v, nil, %d", what, fresh, err, r.FailOpens(), wantFreshOpen, wantFailOpens)
					}
					return
				}
				if fresh || !errors.Is(err, redisstore.ErrUnavailable) || r.FailOpens() != 0 {
					t.Errorf("%s: %v, %v; want a refusal matching ErrUnavailable", what, fresh, err)
				}
			}
			srv.Pause()
			check("slow", "slow-1", true, 1)
			srv.Resume()
			srv.Kill()
			check("down", "down-1", true, 2)
			check("down, replayed to the same replica", "down-1", false, 2) // fail open still refuses what it saw
			if r.Errors() != 3 {
				t.Errorf("%d errors counted, want 3", r.Errors())
			}
			if tt.failOpen && !strings.Contains(logs.String(), "level=ERROR msg=\"redisstore: DPoP replay check failed open") {
				t.Errorf("fail open not logged at Error:\n%s", logs)
			}
			srv.Restart()
			eventually(t, 5*time.Second, "replay checks in the restarted Redis", func() bool {
				fresh, err := r.Remember(ctx, "after-"+time.Now().String(), expires)
				return fresh && err == nil
			})
			if fresh, err := r.Remember(ctx, "after", expires); !fresh || err != nil {
				t.Errorf("after the restart: %v, %v", fresh, err)
			}
			if fresh, err := r.Remember(ctx, "after", expires); fresh || err != nil {
				t.Errorf("replay after the restart: %v, %v", fresh, err)
			}
		})
	}
}

// With WithReplayFailOpen, the proofs accepted while Redis could not
// answer stay refused once it answers again: by the replica that accepted
// them (it used to ask Redis only, which had never heard of them), and by
// every other replica once that replica has written them to Redis (second
// Redis review).
func TestFailOpenProofsRefusedAfterRecovery(t *testing.T) {
	admin, a, b := failOpenReplicas(t)
	ctx := context.Background()
	expires := time.Now().Add(time.Minute)
	setOutOfMemory(t, admin, true)
	for _, k := range []string{"p1", "p2"} {
		if fresh, err := a.Remember(ctx, k, expires); !fresh || err != nil {
			t.Fatalf("%s during the outage: %v, %v; want accepted fail open", k, fresh, err)
		}
	}
	if a.FailOpens() != 2 {
		t.Fatalf("%d fail opens, want 2", a.FailOpens())
	}
	setOutOfMemory(t, admin, false)
	if fresh, err := a.Remember(ctx, "p1", expires); fresh || err != nil {
		t.Errorf("p1 replayed to the replica that accepted it, Redis back: %v, %v; want refused", fresh, err)
	}
	// With no more traffic on replica A, p2 reaches Redis all the same (it
	// used to wait for A's next successful call: review of this session's
	// changes).
	eventually(t, 5*time.Second, "p2 written to Redis", func() bool {
		return admin.Exists(ctx, redisstore.DefaultPrefix+"dpop:p2").Val() == 1
	})
	if ttl := admin.PTTL(ctx, redisstore.DefaultPrefix+"dpop:p2").Val(); ttl <= 0 || ttl > time.Minute+time.Minute {
		t.Errorf("p2 written with a TTL of %v", ttl)
	}
	for _, k := range []string{"p1", "p2"} {
		if fresh, err := b.Remember(ctx, k, expires); fresh || err != nil {
			t.Errorf("%s replayed to another replica: %v, %v; want refused", k, fresh, err)
		}
	}
	if fresh, err := a.Remember(ctx, "p3", expires); !fresh || err != nil {
		t.Errorf("a fresh proof after the recovery: %v, %v", fresh, err)
	}
}

// TestReplayWithValidator: a validator whose replay store cannot reach
// Redis refuses DPoP requests as unavailable (503), and accepts them again
// once Redis is back.
func TestReplayWithValidator(t *testing.T) {
	srv := redistest.Start(t)
	iss := bearertest.NewIssuer(t)
	store := open(t, srv)
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience("orders"),
		validator.WithDPoPReplayStore(store.ReplayStore()))
	if err != nil {
		t.Fatal(err)
	}
	key := bearertest.MustDPoPKey(t, validator.ES256)
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders"}, bearertest.BoundToKey(key))
	const url = "https://api.example.com/data"
	present := func(proof string) error {
		_, err := v.ValidatePresentation(context.Background(), validator.Presentation{
			Scheme: validator.SchemeDPoP, Token: tok, Proof: proof, Method: "GET", URL: url})
		return err
	}
	proof := key.MustProof(t, "GET", url, tok)
	if err := present(proof); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := present(proof); !errors.Is(err, validator.ErrProofReplayed) {
		t.Errorf("replay: %v, want ErrProofReplayed", err)
	}
	srv.Kill()
	err = present(key.MustProof(t, "GET", url, tok))
	if !errors.Is(err, validator.ErrReplayUnavailable) || !errors.Is(err, redisstore.ErrUnavailable) ||
		validator.ChallengeFor(err, "orders").Status != http.StatusServiceUnavailable {
		t.Errorf("Redis down: %v, want ErrReplayUnavailable (503)", err)
	}
	srv.Restart()
	eventually(t, 5*time.Second, "DPoP accepted again", func() bool { return present(key.MustProof(t, "GET", url, tok)) == nil })
}

// SECURITY.md 67: a proof replica A accepted fail open is written to Redis
// once it answers, so that every replica refuses it, even when A gets no
// further request (traffic moved away during the outage, a quiet service).
// The first fix started the write from A's next successful call only
// (review of this session's changes).
func TestFailOpenFlushWithoutTraffic(t *testing.T) {
	admin, a, b := failOpenReplicas(t)
	ctx := context.Background()
	expires := time.Now().Add(time.Minute)
	setOutOfMemory(t, admin, true)
	if fresh, err := a.Remember(ctx, "p1", expires); !fresh || err != nil {
		t.Fatalf("p1 during the outage: %v, %v; want accepted fail open", fresh, err)
	}
	setOutOfMemory(t, admin, false)
	// Redis answers again; A is not asked anything more.
	if err := admin.Set(ctx, "probe", "1", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	inRedis := admin.Exists(ctx, redisstore.DefaultPrefix+"dpop:p1").Val()
	if fresh, err := b.Remember(ctx, "p1", expires); fresh || err != nil {
		t.Errorf("p1 replayed to replica B 3 s after Redis recovered: fresh=%v, err=%v; want refused (A had not written it: in Redis %d)",
			fresh, err, inRedis)
	}
}

// failOpenReplicas starts a Redis and two replicas' replay stores over it
// that fail open, and returns a client of the server for the test.
func failOpenReplicas(t *testing.T) (admin *redis.Client, a, b *redisstore.ReplayStore) {
	t.Helper()
	srv := redistest.Start(t)
	a = open(t, srv, redisstore.WithTimeout(faultTimeout), redisstore.WithReplayFailOpen()).ReplayStore()
	b = open(t, srv, redisstore.WithTimeout(faultTimeout), redisstore.WithReplayFailOpen()).ReplayStore()
	return srv.Client(), a, b
}

// setOutOfMemory makes Redis refuse every write, as out of memory under
// noeviction (the documented policy), or take them again.
func setOutOfMemory(t *testing.T, admin *redis.Client, oom bool) {
	t.Helper()
	limit := "0"
	if oom {
		limit = "1"
	}
	for _, kv := range [][2]string{{"maxmemory-policy", "noeviction"}, {"maxmemory", limit}} {
		if err := admin.ConfigSet(context.Background(), kv[0], kv[1]).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReplayOnRedisClock: a proof's key lives, and its window is judged,
// on Redis's clock, whatever the replica's clock says. With the TTL set
// from the replica's clock, a replica lagging by more than the 30 s margin
// accepted a proof whose key Redis had already dropped: a replay, once the
// proof's first use was a window ago (SECURITY.md 130).
func TestReplayOnRedisClock(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	lag := 10 * time.Minute
	onTime := open(t, srv).ReplayStore()
	logger, logs := captureLogs()
	lagging := open(t, srv, redisstore.WithLogger(logger), redisstore.WithClock(func() time.Time { return time.Now().Add(-lag) })).ReplayStore()
	window := validator.DefaultProofWindow + validator.DefaultLeeway + time.Second
	tests := []struct {
		name    string
		first   *redisstore.ReplayStore // uses the proof first; nil: its first use was long ago
		then    *redisstore.ReplayStore
		expires time.Duration // from now, on the real clock (Redis's)
		fresh   bool          // then's answer
		maxTTL  time.Duration // then's key, on Redis's clock; 0: not checked
	}{
		{"used a window ago, replayed to a lagging replica", nil, lagging, -2 * time.Minute, false, 0},
		{"used on time, replayed to a lagging replica", onTime, lagging, window, false, 0},
		{"first use on a lagging replica: kept for the window, not the lag", nil, lagging, window, true, window + 30*time.Second + 50*time.Millisecond}, // rounded up to the ms, Redis's clock read a moment apart
		{"first use on a lagging replica, replayed on time", lagging, onTime, window, false, 0},
	}
	for i, tt := range tests {
		key := fmt.Sprintf("proof-%d", i)
		expires := time.Now().Add(tt.expires)
		if tt.first != nil {
			if fresh, err := tt.first.Remember(ctx, key, expires); !fresh || err != nil {
				t.Fatalf("%s: first use: %v, %v", tt.name, fresh, err)
			}
		}
		fresh, err := tt.then.Remember(ctx, key, expires)
		if fresh != tt.fresh || err != nil {
			t.Errorf("%s: Remember = %v, %v; want %v", tt.name, fresh, err, tt.fresh)
		}
		if tt.maxTTL > 0 {
			if pttl := rdb.PTTL(ctx, redisstore.DefaultPrefix+"dpop:"+key).Val(); pttl <= 0 || pttl > tt.maxTTL {
				t.Errorf("%s: key lives %v on Redis's clock, want at most %v", tt.name, pttl, tt.maxTTL)
			}
		}
	}
	// The stale proof is counted and, since the replica's clock still put
	// its end minutes ahead, the skew is logged: a fleet whose clocks
	// disagree with Redis's sees why proofs are refused.
	if lagging.PastWindow() != 1 || onTime.PastWindow() != 0 || lagging.Errors() != 0 {
		t.Errorf("PastWindow: lagging %d, on time %d (want 1, 0); errors %d", lagging.PastWindow(), onTime.PastWindow(), lagging.Errors())
	}
	if n := strings.Count(logs.String(), "Redis's clock runs ahead"); n != 1 {
		t.Errorf("%d warnings of the clocks' skew, want 1; logs:\n%s", n, logs)
	}
}

// TestReplayOnRedisClockWithValidator: a validator on a replica whose clock
// lags by ten minutes takes a proof made ten minutes ago for a fresh one;
// the fleet's replay check refuses it, since its window has passed on
// Redis's clock (the proof could have been used then, and Redis has
// forgotten it since).
func TestReplayOnRedisClockWithValidator(t *testing.T) {
	srv := redistest.Start(t)
	iss := bearertest.NewIssuer(t)
	lag := 10 * time.Minute
	clock := func() time.Time { return time.Now().Add(-lag) }
	store := open(t, srv, redisstore.WithClock(clock))
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience("orders"),
		validator.WithClock(clock), validator.WithDPoPReplayStore(store.ReplayStore()))
	if err != nil {
		t.Fatal(err)
	}
	key := bearertest.MustDPoPKey(t, validator.ES256)
	then := time.Now().Add(-lag)
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders", "iat": then.Unix(), "exp": then.Add(time.Hour).Unix()}, bearertest.BoundToKey(key))
	const url = "https://api.example.com/data"
	present := func(proof string) error {
		_, err := v.ValidatePresentation(context.Background(), validator.Presentation{
			Scheme: validator.SchemeDPoP, Token: tok, Proof: proof, Method: "GET", URL: url})
		return err
	}
	if err := present(key.MustProof(t, "GET", url, tok, bearertest.ProofIssuedAt(then))); !errors.Is(err, validator.ErrProofReplayed) {
		t.Errorf("a proof ten minutes old on Redis's clock, on a replica ten minutes behind: %v, want ErrProofReplayed", err)
	}
}
