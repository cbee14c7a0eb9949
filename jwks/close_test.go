package jwks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/internal/leakcheck"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

func TestCloseLeavesNoGoroutine(t *testing.T) {
	leakcheck.Check(t)
	loadKeys()
	srv := newServer(t, jwksDoc(jwk("a", &rsaA.PublicKey, nil)))
	for range 5 {
		set, err := jwks.New(srv.URL+"/jwks", jwks.WithHTTPClient(srv.Client()))
		if err != nil {
			t.Fatal(err)
		}
		if err := set.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		set.Close()
		set.Close() // twice is fine
		if _, err := set.Key(t.Context(), "a", validator.RS256); err != nil {
			t.Errorf("Key() after Close = %v, want the cached key", err)
		}
		if _, err := set.Key(t.Context(), "zzz", validator.RS256); !errors.Is(err, validator.ErrUnknownKey) {
			t.Errorf("Key(unknown) after Close = %v", err)
		}
	}
	// A set closed while its first fetch hangs.
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	set, err := jwks.New(srv.URL+"/jwks", jwks.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	set.Close()
}

// TestUseAfterClose: after Close, lookups the cached keys can answer are
// answered; everything else fails with ErrClosed (inside an unavailable
// error for Key), and nothing is fetched.
func TestUseAfterClose(t *testing.T) {
	loadKeys()
	tests := []struct {
		name   string
		status int           // what the issuer answers
		age    time.Duration // how old the keys are at lookup
		known  error         // Key("a") after Close; nil: the cached key
	}{
		{"keys loaded", 200, 0, nil},
		{"no keys ever loaded", 503, 0, jwks.ErrClosed},
		{"keys past the maximum staleness", 200, 2 * time.Hour, jwks.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, nil)
			srv.set(tt.status, jwksDoc(jwk("a", &rsaA.PublicKey, nil)), nil)
			clock := newClock()
			set := newSet(t, srv, jwks.WithClock(clock.Now), jwks.WithMaxStaleness(time.Hour))
			if err := set.Refresh(t.Context()); (err == nil) != (tt.status == 200) {
				t.Fatalf("Refresh() = %v with the issuer answering %d", err, tt.status)
			}
			set.Close()
			clock.Advance(tt.age)
			before := srv.requests.Load()

			if err := set.Refresh(t.Context()); !errors.Is(err, jwks.ErrClosed) {
				t.Errorf("Refresh() after Close = %v, want ErrClosed", err)
			}
			_, err := set.Key(t.Context(), "a", validator.RS256)
			if tt.known == nil && err != nil {
				t.Errorf("Key(a) after Close = %v, want the cached key", err)
			}
			if tt.known != nil && (!errors.Is(err, tt.known) || !errors.Is(err, validator.ErrKeysUnavailable)) {
				t.Errorf("Key(a) after Close = %v, want unavailable (%v)", err, tt.known)
			}
			_, err = set.Key(t.Context(), "zzz", validator.RS256)
			if tt.known == nil && !errors.Is(err, validator.ErrUnknownKey) {
				t.Errorf("Key(zzz) after Close = %v, want ErrUnknownKey from the cached keys", err)
			}
			if tt.known != nil && !errors.Is(err, jwks.ErrClosed) {
				t.Errorf("Key(zzz) after Close = %v, want ErrClosed", err)
			}
			if n := srv.requests.Load() - before; n != 0 {
				t.Errorf("%d fetches after Close, want 0", n)
			}
		})
	}
}

// TestCloseEndsWaiters: callers waiting for a fetch that Close cuts short
// end with ErrClosed (whether they joined it before Close or came after).
func TestCloseEndsWaiters(t *testing.T) {
	leakcheck.Check(t)
	loadKeys()
	srv := newServer(t, nil)
	arrived := make(chan struct{}, 1)
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	})
	set, err := jwks.New(srv.URL+"/jwks", jwks.WithHTTPClient(srv.Client()), jwks.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	<-arrived // the first fetch is in flight, and hangs
	refreshed := make(chan error, 1)
	go func() { refreshed <- set.Refresh(context.Background()) }()
	looked := make(chan error, 1)
	go func() {
		_, err := set.Key(context.Background(), "a", validator.RS256)
		looked <- err
	}()
	set.Close()
	if err := <-refreshed; !errors.Is(err, jwks.ErrClosed) {
		t.Errorf("Refresh() across Close = %v, want ErrClosed", err)
	}
	if err := <-looked; !errors.Is(err, jwks.ErrClosed) || !errors.Is(err, validator.ErrKeysUnavailable) {
		t.Errorf("Key() across Close = %v, want unavailable (ErrClosed)", err)
	}
	if st := set.Status(); st.LastError != nil {
		t.Errorf("Status().LastError = %v after a fetch cut short by Close, want none recorded", st.LastError)
	}
}

// TestZeroSet: a Set not built by New or Discover refuses (unavailable)
// and never panics. It once panicked while holding its lock on the first
// unknown kid, and every later lookup for its issuer then waited for ever,
// valid tokens and context deadlines included (SECURITY.md 106).
func TestZeroSet(t *testing.T) {
	var s jwks.Set
	for i := range 3 {
		if _, err := s.Key(t.Context(), fmt.Sprintf("made-up-%d", i), validator.RS256); !errors.Is(err, validator.ErrKeysUnavailable) {
			t.Errorf("Key #%d = %v, want ErrKeysUnavailable", i, err)
		}
	}
	if err := s.Refresh(t.Context()); err == nil {
		t.Error("Refresh of a zero Set succeeded")
	}
	if err := s.WaitReady(t.Context()); err == nil {
		t.Error("WaitReady of a zero Set succeeded")
	}
	if s.Ready() {
		t.Error("a zero Set is ready")
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	_ = s.Status()
	v, err := validator.New(validator.WithIssuer("https://issuer.example/", &s), validator.WithAudience("orders"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		tok := jwstest.Token(`{"alg":"RS256","kid":"k"}`, jwstest.JSON(map[string]any{"iss": "https://issuer.example/", "aud": "orders", "exp": time.Now().Add(time.Hour).Unix()}), jwstest.Fixed([]byte("sig")))
		if _, err := v.Validate(t.Context(), tok); !errors.Is(err, validator.ErrKeysUnavailable) {
			t.Errorf("Validate #%d over a zero Set = %v, want ErrKeysUnavailable", i, err)
		}
	}
}
