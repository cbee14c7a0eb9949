package introspect_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// The docs (README, SECURITY.md 87, the comment in fetch) say the quiet
// follows a 429 or 503 with Retry-After. Any other status with a
// Retry-After header silences the client too: a 500, a 401 (the API's own
// credentials refused), a 400 or 413 about one request's token, a 307.
func TestQuietOnlyFor429And503(t *testing.T) {
	for _, code := range []int{http.StatusInternalServerError, http.StatusUnauthorized, http.StatusBadRequest,
		http.StatusRequestEntityTooLarge, http.StatusTemporaryRedirect} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			var hits atomic.Int64
			var failing atomic.Bool
			failing.Store(true)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if failing.Load() {
					w.Header().Set("Retry-After", "60")
					if code == http.StatusTemporaryRedirect {
						w.Header().Set("Location", "/elsewhere")
					}
					w.WriteHeader(code)
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
			_, _ = c.Introspect(t.Context(), "first")
			failing.Store(false)
			clock.Advance(time.Second)
			_, err = c.Introspect(t.Context(), "second")
			if !errors.Is(err, validator.ErrInactive) || hits.Load() != 2 {
				t.Errorf("after a %d with Retry-After, the next token: %v (%d requests): the client stayed quiet, which the docs promise only for 429 and 503", code, err, hits.Load())
			}
		})
	}
}

// quietUntil is wall-clock Unix nanoseconds (time.Now().UnixNano() has no
// monotonic reading): a clock stepped back (NTP, a VM resumed) while a
// Retry-After runs keeps the client quiet for the step plus the
// Retry-After, not at most validator.MaxRetryAfter, and the RetryAfter it
// reports exceeds the cap.
func TestQuietSurvivesClockStepBack(t *testing.T) {
	var hits atomic.Int64
	var limited atomic.Bool
	limited.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if limited.Load() {
			w.Header().Set("Retry-After", "60")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"active":false}`))
	}))
	defer srv.Close()
	start := time.Now()
	clock := testclock.New(start)
	c, err := introspect.New(srv.URL, introspect.ClientSecretBasic("a", "b"), introspect.WithClock(clock.Now),
		introspect.WithInsecureLoopbackHTTP(), introspect.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Introspect(t.Context(), "made-up")
	limited.Store(false)
	clock.Set(start.Add(-time.Hour)) // the wall clock steps back an hour
	clock.Advance(2 * validator.MaxRetryAfter)
	_, err = c.Introspect(t.Context(), "valid-later")
	var ue *validator.UnavailableError
	if errors.As(err, &ue) {
		t.Errorf("2 minutes (by the clock) after a 429 with Retry-After: 60 and a 1 h clock step back: still quiet, %d requests, RetryAfter %v (cap %v)",
			hits.Load(), ue.RetryAfter, validator.MaxRetryAfter)
	}
}
