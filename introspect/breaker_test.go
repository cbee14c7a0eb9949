package introspect_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/internal/testlog"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// How the flaky endpoint treats a request.
const (
	modeAnswer = iota // {"active":true} for "good-…" tokens, inactive for others
	modeReset         // the connection closed without a status line
	modeHang          // nothing until the client gives up (its timeout)
	modeGate          // held until the test opens the gate, then answered
)

// flakyEndpoint is a real introspection endpoint on loopback whose
// behaviour the test switches, with a client of it on a test clock.
type flakyEndpoint struct {
	srv   *httptest.Server
	mode  atomic.Int32
	hits  atomic.Int64
	gate  chan struct{}
	held  chan struct{} // one value per request held by modeGate
	clock *testclock.Clock
	logs  *testlog.Buffer
	c     *introspect.Client
}

// breakerTimeout is the clients' request timeout: a hanging endpoint costs
// each request this long.
const breakerTimeout = 300 * time.Millisecond

func newFlakyEndpoint(t *testing.T, mode int32, opts ...introspect.Option) *flakyEndpoint {
	t.Helper()
	e := &flakyEndpoint{gate: make(chan struct{}), held: make(chan struct{}, 100), clock: testclock.New(time.Now()), logs: &testlog.Buffer{}}
	e.mode.Store(mode)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		// Read the body first: net/http sees the client go away (and ends
		// r.Context()) only once the body has been read.
		_ = r.ParseForm()
		switch e.mode.Load() {
		case modeReset:
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		case modeHang:
			<-r.Context().Done()
			return
		case modeGate:
			e.held <- struct{}{}
			select {
			case <-e.gate:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(r.PostForm.Get("token"), "good-") {
			fmt.Fprint(w, `{"active":true}`)
			return
		}
		fmt.Fprint(w, `{"active":false}`)
	}))
	t.Cleanup(e.srv.Close)
	e.c = e.newClient(t, e.srv.URL, opts...)
	return e
}

func (e *flakyEndpoint) newClient(t *testing.T, endpoint string, opts ...introspect.Option) *introspect.Client {
	t.Helper()
	c, err := introspect.New(endpoint, introspect.ClientSecretBasic("a", "b"), append([]introspect.Option{
		introspect.WithClock(e.clock.Now), introspect.WithInsecureLoopbackHTTP(), introspect.WithTimeout(breakerTimeout),
		introspect.WithLogger(slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// refusedURL is an http URL on loopback where nothing listens.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// unavailableFor returns the Retry-After of an unavailable answer, and
// fails the test for any other.
func unavailableFor(t *testing.T, what string, err error) time.Duration {
	t.Helper()
	var ue *validator.UnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, validator.ErrIntrospectionUnavailable) {
		t.Fatalf("%s: %v, want introspection unavailable", what, err)
	}
	return ue.RetryAfter
}

// An endpoint that gives no answer at all (refused, reset, timed out)
// opens the breaker after the configured requests in a row: uncached
// tokens are then answered unavailable at once, with a Retry-After,
// without a request; when the pause ends, one request goes out, and an
// answer closes the breaker.
func TestBreakerOpensOnNoAnswer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    int32
		refused bool // the client asks a port where nothing listens
	}{
		{name: "reset", mode: modeReset},
		{name: "timeout", mode: modeHang},
		{name: "refused", refused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reader := sdkmetric.NewManualReader()
			opts := []introspect.Option{introspect.WithCircuitBreaker(3, 10*time.Second), introspect.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))}
			e := newFlakyEndpoint(t, tc.mode, opts...)
			c := e.c
			if tc.refused {
				c = e.newClient(t, refusedURL(t), opts...)
			}
			for i := range 3 {
				unavailableFor(t, fmt.Sprintf("failure %d", i), func() error { _, err := c.Introspect(t.Context(), fmt.Sprintf("made-up-%d", i)); return err }())
			}
			if n := c.Requests(); n != 3 {
				t.Fatalf("%d requests for the first 3 tokens, want 3", n)
			}
			start := time.Now()
			for i := range 50 {
				_, err := c.Introspect(t.Context(), fmt.Sprintf("other-%d", i))
				if ra := unavailableFor(t, "while open", err); ra <= 0 || ra > time.Second {
					t.Fatalf("while open: Retry-After %v, want the pause left, (0, 1s]", ra)
				}
			}
			if n := c.Requests(); n != 3 {
				t.Errorf("50 tokens while open: %d requests in all, want still 3", n)
			}
			if d := time.Since(start); d > breakerTimeout {
				t.Errorf("50 tokens while open took %v: each should be answered at once, not after a timeout", d)
			}
			if n := counterValue(t, reader, "bearerguard.introspection.skipped", "breaker"); n != 50 {
				t.Errorf("bearerguard.introspection.skipped{reason=breaker} = %d, want 50", n)
			}
			if !strings.Contains(e.logs.String(), "gave no answer to the last requests") || !strings.Contains(e.logs.String(), "failures_in_a_row=3") {
				t.Errorf("no warning when the breaker opened; log:\n%s", e.logs)
			}

			if tc.refused {
				return // nothing will ever listen there: TestBreakerProbe covers healing
			}
			e.mode.Store(modeAnswer)
			e.clock.Advance(time.Second)
			for i := range 5 {
				if _, err := c.Introspect(t.Context(), fmt.Sprintf("healed-%d", i)); !errors.Is(err, validator.ErrInactive) {
					t.Fatalf("after the pause, token %d: %v, want an answer (inactive)", i, err)
				}
			}
			if n := c.Requests(); n != 8 {
				t.Errorf("%d requests in all, want 8: one probe, then every token asked again", n)
			}
			if !strings.Contains(e.logs.String(), "answers again") {
				t.Errorf("no record when the breaker closed; log:\n%s", e.logs)
			}
		})
	}
}

