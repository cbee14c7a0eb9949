package introspect

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSharedSourceHungCall: a BearerToken source whose first call never
// returns, while a call made again answers at once. Every request joined
// the one hung call, and no opaque token was answered until a restart
// (found by the red-team review of the shared source). A call running
// longer than the request timeout is no longer joined: the next request makes
// another, at most maxSourceCalls at once.
func TestSharedSourceHungCall(t *testing.T) {
	const hung = 50 * time.Millisecond
	hang := make(chan struct{})
	defer close(hang)
	var calls atomic.Int32
	s := &sharedSource{hung: hung, source: func() (string, error) {
		if calls.Add(1) == 1 {
			<-hang // the first call never returns (until the test ends)
		}
		return "rs-token", nil
	}}
	ask := func(d time.Duration) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		return s.token(ctx)
	}
	if _, err := ask(20 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the hung call: %v", err)
	}
	time.Sleep(60 * time.Millisecond) // the first call is now taken for hung
	if tok, err := ask(time.Second); err != nil || tok != "rs-token" {
		t.Errorf("after the first call hung: %q, %v; want a new call's token", tok, err)
	}

	// A source that always hangs holds maxSourceCalls calls at most.
	always := make(chan struct{})
	defer close(always)
	var running atomic.Int32
	s = &sharedSource{hung: hung, source: func() (string, error) { running.Add(1); <-always; return "", nil }}
	var wg sync.WaitGroup
	for range 20 {
		time.Sleep(hung + 5*time.Millisecond)
		wg.Go(func() { _, _ = ask(10 * time.Millisecond) })
	}
	wg.Wait()
	if n := running.Load(); n != maxSourceCalls {
		t.Errorf("a source that always hangs was called %d times, want %d at most", n, maxSourceCalls)
	}
}

// TestSharedSourcePanicValueNotShown: a panic in a source is an error that
// names the panic's type, never its value, which may hold the credential.
func TestSharedSourcePanicValueNotShown(t *testing.T) {
	s := &sharedSource{source: func() (string, error) { panic("s3cr3t-client-credential") }}
	_, err := s.token(context.Background())
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "panicked (a string") {
		t.Errorf("a source's panic: %v", err)
	}
	if _, err := s.token(context.Background()); err == nil {
		t.Error("the next call: no error")
	}
}
