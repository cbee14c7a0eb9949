package introspect_test

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/introspect"
)

// An active answer is kept for the TTL from when the server was asked,
// not from when the answer arrived: the server decided "active" at T, its
// answer took 9 s to arrive (under the 10 s timeout), the token was
// revoked at T+1 s, and the cache answered "active" until T+69 s where
// WithMaxTTL promised 60 s at most (found by a review of time). A signed
// answer, which may be up to two minutes old by its "iat", is kept for the
// TTL from that "iat" at most, give or take the minute of clock skew
// allowed on it: a server whose clock lags ours by 30 s keeps the whole
// TTL (the first fix cut its answers short, and a lag of 70 s kept them
// out of the cache altogether), an answer 90 s old by its "iat" loses
// 30 s.
func TestActiveAnswerTTLFromWhenAsked(t *testing.T) {
	const delay = 9 * time.Second
	tests := []struct {
		name string
		// serve answers active or not, as the server decides when asked
		// at now, moving the clock to when the answer arrives.
		serve  func(t *testing.T, iss *bearertest.Issuer, clk *testclock.Clock, active bool) http.HandlerFunc
		signed bool
		// kept is how long after asking the answer is kept.
		kept time.Duration
	}{
		{"slow answer", func(_ *testing.T, _ *bearertest.Issuer, clk *testclock.Clock, active bool) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				clk.Advance(delay)
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"active":%v,"aud":%q}`, active, audience)
			}
		}, false, introspect.DefaultMaxTTL},
		{"signed 30 s before it was asked", func(t *testing.T, iss *bearertest.Issuer, clk *testclock.Clock, active bool) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				signed := iss.Mint(t, bearertest.Claims{"iss": iss.URL, "aud": rsID, "iat": clk.Now().Add(-30 * time.Second).Unix(),
					"exp": clk.Now().Add(time.Hour).Unix(), "token_introspection": map[string]any{"active": active, "aud": audience}},
					bearertest.WithHeader("typ", "token-introspection+jwt"))
				w.Header().Set("Content-Type", "application/token-introspection+jwt")
				fmt.Fprint(w, signed)
			}
		}, true, introspect.DefaultMaxTTL},
		{"signed 90 s before it was asked", func(t *testing.T, iss *bearertest.Issuer, clk *testclock.Clock, active bool) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				signed := iss.Mint(t, bearertest.Claims{"iss": iss.URL, "aud": rsID, "iat": clk.Now().Add(-90 * time.Second).Unix(),
					"exp": clk.Now().Add(time.Hour).Unix(), "token_introspection": map[string]any{"active": active, "aud": audience}},
					bearertest.WithHeader("typ", "token-introspection+jwt"))
				w.Header().Set("Content-Type", "application/token-introspection+jwt")
				fmt.Fprint(w, signed)
			}
		}, true, introspect.DefaultMaxTTL - 30*time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			iss := newIssuer(t)
			clk := testclock.New(time.Now().Truncate(time.Second))
			var revoked atomic.Bool
			var asked atomic.Int32
			iss.SetIntrospectionHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				asked.Add(1)
				tc.serve(t, iss, clk, !revoked.Load())(w, r)
			}))
			opts := []introspect.Option{introspect.WithHTTPClient(iss.Client()), introspect.WithClock(clk.Now), introspect.WithLogger(discard)}
			if tc.signed {
				opts = append(opts, introspect.WithSignedResponses("", iss.KeySet(t), rsID))
			}
			c, err := introspect.Discover(iss.URL, introspect.ClientSecretBasic(rsID, rsSecret), opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			token := iss.Opaque(t, bearertest.Claims{"aud": audience})
			start := clk.Now()
			if _, err := c.Introspect(t.Context(), token); err != nil {
				t.Fatalf("first: %v", err)
			}
			revoked.Store(true)
			clk.Set(start.Add(tc.kept - time.Second))
			if _, err := c.Introspect(t.Context(), token); err != nil || asked.Load() != 1 {
				t.Fatalf("within the TTL: %v after %d requests, want the cached answer", err, asked.Load())
			}
			clk.Set(start.Add(tc.kept + time.Second))
			if tok, err := c.Introspect(t.Context(), token); err == nil {
				t.Errorf("a token revoked 1 s after the server was asked still active %v after it was asked (%d requests): %+v",
					clk.Now().Sub(start), asked.Load(), tok)
			}
		})
	}
}

// A clock stepped back while the request was out makes the time asked
// later than the time answered: counting the TTL from it kept the answer
// for the whole step longer than the TTL after it arrived, and cached it
// even with WithMaxTTL(0), which turns the cache of active answers off
// (found by a review of the fix above).
func TestClockStepBackDuringRequestKeepsNoLonger(t *testing.T) {
	tests := []struct {
		name   string
		step   time.Duration
		maxTTL time.Duration
		// after the answer arrived, a token revoked since is refused.
		after time.Duration
	}{
		{"an hour back, default TTL", -time.Hour, introspect.DefaultMaxTTL, introspect.DefaultMaxTTL + time.Second},
		{"ten minutes back, TTL zero", -10 * time.Minute, 0, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			iss := newIssuer(t)
			clk := testclock.New(time.Now().Truncate(time.Second))
			var revoked atomic.Bool
			var asked atomic.Int32
			iss.SetIntrospectionHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if asked.Add(1) == 1 {
					clk.Advance(tc.step) // the clock is set back while the answer is on its way
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"active":%v,"aud":%q}`, !revoked.Load(), audience)
			}))
			c, err := introspect.Discover(iss.URL, introspect.ClientSecretBasic(rsID, rsSecret), introspect.WithHTTPClient(iss.Client()),
				introspect.WithClock(clk.Now), introspect.WithLogger(discard), introspect.WithMaxTTL(tc.maxTTL))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			token := iss.Opaque(t, bearertest.Claims{"aud": audience})
			if _, err := c.Introspect(t.Context(), token); err != nil {
				t.Fatal(err)
			}
			arrived := clk.Now()
			revoked.Store(true)
			clk.Set(arrived.Add(tc.after))
			if _, err := c.Introspect(t.Context(), token); err == nil {
				t.Errorf("a token revoked after its answer arrived still active %v later (WithMaxTTL %v, %d requests)",
					tc.after, tc.maxTTL, asked.Load())
			}
			if asked.Load() != 2 {
				t.Errorf("%d requests, want 2: the second introspection must ask the server", asked.Load())
			}
		})
	}
}

