package introspect

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

// result is what one group.do call returned.
type result struct {
	tok *validator.Token
	err error
}

// waitForSlot takes g's only slot, then starts a do call for key and
// returns once that call waits for a slot (run it in a synctest bubble, g
// created there too). The call fails the test if it ever starts a request.
func waitForSlot(t *testing.T, g *group, key Key) <-chan result {
	t.Helper()
	g.sem <- struct{}{} // the test holds the only slot
	out := make(chan result, 1)
	go func() {
		tok, err := g.do(context.Background(), key, nil, func() (*validator.Token, error) {
			t.Error("a second request started for the same key")
			return nil, nil
		})
		out <- result{tok, err}
	}()
	synctest.Wait() // the caller is durably blocked: waiting for the slot
	return out
}

func TestSlotWaiterJoinsCallStartedMeanwhile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stop := make(chan struct{})
		g := newGroup(1, stop, 0)
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
	})
}

func TestSlotWaiterEndsOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stop := make(chan struct{})
		g := newGroup(1, stop, 0)
		out := waitForSlot(t, g, Key{1})
		close(stop) // what Client.Close does first
		synctest.Wait()
		select {
		case r := <-out:
			if !errors.Is(r.err, validator.ErrIntrospectionUnavailable) || !errors.Is(r.err, ErrClosed) {
				t.Fatalf("do() = %v; want unavailable (ErrClosed)", r.err)
			}
		default:
			t.Fatal("a caller waiting for a slot outlived Close")
		}
	})
}

// TestCallersShareOneCall: callers of one key that arrive while its call
// runs all wait for it, and get its answer.
func TestCallersShareOneCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(4, make(chan struct{}), 0)
		release := make(chan struct{})
		shared := &validator.Token{Subject: "shared"}
		runs := 0
		fn := func() (*validator.Token, error) {
			runs++ // one run at most: no lock needed
			<-release
			return shared, nil
		}
		out := make(chan result, 8)
		for range cap(out) {
			go func() {
				tok, err := g.do(context.Background(), Key{1}, nil, fn)
				out <- result{tok, err}
			}()
		}
		synctest.Wait() // every caller waits for the one call
		close(release)
		for range cap(out) {
			if r := <-out; r.err != nil || r.tok != shared {
				t.Fatalf("do() = %v, %v; want the shared answer", r.tok, r.err)
			}
		}
		if runs != 1 {
			t.Errorf("%d runs for 8 concurrent callers, want 1", runs)
		}
	})
}

// TestQueuesLeaveNothingBehind: the queues of callers waiting for a slot
// (by key, so that a call one of them starts is joined by the others) are
// removed when their last caller gives up, or when a call starts: a flood
// of made-up tokens whose callers time out leaves no entry behind.
func TestQueuesLeaveNothingBehind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stop := make(chan struct{})
		g := newGroup(1, stop, 0)
		g.sem <- struct{}{} // every slot busy
		done := make(chan struct{})
		for i := range 100 {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				_, err := g.do(ctx, Key{byte(i % 10)}, nil, func() (*validator.Token, error) { return nil, nil })
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("caller %d: %v, want its deadline", i, err)
				}
				done <- struct{}{}
			}()
		}
		for range 100 {
			<-done
		}
		g.mu.Lock()
		if n := len(g.queued); n != 0 {
			t.Errorf("%d queues left after every caller gave up", n)
		}
		g.mu.Unlock()

		// Two callers of one key queue; the slot frees: one starts the
		// call, the other joins it, and the queue is gone.
		calls := 0
		for range 2 {
			go func() {
				_, err := g.do(context.Background(), Key{42}, nil, func() (*validator.Token, error) { calls++; return nil, nil })
				if err != nil {
					t.Error(err)
				}
				done <- struct{}{}
			}()
		}
		synctest.Wait()
		g.release()
		<-done
		<-done
		if calls != 1 {
			t.Errorf("%d calls for two queued callers of one key, want 1", calls)
		}
		g.mu.Lock()
		if n := len(g.queued); n != 0 {
			t.Errorf("%d queues left after the call", n)
		}
		g.mu.Unlock()
		close(stop)
		g.close()
	})
}

// TestWokenCallerJoinsEndedCall: two callers of one key queue for the
// only slot, behind them a caller of another key whose call is slow. The
// slot frees: A starts the key's call, which ends at once; B, woken by its
// queue, joins that call although it has ended. It looked for a call in
// flight, found none, queued again behind the slow call and ran fn a
// second time (found by the red-team review of the queues).
func TestWokenCallerJoinsEndedCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stop := make(chan struct{})
		g := newGroup(1, stop, 0)
		g.sem <- struct{}{} // the slot busy
		calls := 0
		type res struct {
			d   time.Duration
			err error
		}
		out := make(chan res, 2)
		start := time.Now()
		for range 2 {
			go func() {
				_, err := g.do(context.Background(), Key{1}, nil, func() (*validator.Token, error) { calls++; return nil, nil })
				out <- res{time.Since(start), err}
			}()
		}
		synctest.Wait()
		slow := make(chan struct{})
		go func() { // another key's caller, queued behind them: its call takes 10 s
			_, _ = g.do(context.Background(), Key{2}, nil, func() (*validator.Token, error) { <-slow; return nil, nil })
		}()
		synctest.Wait()
		go func() { time.Sleep(10 * time.Second); close(slow) }()
		g.release()
		a, b := <-out, <-out
		if calls != 1 {
			t.Errorf("fn ran %d times for two callers queued together for one key, want 1", calls)
		}
		if b.d > time.Second {
			t.Errorf("the second caller of the key answered after %v (first after %v): it waited again, behind another key's slow call", b.d, a.d)
		}
		time.Sleep(11 * time.Second) // the slow call ends (a bubble's clock: at once)
		close(stop)
		g.close()
	})
}
