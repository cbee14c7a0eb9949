package introspect

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

// result is what one group.do call returned.
type result struct {
	tok *validator.Token
	err error
}

// waitForSlot takes g's only slot, then starts a do call for key and gives
// it time to reach the wait for a slot. The call fails the test if it ever
// starts a request.
func waitForSlot(t *testing.T, g *group, key Key) <-chan result {
	t.Helper()
	g.sem <- struct{}{} // the test holds the only slot
	out := make(chan result, 1)
	go func() {
		tok, err := g.do(context.Background(), key, func() (*validator.Token, error) {
			t.Error("a second request started for the same key")
			return nil, nil
		})
		out <- result{tok, err}
	}()
	time.Sleep(20 * time.Millisecond) // best effort: the caller is now waiting
	return out
}

func TestSlotWaiterJoinsCallStartedMeanwhile(t *testing.T) {
	stop := make(chan struct{})
	g := newGroup(1, stop)
	key := Key{1}
	out := waitForSlot(t, g, key)
	// Meanwhile a request for the same key starts (as if it had taken the
	// slot first), then the slot is free again.
	c := &call{done: make(chan struct{}), tok: &validator.Token{Subject: "shared"}}
	g.mu.Lock()
	g.calls[key] = c
	g.mu.Unlock()
	g.release()
	close(c.done)
	if r := <-out; r.err != nil || r.tok != c.tok {
		t.Fatalf("do() = %v, %v; want the call started meanwhile", r.tok, r.err)
	}
	if len(g.sem) != 0 {
		t.Errorf("%d slots still taken", len(g.sem))
	}
}

func TestSlotWaiterEndsOnClose(t *testing.T) {
	stop := make(chan struct{})
	g := newGroup(1, stop)
	out := waitForSlot(t, g, Key{1})
	close(stop) // what Client.Close does first
	select {
	case r := <-out:
		if !errors.Is(r.err, validator.ErrIntrospectionUnavailable) || !errors.Is(r.err, errClosed) {
			t.Fatalf("do() = %v; want unavailable (closed)", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a caller waiting for a slot outlived Close")
	}
}
