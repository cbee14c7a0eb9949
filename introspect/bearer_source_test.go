package introspect_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/leakcheck"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// TestBearerSourceThatHangs: a BearerToken source takes no context, and
// one that hung (a token fetch from a server that never answers) held
// every request without limit, past WithTimeout, and Close waited for it
// for ever. Now requests give up at their timeout, concurrent ones share
// the one call of the source (one goroutine held, not one per request),
// Close returns at once, and the call's goroutine ends when the source
// does. BearerTokenContext hands the source the request's context.
func TestBearerSourceThatHangs(t *testing.T) {
	leakcheck.Check(t)
	iss := newIssuer(t)
	rsToken := iss.Mint(t, bearertest.Claims{"aud": "authz", "client_id": rsID})
	const timeout = 300 * time.Millisecond

	t.Run("no context", func(t *testing.T) {
		release := make(chan struct{})
		var calls atomic.Int32
		c, err := introspect.New(iss.IntrospectionURL(), introspect.BearerToken(func() (string, error) {
			calls.Add(1)
			<-release
			return rsToken, nil
		}), introspect.WithHTTPClient(iss.Client()), introspect.WithTimeout(timeout), introspect.WithLogger(discard))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				_, err := c.Introspect(context.Background(), iss.Opaque(t, bearertest.Claims{"aud": audience, "jti": i}))
				if !errors.Is(err, validator.ErrIntrospectionUnavailable) {
					t.Errorf("request %d: %v, want unavailable", i, err)
				}
			})
		}
		wg.Wait()
		if d := time.Since(start); d > 5*timeout {
			t.Errorf("20 requests waiting on a source that hangs took %v with a %v timeout", d, timeout)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("the source was called %d times while its first call hung, want 1", n)
		}
		closed := make(chan struct{})
		go func() { c.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(2 * time.Second):
			t.Error("Close still waiting 2 s later for a request stuck in the source")
		}
		close(release) // the source returns: its goroutine ends (leakcheck)
		<-closed
	})

	t.Run("with a context", func(t *testing.T) {
		var sawDeadline atomic.Bool
		c, err := introspect.New(iss.IntrospectionURL(), introspect.BearerTokenContext(func(ctx context.Context) (string, error) {
			_, ok := ctx.Deadline()
			sawDeadline.Store(ok)
			<-ctx.Done()
			return "", ctx.Err()
		}), introspect.WithHTTPClient(iss.Client()), introspect.WithTimeout(timeout), introspect.WithLogger(discard))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		if _, err := c.Introspect(context.Background(), iss.Opaque(t, bearertest.Claims{"aud": audience})); !errors.Is(err, validator.ErrIntrospectionUnavailable) {
			t.Errorf("Introspect: %v, want unavailable", err)
		}
		if d := time.Since(start); d > 5*timeout || !sawDeadline.Load() {
			t.Errorf("the source got a deadline: %v; the request took %v with a %v timeout", sawDeadline.Load(), d, timeout)
		}
	})

	t.Run("a source that panics", func(t *testing.T) {
		c, err := introspect.New(iss.IntrospectionURL(), introspect.BearerToken(func() (string, error) { panic("token cache broken") }),
			introspect.WithHTTPClient(iss.Client()), introspect.WithLogger(discard))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Introspect(t.Context(), iss.Opaque(t, bearertest.Claims{"aud": audience})); !errors.Is(err, validator.ErrIntrospectionUnavailable) {
			t.Errorf("Introspect: %v, want unavailable", err)
		}
	})

	if _, err := introspect.New(iss.IntrospectionURL(), introspect.BearerTokenContext(nil)); err == nil {
		t.Error("BearerTokenContext(nil): no error")
	}
}
