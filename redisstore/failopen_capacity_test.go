package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bearerguard/bearerguard/redisstore"
	"github.com/bearerguard/bearerguard/validator"
)

// fakeRedis answers the replay check (SET NX PXAT, PTTL, GETRANGE, pipelined) in
// process (fresh) while up, and fails
// every command while down: no network, so 100,000 proofs cost little.
type fakeRedis struct{ down atomic.Bool }

func (f *fakeRedis) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, errors.New("fake: no dialing")
	}
}

func (f *fakeRedis) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if f.down.Load() {
			err := errors.New("OOM command not allowed when used memory > 'maxmemory'")
			cmd.SetErr(err)
			return err
		}
		if b, ok := cmd.(*redis.BoolCmd); ok {
			b.SetVal(true)
			return nil
		}
		return nil
	}
}

func (f *fakeRedis) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var mark string
		for _, cmd := range cmds {
			if f.down.Load() {
				err := errors.New("OOM command not allowed when used memory > 'maxmemory'")
				cmd.SetErr(err)
				continue
			}
			c, ok := cmd.(*redis.Cmd)
			if !ok {
				continue
			}
			switch cmd.Name() {
			case "set": // SET key value NX PXAT end
				mark = fmt.Sprint(cmd.Args()[2])
				c.SetVal("OK")
			case "pttl":
				c.SetVal(int64(60_000))
			case "getrange": // the value SET wrote
				c.SetVal(mark)
			}
		}
		return nil
	}
}

// Failing open, the proofs a replica accepts through Redis are remembered
// apart from the bounded store that decides without Redis: a replica that
// accepted 100,000 proofs through Redis in the last window (~830 DPoP
// requests/s, its own traffic or one client's) still accepts proofs when
// Redis fails, as the option says, instead of refusing every one 503.
// failOpenOverFake returns a failing-open replay store over fakeRedis, on
// a clock that reads now (Unix ns, from 2026-01-01).
func failOpenOverFake(t *testing.T) (*fakeRedis, *redisstore.ReplayStore, *atomic.Int64) {
	t.Helper()
	f := &fakeRedis{}
	rdb := redis.NewClient(&redis.Options{Addr: "fake:6379", ContextTimeoutEnabled: true, MaxRetries: -1})
	rdb.AddHook(f)
	now := new(atomic.Int64)
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	s, err := redisstore.New(rdb, redisstore.WithReplayFailOpen(), redisstore.WithTimeout(time.Second),
		redisstore.WithClock(func() time.Time { return time.Unix(0, now.Load()) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return f, s.ReplayStore(), now
}

func TestFailOpenStoreNotFilledByHealthyTraffic(t *testing.T) {
	f, r, _ := failOpenOverFake(t)
	ctx := context.Background()
	expires := time.Now().Add(2 * time.Minute) // a proof's window + 2 x leeway + 1 s, about
	for i := range validator.DefaultReplayStoreSize {
		if fresh, err := r.Remember(ctx, fmt.Sprintf("healthy-%06d", i), expires); !fresh || err != nil {
			t.Fatalf("healthy proof %d: %v, %v", i, fresh, err)
		}
	}
	// Redis stops answering: the documented behaviour is to accept a new,
	// never-seen proof after the in-process check.
	f.down.Store(true)
	fresh, err := r.Remember(ctx, "first-proof-of-the-outage", expires)
	if !fresh {
		t.Errorf("WithReplayFailOpen: the first new proof of an outage is refused (fresh=%v, err=%v, FailOpens=%d): the in-process store is full of proofs Redis had already accepted, so fail open fails closed for up to a proof window",
			fresh, err, r.FailOpens())
	}
}

// With more proofs accepted through Redis than the record holds, the
// oldest are forgotten, not the newest: a proof accepted through Redis just
// before an outage is refused when replayed to the same replica during it.
func TestFailOpenReplayAfterStoreWasFull(t *testing.T) {
	f, r, now := failOpenOverFake(t)
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	ctx := context.Background()
	window := 2 * time.Minute
	for i := range validator.DefaultReplayStoreSize {
		if fresh, err := r.Remember(ctx, fmt.Sprintf("busy-%06d", i), clock().Add(window)); !fresh || err != nil {
			t.Fatalf("healthy proof %d: %v, %v", i, fresh, err)
		}
	}
	now.Add(int64(time.Minute))
	if fresh, err := r.Remember(ctx, "captured-proof", clock().Add(window)); !fresh || err != nil {
		t.Fatalf("captured proof, first use through Redis: %v, %v", fresh, err)
	}
	now.Add(int64(time.Minute + 2*time.Second)) // the busy proofs expired; the captured one has ~1 min left
	f.down.Store(true)
	if fresh, err := r.Remember(ctx, "captured-proof", clock().Add(window-62*time.Second)); fresh {
		t.Errorf("a proof this replica accepted through Redis, replayed to it during an outage: accepted a second time (err=%v, FailOpens=%d)", err, r.FailOpens())
	}
}
