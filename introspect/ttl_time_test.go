package introspect_test

import (
	"fmt"
	"net/http"
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
