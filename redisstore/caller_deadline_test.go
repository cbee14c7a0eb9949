package redisstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/redistest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/redisstore"
)

// TestCacheCallerDeadline: the cache's Redis reads end with the request
// that made them. An Introspect with a 200 ms deadline waited for a slow
// Redis up to the store's timeout (2 s here; up to a minute), so a forward
// auth decision ran past its own timeout. A read its caller gave up on
// sooner than a slow call (10 ms) is a miss, not a Redis failure: it does
// not make the cache leave Redis alone for every other request.
func TestCacheCallerDeadline(t *testing.T) {
	srv := redistest.Start(t)
	proxy := startDelayProxy(t, srv.Addr, 2*time.Second)
	s, err := redisstore.Open("redis://"+proxy.addr, redisstore.WithTimeout(3*time.Second), redisstore.WithLocalCache(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := s.Cache()
	k := key("slow")
	c.Put(k, introspect.Entry{Token: answer(t, activeBody), Expires: time.Now().Add(time.Minute)})

	proxy.armed.Store(true)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	if _, ok := c.GetContext(ctx, k, time.Now()); ok {
		t.Error("GetContext with a 10 ms deadline on a Redis 2 s slow: found")
	}
	cancel()
	if st := c.Stats(); st.Errors != 0 {
		t.Errorf("a read its caller gave up on after 10 ms counted as %d Redis errors", st.Errors)
	}
	time.Sleep(2 * time.Second) // the delayed reply drains
	ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
	start := time.Now()
	_, ok := c.GetContext(ctx, k, time.Now())
	cancel()
	if d := time.Since(start); ok || d > time.Second {
		t.Errorf("GetContext with a 200 ms deadline on a Redis 2 s slow: found=%v after %v, want a miss at the deadline", ok, d)
	}
	proxy.armed.Store(false)
	// Redis is not left alone: the next read finds the answer.
	time.Sleep(2 * time.Second) // the delayed reply drains
	if _, ok := c.Get(k, time.Now()); !ok {
		t.Errorf("after a caller's deadline, the next read missed (stats %+v)", c.Stats())
	}

	// Through an introspect.Client: the caller's deadline bounds the lookup.
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers: only the cache could
	}))
	t.Cleanup(endpoint.Close)
	ic, err := introspect.New(endpoint.URL, introspect.ClientSecretBasic("rs", "secret"), introspect.WithInsecureLoopbackHTTP(),
		introspect.WithCache(c), introspect.WithTimeout(time.Second), introspect.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ic.Close() })
	proxy.armed.Store(true)
	defer proxy.armed.Store(false)
	ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = ic.Introspect(ctx, "some-opaque-token")
	if d := time.Since(start); d > time.Second {
		t.Errorf("Introspect with a 200 ms deadline returned after %v (%v): the cache lookup ignored the caller's context", d, err)
	}
}

