package introspect_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// quietEndpoint is an introspection endpoint that answers status with a
// Retry-After while it fails, and "inactive" once healed, with a client of
// it on a test clock.
type quietEndpoint struct {
	hits    atomic.Int64
	failing atomic.Bool
	c       *introspect.Client
	clock   *testclock.Clock
}

func newQuietEndpoint(t *testing.T, status int, retryAfter string, opts ...introspect.Option) *quietEndpoint {
	t.Helper()
	e := &quietEndpoint{clock: testclock.New(time.Now())}
	e.failing.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		if e.failing.Load() {
			w.Header().Set("Retry-After", retryAfter)
			if status == http.StatusTemporaryRedirect {
				w.Header().Set("Location", "/elsewhere")
			}
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"active":false}`))
	}))
	t.Cleanup(srv.Close)
	c, err := introspect.New(srv.URL, introspect.ClientSecretBasic("a", "b"), append([]introspect.Option{introspect.WithClock(e.clock.Now),
		introspect.WithInsecureLoopbackHTTP(), introspect.WithLogger(discard)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e.c = c
	return e
}

// An endpoint's Retry-After (429 or 503) paces the client: until it ends
// (at most validator.MaxRetryAfter), uncached tokens are answered
// unavailable without a request, with the time left; then requests resume.
func TestRetryAfterPacesIntrospection(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			e := newQuietEndpoint(t, status, "86400")
			for i := range 200 {
				_, err := e.c.Introspect(t.Context(), fmt.Sprintf("made-up-%d", i))
				var ue *validator.UnavailableError
				if !errors.As(err, &ue) || ue.RetryAfter <= 0 || ue.RetryAfter > validator.MaxRetryAfter {
					t.Fatalf("token %d: %v, want unavailable with a Retry-After of at most a minute", i, err)
				}
			}
			if n := e.hits.Load(); n != 1 {
				t.Errorf("200 made-up tokens after a %d with Retry-After: %d requests, want 1", status, n)
			}
			e.failing.Store(false)
			e.clock.Advance(validator.MaxRetryAfter + time.Second) // the quiet ends at the cap, not a day later
			if _, err := e.c.Introspect(t.Context(), "made-up-after"); !errors.Is(err, validator.ErrInactive) || e.hits.Load() != 2 {
				t.Errorf("after the quiet: %v (%d requests in all), want an answer (inactive) and 2", err, e.hits.Load())
			}
		})
	}
}

// Only the endpoint's own overload silences it: a Retry-After on a 500, a
// 401 (the API's own credentials refused), a 400 or 413 about one
// request's token, or a redirect does not.
func TestQuietOnlyFor429And503(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusUnauthorized, http.StatusBadRequest,
		http.StatusRequestEntityTooLarge, http.StatusTemporaryRedirect} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			e := newQuietEndpoint(t, status, "60")
			_, _ = e.c.Introspect(t.Context(), "first")
			e.failing.Store(false)
			e.clock.Advance(time.Second)
			if _, err := e.c.Introspect(t.Context(), "second"); !errors.Is(err, validator.ErrInactive) || e.hits.Load() != 2 {
				t.Errorf("after a %d with Retry-After, the next token: %v (%d requests), want an answer", status, err, e.hits.Load())
			}
		})
	}
}

// The quiet never outlasts validator.MaxRetryAfter, even when the wall
// clock steps back (NTP, a VM resumed) while it runs.
func TestQuietSurvivesClockStepBack(t *testing.T) {
	e := newQuietEndpoint(t, http.StatusTooManyRequests, "60")
	start := e.clock.Now()
	_, _ = e.c.Introspect(t.Context(), "made-up")
	e.failing.Store(false)
	e.clock.Set(start.Add(-time.Hour)) // the wall clock steps back an hour
	e.clock.Advance(2 * validator.MaxRetryAfter)
	if _, err := e.c.Introspect(t.Context(), "valid-later"); !errors.Is(err, validator.ErrInactive) {
		t.Errorf("2 minutes (by the clock) after a 429 with Retry-After: 60 and a 1 h step back: %v (%d requests), want an answer", err, e.hits.Load())
	}
}
