package introspect_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// The attack questions of the circuit breaker, one test each: what an open
// breaker answers never lets a request through to its handler; one
// client's breaker answers for no other; a probe's answer is never an
// answer about a caller's token; and the probes a flood of failing tokens
// calls for are bounded, however long their requests hang.

// While the breaker is open, a request through the HTTP adapter is
// answered 503 with a Retry-After and never reaches its handler; once a
// probe's answer closes it, the same request does.
func TestBreakerOpenNeverReachesHandler(t *testing.T) {
	e := newFlakyEndpoint(t, modeReset, introspect.WithCircuitBreaker(2, 10*time.Second))
	v, err := validator.New(validator.WithIntrospection("", e.c), validator.WithAudience("api"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	var reached atomic.Int64
	h := g.Require(scopes.All(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	get := func(tok string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/data", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		h.ServeHTTP(rec, req)
		return rec
	}
	for i := range 2 {
		if rec := get(fmt.Sprint("good-", i)); rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("endpoint resetting: %d, want 503", rec.Code)
		}
	}
	e.waitLog(t, logOpened, 1)
	e.mode.Store(modeAnswer) // healthy again, but the pause runs
	for i := range 20 {
		rec := get(fmt.Sprint("good-open-", i))
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("while open: %d, Retry-After %q, want 503 with a Retry-After", rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("%d requests reached the handler while the breaker was open", n)
	}
	e.clock.Advance(time.Second)
	_ = get("good-starts-probe")
	e.waitLog(t, logClosed, 1)
	if rec := get("good-after"); rec.Code != http.StatusOK || reached.Load() != 1 {
		t.Errorf("after the probe's answer: %d, handler reached %d times, want 200 and 1", rec.Code, reached.Load())
	}
}

// One client's breaker answers for no other: a client whose endpoint is
// down opens its own, and a client of a healthy endpoint, built alike,
// keeps asking and answering.
func TestBreakerPerClient(t *testing.T) {
	down := newFlakyEndpoint(t, modeReset, introspect.WithCircuitBreaker(2, time.Minute))
	up := newFlakyEndpoint(t, modeAnswer, introspect.WithCircuitBreaker(2, time.Minute))
	for i := range 2 {
		unavailableFor(t, "down", down.ask(down.c, fmt.Sprint("made-up-", i)))
	}
	down.waitLog(t, logOpened, 1)
	unavailableFor(t, "down, open", down.ask(down.c, "made-up-open"))
	for i := range 10 {
		if err := up.ask(up.c, fmt.Sprint("good-", i)); err != nil {
			t.Fatalf("the healthy endpoint's client, token %d: %v, want it asked and active", i, err)
		}
	}
	if n := up.hits.Load(); n != 10 {
		t.Errorf("the healthy endpoint's client sent %d requests for 10 tokens, want 10", n)
	}
}

// A probe's answer is about introspect.ProbeToken and nothing else: an
// endpoint that answers it active puts nothing in the cache, so a caller
// who presents ProbeToken as its own token is asked about afresh.
func TestBreakerProbeAnswerNotCached(t *testing.T) {
	e := newFlakyEndpoint(t, modeReset, introspect.WithCircuitBreaker(2, time.Minute))
	e.probeActive.Store(true)
	for i := range 2 {
		unavailableFor(t, "failure", e.ask(e.c, fmt.Sprint("made-up-", i)))
	}
	e.mode.Store(modeAnswer) // the probe gets its (active) answer
	deadline := time.Now().Add(10 * time.Second)
	for e.probes.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no probe")
		}
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the probe's answer is in
	before := e.hits.Load()
	e.mode.Store(modeReset) // a request now fails: only a cached answer could be active
	_, err := e.c.Introspect(context.Background(), introspect.ProbeToken)
	if err == nil || e.hits.Load() != before+1 {
		t.Errorf("a caller's ProbeToken after an active probe answer: %v after %d requests, want it asked (1) and failing", err, e.hits.Load()-before)
	}
}

// However long probes hang where their deadline does not reach, the
// probes are bounded: at most 4 alive, whatever the time; then callers'
// requests go out instead, bounded by the request slots.
func TestBreakerProbesBounded(t *testing.T) {
	var hang atomic.Bool
	release := make(chan struct{})
	var hung, maxHung atomic.Int64
	auth := introspect.BearerTokenContext(func(context.Context) (string, error) {
		if hang.Load() {
			n := hung.Add(1)
			for m := maxHung.Load(); n > m && !maxHung.CompareAndSwap(m, n); m = maxHung.Load() {
			}
			<-release // ignores its context
			hung.Add(-1)
		}
		return "rs-token", nil
	})
	e := newFlakyEndpoint(t, modeReset)
	c := e.newClientAuth(t, e.srv.URL, auth, introspect.WithCircuitBreaker(1, 10*time.Second), introspect.WithMaxConcurrentRequests(1))
	t.Cleanup(func() { close(release) }) // before Close, which waits for what hangs
	unavailableFor(t, "failure", e.ask(c, "made-up"))
	e.waitLog(t, logOpened, 1)
	hang.Store(true) // from now on every request, probe or caller's, hangs
	// Each pause ends at once (the clock jumps), and each probe is given up
	// on after twice the timeout: 10 such periods would start 10 probes
	// without the bound.
	deadline := time.Now().Add(20 * breakerTimeout)
	for time.Now().Before(deadline) {
		e.clock.Advance(10 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err := c.Introspect(ctx, fmt.Sprint("made-up-", time.Now().UnixNano()))
		cancel()
		if !errors.Is(err, validator.ErrIntrospectionUnavailable) {
			t.Fatalf("%v, want unavailable", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := maxHung.Load(); n < 4 || n > 5 {
		t.Errorf("%d calls hung at once, want 4 probes, and at most the one request slot more", n)
	}
}
