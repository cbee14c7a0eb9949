package jwks_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

// A flood of made-up kids joining a slow refresh: each asks once more
// after it; the rate limit must still allow one on-demand fetch only.
func TestFloodJoiningRefreshCostsOneFetch(t *testing.T) {
	loadKeys()
	doc := jwksDoc(jwk("a", &rsaA.PublicKey, nil))
	s := newServer(t, doc)
	set := newSet(t, s)
	if err := set.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.setHandler(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived); <-release })
		time.Sleep(50 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
	go func() { _ = set.Refresh(context.Background()) }()
	<-arrived
	before := s.requests.Load()
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = set.Key(context.Background(), fmt.Sprintf("made-up-%d", i), validator.RS256)
		}()
	}
	time.Sleep(200 * time.Millisecond)
	close(release)
	wg.Wait()
	for i := range 200 { // and again: remembered or rate limited
		_, _ = set.Key(context.Background(), fmt.Sprintf("made-up-%d", i), validator.RS256)
		_, _ = set.Key(context.Background(), fmt.Sprintf("other-%d", i), validator.RS256)
	}
	if n := s.requests.Load() - before; n > 1 {
		t.Errorf("flood joining a refresh cost %d more fetches, want at most 1", n)
	}
}
