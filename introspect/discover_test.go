package introspect_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

func TestDiscoverEndpoint(t *testing.T) {
	iss := newIssuer(t)
	c, err := introspect.Discover(iss.URL, introspect.ClientSecretBasic(rsID, rsSecret), introspect.WithHTTPClient(iss.Client()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Introspect(t.Context(), iss.Opaque(t, nil)); err != nil {
		t.Fatalf("via discovery: %v", err)
	}
}

// TestConcurrentFirstCallsShareOneDiscovery: the first calls of a Client
// built with Discover share one discovery, and a caller with a short
// context does not wait for it.
func TestConcurrentFirstCallsShareOneDiscovery(t *testing.T) {
	iss := newGatedIssuer(t)
	c, err := introspect.Discover(iss.URL, introspect.ClientSecretBasic("a", "b"), introspect.WithHTTPClient(iss.Client()), introspect.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const callers = 20
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			if _, err := c.Introspect(t.Context(), fmt.Sprintf("tok-%d", i)); err != nil {
				t.Errorf("Introspect() = %v", err)
			}
		})
	}
	<-iss.arrived // the discovery is in flight, held by the issuer
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Introspect(ctx, "impatient"); !errors.Is(err, validator.ErrIntrospectionUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Introspect() with a 50 ms context during discovery = %v, want unavailable by its deadline", err)
	}
	iss.open()
	wg.Wait()
	if n := iss.discoveries.Load(); n != 1 {
		t.Errorf("%d concurrent first calls: %d discovery requests, want 1", callers, n)
	}
	if n := iss.introspected.Load(); n < callers {
		t.Errorf("%d introspection requests, want at least %d", n, callers)
	}
}

// TestDiscoveryRetrySpacing: a failed discovery is retried at most every
// 10 s; until then its error is the answer, without a request.
func TestDiscoveryRetrySpacing(t *testing.T) {
	iss := newGatedIssuer(t)
	iss.open()
	iss.failing.Store(true)
	clock := testclock.New(time.Now())
	c, err := introspect.Discover(iss.URL, introspect.ClientSecretBasic("a", "b"), introspect.WithHTTPClient(iss.Client()),
		introspect.WithClock(clock.Now), introspect.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	steps := []struct {
		advance     time.Duration
		heal        bool
		discoveries int64
		ok          bool
	}{
		{0, false, 1, false},
		{5 * time.Second, true, 1, false}, // healed, but within 10 s of the failure
		{4 * time.Second, false, 1, false},
		{2 * time.Second, false, 2, true}, // 11 s after the failure: asked again
		{time.Hour, false, 2, true},       // found once, kept
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		if s.heal {
			iss.failing.Store(false)
		}
		_, err := c.Introspect(t.Context(), fmt.Sprintf("tok-%d", i))
		if s.ok && err != nil {
			t.Fatalf("step %d: Introspect() = %v", i, err)
		}
		if !s.ok && !errors.Is(err, validator.ErrIntrospectionUnavailable) {
			t.Fatalf("step %d: Introspect() = %v, want unavailable", i, err)
		}
		if n := iss.discoveries.Load(); n != s.discoveries {
			t.Fatalf("step %d: %d discovery requests, want %d", i, n, s.discoveries)
		}
	}
}
