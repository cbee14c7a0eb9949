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

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// WaitReady returns when its ctx ends, also while the discovery it started
// waits for an issuer that accepted the connection and never answers (it
// used to wait the client's whole request timeout).
func TestWaitReadyEndsWithItsContextDuringDiscovery(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := introspect.Discover(srv.URL, introspect.ClientSecretBasic("a", "b"),
		introspect.WithInsecureLoopbackHTTP(), introspect.WithTimeout(5*time.Second), introspect.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = c.WaitReady(ctx)
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > 2*time.Second {
		t.Errorf("WaitReady(200 ms) = %v after %v, want the deadline's error when it ends", err, took)
	}
}

// panicOnce is a RoundTripper (a caller's instrumented or proxy transport)
// that panics once, then works.
type panicOnce struct {
	base     http.RoundTripper
	panicked atomic.Bool
}

func (p *panicOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	if p.panicked.CompareAndSwap(false, true) {
		panic("transport bug")
	}
	return p.base.RoundTrip(r)
}

// A panic during discovery is the discovery's error, retried after the
// discovery retry spacing: it left the discovery in flight for good, and
// every later request waited for it until its own deadline.
func TestDiscoveryPanicIsAnError(t *testing.T) {
	iss := newGatedIssuer(t)
	iss.open()
	clock := testclock.New(time.Now())
	c, err := introspect.Discover(iss.URL, introspect.ClientSecretBasic("a", "b"), introspect.WithClock(clock.Now),
		introspect.WithHTTPClient(&http.Client{Transport: &panicOnce{base: iss.Client().Transport}}),
		introspect.WithTimeout(2*time.Second), introspect.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Introspect(t.Context(), "tok-0"); err == nil {
		t.Fatal("introspection through a panicking transport succeeded")
	}
	clock.Advance(time.Hour) // past the discovery retry spacing
	if _, err := c.Introspect(t.Context(), "tok-1"); err != nil {
		t.Errorf("an hour later, transport healthy: %v", err)
	}
	if !c.Ready() {
		t.Errorf("client not ready after a discovery that succeeded")
	}
}

// A signed answer (RFC 9701) addressed to another resource server is
// refused when the audience is left "": it then defaults to the client id
// that authenticates (§5: aud identifies the receiving resource server).
func TestSignedResponseAudienceDefaultsToClientID(t *testing.T) {
	iss := newIssuer(t)
	c, err := introspect.Discover(iss.URL, introspect.ClientSecretBasic(rsID, rsSecret), introspect.WithHTTPClient(iss.Client()),
		introspect.WithSignedResponses("", iss.KeySet(t), ""), introspect.WithLogger(discard), introspect.WithMaxTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tt := range []struct {
		aud  string
		want bool
	}{
		{"some-other-resource-server", false},
		{rsID, true},
	} {
		iss.SetIntrospectionHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			jwt := iss.Mint(t, bearertest.Claims{"iss": iss.URL, "aud": tt.aud, "token_introspection": map[string]any{"active": true, "aud": audience}},
				bearertest.WithHeader("typ", "token-introspection+jwt"))
			w.Header().Set("Content-Type", "application/token-introspection+jwt")
			_, _ = w.Write([]byte(jwt))
		}))
		tok, err := c.Introspect(t.Context(), "opaque-"+tt.aud)
		if got := err == nil && tok != nil; got != tt.want {
			t.Errorf("signed answer with aud %q: accepted %v (%v), want %v", tt.aud, got, err, tt.want)
		}
	}
}

// An endpoint's Retry-After (429 or 503) paces the client: until it ends
// (at most validator.MaxRetryAfter), uncached tokens are answered
// unavailable without a request, with the time left; cached answers are
// still served; then requests resume.
func TestRetryAfterPacesIntrospection(t *testing.T) {
	var hits atomic.Int64
	var limited atomic.Bool
	limited.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if limited.Load() {
			w.Header().Set("Retry-After", "86400")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"active":false}`))
	}))
	defer srv.Close()
	clock := testclock.New(time.Now())
	c, err := introspect.New(srv.URL, introspect.ClientSecretBasic("a", "b"), introspect.WithClock(clock.Now),
		introspect.WithInsecureLoopbackHTTP(), introspect.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 200 {
		_, err := c.Introspect(t.Context(), fmt.Sprintf("made-up-%d", i))
		var ue *validator.UnavailableError
		if !errors.As(err, &ue) || ue.RetryAfter <= 0 || ue.RetryAfter > validator.MaxRetryAfter {
			t.Fatalf("token %d: %v, want unavailable with a Retry-After of at most a minute", i, err)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("200 made-up tokens after a 429 with Retry-After: %d requests, want 1", n)
	}
	limited.Store(false)
	clock.Advance(validator.MaxRetryAfter + time.Second) // the quiet ends at the cap, not a day later
	if _, err := c.Introspect(t.Context(), "made-up-after"); !errors.Is(err, validator.ErrInactive) {
		t.Errorf("after the quiet: %v, want an answer (inactive)", err)
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("after the quiet: %d requests in all, want 2", n)
	}
}
