package introspect

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// within runs fn and fails the test if it has not returned after 10 s:
// a watchdog for calls that must not wait on a discovery in flight.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s is stuck behind the discovery in flight", what)
	}
}

// TestResolveHoldsNoLockAcrossDiscovery: while a discovery is in flight the
// Client's lock is free, a request with a short context gives up on time,
// and requests that need the endpoint meanwhile share that one discovery.
func TestResolveHoldsNoLockAcrossDiscovery(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	var discoveries atomic.Int64
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		discoveries.Add(1)
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "introspection_endpoint": srv.URL + "/introspect"})
	}))
	defer srv.Close()
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	defer open() // before srv.Close: the held request ends first
	c, err := Discover(srv.URL, ClientSecretBasic("a", "b"), WithHTTPClient(srv.Client()), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	type answer struct {
		endpoint string
		err      error
	}
	first := make(chan answer, 1)
	go func() {
		e, err := c.resolve(t.Context())
		first <- answer{e, err}
	}()
	<-arrived // the first request's discovery is in flight, held by the server

	within(t, "currentEndpoint", func() {
		if e := c.currentEndpoint(); e != "" {
			t.Errorf("currentEndpoint() = %q during discovery, want \"\"", e)
		}
	})
	short, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	within(t, "a request with a 20 ms context", func() {
		if _, err := c.resolve(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("resolve() with a short context = %v, want its deadline", err)
		}
	})
	const n = 10
	waiters := make(chan answer, n)
	for range n {
		go func() {
			e, err := c.resolve(t.Context())
			waiters <- answer{e, err}
		}()
	}
	open()
	want := srv.URL + "/introspect"
	if a := <-first; a.err != nil || a.endpoint != want {
		t.Errorf("first resolve() = %q, %v; want %q", a.endpoint, a.err, want)
	}
	for range n {
		if a := <-waiters; a.err != nil || a.endpoint != want {
			t.Errorf("concurrent resolve() = %q, %v; want %q", a.endpoint, a.err, want)
		}
	}
	if got := discoveries.Load(); got != 1 {
		t.Errorf("%d discovery requests, want 1", got)
	}
}
