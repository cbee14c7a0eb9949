package introspect_test

import (
	"context"
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
	srv  *httptest.Server
	mode atomic.Int32
	evil atomic.Bool // reset "evil-…" tokens whatever the mode
	// probeActive answers introspect.ProbeToken active, as a server that
	// answers every token active would
	probeActive atomic.Bool
	hits        atomic.Int64 // requests, probes included
	probes      atomic.Int64 // requests about introspect.ProbeToken
	gate        chan struct{}
	held        chan struct{} // one value per request held by modeGate
	clock       *testclock.Clock
	logs        *testlog.Buffer
	c           *introspect.Client
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
		tok := r.PostForm.Get("token")
		if tok == introspect.ProbeToken {
			e.probes.Add(1)
		}
		mode := e.mode.Load()
		if e.evil.Load() && strings.HasPrefix(tok, "evil-") {
			mode = modeReset
		}
		switch mode {
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
			if tok != introspect.ProbeToken || len(e.held) == 0 {
				e.held <- struct{}{}
				select {
				case <-e.gate:
				case <-r.Context().Done():
					return
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(tok, "good-") || (tok == introspect.ProbeToken && e.probeActive.Load()) {
			fmt.Fprintf(w, `{"active":true,"aud":"api","token_type":"Bearer","exp":%d}`, time.Now().Add(time.Hour).Unix())
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
	return e.newClientAuth(t, endpoint, introspect.ClientSecretBasic("a", "b"), opts...)
}

func (e *flakyEndpoint) newClientAuth(t *testing.T, endpoint string, auth introspect.ClientAuth, opts ...introspect.Option) *introspect.Client {
	t.Helper()
	c, err := introspect.New(endpoint, auth, append([]introspect.Option{
		introspect.WithClock(e.clock.Now), introspect.WithInsecureLoopbackHTTP(), introspect.WithTimeout(breakerTimeout),
		introspect.WithLogger(slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The breaker's log lines, which the tests wait for: the probes run on
// goroutines of the client's.
const (
	logOpened = "answered neither the last requests nor a probe"
	logClosed = "answers again"
)

// waitLog waits until the client's log holds n lines containing what.
func (e *flakyEndpoint) waitLog(t *testing.T, what string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(e.logs.String(), what) < n {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %d log lines %q; log:\n%s", n, what, e.logs)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *flakyEndpoint) ask(c *introspect.Client, tok string) error {
	_, err := c.Introspect(context.Background(), tok)
	return err
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

// silentTCP returns an https URL on loopback whose listener accepts TCP
// connections and never writes a byte: a TLS terminator whose backend is
// gone, a hung process that still accepts.
func silentTCP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return "https://" + ln.Addr().String()
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

// An endpoint that gives no answer at all (refused, reset, timed out) to
// the configured requests in a row, and none to the probe that follows,
// opens the breaker: uncached tokens are then answered unavailable at once,
// with a Retry-After, without a request; when the pause ends, the next
// call starts a probe, and its answer closes the breaker.
func TestBreakerOpensOnNoAnswer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     int32
		refused  bool                            // the client asks a port where nothing listens
		endpoint func(t *testing.T) (url string) // the client asks this instead
	}{
		{name: "reset", mode: modeReset},
		{name: "timeout", mode: modeHang},
		{name: "refused", refused: true},
		{name: "TLS handshake never answered", endpoint: silentTCP},
		{name: "dial into a blackhole", endpoint: blackhole},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reader := sdkmetric.NewManualReader()
			opts := []introspect.Option{introspect.WithCircuitBreaker(3, 10*time.Second), introspect.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))}
			e := newFlakyEndpoint(t, tc.mode, opts...)
			c := e.c
			if tc.refused {
				c = e.newClient(t, refusedURL(t), opts...)
			}
			if tc.endpoint != nil {
				c = e.newClient(t, tc.endpoint(t), opts...)
				tc.refused = true // nothing there will ever answer
			}
			for i := range 3 {
				unavailableFor(t, fmt.Sprintf("failure %d", i), e.ask(c, fmt.Sprintf("made-up-%d", i)))
			}
			e.waitLog(t, logOpened, 1)
			if n := c.Requests(); n != 4 {
				t.Fatalf("%d requests for the first 3 tokens, want 4: theirs and one probe", n)
			}
			if !tc.refused && e.probes.Load() != 1 {
				t.Fatalf("%d probes reached the endpoint, want 1", e.probes.Load())
			}
			start := time.Now()
			for i := range 50 {
				if ra := unavailableFor(t, "while open", e.ask(c, fmt.Sprintf("other-%d", i))); ra <= 0 || ra > time.Second {
					t.Fatalf("while open: Retry-After %v, want the pause left, (0, 1s]", ra)
				}
			}
			if n := c.Requests(); n != 4 {
				t.Errorf("50 tokens while open: %d requests in all, want still 4", n)
			}
			if d := time.Since(start); d > breakerTimeout {
				t.Errorf("50 tokens while open took %v: each should be answered at once, not after a timeout", d)
			}
			if n := counterValue(t, reader, "bearerguard.introspection.skipped", "breaker"); n != 50 {
				t.Errorf("bearerguard.introspection.skipped{reason=breaker} = %d, want 50", n)
			}
			if tc.refused {
				return // nothing will ever listen there: TestBreakerProbe covers healing
			}

			e.mode.Store(modeAnswer)
			e.clock.Advance(time.Second)
			if ra := unavailableFor(t, "the call that starts the probe", e.ask(c, "healed-0")); ra != breakerTimeout {
				t.Errorf("while the probe is out: Retry-After %v, want the request timeout %v", ra, breakerTimeout)
			}
			e.waitLog(t, logClosed, 1)
			for i := range 5 {
				if err := e.ask(c, fmt.Sprintf("healed-%d", i)); !errors.Is(err, validator.ErrInactive) {
					t.Fatalf("after the probe's answer, token %d: %v, want an answer (inactive)", i, err)
				}
			}
			if n := c.Requests(); n != 10 {
				t.Errorf("%d requests in all, want 10: 4, one probe, then every token asked again", n)
			}
		})
	}
}

// The probes ask about introspect.ProbeToken, never a caller's token: an
// endpoint (or a firewall before it) that resets the connection for some
// tokens only never opens the breaker, however many of them come, and the
// probes they call for are one at a time.
func TestBreakerIgnoresTokenDependentFailures(t *testing.T) {
	e := newFlakyEndpoint(t, modeAnswer, introspect.WithCircuitBreaker(3, 10*time.Second))
	e.evil.Store(true)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 30 {
				err := e.ask(e.c, fmt.Sprintf("evil-%d-%d", w, i))
				if errors.Is(err, validator.ErrIntrospectionUnavailable) && strings.Contains(err.Error(), "circuit breaker") {
					t.Errorf("evil token refused by the breaker: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := e.ask(e.c, "good-after"); err != nil {
		t.Errorf("a good token after 120 reset ones: %v, want it answered", err)
	}
	if p := e.probes.Load(); p == 0 || p > 40 {
		t.Errorf("%d probes for 120 failures in a row, threshold 3: want some, at most one per 3 failures", p)
	}
	if strings.Contains(e.logs.String(), logOpened) {
		t.Errorf("the breaker opened; log:\n%s", e.logs)
	}
}

// While the probe is out every other uncached token is answered at once,
// with the request timeout as its Retry-After; a probe without an answer
// pauses the client for twice as long as the pause before, up to the
// maximum; a probe's answer closes the breaker and resets the pause; a step
// of the clock back never makes a pause or its Retry-After longer.
func TestBreakerProbe(t *testing.T) {
	e := newFlakyEndpoint(t, modeReset, introspect.WithCircuitBreaker(2, 3*time.Second))
	for i := range 2 {
		unavailableFor(t, "failure", e.ask(e.c, fmt.Sprint("made-up-", i)))
	}
	e.waitLog(t, logOpened, 1)
	// Each probe without an answer doubles the pause: 1 s, then 2 s, then
	// 3 s (the maximum), then 3 s again.
	for i, pause := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second} {
		if ra := unavailableFor(t, "open", e.ask(e.c, "made-up")); ra != pause {
			t.Fatalf("Retry-After %v, want the whole pause %v", ra, pause)
		}
		e.clock.Advance(pause - time.Millisecond)
		before := e.hits.Load()
		unavailableFor(t, "a millisecond before the pause ends", e.ask(e.c, "made-up"))
		e.clock.Advance(-time.Minute) // a step back: the pause ends rather than last the step longer
		if ra := unavailableFor(t, "after a step back", e.ask(e.c, "made-up")); ra != breakerTimeout {
			t.Fatalf("after the clock stepped back a minute: Retry-After %v, want the probe's %v (the pause ended)", ra, breakerTimeout)
		}
		e.waitLog(t, logOpened, i+2)
		if e.hits.Load() != before+1 || e.probes.Load() != int64(i+2) {
			t.Fatalf("the pause of %v ended: %d requests, want one probe", pause, e.hits.Load()-before)
		}
	}

	// The probe is held by the endpoint: meanwhile nothing else goes out.
	e.mode.Store(modeGate)
	e.clock.Advance(3 * time.Second)
	unavailableFor(t, "the call that starts the probe", e.ask(e.c, "good-0"))
	<-e.held
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if ra := unavailableFor(t, "while the probe is out", e.ask(e.c, fmt.Sprint("good-", i))); ra != breakerTimeout {
				t.Errorf("while the probe is out: Retry-After %v, want the request timeout %v", ra, breakerTimeout)
			}
		})
	}
	wg.Wait()
	if n := e.hits.Load(); n != 8 { // 2 failures, 5 probes without an answer (the first opened it), this probe
		t.Fatalf("%d requests reached the endpoint, want 8: none beside the probe", n)
	}
	close(e.gate)
	e.waitLog(t, logClosed, 1)
	if err := e.ask(e.c, "good-1"); err != nil {
		t.Fatalf("after the probe's answer: %v, want the token asked and active", err)
	}
	// Closed, with the pause back to 1 s.
	e.mode.Store(modeReset)
	for i := range 2 {
		unavailableFor(t, "failure after closing", e.ask(e.c, fmt.Sprint("made-up-again-", i)))
	}
	e.waitLog(t, logOpened, 6)
	if ra := unavailableFor(t, "open again", e.ask(e.c, "made-up")); ra != time.Second {
		t.Errorf("open again after an answer: Retry-After %v, want the first pause, 1s", ra)
	}
}

// A probe that panics (a client authentication source's, here) or cannot
// be sent tells nothing: the breaker stays open, and the next call after
// the pause starts another probe.
func TestBreakerProbePanics(t *testing.T) {
	var panics atomic.Bool
	auth := introspect.BearerTokenContext(func(context.Context) (string, error) {
		if panics.Load() {
			panic("a bug in the token source")
		}
		return "rs-token", nil
	})
	e := newFlakyEndpoint(t, modeReset)
	c := e.newClientAuth(t, e.srv.URL, auth, introspect.WithCircuitBreaker(2, 10*time.Second))
	for i := range 2 {
		unavailableFor(t, "failure", e.ask(c, fmt.Sprint("made-up-", i)))
	}
	e.waitLog(t, logOpened, 1)
	panics.Store(true)
	e.mode.Store(modeAnswer)
	e.clock.Advance(time.Second)
	unavailableFor(t, "the call that starts the panicking probe", e.ask(c, "made-up"))
	time.Sleep(50 * time.Millisecond) // the probe panics before it sends anything
	panics.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.logs.String(), logClosed) {
		if time.Now().After(deadline) {
			t.Fatalf("no probe after the one that panicked: the breaker is stuck; log:\n%s", e.logs)
		}
		_ = e.ask(c, "made-up") // starts the next probe once the one that panicked has ended
		time.Sleep(5 * time.Millisecond)
	}
	if e.probes.Load() != 2 {
		t.Errorf("%d probes reached the endpoint, want 2 (the one that opened the breaker, the one that closed it): the one that panicked sent nothing", e.probes.Load())
	}
	e.waitLog(t, logClosed, 1)
	if err := e.ask(c, "good-after"); err != nil {
		t.Errorf("after a probe's answer: %v, want the token asked", err)
	}
}

// A probe that hangs somewhere that ignores its deadline (a client
// authentication source or signer on a dead connection) is given up on
// after twice the request timeout: the next call starts another probe.
// At most 4 probes are alive at once; while 4 hang, callers' requests go
// out instead, and the first answer closes the breaker.
func TestBreakerHungProbeGivenUp(t *testing.T) {
	var hang atomic.Bool
	release := make(chan struct{})
	var hung, calls atomic.Int64
	auth := introspect.BearerTokenContext(func(context.Context) (string, error) {
		calls.Add(1)
		if hang.Load() && hung.Add(1) <= 4 { // the first four calls hang, ignoring their context
			<-release
		}
		return "rs-token", nil
	})
	e := newFlakyEndpoint(t, modeReset)
	c := e.newClientAuth(t, e.srv.URL, auth, introspect.WithCircuitBreaker(2, 10*time.Second))
	t.Cleanup(func() { close(release) }) // before Close, which waits for the hung probes
	for i := range 2 {
		unavailableFor(t, "failure", e.ask(c, fmt.Sprint("made-up-", i)))
	}
	e.waitLog(t, logOpened, 1)
	e.mode.Store(modeAnswer)
	hang.Store(true)
	e.clock.Advance(time.Second)
	before := calls.Load()
	// Probes hang one after another, each given up on after twice the
	// timeout; with the fourth hung, a caller's request goes out, is
	// answered, and closes the breaker.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.logs.String(), logClosed) {
		if time.Now().After(deadline) {
			t.Fatalf("the breaker never closed while probes hung and the endpoint answered; log:\n%s", e.logs)
		}
		if err := e.ask(c, "made-up"); err != nil && !errors.Is(err, validator.ErrInactive) { // inactive: a caller's request went out
			if ra := unavailableFor(t, "while probes hang", err); ra <= 0 || ra > breakerTimeout {
				t.Fatalf("while probes hang: Retry-After %v, want (0, %v]", ra, breakerTimeout)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := hung.Load(); n < 4 {
		t.Errorf("%d calls of the source hung, want 4 (the probes) before the breaker closed", n)
	}
	if n := calls.Load() - before; n < 5 {
		t.Errorf("%d calls of the source after the pause, want 4 hung probes and a caller's request", n)
	}
	if err := e.ask(c, "good-after"); err != nil {
		t.Errorf("after the breaker closed: %v, want the token asked", err)
	}
}

// A request that never reached the endpoint (its deadline passed in a slow
// token source, or while it waited for a connection of a capped pool that
// other requests held) is no evidence that the endpoint answers nothing:
// it counts for no failure, and a probe that fared so opens nothing.
func TestBreakerCountsOnlyRequestsThatReachedTheEndpoint(t *testing.T) {
	t.Run("slow token source", func(t *testing.T) {
		var slow atomic.Bool
		auth := introspect.BearerTokenContext(func(context.Context) (string, error) {
			if slow.Load() {
				time.Sleep(2 * breakerTimeout) // returns, late
			}
			return "rs-token", nil
		})
		e := newFlakyEndpoint(t, modeAnswer)
		c := e.newClientAuth(t, e.srv.URL, auth, introspect.WithCircuitBreaker(2, 10*time.Second))
		slow.Store(true)
		for i := range 4 {
			unavailableFor(t, "a request whose source is late", e.ask(c, fmt.Sprint("made-up-", i)))
		}
		time.Sleep(3 * breakerTimeout) // a probe, had one started, would have ended
		if e.hits.Load() != 0 || strings.Contains(e.logs.String(), logOpened) {
			t.Errorf("%d requests reached the endpoint; log:\n%s\nwant none, and the breaker closed", e.hits.Load(), e.logs)
		}
		slow.Store(false)
		if err := e.ask(c, "good-after"); err != nil {
			t.Errorf("after the source recovered: %v, want the token asked", err)
		}
	})
	t.Run("capped pool held by hanging requests", func(t *testing.T) {
		e := newFlakyEndpoint(t, modeAnswer)
		e.evil.Store(false)
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxConnsPerHost = 2
		t.Cleanup(tr.CloseIdleConnections)
		c := e.newClient(t, e.srv.URL, introspect.WithCircuitBreaker(2, 10*time.Second), introspect.WithHTTPClient(&http.Client{Transport: tr}))
		// The endpoint hangs on these tokens, and only on these.
		hangSrv := e.srv.Config.Handler
		e.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.FormValue("token"), "slow-") {
				<-r.Context().Done()
				return
			}
			hangSrv.ServeHTTP(w, r)
		})
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range 4 {
					err := e.ask(c, fmt.Sprintf("slow-%d-%d", w, i))
					if err != nil && strings.Contains(err.Error(), "circuit breaker") {
						t.Errorf("a caller refused by the breaker: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		if strings.Contains(e.logs.String(), logOpened) {
			t.Errorf("tokens the endpoint hangs on opened the breaker through a capped pool; log:\n%s", e.logs)
		}
		if err := e.ask(c, "good-after"); err != nil {
			t.Errorf("a good token after the flood: %v, want it answered", err)
		}
	})
}

// A logger that panics on the breaker's records, which the probe's own
// goroutine writes, ends no process, and the breaker's state is kept.
func TestBreakerLoggerPanics(t *testing.T) {
	e := newFlakyEndpoint(t, modeReset)
	c := e.newClient(t, e.srv.URL, introspect.WithCircuitBreaker(2, 10*time.Second),
		introspect.WithLogger(slog.New(panickingHandler{})))
	for i := range 2 {
		unavailableFor(t, "failure", e.ask(c, fmt.Sprint("made-up-", i)))
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.probes.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no probe")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the probe has ended, and its log record panicked
	before := e.hits.Load()
	if ra := unavailableFor(t, "open", e.ask(c, "made-up")); ra <= 0 || ra > time.Second || e.hits.Load() != before {
		t.Errorf("after the logger panicked: Retry-After %v and %d requests, want the breaker open: (0, 1s] and none", ra, e.hits.Load()-before)
	}
}

// panickingHandler is a slog handler with a bug: it panics on every record.
type panickingHandler struct{}

func (panickingHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (panickingHandler) Handle(context.Context, slog.Record) error { panic("a bug in the log handler") }
func (h panickingHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h panickingHandler) WithGroup(string) slog.Handler           { return h }

// Only the absence of an answer counts: an endpoint that answers, however
// badly (statuses a malformed token can draw from a server, an error page,
// a body too large, no JSON), never calls for a probe nor opens the
// breaker.
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
				t.Errorf("20 tokens answered %s: %d requests, want 20 (no probe, the breaker closed)", tc.name, n)
			}
		})
	}
}