// recordingCache is an LRU that keeps the last entry put.
type recordingCache struct {
	*introspect.LRU
	mu   sync.Mutex
	last introspect.Entry
}

func (c *recordingCache) Put(key introspect.Key, e introspect.Entry) {
	c.mu.Lock()
	c.last = e
	c.mu.Unlock()
	c.LRU.Put(key, e)
}

// Every expiry the cache is given is on the monotonic clock, whichever
// caps it: the TTL from when the server was asked, the token's "exp", a
// signed answer's "exp", or its "iat" plus the TTL. "exp" and "iat" are
// wall-clock instants, and the cache compared them on the wall clock: a
// wall clock stepped back an hour (NTP, a resumed VM) kept a revoked
// token's answer an hour past its end (found by a review of time; a step
// of the wall clock alone cannot be made in a test, so this holds the
// mechanism). And WithMaxTTL at its largest, whose sum with the minute of
// skew allowed on "iat" wrapped to the past, still caches signed answers.
func TestCachedExpiryOnTheMonotonicClock(t *testing.T) {
	tests := []struct {
		name      string
		signed    bool
		exp, iat  time.Duration // from now; 0: none
		maxTTL    time.Duration
		wantUntil time.Duration // about when the entry ends, from now
	}{
		{"TTL", false, time.Hour, 0, time.Minute, time.Minute},
		{"token exp", false, 30 * time.Second, 0, time.Minute, 30 * time.Second},
		{"signed answer's exp", true, 20 * time.Second, -time.Second, time.Minute, 20 * time.Second},
		{"signed answer's iat", true, time.Hour, -100 * time.Second, time.Minute, 20 * time.Second},
		{"largest TTL, signed", true, time.Hour, -time.Second, math.MaxInt64, time.Hour},
		{"largest TTL", false, time.Hour, 0, math.MaxInt64, time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			iss := newIssuer(t)
			var asked atomic.Int32
			iss.SetIntrospectionHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				asked.Add(1)
				now := time.Now()
				if !tc.signed {
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprintf(w, `{"active":true,"aud":%q,"exp":%d}`, audience, now.Add(tc.exp).Unix())
					return
				}
				signed := iss.Mint(t, bearertest.Claims{"iss": iss.URL, "aud": rsID, "iat": now.Add(tc.iat).Unix(),
					"exp": now.Add(tc.exp).Unix(), "token_introspection": map[string]any{"active": true, "aud": audience}},
					bearertest.WithHeader("typ", "token-introspection+jwt"))
				w.Header().Set("Content-Type", "application/token-introspection+jwt")
				fmt.Fprint(w, signed)
			}))
			cache := &recordingCache{LRU: introspect.NewLRU(100)}
			opts := []introspect.Option{introspect.WithHTTPClient(iss.Client()), introspect.WithLogger(discard),
				introspect.WithCache(cache), introspect.WithMaxTTL(tc.maxTTL)}
			if tc.signed {
				opts = append(opts, introspect.WithSignedResponses("", iss.KeySet(t), rsID))
			}
			c, err := introspect.Discover(iss.URL, introspect.ClientSecretBasic(rsID, rsSecret), opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			token := iss.Opaque(t, bearertest.Claims{"aud": audience})
			for range 3 {
				if _, err := c.Introspect(t.Context(), token); err != nil {
					t.Fatal(err)
				}
			}
			if asked.Load() != 1 {
				t.Errorf("%d requests for 3 checks, want 1: the answer was not cached", asked.Load())
			}
			cache.mu.Lock()
			expires := cache.last.Expires
			cache.mu.Unlock()
			if !strings.Contains(expires.String(), " m=") {
				t.Errorf("the entry's expiry %v has no monotonic reading: a wall clock stepped back would keep it longer", expires)
			}
			if d := time.Until(expires); d > tc.wantUntil+2*time.Second || d < tc.wantUntil-3*time.Second {
				t.Errorf("the entry ends in %v, want about %v", d, tc.wantUntil)
			}
		})
	}
}
