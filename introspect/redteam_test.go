package introspect_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// An introspection request carries the token, and with client_secret_post
// the client's secret, in its body: net/http resends that body on a 307
// or 308 to wherever Location points, and a 302 turns the request into a
// GET of another document. No redirect is followed: a 3xx is no answer,
// and the token is unavailable (503), never decided by another host.
func TestIntrospectionRedirectsNotFollowed(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var mu sync.Mutex
			var got url.Values
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				got, _ = url.ParseQuery(string(b))
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"active":true,"aud":"orders","sub":"admin"}`)
			}))
			t.Cleanup(other.Close)
			// "localhost", not "127.0.0.1": another host to net/http.
			target := strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + "/steal"
			as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target, status)
			}))
			t.Cleanup(as.Close)
			c, err := introspect.New(as.URL, introspect.ClientSecretPost("rs", "the-client-secret"),
				introspect.WithInsecureLoopbackHTTP(), introspect.WithLogger(discard))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			tok, err := c.Introspect(t.Context(), "users-opaque-token")
			if !errors.Is(err, validator.ErrIntrospectionUnavailable) {
				t.Errorf("err = %v (token %v), want unavailable", err, tok)
			}
			mu.Lock()
			defer mu.Unlock()
			if got != nil {
				t.Errorf("the redirect was followed: the other host got client_secret=%q token=%q", got.Get("client_secret"), got.Get("token"))
			}
		})
	}
}

// A signed response (RFC 9701) that is not fresh is a recording: replayed
// by whoever sits between the resource server and the authorization
// server (the threat signed responses are for), it would outlive a
// revocation and answer for any token. "iat" must be within the last two
// minutes (one minute of skew), and an "exp" must not have passed.
func TestSignedResponseMustBeFresh(t *testing.T) {
	iss := newIssuer(t)
	c, err := introspect.Discover(iss.URL, introspect.ClientSecretBasic(rsID, rsSecret), introspect.WithHTTPClient(iss.Client()),
		introspect.WithSignedResponses("", iss.KeySet(t), rsID), introspect.WithLogger(discard), introspect.WithMaxTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	now := time.Now()
	tests := []struct {
		name  string
		iat   any // nil: absent
		exp   time.Duration
		fresh bool
	}{
		{"iat now", now.Unix(), time.Minute, true},
		{"iat 90 s ago", now.Add(-90 * time.Second).Unix(), time.Minute, true},
		{"iat 30 s ahead", now.Add(30 * time.Second).Unix(), time.Minute, true},
		{"iat 3 min ago", now.Add(-3 * time.Minute).Unix(), time.Minute, false},
		{"iat a year ago", now.Add(-365 * 24 * time.Hour).Unix(), time.Minute, false},
		{"iat 2 min ahead", now.Add(2 * time.Minute).Unix(), time.Minute, false},
		{"no iat", nil, time.Minute, false},
		{"exp 2 min ago", now.Unix(), -2 * time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer := iss.Mint(t, bearertest.Claims{"iss": iss.URL, "aud": rsID, "iat": tt.iat, "sub": nil, "client_id": nil, "jti": nil,
				"token_introspection": map[string]any{"active": true, "aud": audience, "sub": "alice"}},
				bearertest.WithHeader("typ", "token-introspection+jwt"), bearertest.ExpiresIn(tt.exp))
			iss.SetIntrospectionHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/token-introspection+jwt")
				fmt.Fprint(w, answer)
			}))
			tok, err := c.Introspect(t.Context(), "any-token")
			switch {
			case tt.fresh && (err != nil || tok == nil || tok.Subject != "alice"):
				t.Errorf("fresh answer: %v, %v", tok, err)
			case !tt.fresh && !errors.Is(err, validator.ErrIntrospectionUnavailable):
				t.Errorf("stale answer: %v, %v; want unavailable", tok, err)
			}
		})
	}
}

// The cache is bounded in entries, and an entry keeps its whole answer:
// answers over 32 KiB are used but not kept, so that the cache is bounded
// in bytes too. Each use of a large answer asks again.
func TestLargeAnswersNotCached(t *testing.T) {
	for _, tt := range []struct {
		name  string
		pad   int
		asked int32
	}{
		{"4 KiB answer", 4 << 10, 1},
		{"40 KiB answer", 40 << 10, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var asked atomic.Int32
			pad := strings.Repeat("a", tt.pad)
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				asked.Add(1)
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"active":true,"aud":"orders","sub":"alice","profile":%q}`, pad)
			}))
			t.Cleanup(srv.Close)
			c, err := introspect.New(srv.URL, introspect.ClientSecretBasic("rs", "s"), introspect.WithHTTPClient(srv.Client()), introspect.WithLogger(discard))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for range 3 {
				if tok, err := c.Introspect(t.Context(), "tok"); err != nil || tok.Subject != "alice" {
					t.Fatalf("%v, %v", tok, err)
				}
			}
			if got := asked.Load(); got != tt.asked {
				t.Errorf("asked %d times for 3 uses, want %d", got, tt.asked)
			}
		})
	}
}

