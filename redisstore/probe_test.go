package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bearerguard/bearerguard/internal/redistest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/redisstore"
)

// TestShortDeadlinesOnDistantRedis: a healthy Redis 60 ms away (another
// region; a store timeout of 1 s fits every call) and callers whose
// deadlines end their reads at 40–55 ms. Reads that waited 50 ms counted
// against Redis, and two of them made the cache leave a healthy Redis
// alone for everyone; now a probe with the store's whole timeout decides,
// and Redis answers it.
func TestShortDeadlinesOnDistantRedis(t *testing.T) {
	for _, dl := range []time.Duration{40 * time.Millisecond, 55 * time.Millisecond} {
		t.Run(dl.String(), func(t *testing.T) {
			_, proxy, s := openDistant(t)
			c := s.Cache()
			k := key("held")
			c.Put(k, introspect.Entry{Token: answer(t, activeBody), Expires: time.Now().Add(time.Minute)})
			proxy.armed.Store(true)
			defer proxy.armed.Store(false)
			if _, ok := c.Get(k, time.Now()); !ok {
				t.Fatal("healthy but 60 ms away, no deadline: miss")
			}
			for range 4 {
				ctx, cancel := context.WithTimeout(t.Context(), dl)
				c.GetContext(ctx, key("random-token"), time.Now())
				cancel()
			}
			time.Sleep(200 * time.Millisecond) // a probe, if one started, has its answer
			if _, ok := c.Get(k, time.Now()); !ok {
				t.Errorf("callers' deadlines of %v on a healthy Redis 60 ms away (timeout 1 s): %d Redis errors counted, and a caller without a deadline missed an answer Redis holds", dl, c.Stats().Errors)
			}
			if n := c.Stats().Errors; n != 0 {
				t.Errorf("%d Redis errors counted for reads their callers gave up on, Redis healthy", n)
			}
		})
	}
}

// TestHungRedisFoundUnderShortDeadlines: Redis hangs and every DPoP
// request has a deadline shorter than the store's timeout. The replay
// store refused each proof (right), but counted and logged nothing: the
// outage was invisible. Now the slow calls have Redis probed, and the
// probe's failure is counted and logged.
func TestHungRedisFoundUnderShortDeadlines(t *testing.T) {
	srv := redistest.Start(t)
	logger, logs := captureLogs()
	s, err := redisstore.Open(srv.URL, redisstore.WithReplayFailOpen(), redisstore.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := s.ReplayStore()
	srv.Pause()
	defer srv.Resume()
	for i := range 10 {
		ctx, cancel := context.WithTimeout(t.Context(), 90*time.Millisecond)
		fresh, err := r.Remember(ctx, fmt.Sprint("p", i), time.Now().Add(time.Minute))
		cancel()
		if fresh || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("proof %d, its caller's deadline ending the call: fresh %v, %v; want refused with the deadline's error (never failing open)", i, fresh, err)
		}
	}
	if r.FailOpens() != 0 {
		t.Errorf("%d proofs accepted failing open on their callers' deadlines", r.FailOpens())
	}
	if r.Errors() == 0 || !strings.Contains(logs.String(), "Redis unavailable") {
		t.Errorf("a hung Redis refused 10 proofs and was counted %d times, logged %q: want counted and logged", r.Errors(), logs.String())
	}
}

// TestClientReadTimeoutIsRedisFailure: a client (New) whose ReadTimeout is
// shorter than the store's timeout, Redis hung. The read timeout, 480 ms
// before the caller's deadline, was taken for the caller's: not counted,
// not logged, and the fail-open policy not applied, where a caller
// without a deadline got all three. It is Redis's failure.
func TestClientReadTimeoutIsRedisFailure(t *testing.T) {
	srv := redistest.Start(t)
	opts, err := redis.ParseURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	opts.ReadTimeout, opts.ContextTimeoutEnabled, opts.MaxRetries = 20*time.Millisecond, true, -1
	client := redis.NewClient(opts)
	defer client.Close()
	s, err := redisstore.New(client, redisstore.WithTimeout(time.Second), redisstore.WithReplayFailOpen(),
		redisstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := s.ReplayStore()
	if fresh, err := r.Remember(t.Context(), "warm", time.Now().Add(time.Minute)); !fresh || err != nil {
		t.Fatal(fresh, err)
	}
	srv.Pause()
	defer srv.Resume()
	for _, tt := range []struct {
		what     string
		deadline time.Duration // 0: none
	}{{"no deadline", 0}, {"500 ms deadline", 500 * time.Millisecond}} {
		ctx, cancel := t.Context(), context.CancelFunc(func() {})
		if tt.deadline > 0 {
			ctx, cancel = context.WithTimeout(ctx, tt.deadline)
		}
		before := r.Errors()
		fresh, err := r.Remember(ctx, "proof, "+tt.what, time.Now().Add(time.Minute))
		cancel()
		if errors.Is(err, context.DeadlineExceeded) || r.Errors() != before+1 || !fresh {
			t.Errorf("%s: fresh %v, %v, %d errors counted; want Redis's failure, counted once, the fail-open policy applied (accepted)", tt.what, fresh, err, r.Errors()-before)
		}
	}
}

// TestProbesOneAtATime: callers' deadlines are the caller's to choose, so
// an unauthenticated flood of requests with short deadlines must not turn
// into as many calls to Redis beyond their own: 200 reads ended by their
// callers after 55 ms (a healthy Redis 60 ms away) start probes one at a
// time, not one each.
func TestProbesOneAtATime(t *testing.T) {
	srv, proxy, s := openDistant(t)
	pings := func() int {
		info, err := srv.Client().Info(t.Context(), "commandstats").Result()
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if i := strings.Index(info, "cmdstat_ping:calls="); i >= 0 {
			fmt.Sscanf(info[i+len("cmdstat_ping:calls="):], "%d", &n)
		}
		return n
	}
	before := pings()
	proxy.armed.Store(true)
	var wg sync.WaitGroup
	for g := range 40 {
		wg.Go(func() {
			for i := range 5 {
				ctx, cancel := context.WithTimeout(t.Context(), 55*time.Millisecond)
				s.Cache().GetContext(ctx, key(fmt.Sprintf("flood-%d-%d", g, i)), time.Now())
				cancel()
			}
		})
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond) // the last probe has its answer
	proxy.armed.Store(false)
	probes := pings() - before
	t.Logf("200 reads ended by their callers after 55 ms: %d probes; cache stats %+v", probes, s.Cache().Stats())
	if probes < 1 || probes > 50 {
		t.Errorf("200 slow reads ended by their callers made %d probes: want at least one, and one at a time (40 callers at once: a quarter of the reads at most; one a read would be 200)", probes)
	}
	if n := s.Cache().Stats().Errors; n != 0 {
		t.Errorf("%d Redis errors counted, Redis healthy", n)
	}
}

// openDistant opens a Store (timeout 1 s, no local tier) on a real Redis
// behind a proxy that delays every answer by 60 ms: a healthy Redis far
// away. The Store is closed when the test ends.
func openDistant(t *testing.T) (*redistest.Server, *delayProxy, *redisstore.Store) {
	t.Helper()
	srv := redistest.Start(t)
	proxy := startDelayProxy(t, srv.Addr, 60*time.Millisecond)
	s, err := redisstore.Open("redis://"+proxy.addr, redisstore.WithTimeout(time.Second), redisstore.WithLocalCache(0, 0),
		redisstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return srv, proxy, s
}
