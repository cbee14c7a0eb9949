package redisstore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/redistest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/redisstore"
	"github.com/bearerguard/bearerguard/validator"
)

// The documentation of WithReplayFailOpen promises that during an outage a
// proof "replayed to the same replica is refused". The in-process check
// only knows the proofs accepted fail open, though: a proof this very
// replica accepted through Redis a moment before the outage is accepted
// again, by the same replica, as soon as Redis stops answering.
func TestFailOpenRemembersProofsAcceptedThroughRedis(t *testing.T) {
	admin, a, _ := failOpenReplicas(t)
	ctx := context.Background()
	expires := time.Now().Add(time.Minute)
	if fresh, err := a.Remember(ctx, "proof-1", expires); !fresh || err != nil {
		t.Fatalf("healthy: %v, %v", fresh, err)
	}
	setOutOfMemory(t, admin, true)
	defer setOutOfMemory(t, admin, false)
	fresh, err := a.Remember(ctx, "proof-1", expires)
	if fresh {
		t.Errorf("proof accepted through Redis, then replayed to the SAME replica during an outage: accepted again (fresh=%v err=%v, FailOpens=%d)", fresh, err, a.FailOpens())
	}
}

// delayProxy forwards TCP to a Redis server, holding back the reply to a
// GETRANGE for delay while armed: a replica's cache read that was answered
// by Redis but reaches the replica late (a slow network, a GC pause).
type delayProxy struct {
	addr  string
	armed atomic.Bool
	delay time.Duration
}

func startDelayProxy(t *testing.T, backend string, delay time.Duration) *delayProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &delayProxy{addr: ln.Addr().String(), delay: delay}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", backend)
			if err != nil {
				c.Close()
				continue
			}
			var pending atomic.Bool
			wg.Add(2)
			go func() { // client -> server
				defer wg.Done()
				defer s.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if p.armed.Load() && bytes.Contains(bytes.ToLower(buf[:n]), []byte("getrange")) {
							pending.Store(true)
						}
						if _, werr := s.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
			go func() { // server -> client
				defer wg.Done()
				defer c.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := s.Read(buf)
					if n > 0 {
						if pending.Swap(false) {
							time.Sleep(p.delay)
						}
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return p
}

// Finding 17/63: an "inactive" answer (a revocation) replaces whatever the
// fleet has, and a replica never keeps an "active" answer locally that
// Redis does not hold. A Get whose Redis read raced a Put(inactive) on the
// same replica still copies its (older) active answer into the local tier
// after the Put finished: the replica answers "active" from its local
// tier for up to the local TTL although Redis, and its own last Put, say
// "inactive".
func TestStaleRedisReadKeepsLocalRevocation(t *testing.T) {
	srv := redistest.Start(t)
	proxy := startDelayProxy(t, srv.Addr, 300*time.Millisecond)
	replica, err := redisstore.Open("redis://"+proxy.addr, redisstore.WithTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { replica.Close() })
	other := open(t, srv) // another replica, asked before the revocation
	c := replica.Cache()
	k := key("revoked")
	now := time.Now()
	other.Cache().Put(k, introspect.Entry{Token: answer(t, activeBody), Expires: now.Add(time.Minute)})

	proxy.armed.Store(true)
	got := make(chan bool, 1)
	go func() { // a request on this replica reads the cache: Redis still says active
		e, ok := c.Get(k, time.Now())
		got <- ok && e.Token != nil
	}()
	time.Sleep(100 * time.Millisecond) // the GETRANGE has been answered, its reply is on its way
	proxy.armed.Store(false)
	// Meanwhile this replica learns the token was revoked and stores it.
	c.Put(k, introspect.Entry{Expires: time.Now().Add(10 * time.Second)})
	if e, ok := c.Get(k, time.Now()); !ok || e.Token != nil {
		t.Fatalf("right after Put(inactive): %+v, %v", e, ok)
	}
	<-got // the racing Get ends (it may say active: it began before the Put)

	// Both calls are over. Redis says inactive:
	if v := srv.Client().Exists(context.Background(), redisstore.DefaultPrefix+"introspect:"+base64.RawURLEncoding.EncodeToString(k[:])).Val(); v != 1 {
		t.Fatalf("redis key missing")
	}
	if e, ok := open(t, srv).Cache().Get(k, time.Now()); !ok || e.Token != nil {
		t.Fatalf("the fleet's answer: %+v, %v; want inactive", e, ok)
	}
	// ... and this replica, asked now, after its own Put(inactive) ended?
	for i := range 3 {
		if e, ok := c.Get(k, time.Now()); ok && e.Token != nil {
			t.Errorf("read %d after the revocation was stored (Redis: inactive): this replica answers ACTIVE (sub %q) from its local tier", i, e.Token.Subject)
		}
		time.Sleep(time.Second)
	}
}

// The same, end to end: one replica's validator accepts a DPoP request,
// Redis stops taking writes, and the very same request (token and proof)
// replayed to that replica is accepted a second time.
func TestFailOpenReplayThroughValidator(t *testing.T) {
	srv := redistest.Start(t)
	iss := bearertest.NewIssuer(t)
	store := open(t, srv, redisstore.WithTimeout(faultTimeout), redisstore.WithReplayFailOpen())
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience("orders"),
		validator.WithDPoPReplayStore(store.ReplayStore()))
	if err != nil {
		t.Fatal(err)
	}
	key := bearertest.MustDPoPKey(t, validator.ES256)
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders"}, bearertest.BoundToKey(key))
	const url = "https://api.example.com/transfer"
	proof := key.MustProof(t, "POST", url, tok)
	present := func() error {
		_, err := v.ValidatePresentation(context.Background(), validator.Presentation{
			Scheme: validator.SchemeDPoP, Token: tok, Proof: proof, Method: "POST", URL: url})
		return err
	}
	if err := present(); err != nil {
		t.Fatalf("first use: %v", err)
	}
	setOutOfMemory(t, srv.Client(), true)
	defer setOutOfMemory(t, srv.Client(), false)
	if err := present(); err == nil {
		t.Errorf("captured DPoP request replayed to the same replica during a Redis outage: accepted a second time (FailOpens=%d)", store.ReplayStore().FailOpens())
	}
}