// While the probe is out every other uncached token is answered at once,
// with the request timeout as its Retry-After; a failed probe pauses the
// client for twice as long as the pause before, up to the maximum; a
// probe's answer closes the breaker and resets the pause.
func TestBreakerProbe(t *testing.T) {
	e := newFlakyEndpoint(t, modeReset, introspect.WithCircuitBreaker(2, 3*time.Second))
	ask := func(tok string) error { _, err := e.c.Introspect(t.Context(), tok); return err }
	for i := range 2 {
		unavailableFor(t, "failure", ask(fmt.Sprint("made-up-", i)))
	}
	// Each failed probe doubles the pause: 1 s, then 2 s, then 3 s (the
	// maximum), then 3 s again.
	for _, pause := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second} {
		if ra := unavailableFor(t, "open", ask("made-up")); ra != pause {
			t.Fatalf("Retry-After %v, want the whole pause %v", ra, pause)
		}
		e.clock.Advance(pause - time.Millisecond)
		before := e.c.Requests()
		unavailableFor(t, "a millisecond before the pause ends", ask("made-up"))
		if e.c.Requests() != before {
			t.Fatalf("a request went out %v into a %v pause", pause-time.Millisecond, pause)
		}
		e.clock.Advance(time.Millisecond)
		unavailableFor(t, "the probe", ask("made-up-probe"))
		if e.c.Requests() != before+1 {
			t.Fatalf("the pause of %v ended: %d requests, want one probe", pause, e.c.Requests()-before)
		}
	}

	// The probe is held by the endpoint: meanwhile nothing else goes out.
	e.mode.Store(modeGate)
	e.clock.Advance(3 * time.Second)
	probed := make(chan error, 1)
	go func() { probed <- ask("good-probe") }()
	<-e.held
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if ra := unavailableFor(t, "while the probe is out", ask(fmt.Sprint("good-", i))); ra != breakerTimeout {
				t.Errorf("while the probe is out: Retry-After %v, want the request timeout %v", ra, breakerTimeout)
			}
		})
	}
	wg.Wait()
	if n := e.hits.Load(); n != 7 { // 2 failures, 4 failed probes, this probe
		t.Fatalf("%d requests reached the endpoint, want 7: none beside the probe", n)
	}
	close(e.gate)
	if err := <-probed; err != nil {
		t.Fatalf("the probe: %v, want the answer (active)", err)
	}
	// Closed, with the pause back to 1 s: two more failures pause for 1 s.
	e.mode.Store(modeReset)
	for i := range 2 {
		unavailableFor(t, "failure after closing", ask(fmt.Sprint("made-up-again-", i)))
	}
	if ra := unavailableFor(t, "open again", ask("made-up")); ra != time.Second {
		t.Errorf("open again after an answer: Retry-After %v, want the first pause, 1s", ra)
	}
}

