package redisstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/redistest"
	"github.com/bearerguard/bearerguard/redisstore"
)

// interposer is a TCP proxy in front of a real redis-server that forwards
// one command at a time, waiting for its reply, and runs hook (once)
// between a SET and the PTTL that follows it in the store's pipeline: the
// hook sees Redis after our SET ran and before our PTTL runs.
type interposer struct {
	URL  string
	mu   sync.Mutex
	hook func()
}

func (p *interposer) setHook(f func()) { p.mu.Lock(); p.hook = f; p.mu.Unlock() }

func (p *interposer) takeHook() func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.hook
	p.hook = nil
	return f
}

func startInterposer(t *testing.T, redisAddr string) *interposer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &interposer{URL: "redis://" + ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				up, err := net.Dial("tcp", redisAddr)
				if err != nil {
					return
				}
				defer up.Close()
				cr, ur := bufio.NewReader(c), bufio.NewReader(up)
				for {
					args, err := readCommand(cr)
					if err != nil {
						return
					}
					if strings.EqualFold(args[0], "PTTL") {
						if f := p.takeHook(); f != nil {
							f()
						}
					}
					var b strings.Builder
					fmt.Fprintf(&b, "*%d\r\n", len(args))
					for _, a := range args {
						fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
					}
					if _, err := io.WriteString(up, b.String()); err != nil {
						return
					}
					reply, err := readReply(ur)
					if err != nil {
						return
					}
					if _, err := c.Write(reply); err != nil {
						return
					}
				}
			})
		}
	})
	return p
}