// TestReplayFailOpenOnCallerDeadline: with WithReplayFailOpen, a proof
// remembered through Redis by replica A, then presented to replica B by a
// caller whose deadline ends during B's round trip (healthy Redis). B's
// Redis call ended in an i/o timeout before the context reported its end
// (go-redis sets the connection's deadline from the context's), was taken
// for an outage, and the proof, unknown to B's in-process record, was
// accepted failing open: 54 to 77 of 400 used proofs (a gRPC client picks
// its own deadline). Found by the red-team review of SECURITY.md 136.
func TestReplayFailOpenOnCallerDeadline(t *testing.T) {
	_, a, b := failOpenReplicas(t)
	accepted := 0
	for i := range 400 {
		k := fmt.Sprintf("proof-%d", i)
		exp := time.Now().Add(time.Minute)
		if fresh, err := a.Remember(context.Background(), k, exp); !fresh || err != nil {
			t.Fatalf("replica A: %v %v", fresh, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(20+i%200)*time.Microsecond)
		fresh, _ := b.Remember(ctx, k, exp)
		cancel()
		if fresh {
			accepted++
		}
	}
	if accepted > 0 {
		t.Errorf("%d of 400 proofs already used through replica A accepted again by replica B (fail open, FailOpens=%d) because the caller's deadline ended B's Redis call", accepted, b.FailOpens())
	}
}

// TestCallerDeadlineNotARedisFailure: a read its caller gave up on (a
// deadline shorter than the store's timeout, and than a slow call) is a
// miss, not a Redis failure that would make the cache leave Redis alone
// for every other request: callers with 5 ms deadlines against a paused
// Redis leave Stats().Errors at 0.
func TestCallerDeadlineNotARedisFailure(t *testing.T) {
	srv := redistest.Start(t)
	s, err := redisstore.Open(srv.URL, redisstore.WithTimeout(5*time.Second), redisstore.WithLocalCache(0, 0),
		redisstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := s.Cache()
	k := key("x")
	c.Put(k, introspect.Entry{Token: answer(t, activeBody), Expires: time.Now().Add(time.Minute)})
	srv.Pause()
	defer srv.Resume()
	const n = 100
	for range n {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Millisecond)
		c.GetContext(ctx, k, time.Now())
		cancel()
	}
	if st := c.Stats(); st.Errors != 0 {
		t.Errorf("%d reads whose callers' 5 ms deadlines passed on a slow Redis counted %d Redis errors (%d needed to leave Redis alone for every request for a second)", n, st.Errors, 2)
	}
}

// TestShortDeadlinesOnHealthyRedis: a healthy Redis, and callers whose
// deadlines end during the round trip (a gRPC client picks its own
// grpc-timeout). Their reads ended in i/o timeouts that, racing the
// context's own timer, were counted as Redis failures; two in a row made
// the cache leave Redis alone for a second, and another caller then
// missed an answer Redis held.
func TestShortDeadlinesOnHealthyRedis(t *testing.T) {
	srv := redistest.Start(t)
	s, err := redisstore.Open(srv.URL, redisstore.WithLocalCache(0, 0), redisstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := s.Cache()
	k := key("held")
	c.Put(k, introspect.Entry{Token: answer(t, activeBody), Expires: time.Now().Add(time.Minute)})
	if _, ok := c.Get(k, time.Now()); !ok {
		t.Fatal("healthy: miss")
	}
	for i := range 400 {
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(20+i%200)*time.Microsecond)
		c.GetContext(ctx, key("other"), time.Now())
		cancel()
	}
	st := c.Stats()
	_, ok := c.Get(k, time.Now())
	t.Logf("after 400 reads with 20-220 µs deadlines: stats %+v; a read without deadline found the answer: %v", st, ok)
	if st.Errors > 0 || !ok {
		t.Errorf("callers' own deadlines on a healthy Redis counted %d Redis errors; a caller without a deadline then found=%v (the answer is in Redis)", st.Errors, ok)
	}
}

// TestHungRedisLeftAloneUnderCallerDeadlines: a Redis that stops answering
// while every request has a deadline shorter than the store's timeout (and
// the introspection timeout is shorter too). A read that kept its caller
// waiting 50 ms (or half the timeout, if less) counts against Redis even
// though the caller's deadline ended it, so the cache still leaves a hung
// Redis alone, and requests are answered by the authorization server; a
// read ended by a shorter deadline does not count.
func TestHungRedisLeftAloneUnderCallerDeadlines(t *testing.T) {
	srv := redistest.Start(t)
	s, err := redisstore.Open(srv.URL, redisstore.WithTimeout(2*time.Second), redisstore.WithLocalCache(0, 0),
		redisstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"active":true,"sub":"u","exp":%d}`, time.Now().Add(time.Hour).Unix())
	}))
	t.Cleanup(idp.Close)
	ic, err := introspect.New(idp.URL, introspect.ClientSecretBasic("rs", "secret"), introspect.WithInsecureLoopbackHTTP(),
		introspect.WithCache(s.Cache()), introspect.WithTimeout(time.Second), introspect.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ic.Close() })
	// Healthy: works.
	if _, err := ic.Introspect(t.Context(), "warm-up"); err != nil {
		t.Fatalf("healthy: %v", err)
	}
	srv.Pause()
	defer srv.Resume()
	// Requests, each with a 300 ms deadline, for 3 s while Redis hangs.
	start := time.Now()
	var early, late, lateOK int
	for i := 0; time.Since(start) < 3*time.Second; i++ {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		_, err := ic.Introspect(ctx, fmt.Sprintf("tok-%d", i))
		cancel()
		if time.Since(start) < time.Second {
			early++
			continue
		}
		late++
		if err == nil {
			lateOK++
		}
	}
	st := s.Cache().Stats()
	t.Logf("Redis paused: %d requests in the first second; after: %d answered of %d; cache stats %+v; IdP requests %d", early, lateOK, late, st, ic.Requests())
	if lateOK < late/2 {
		t.Errorf("Redis hangs: after its first second, %d of %d requests with a 300 ms deadline (store timeout 2 s) answered; %d Redis errors counted in all: the cache no longer leaves a hung Redis alone, every request spends its deadline on Redis and is answered unavailable", lateOK, late, st.Errors)
	}
}