// Only the absence of an answer counts: an endpoint that answers, however
// badly (statuses a malformed token can draw from a server, an error page,
// a body too large, no JSON), never opens the breaker, so no caller can
// open it for the others by choosing tokens.
func TestBreakerIgnoresAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
	}{
		{"500", "application/json", `{"error":"server_error"}`, http.StatusInternalServerError},
		{"503 without Retry-After", "text/plain", "busy", http.StatusServiceUnavailable},
		{"400", "application/json", `{"error":"invalid_request"}`, http.StatusBadRequest},
		{"401", "application/json", `{"error":"invalid_client"}`, http.StatusUnauthorized},
		{"redirect", "text/plain", "", http.StatusFound},
		{"html page", "text/html", "<html>login</html>", http.StatusOK},
		{"not JSON", "application/json", "{not json", http.StatusOK},
		{"too large", "application/json", `{"active":false,"x":"` + strings.Repeat("a", 2048) + `"}`, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if tc.status == http.StatusFound {
					w.Header().Set("Location", "/elsewhere")
				}
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			c, err := introspect.New(srv.URL, introspect.ClientSecretBasic("a", "b"), introspect.WithInsecureLoopbackHTTP(),
				introspect.WithBodyLimit(1024), introspect.WithCircuitBreaker(2, time.Minute), introspect.WithLogger(discard))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			for i := range 20 {
				if _, err := c.Introspect(t.Context(), fmt.Sprint("made-up-", i)); err == nil || errors.Is(err, validator.ErrInactive) {
					t.Fatalf("token %d: %v, want a failure", i, err)
				}
			}
			if n := hits.Load(); n != 20 {
				t.Errorf("20 tokens answered %s: %d requests, want 20 (the breaker must stay closed)", tc.name, n)
			}
		})
	}
}

// Cached answers are served while the breaker is open; a client with the
// breaker turned off asks for every token; a request that went out before
// the breaker opened and is answered after closes it.
func TestBreakerCachedOffAndLateAnswer(t *testing.T) {
	t.Run("cached", func(t *testing.T) {
		e := newFlakyEndpoint(t, modeAnswer, introspect.WithCircuitBreaker(2, time.Minute))
		if _, err := e.c.Introspect(t.Context(), "good-cached"); err != nil {
			t.Fatal(err)
		}
		e.mode.Store(modeReset)
		for i := range 3 {
			unavailableFor(t, "failure", func() error { _, err := e.c.Introspect(t.Context(), fmt.Sprint("made-up-", i)); return err }())
		}
		if _, err := e.c.Introspect(t.Context(), "good-cached"); err != nil {
			t.Errorf("a cached active answer while the breaker is open: %v, want it served", err)
		}
		if n := e.hits.Load(); n != 3 {
			t.Errorf("%d requests, want 3 (one answered, two failures)", n)
		}
	})
	t.Run("off", func(t *testing.T) {
		e := newFlakyEndpoint(t, modeReset, introspect.WithCircuitBreaker(0, 0))
		for i := range 20 {
			unavailableFor(t, "failure", func() error { _, err := e.c.Introspect(t.Context(), fmt.Sprint("made-up-", i)); return err }())
		}
		if n := e.hits.Load(); n != 20 {
			t.Errorf("breaker off: %d requests for 20 tokens, want 20", n)
		}
	})
	t.Run("late answer", func(t *testing.T) {
		e := newFlakyEndpoint(t, modeGate, introspect.WithCircuitBreaker(2, time.Minute))
		slow := make(chan error, 1)
		go func() { _, err := e.c.Introspect(t.Context(), "good-slow"); slow <- err }()
		<-e.held
		e.mode.Store(modeReset)
		for i := range 2 {
			unavailableFor(t, "failure", func() error { _, err := e.c.Introspect(t.Context(), fmt.Sprint("made-up-", i)); return err }())
		}
		unavailableFor(t, "open", func() error { _, err := e.c.Introspect(t.Context(), "made-up-open"); return err }())
		e.mode.Store(modeAnswer)
		close(e.gate)
		if err := <-slow; err != nil {
			t.Fatalf("the slow request: %v", err)
		}
		if _, err := e.c.Introspect(t.Context(), "good-after"); err != nil {
			t.Errorf("after a late answer: %v, want the breaker closed and the token asked", err)
		}
	})
}