// readReply reads one whole RESP2/RESP3 reply, raw.
func readReply(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadBytes('\n')
	if err != nil || len(line) < 3 {
		return nil, errors.New("short reply")
	}
	out := line
	n, _ := strconv.Atoi(strings.TrimSpace(string(line[1:])))
	switch line[0] {
	case '$', '=', '!':
		if n < 0 {
			return out, nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		return append(out, b...), nil
	case '*', '~', '>', '%':
		if line[0] == '%' {
			n *= 2
		}
		for range max(n, 0) {
			e, err := readReply(r)
			if err != nil {
				return nil, err
			}
			out = append(out, e...)
		}
	}
	return out, nil
}

func lagging(lag time.Duration) redisstore.Option {
	return redisstore.WithClock(func() time.Time { return time.Now().Add(-lag) })
}

// TestInterleaveSameConfigFutureEnd: another replica's whole check
// runs between our SET and our PTTL (same window, so the same end, in the
// future): it is refused, we accept. Once.
func TestInterleaveSameConfigFutureEnd(t *testing.T) {
	srv := redistest.Start(t)
	px := startInterposer(t, srv.Addr)
	a := open(t, &redistest.Server{URL: px.URL}).ReplayStore()
	b := open(t, srv).ReplayStore()
	ctx := context.Background()
	exp := time.Now().Add(time.Minute)
	var bFresh, ran bool
	var bErr error
	px.setHook(func() { ran = true; bFresh, bErr = b.Remember(ctx, "p1", exp) })
	aFresh, aErr := a.Remember(ctx, "p1", exp)
	if !ran {
		t.Fatal("the hook did not run")
	}
	if aErr != nil || bErr != nil || !aFresh || bFresh {
		t.Errorf("A %v %v, B %v %v; want A alone", aFresh, aErr, bFresh, bErr)
	}
}

// TestInterleaveSameConfigPastEnd: two replicas lagging Redis by
// 40 s, same window: the proof's end (its expiry and the 30 s margin) has
// passed on Redis's clock and not on theirs; B's check runs between A's
// SET and PTTL. Neither accepts.
func TestInterleaveSameConfigPastEnd(t *testing.T) {
	srv := redistest.Start(t)
	px := startInterposer(t, srv.Addr)
	a := open(t, &redistest.Server{URL: px.URL}, lagging(40*time.Second)).ReplayStore()
	b := open(t, srv, lagging(40*time.Second)).ReplayStore()
	ctx := context.Background()
	exp := time.Now().Add(-35 * time.Second) // end = -5 s on Redis's clock; +5 s ahead on the replicas'
	var bFresh, ran bool
	var bErr error
	px.setHook(func() { ran = true; bFresh, bErr = b.Remember(ctx, "p2", exp) })
	aFresh, aErr := a.Remember(ctx, "p2", exp)
	if !ran {
		t.Fatal("the hook did not run")
	}
	if aErr != nil || bErr != nil || aFresh || bFresh {
		t.Errorf("A %v %v, B %v %v; want neither", aFresh, aErr, bFresh, bErr)
	}
}

// TestInterleaveKeyExpiresBetween: our SET's end is 1 ms ahead and
// the key expires before our PTTL: refused (counted), never accepted.
func TestInterleaveKeyExpiresBetween(t *testing.T) {
	srv := redistest.Start(t)
	px := startInterposer(t, srv.Addr)
	st := open(t, &redistest.Server{URL: px.URL}, lagging(time.Minute)).ReplayStore()
	exp := time.Now().Add(-30*time.Second + 20*time.Millisecond)
	px.setHook(func() { time.Sleep(100 * time.Millisecond) })
	if fresh, err := st.Remember(context.Background(), "p3", exp); fresh || err != nil {
		t.Errorf("%v, %v; want refused", fresh, err)
	}
	if st.PastWindow() != 1 {
		t.Errorf("PastWindow %d", st.PastWindow())
	}
}

// TestInterleaveMismatchedWindowsAcceptTwice: replica A's window and
// leeway are shorter than replica B's (a rolling change of WithLeeway, or
// two services over one Redis prefix); both lag Redis by 40 s, so both
// take the proof's iat for fresh. A's end has passed on Redis's clock, B's
// has not. Interleaving A.SET (OK, key already past) → B's check (SET OK,
// PTTL > 0: B accepts) → A.PTTL (finds B's key: > 0) lets A accept too: one
// proof, two acceptances. In either order without the interleaving, only B
// accepts. PTTL does not tell our key from another replica's.
func TestInterleaveMismatchedWindowsAcceptTwice(t *testing.T) {
	srv := redistest.Start(t)
	px := startInterposer(t, srv.Addr)
	a := open(t, &redistest.Server{URL: px.URL}, lagging(40*time.Second)).ReplayStore()
	b := open(t, srv, lagging(40*time.Second)).ReplayStore()
	ctx := context.Background()
	iatEnd := time.Now().Add(-35 * time.Second)
	expA := iatEnd                       // A's end: -5 s on Redis's clock (past)
	expB := iatEnd.Add(10 * time.Second) // B's end (10 s more window+leeway): +5 s (future)
	var bFresh bool
	var bErr error
	px.setHook(func() { bFresh, bErr = b.Remember(ctx, "p4", expB) })
	aFresh, aErr := a.Remember(ctx, "p4", expA)
	if aErr != nil || bErr != nil {
		t.Fatal(aErr, bErr)
	}
	if aFresh && bFresh {
		t.Errorf("one proof accepted by both replicas (A: end passed on Redis's clock, yet PTTL read B's key)")
	}
}

// TestMismatchedWindowsNaturalRace: the same mismatch as above
// without the proxy: both replicas race on 300 proofs. Redis runs a
// client's pipelined commands from one read back to back, so the
// interleaving is not expected here; this measures it (it logs, and fails
// only if a proof is accepted twice).
func TestMismatchedWindowsNaturalRace(t *testing.T) {
	srv := redistest.Start(t)
	a := open(t, srv, lagging(40*time.Second)).ReplayStore()
	b := open(t, srv, lagging(40*time.Second)).ReplayStore()
	ctx := context.Background()
	twice := 0
	for i := range 300 {
		iatEnd := time.Now().Add(-35 * time.Second)
		k := fmt.Sprintf("nat-%d", i)
		var wg sync.WaitGroup
		var fa, fb bool
		wg.Go(func() { fa, _ = a.Remember(ctx, k, iatEnd) })
		wg.Go(func() { fb, _ = b.Remember(ctx, k, iatEnd.Add(10*time.Second)) })
		wg.Wait()
		if fa && fb {
			twice++
		}
	}
	t.Logf("accepted twice: %d of 300", twice)
	if twice > 0 {
		t.Errorf("%d proofs accepted twice without a proxy", twice)
	}
}
