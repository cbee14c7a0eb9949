package jwks_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

// A lookup of a new kid that joins a fetch already in flight (the
// background refresh, a slow issuer) may join one that read the document
// before the issuer published the key: the lookup asks once more, rate
// limit allowing, rather than remembering the kid as unknown, which
// refused valid tokens signed with the new key for the unknown-key TTL.
func TestKeyJoiningAnOlderFetchAsksAgain(t *testing.T) {
	loadKeys()
	oldDoc := jwksDoc(jwk("a", &rsaA.PublicKey, nil))
	newDoc := jwksDoc(jwk("a", &rsaA.PublicKey, nil), jwk("b", &rsaB.PublicKey, nil))
	s := newServer(t, oldDoc)
	set := newSet(t, s)
	if err := set.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A refresh reached the issuer, which answers slowly, with the
	// document as it was then.
	arrived, release := make(chan struct{}), make(chan struct{})
	s.setHandler(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(oldDoc)
	})
	refreshed := make(chan error, 1)
	go func() { refreshed <- set.Refresh(context.Background()) }()
	<-arrived
	// Meanwhile the issuer publishes key b and signs with it.
	s.set(200, newDoc, nil)
	looked := make(chan error, 1)
	go func() {
		_, err := set.Key(context.Background(), "b", validator.RS256)
		looked <- err
	}()
	time.Sleep(100 * time.Millisecond) // the lookup joins the fetch in flight
	close(release)
	if err := <-refreshed; err != nil {
		t.Fatal(err)
	}
	if err := <-looked; err != nil {
		t.Errorf("lookup of b joining a fetch begun before b was published: %v, want the key (asked again)", err)
	}
	if _, err := set.Key(t.Context(), "b", validator.RS256); err != nil {
		t.Errorf("later lookup of b: %v", err)
	}
	// A kid that is not in the document stays unknown, and a flood of them
	// still costs at most the fetches the rate limit allows.
	before := s.requests.Load()
	for i := range 50 {
		if _, err := set.Key(t.Context(), "made-up-"+strings.Repeat("x", i), validator.RS256); !errors.Is(err, validator.ErrUnknownKey) {
			t.Fatalf("made-up kid: %v, want ErrUnknownKey", err)
		}
	}
	if n := s.requests.Load() - before; n > 1 {
		t.Errorf("50 made-up kids cost %d fetches, want at most 1 (rate limit)", n)
	}
}

type panicTransport struct{}

func (panicTransport) RoundTrip(*http.Request) (*http.Response, error) { panic("transport bug") }

// A panic in a fetch (a transport given with WithHTTPClient, say) runs on
// the set's own goroutine, where no caller can recover it: it becomes the
// fetch's error (503) instead of ending the process, and its value is not
// shown.
func TestFetchPanicIsAnError(t *testing.T) {
	set, err := jwks.New("https://keys.example/jwks", jwks.WithHTTPClient(&http.Client{Transport: panicTransport{}}), jwks.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	_, err = set.Key(t.Context(), "a", validator.RS256)
	if !errors.Is(err, validator.ErrKeysUnavailable) || !strings.Contains(err.Error(), "panicked") || strings.Contains(err.Error(), "transport bug") {
		t.Errorf("Key after a panicking fetch: %v, want ErrKeysUnavailable naming the panic but not its value", err)
	}
	if st := set.Status(); st.LastError == nil {
		t.Errorf("Status().LastError is nil after a panicking fetch")
	}
}