// A clock stepped back while the breaker is open does not keep it open the
// step longer: a pause longer than the maximum ends at once.
func TestBreakerSurvivesClockStepBack(t *testing.T) {
	e := newFlakyEndpoint(t, modeReset, introspect.WithCircuitBreaker(1, 5*time.Second))
	unavailableFor(t, "failure", func() error { _, err := e.c.Introspect(t.Context(), "made-up"); return err }())
	e.clock.Advance(-time.Hour)
	e.mode.Store(modeAnswer)
	if _, err := e.c.Introspect(t.Context(), "good-after-step"); err != nil {
		t.Errorf("after the clock stepped back an hour: %v, want the probe to go out and be answered", err)
	}
}

// The endpoint's Retry-After counts its skipped tokens apart from the
// breaker's.
func TestSkippedForRetryAfterCounted(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	e := newQuietEndpoint(t, http.StatusTooManyRequests, "30", introspect.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	for i := range 11 {
		_, _ = e.c.Introspect(t.Context(), fmt.Sprint("made-up-", i))
	}
	if e.hits.Load() != 1 {
		t.Fatalf("%d requests, want 1", e.hits.Load())
	}
	if n := counterValue(t, reader, "bearerguard.introspection.skipped", "retry_after"); n != 10 {
		t.Errorf("skipped{reason=retry_after} = %d, want 10", n)
	}
	if n := counterValue(t, reader, "bearerguard.introspection.skipped", "breaker"); n != 0 {
		t.Errorf("skipped{reason=breaker} = %d, want 0: a 429 is an answer", n)
	}
}

// counterValue reads the Int64 sum name's data point whose one attribute
// has the value attr (0 if none).
func counterValue(t *testing.T, reader *sdkmetric.ManualReader, name, attr string) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if d, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == name {
				for _, p := range d.DataPoints {
					for _, a := range p.Attributes.ToSlice() {
						if a.Value.AsString() == attr {
							return p.Value
						}
					}
				}
			}
		}
	}
	return 0
}

func TestWithCircuitBreakerBounds(t *testing.T) {
	for _, tc := range []struct {
		failures int
		maxOpen  time.Duration
		ok       bool
	}{
		{0, 0, true},
		{1, time.Millisecond, true},
		{5, validator.MaxRetryAfter, true},
		{-1, time.Second, false},
		{3, 0, false},
		{3, time.Microsecond, false},
		{3, validator.MaxRetryAfter + time.Second, false},
	} {
		_, err := introspect.New("https://as.example/introspect", introspect.ClientSecretBasic("a", "b"), introspect.WithCircuitBreaker(tc.failures, tc.maxOpen))
		if (err == nil) != tc.ok {
			t.Errorf("WithCircuitBreaker(%d, %v): %v, want ok %v", tc.failures, tc.maxOpen, err, tc.ok)
		}
	}
}
