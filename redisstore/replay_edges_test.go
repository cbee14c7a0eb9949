package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bearerguard/bearerguard/internal/redistest"
	"github.com/bearerguard/bearerguard/redisstore"
)

// TestReplayAtMostOnceAtTheWindowsEnd: replicas lagging Redis by 31 to 40 s
// (past the margin, so each takes the proofs for fresh) race with 120
// proofs within 2 ms of each one's end on Redis's clock: SET NX PXAT and
// PTTL are two steps, and no interleaving of them at the end lets a proof
// be accepted twice.
func TestReplayAtMostOnceAtTheWindowsEnd(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	var stores []*redisstore.ReplayStore
	for i := range 4 {
		lag := 31*time.Second + time.Duration(i)*3*time.Second
		stores = append(stores, open(t, srv, redisstore.WithClock(func() time.Time { return time.Now().Add(-lag) })).ReplayStore())
	}
	const proofs = 120
	var accepted [proofs]atomic.Int32
	var near atomic.Int64 // calls within 1 ms of a proof's end
	var wg sync.WaitGroup
	base := time.Now().Add(50 * time.Millisecond)
	for g := range 8 {
		wg.Go(func() {
			st := stores[g%len(stores)]
			for i := range proofs {
				// The end (expires + the 30 s margin) at base + i × 6.037 ms.
				end := base.Add(time.Duration(i) * 6037 * time.Microsecond)
				expires := end.Add(-30 * time.Second)
				time.Sleep(time.Until(end.Add(-2 * time.Millisecond)))
				for time.Now().Before(end.Add(2 * time.Millisecond)) {
					if d := time.Since(end); d > -time.Millisecond && d < time.Millisecond {
						near.Add(1)
					}
					fresh, err := st.Remember(ctx, fmt.Sprintf("edge-%d", i), expires)
					if err != nil {
						t.Error(err)
						return
					}
					if fresh {
						accepted[i].Add(1)
					}
				}
			}
		})
	}
	wg.Wait()
	twice := 0
	for i := range proofs {
		if accepted[i].Load() > 1 {
			twice++
		}
	}
	if twice > 0 {
		t.Errorf("%d of %d proofs accepted more than once at the end of their window", twice, proofs)
	}
	if near.Load() < proofs/10 {
		t.Errorf("only %d calls within 1 ms of a proof's end: the race was not run", near.Load())
	}
}

// TestReplayWellFormedWrongReplies: a server answering the check with
// replies of the wrong kind (an integer or a status where the other is
// due, nil, an error) never gets a proof accepted.
func TestReplayWellFormedWrongReplies(t *testing.T) {
	for _, reply := range []string{":1\r\n", "+OK\r\n", ":-1\r\n", ":-2\r\n", "$2\r\nOK\r\n", "$-1\r\n", "*-1\r\n",
		"*2\r\n+OK\r\n:1\r\n", "-NOPERM no\r\n", "-BUSY busy\r\n"} {
		t.Run(strconv.Quote(reply), func(t *testing.T) {
			s, err := redisstore.Open(hostileRedis(t, reply), redisstore.WithTimeout(testTimeout))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if fresh, err := s.ReplayStore().Remember(context.Background(), "proof", time.Now().Add(time.Minute)); fresh {
				t.Errorf("accepted (err %v)", err)
			}
		})
	}
}

// TestReplayInACluster: a redis.ClusterClient over three masters passed
// to New: SET and PTTL of one key go to one node, proofs spread over the
// nodes, each is accepted once, and a replica lagging ten minutes refuses
// a proof whose end has passed on the cluster's clock.
func TestReplayInACluster(t *testing.T) {
	addrs := startCluster(t)
	mk := func(lag time.Duration) *redisstore.ReplayStore {
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, MaxRetries: -1, ContextTimeoutEnabled: true, DisableIdentity: true})
		t.Cleanup(func() { cc.Close() })
		st, err := redisstore.New(cc, redisstore.WithTimeout(testTimeout), redisstore.WithClock(func() time.Time { return time.Now().Add(-lag) }))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st.ReplayStore()
	}
	a, b := mk(0), mk(10*time.Minute)
	ctx := context.Background()
	for i := range 60 {
		k := fmt.Sprintf("cl-%d", i)
		exp := time.Now().Add(time.Minute)
		if fresh, err := a.Remember(ctx, k, exp); !fresh || err != nil {
			t.Errorf("%s: %v, %v", k, fresh, err)
		}
		if fresh, err := b.Remember(ctx, k, exp); fresh || err != nil {
			t.Errorf("%s replayed: %v, %v", k, fresh, err)
		}
		if fresh, err := b.Remember(ctx, k+"-old", time.Now().Add(-2*time.Minute)); fresh || err != nil {
			t.Errorf("%s-old on the lagging replica: %v, %v", k, fresh, err)
		}
	}
	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		n := c.DBSize(ctx).Val()
		c.Close()
		if n == 0 {
			t.Errorf("no proof on master %s: the test did not spread over the cluster", addr)
		}
	}
}

// startCluster starts three redis-server masters with cluster mode on and
// joins them (redis-cli --cluster create), returning their addresses.
func startCluster(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	var addrs []string
	for i := range 3 {
		port := redistest.FreePort(t)
		cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", i)),
			"--logfile", filepath.Join(dir, fmt.Sprintf("r%d.log", i)))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(port))
	}
	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		eventually(t, 5*time.Second, addr+" answers", func() bool { return c.Ping(context.Background()).Err() == nil })
		c.Close()
	}
	out, err := exec.Command("redis-cli", append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v: %s", err, out)
	}
	c := redis.NewClient(&redis.Options{Addr: addrs[0]})
	defer c.Close()
	eventually(t, 10*time.Second, "cluster_state:ok", func() bool {
		return strings.Contains(c.ClusterInfo(context.Background()).Val(), "cluster_state:ok")
	})
	return addrs
}

// TestReplayOnRedisBefore62: a Redis that does not know SET's PXAT (before
// 6.2) answers a syntax error; every check is an outage, refused, and the
// error says what is missing.
func TestReplayOnRedisBefore62(t *testing.T) {
	s, err := redisstore.Open(hostileRedis(t, "-ERR syntax error\r\n"), redisstore.WithTimeout(testTimeout))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	fresh, err := s.ReplayStore().Remember(context.Background(), "proof", time.Now().Add(time.Minute))
	if fresh || !errors.Is(err, redisstore.ErrUnavailable) || !strings.Contains(err.Error(), "Redis 6.2") {
		t.Errorf("Remember = %v, %v; want refused, unavailable, naming Redis 6.2", fresh, err)
	}
}
