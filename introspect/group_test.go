package introspect_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/leakcheck"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

func TestDoneContextStartsNoRequest(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		cause error
	}{
		{"canceled", canceled, context.Canceled},
		{"deadline exceeded", expired, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, requests := countingServer(t)
			c, err := introspect.New(srv.URL, introspect.ClientSecretBasic("a", "b"), introspect.WithHTTPClient(srv.Client()))
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for i := range 300 {
				wg.Go(func() {
					_, err := c.Introspect(tt.ctx, fmt.Sprintf("tok-%d", i))
					if !errors.Is(err, validator.ErrIntrospectionUnavailable) || !errors.Is(err, tt.cause) {
						t.Errorf("Introspect() = %v, want unavailable (%v)", err, tt.cause)
					}
				})
			}
			wg.Wait()
			c.Close() // waits for any request started
			if n := requests.Load(); n != 0 || c.Requests() != 0 {
				t.Errorf("300 callers with done contexts: server saw %d requests, client sent %d; want 0", n, c.Requests())
			}
		})
	}
}

func TestMaxConcurrentRequests(t *testing.T) {
	leakcheck.Check(t)
	const limit, callers = 4, 50
	var inFlight, peak, total atomic.Int64
	release := make(chan struct{})
	arrived := make(chan struct{}, callers+1) // one value per request, as it arrives
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		total.Add(1)
		arrived <- struct{}{}
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"active":true}`)
	}))
	defer srv.Close()
	c, err := introspect.New(srv.URL, introspect.ClientSecretBasic("a", "b"), introspect.WithHTTPClient(srv.Client()),
		introspect.WithMaxConcurrentRequests(limit), introspect.WithTimeout(30*time.Second), introspect.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			_, err := c.Introspect(ctx, fmt.Sprintf("tok-%d", i))
			if !errors.Is(err, validator.ErrIntrospectionUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Introspect() = %v, want unavailable (deadline exceeded)", err)
			}
		})
	}
	wg.Wait()
	// Every caller has given up, so no request can start any more; the
	// limit's worth that did start reach the server in their own time.
	for i := range limit {
		select {
		case <-arrived:
		case <-time.After(10 * time.Second): // a watchdog, not a wait for a state
			t.Fatalf("%d of the %d requests that took a slot reached the server", i, limit)
		}
	}
	if p, n := peak.Load(), total.Load(); p > limit || n != limit {
		t.Fatalf("%d callers, limit %d: server saw %d requests, at most %d at once; want %d, at most %d", callers, limit, n, p, limit, limit)
	}

	// Released, the requests end and give back their slots: nothing was
	// queued behind them, and a new caller gets through.
	close(release)
	if _, err := c.Introspect(t.Context(), "after"); err != nil {
		t.Fatalf("after release: %v", err)
	}
	c.Close()
	if n := total.Load(); n != limit+1 || c.Requests() != limit+1 {
		t.Errorf("after release: server saw %d requests, client sent %d; want %d", n, c.Requests(), limit+1)
	}
}

func TestMaxConcurrentRequestsKeepsCoalescing(t *testing.T) {
	srv, requests := countingServer(t)
	c, err := introspect.New(srv.URL, introspect.ClientSecretBasic("a", "b"), introspect.WithHTTPClient(srv.Client()),
		introspect.WithMaxConcurrentRequests(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			if _, err := c.Introspect(t.Context(), fmt.Sprintf("tok-%d", i%4)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := requests.Load(); n != 4 {
		t.Errorf("200 callers, 4 tokens, 1 slot: %d requests, want 4", n)
	}
}
