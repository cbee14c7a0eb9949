package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/redistest"
	"github.com/bearerguard/bearerguard/redisstore"
)

// TestSETPastPXATOnThisRedis: what this redis-server does with SET
// NX PXAT <past>: the reply is OK, and (7.0) the key stays in the keyspace
// with its past expiry until something looks at it, PTTL then answers -2.
// The store refuses such a proof whichever way the server goes. (The
// README and replay.go say "Redis drops the key it has just set": 7.0.15
// does not; only a later PTTL/lookup or the active expire cycle does.)
func TestSETPastPXATOnThisRedis(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client()
	ctx := context.Background()
	past := time.Now().Add(-time.Second).UnixMilli()
	if v, err := c.Do(ctx, "set", "k", "1", "nx", "pxat", past).Result(); v != "OK" || err != nil {
		t.Fatalf("SET: %v, %v", v, err)
	}
	n := c.DBSize(ctx).Val()
	ver := c.InfoMap(ctx, "server").Item("Server", "redis_version")
	t.Logf("redis %s: DBSIZE after SET NX PXAT <past>: %d (1: kept with a past expiry, lazily dropped)", ver, n)
	if d := c.PTTL(ctx, "k").Val(); d != -2 {
		t.Errorf("PTTL %v", d)
	}
	st := open(t, srv, lagging(10*time.Minute)).ReplayStore()
	if fresh, err := st.Remember(ctx, "old", time.Now().Add(-time.Minute)); fresh || err != nil {
		t.Errorf("%v, %v", fresh, err)
	}
}

// TestPastWindowCountedAndWarnRateLimited: a replica lagging Redis by
// ten minutes, 200 proofs past their end on Redis's clock, concurrently:
// each refused and counted once; the Warn is written once in the burst.
func TestPastWindowCountedAndWarnRateLimited(t *testing.T) {
	srv := redistest.Start(t)
	logger, buf := captureLogs()
	st := open(t, srv, lagging(10*time.Minute), redisstore.WithLogger(logger)).ReplayStore()
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				if fresh, err := st.Remember(ctx, fmt.Sprintf("pw-%d-%d", g, i), time.Now().Add(-time.Minute)); fresh || err != nil {
					t.Errorf("%v, %v", fresh, err)
				}
			}
		})
	}
	wg.Wait()
	if st.PastWindow() != 200 {
		t.Errorf("PastWindow %d, want 200", st.PastWindow())
	}
	if n := strings.Count(buf.String(), "Redis's clock runs ahead"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, buf.String())
	}

}

// TestPastWindowCountsOnlyRefusals: PastWindow is documented as the
// proofs refused because their window had ended on Redis's clock. A
// replica failing open (lagging Redis by 40 s) accepts a proof during an
// outage; once Redis is back, writing it to Redis finds its end past there
// (a flush, not a check): nothing is refused, yet it is counted, and the
// "Redis's clock runs ahead" warning is written.
func TestPastWindowCountsOnlyRefusals(t *testing.T) {
	srv := redistest.Start(t)
	logger, buf := captureLogs()
	st := open(t, srv, lagging(40*time.Second), redisstore.WithReplayFailOpen(), redisstore.WithTimeout(faultTimeout),
		redisstore.WithLogger(logger)).ReplayStore()
	srv.Kill()
	if fresh, err := st.Remember(context.Background(), "fo", time.Now().Add(-35*time.Second)); !fresh || err != nil {
		t.Fatalf("fail open: %v, %v", fresh, err)
	}
	srv.Restart()
	time.Sleep(2500 * time.Millisecond) // the flush loop runs every second
	if n := st.PastWindow(); n != 0 {
		t.Errorf("PastWindow %d after no refusal (a flush was counted); warned: %v", n, strings.Contains(buf.String(), "runs ahead"))
	}
}

// TestRedisAheadRefusesOnlyTheWindowsTail: the README's "Clocks"
// says that with Redis's clock more than 30 s ahead "proofs older than
// that are refused". With Redis 40 s ahead (here: the replica 40 s behind)
// and the defaults (window 60 s, leeway 30 s, the validator's +1 s), a
// proof 80 s old is accepted and one 82 s old refused: the refused ones are
// those older than window + leeway − (ahead − 31 s), the tail of the
// window, not those older than 30 s.
func TestRedisAheadRefusesOnlyTheWindowsTail(t *testing.T) {
	srv := redistest.Start(t)
	const lag = 40 * time.Second
	st := open(t, srv, lagging(lag)).ReplayStore()
	ctx := context.Background()
	replicaNow := time.Now().Add(-lag)
	expires := func(age time.Duration) time.Time { return replicaNow.Add(-age + 91*time.Second) }
	if fresh, err := st.Remember(ctx, "age-80", expires(80*time.Second)); !fresh || err != nil {
		t.Errorf("80 s old: %v, %v; want accepted", fresh, err)
	}
	if fresh, err := st.Remember(ctx, "age-31", expires(31*time.Second)); !fresh || err != nil {
		t.Errorf("31 s old: %v, %v; want accepted", fresh, err)
	}
	if fresh, err := st.Remember(ctx, "age-82", expires(82*time.Second)); fresh || err != nil {
		t.Errorf("82 s old: %v, %v; want refused", fresh, err)
	}
}
