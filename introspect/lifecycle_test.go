package introspect_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/introspect"
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