// Cached answers are served while the breaker is open; a client with the
// breaker turned off asks for every token and sends no probe; a request
// that went out before the breaker opened is joined by its token's other
// callers, and its answer closes the breaker; a closed client answers
// ErrClosed, not the breaker's pause.
func TestBreakerCachedOffLateAnswerAndClose(t *testing.T) {
	t.Run("cached", func(t *testing.T) {
		e := newFlakyEndpoint(t, modeAnswer, introspect.WithCircuitBreaker(2, time.Minute))
		if err := e.ask(e.c, "good-cached"); err != nil {
			t.Fatal(err)
		}
		e.mode.Store(modeReset)
		for i := range 2 {
			unavailableFor(t, "failure", e.ask(e.c, fmt.Sprint("made-up-", i)))
		}
		e.waitLog(t, logOpened, 1)
		unavailableFor(t, "open", e.ask(e.c, "made-up-open"))
		if err := e.ask(e.c, "good-cached"); err != nil {
			t.Errorf("a cached active answer while the breaker is open: %v, want it served", err)
		}
		if n := e.hits.Load(); n != 4 {
			t.Errorf("%d requests, want 4 (one answered, two failures, one probe)", n)
		}
	})
	t.Run("off", func(t *testing.T) {
		e := newFlakyEndpoint(t, modeReset, introspect.WithCircuitBreaker(0, 0))
		for i := range 20 {
			unavailableFor(t, "failure", e.ask(e.c, fmt.Sprint("made-up-", i)))
		}
		if n, p := e.hits.Load(), e.probes.Load(); n != 20 || p != 0 {
			t.Errorf("breaker off: %d requests and %d probes for 20 tokens, want 20 and 0", n, p)
		}
	})
	t.Run("late answer", func(t *testing.T) {
		e := newFlakyEndpoint(t, modeGate, introspect.WithCircuitBreaker(2, time.Minute))
		slow := make(chan error, 2)
		go func() { slow <- e.ask(e.c, "good-slow") }()
		<-e.held
		e.mode.Store(modeReset)
		for i := range 2 {
			unavailableFor(t, "failure", e.ask(e.c, fmt.Sprint("made-up-", i)))
		}
		e.waitLog(t, logOpened, 1)
		unavailableFor(t, "open", e.ask(e.c, "made-up-open"))
		go func() { slow <- e.ask(e.c, "good-slow") }() // joins the request in flight
		time.Sleep(20 * time.Millisecond)
		e.mode.Store(modeAnswer)
		close(e.gate)
		for range 2 {
			if err := <-slow; err != nil {
				t.Fatalf("a caller of the slow request: %v, want its answer", err)
			}
		}
		if err := e.ask(e.c, "good-after"); err != nil {
			t.Errorf("after a late answer: %v, want the breaker closed and the token asked", err)
		}
	})
	t.Run("closed client", func(t *testing.T) {
		e := newFlakyEndpoint(t, modeReset, introspect.WithCircuitBreaker(1, time.Minute))
		unavailableFor(t, "failure", e.ask(e.c, "made-up"))
		e.waitLog(t, logOpened, 1)
		e.c.Close()
		if err := e.ask(e.c, "made-up-after-close"); !errors.Is(err, introspect.ErrClosed) {
			t.Errorf("after Close with the breaker open: %v, want ErrClosed", err)
		}
	})
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