// A caller waits for a request slot at most the request timeout, not as
// long as its context allows (a server's request context has no
// deadline): with a slow endpoint, a flood of distinct made-up tokens
// cannot build a queue that a real token waits behind without bound. Here
// six unknown tokens hold one slot of a 1 s timeout; the good token is
// answered, or refused as unavailable, within about one timeout.
func TestSlotWaitBounded(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("token") == "good" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"active":true}`)
			return
		}
		select { // slow for the others
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	c, err := introspect.New(srv.URL, introspect.ClientSecretBasic("rs", "s"), introspect.WithHTTPClient(srv.Client()),
		introspect.WithMaxConcurrentRequests(1), introspect.WithTimeout(time.Second), introspect.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() { _, _ = c.Introspect(context.Background(), fmt.Sprintf("junk-%d", i)) })
		time.Sleep(20 * time.Millisecond) // queue in order
	}
	start := time.Now()
	_, err = c.Introspect(context.Background(), "good")
	waited := time.Since(start)
	wg.Wait()
	if waited > 2500*time.Millisecond {
		t.Errorf("a good token waited %v behind a queue of unknown tokens (err %v); want about one request timeout at most", waited.Round(100*time.Millisecond), err)
	}
}

// A signed answer is cached until the earliest of the token's "exp", the
// maximum TTL and the signed response's own "exp": past that the answer is
// asked again, never served from the cache.
func TestSignedAnswerNotCachedPastItsExp(t *testing.T) {
	iss := newIssuer(t)
	clock := testclock.New(time.Now())
	c, err := introspect.Discover(iss.URL, introspect.ClientSecretBasic(rsID, rsSecret), introspect.WithHTTPClient(iss.Client()),
		introspect.WithSignedResponses("", iss.KeySet(t), rsID), introspect.WithLogger(discard),
		introspect.WithMaxTTL(time.Minute), introspect.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	answer := iss.Mint(t, bearertest.Claims{"iss": iss.URL, "aud": rsID, "iat": clock.Now().Unix(), "sub": nil, "client_id": nil, "jti": nil,
		"token_introspection": map[string]any{"active": true, "aud": audience, "sub": "alice"}},
		bearertest.WithHeader("typ", "token-introspection+jwt"), bearertest.ExpiresIn(10*time.Second))
	var asked atomic.Int32
	iss.SetIntrospectionHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Header().Set("Content-Type", "application/token-introspection+jwt")
		fmt.Fprint(w, answer)
	}))
	for _, step := range []struct {
		advance time.Duration
		asked   int32
	}{
		{0, 1},                // asked
		{5 * time.Second, 1},  // cached: within the response's exp
		{15 * time.Second, 2}, // past the response's exp (20 s in), within the max TTL: asked again
	} {
		clock.Advance(step.advance)
		if tok, err := c.Introspect(t.Context(), "opaque"); err != nil || tok.Subject != "alice" {
			t.Fatalf("at +%v: %v, %v", step.advance, tok, err)
		}
		if got := asked.Load(); got != step.asked {
			t.Errorf("after +%v: asked %d times, want %d", step.advance, got, step.asked)
		}
	}
}
