package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/redistest"
	"github.com/bearerguard/bearerguard/redisstore"
)

// SECURITY.md 67: a proof replica A accepted fail open is written to Redis
// once it answers, so that every replica refuses it, even when A gets no
// further request (traffic moved away during the outage, a quiet service).
// The first fix started the write from A's next successful call only
// (review of this session's changes).
func TestFailOpenFlushWithoutTraffic(t *testing.T) {
	srv := redistest.Start(t)
	admin := srv.Client()
	ctx := context.Background()
	a := open(t, srv, redisstore.WithTimeout(faultTimeout), redisstore.WithReplayFailOpen()).ReplayStore()
	b := open(t, srv, redisstore.WithTimeout(faultTimeout), redisstore.WithReplayFailOpen()).ReplayStore()
	expires := time.Now().Add(time.Minute)
	for _, kv := range [][2]string{{"maxmemory-policy", "noeviction"}, {"maxmemory", "1"}} {
		if err := admin.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if fresh, err := a.Remember(ctx, "p1", expires); !fresh || err != nil {
		t.Fatalf("p1 during the outage: %v, %v; want accepted fail open", fresh, err)
	}
	if err := admin.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	// Redis answers again; A is not asked anything more.
	if err := admin.Set(ctx, "probe", "1", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	inRedis := admin.Exists(ctx, redisstore.DefaultPrefix+"dpop:p1").Val()
	if fresh, err := b.Remember(ctx, "p1", expires); fresh || err != nil {
		t.Errorf("p1 replayed to replica B 3 s after Redis recovered: fresh=%v, err=%v; want refused (A had not written it: in Redis %d)",
			fresh, err, inRedis)
	}
}
