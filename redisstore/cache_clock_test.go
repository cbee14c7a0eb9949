package redisstore_test

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/redistest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/redisstore"
)

// Replicas whose clocks disagree share the cache as well as replicas whose
// clocks agree (found by a review of time):
//   - a replica whose clock lags the writer's kept the answer it read from
//     Redis in its local tier past the answer's end, over the "inactive"
//     written since: the expiry in the value is an instant on the writer's
//     clock, the key's life on Redis's is everyone's;
//   - a replica whose clock runs ahead found the answer expired, asked the
//     server, could not replace the live key (SET NX), kept nothing, and so
//     asked on every check.
func TestCacheAcrossClocksThatDisagree(t *testing.T) {
	srv := redistest.Start(t)

	t.Run("reader behind", func(t *testing.T) {
		behind := func() time.Time { return time.Now().Add(-4 * time.Second) }
		a := open(t, srv, redisstore.WithPrefix("behind:")).Cache()
		b := open(t, srv, redisstore.WithPrefix("behind:"), redisstore.WithClock(behind)).Cache()
		k := key("lagging-reader")
		expires := time.Now().Add(2 * time.Second)
		a.Put(k, introspect.Entry{Token: answer(t, activeBody), Expires: expires})
		if e, ok := b.Get(k, behind()); !ok || e.Token == nil {
			t.Fatal("the replica behind did not read the active answer")
		}
		time.Sleep(time.Until(expires) + 500*time.Millisecond)
		a.Put(k, introspect.Entry{Expires: time.Now().Add(10 * time.Second)}) // revoked: "inactive" written
		if e, ok := b.Get(k, behind()); ok && e.Token != nil {
			t.Error("the replica behind answers active from its local tier 0.5 s after the answer ended, over the inactive answer in Redis")
		}
	})

	for _, skew := range []time.Duration{0, 5 * time.Second, 61 * time.Second, 2 * time.Minute} {
		t.Run("reader ahead by "+skew.String(), func(t *testing.T) {
			iss := bearertest.NewIssuer(t)
			iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "s"})
			ahead := func() time.Time { return time.Now().Add(skew) }
			prefix := "ahead" + skew.String() + ":"
			a, b := replica(t, srv, iss, prefix, time.Now, iss.Client()), replica(t, srv, iss, prefix, ahead, iss.Client())
			tok := iss.Opaque(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "carol", "exp": time.Now().Add(time.Hour).Unix()})
			if _, err := a.Introspect(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
			for i := range 20 {
				if _, err := b.Introspect(context.Background(), tok); err != nil {
					t.Fatalf("check %d: %v", i, err)
				}
			}
			if b.Requests() > 1 {
				t.Errorf("the replica ahead asked the server %d times in 20 checks of one token cached in Redis, want 1 at most", b.Requests())
			}
		})
	}
}

// An entry read from Redis ends on the reader's monotonic clock: the
// expiry in the value is a wall-clock instant, and a wall clock stepped
// back would have kept the entry the step longer (a step of the wall
// clock alone cannot be made in a test: this holds the mechanism). And an
// expiry centuries away, which WithMaxTTL allows, is kept a year and reads
// back: past 2262 the encoded nanoseconds wrapped, and every replica read
// a live key as expired, asking the server on every check.
func TestCacheEntryEndsOnTheMonotonicClock(t *testing.T) {
	srv := redistest.Start(t)
	a := open(t, srv, redisstore.WithLocalCache(0, 0)).Cache()
	b := open(t, srv, redisstore.WithLocalCache(0, 0)).Cache()
	const year = 365 * 24 * time.Hour
	for _, tc := range []struct {
		in, want time.Duration
	}{{time.Hour, time.Hour}, {200 * year, year}, {280 * year, year}} {
		k := key("far" + tc.in.String())
		a.Put(k, introspect.Entry{Token: answer(t, activeBody), Expires: time.Now().Add(tc.in)})
		e, ok := b.Get(k, time.Now())
		if !ok || e.Token == nil {
			t.Errorf("an active answer ending in %v reads back as a miss", tc.in)
			continue
		}
		if !strings.Contains(e.Expires.String(), " m=") {
			t.Errorf("an entry read from Redis ends at %v, with no monotonic reading", e.Expires)
		}
		if d := time.Until(e.Expires); d > tc.want || d < tc.want-time.Minute {
			t.Errorf("an answer ending in %v is kept %v, want %v", tc.in, d, tc.want)
		}
		pttl := srv.Client().PTTL(t.Context(), "bearerguard:introspect:"+base64.RawURLEncoding.EncodeToString(k[:])).Val()
		if pttl > tc.want || pttl < tc.want-time.Minute {
			t.Errorf("an answer ending in %v lives %v in Redis, want %v", tc.in, pttl, tc.want)
		}
	}
}

// An active answer that Redis refused (SET NX) is kept by this replica
// only when what Redis holds is an active answer it can read: the
// "inactive" another replica wrote after a revocation wins, even where this
// replica cannot read it (its clock runs ahead of the writer's by more than
// the inactive TTL, or the value is sealed under a key it does not hold).
// The first fix of a replica ahead asking on every check kept its own
// answer whenever it could not read Redis's, undoing a revocation on it for
// the local TTL (found by a review of that fix).
func TestRevocationInRedisWinsOverAnAnswerKeptHere(t *testing.T) {
	srv := redistest.Start(t)

	t.Run("reader clock ahead of the writer's by more than the inactive TTL", func(t *testing.T) {
		ahead := func() time.Time { return time.Now().Add(15 * time.Second) }
		writer := open(t, srv, redisstore.WithPrefix("ahead:")).Cache()
		reader := open(t, srv, redisstore.WithPrefix("ahead:"), redisstore.WithClock(ahead)).Cache()
		k := key("revoked-ahead")
		// Replica B saw the revocation: "inactive" for 10 s (DefaultInactiveTTL).
		writer.Put(k, introspect.Entry{Expires: time.Now().Add(10 * time.Second)})
		// Replica A's answer, asked before the revocation, arrives now.
		reader.Put(k, introspect.Entry{Token: answer(t, activeBody), Expires: ahead().Add(55 * time.Second)})
		pttl := srv.Client().PTTL(t.Context(), "ahead:introspect:"+base64.RawURLEncoding.EncodeToString(k[:])).Val()
		if pttl <= 0 {
			t.Fatalf("setup: Redis should still hold the inactive answer (PTTL %v)", pttl)
		}
		if e, ok := reader.Get(k, ahead()); ok && e.Token != nil {
			t.Errorf("Redis holds the inactive answer for %v more (PTTL), yet the replica whose clock is ahead answers ACTIVE from its local tier", pttl)
		}
	})

	t.Run("inactive answer sealed under a key the reader does not hold", func(t *testing.T) {
		writer := open(t, srv, redisstore.WithPrefix("rot:"), redisstore.WithEncryption(keyB, keyA)).Cache()
		reader := open(t, srv, redisstore.WithPrefix("rot:"), redisstore.WithEncryption(keyA)).Cache()
		k := key("revoked-rotated")
		writer.Put(k, introspect.Entry{Expires: time.Now().Add(10 * time.Second)})
		reader.Put(k, introspect.Entry{Token: answer(t, activeBody), Expires: time.Now().Add(55 * time.Second)})
		if e, ok := reader.Get(k, time.Now()); ok && e.Token != nil {
			t.Error("Redis holds an inactive answer (under a key this replica lacks), yet the replica answers ACTIVE from its local tier")
		}
	})

	t.Run("clocks and keys agree", func(t *testing.T) {
		writer := open(t, srv, redisstore.WithPrefix("ok:")).Cache()
		reader := open(t, srv, redisstore.WithPrefix("ok:")).Cache()
		k := key("revoked-ok")
		writer.Put(k, introspect.Entry{Expires: time.Now().Add(10 * time.Second)})
		reader.Put(k, introspect.Entry{Token: answer(t, activeBody), Expires: time.Now().Add(55 * time.Second)})
		if e, ok := reader.Get(k, time.Now()); !ok || e.Token != nil {
			t.Errorf("want the inactive answer from Redis, got ok=%v active=%v", ok, ok && e.Token != nil)
		}
	})
}

// gate holds the first introspection request of a client until released.
type gate struct {
	rt       http.RoundTripper
	once     sync.Once
	entered  chan struct{}
	released chan struct{}
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	first := false
	g.once.Do(func() { first = true })
	if !first {
		return g.rt.RoundTrip(r)
	}
	resp, err := g.rt.RoundTrip(r) // the server answers now (before the revocation)...
	close(g.entered)
	<-g.released // ...and the answer arrives after it
	return resp, err
}

// End to end, two introspect clients on one Redis and a real issuer:
// replica A's request is answered "active" just before the token is
// revoked and arrives just after replica B has written "inactive". Once
// the revocation is in Redis, A refuses the token, its clock right or 15 s
// ahead of B's.
func TestInFlightAnswerDoesNotUndoRevocation(t *testing.T) {
	srv := redistest.Start(t)
	for _, skew := range []time.Duration{0, 15 * time.Second} {
		t.Run("skew "+skew.String(), func(t *testing.T) {
			iss := bearertest.NewIssuer(t)
			iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "s"})
			prefix := "e2e" + skew.String() + ":"
			g := &gate{rt: iss.Client().Transport, entered: make(chan struct{}), released: make(chan struct{})}
			hcA := *iss.Client()
			hcA.Transport = g
			a := replica(t, srv, iss, prefix, func() time.Time { return time.Now().Add(skew) }, &hcA)
			b := replica(t, srv, iss, prefix, time.Now, iss.Client())
			tok := iss.Opaque(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "carol", "exp": time.Now().Add(time.Hour).Unix()})

			done := make(chan error, 1)
			go func() { _, err := a.Introspect(context.Background(), tok); done <- err }()
			<-g.entered // the server has answered A "active"
			iss.Revoke(tok)
			if _, err := b.Introspect(context.Background(), tok); err == nil {
				t.Fatal("replica B accepts the revoked token")
			}
			close(g.released)
			if err := <-done; err != nil {
				t.Fatalf("A's in-flight check: %v", err)
			}
			revokedSeen := time.Now()
			var accepted int
			var last time.Duration
			for time.Since(revokedSeen) < 7*time.Second {
				if _, err := a.Introspect(context.Background(), tok); err == nil {
					accepted++
					last = time.Since(revokedSeen)
				}
				time.Sleep(200 * time.Millisecond)
			}
			if accepted > 0 {
				t.Errorf("after B wrote \"inactive\" to Redis, replica A accepted the revoked token on %d checks, the last %v later",
					accepted, last.Round(time.Millisecond))
			}
		})
	}
}

// Put's look at what Redis kept counts nothing: Rejected is documented as
// counting a miss each, and Errors a Get's miss or a Put's drop.
func TestPutCountsNothingItReads(t *testing.T) {
	srv := redistest.Start(t)
	writer := open(t, srv, redisstore.WithPrefix("stats:"), redisstore.WithEncryption(keyB)).Cache()
	st := open(t, srv, redisstore.WithPrefix("stats:"), redisstore.WithEncryption(keyA))
	reader := st.Cache()
	k := key("stats")
	writer.Put(k, introspect.Entry{Token: answer(t, activeBody), Expires: time.Now().Add(time.Minute)})
	reader.Put(k, introspect.Entry{Token: answer(t, activeBody), Expires: time.Now().Add(time.Minute)})
	s := reader.Stats()
	if s.Rejected != s.Misses {
		t.Errorf("after one Put and no Get: Rejected=%d, Misses=%d (documented: each rejected value counted a miss)", s.Rejected, s.Misses)
	}
}

// A key with no TTL (PTTL -1: PERSISTed, or restored by an operator) reads,
// and its local copy still ends with the local TTL.
func TestKeyWithoutTTL(t *testing.T) {
	srv := redistest.Start(t)
	a := open(t, srv, redisstore.WithPrefix("pttl:")).Cache()
	b := open(t, srv, redisstore.WithPrefix("pttl:"), redisstore.WithLocalCache(100, 300*time.Millisecond)).Cache()
	k := key("persisted")
	a.Put(k, introspect.Entry{Token: answer(t, activeBody), Expires: time.Now().Add(time.Minute)})
	rkey := "pttl:introspect:" + base64.RawURLEncoding.EncodeToString(k[:])
	if err := srv.Client().Persist(t.Context(), rkey).Err(); err != nil {
		t.Fatal(err)
	}
	if e, ok := b.Get(k, time.Now()); !ok || e.Token == nil {
		t.Fatal("a key without TTL reads as a miss")
	}
	srv.Client().Del(t.Context(), rkey)
	time.Sleep(400 * time.Millisecond)
	if _, ok := b.Get(k, time.Now()); ok {
		t.Error("the local copy of a key without TTL outlived the local TTL after the key was deleted")
	}
	if s := b.Stats(); s.Errors != 0 || s.Rejected != 0 {
		t.Errorf("stats %+v", s)
	}
}

// A Redis user allowed the commands the README lists, and no others, runs
// everything the store does: shared answers written and read, a DPoP proof
// remembered and its replay refused, Ping.
func TestACLUserWithTheREADMECommands(t *testing.T) {
	srv := redistest.Start(t)
	if err := srv.Client().Do(t.Context(), "ACL", "SETUSER", "orders", "on", ">s3cret", "~bearerguard:*", "+getrange", "+pttl", "+set", "+ping").Err(); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("orders", "s3cret")
	var stores []*redisstore.Store
	for range 2 {
		st, err := redisstore.Open(u.String(), redisstore.WithTimeout(testTimeout), redisstore.WithLocalCache(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores = append(stores, st)
	}
	if err := stores[0].Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	k := key("acl")
	stores[0].Cache().Put(k, introspect.Entry{Token: answer(t, activeBody), Expires: time.Now().Add(time.Minute)})
	if e, ok := stores[1].Cache().Get(k, time.Now()); !ok || e.Token == nil {
		t.Errorf("the answer written by one replica was not read by the other: %+v", stores[1].Cache().Stats())
	}
	exp := time.Now().Add(time.Minute)
	if fresh, err := stores[0].ReplayStore().Remember(t.Context(), "proof-acl", exp); !fresh || err != nil {
		t.Fatalf("Remember a new proof: %v, %v", fresh, err)
	}
	if fresh, err := stores[1].ReplayStore().Remember(t.Context(), "proof-acl", exp); fresh || err != nil {
		t.Errorf("Remember a replayed proof on another replica: %v, %v, want false", fresh, err)
	}
	for _, st := range stores {
		if s := st.Cache().Stats(); s.Errors != 0 || st.ReplayStore().Errors() != 0 {
			t.Errorf("errors: %+v, replay %d", s, st.ReplayStore().Errors())
		}
	}
}

// replica is an introspect client for iss on its own Store over srv,
// sharing prefix, with the clock and HTTP client given.
func replica(t *testing.T, srv *redistest.Server, iss *bearertest.Issuer, prefix string, clock func() time.Time, hc *http.Client) *introspect.Client {
	t.Helper()
	st := open(t, srv, redisstore.WithPrefix(prefix), redisstore.WithClock(clock))
	ic, err := introspect.New(iss.IntrospectionURL(), introspect.ClientSecretBasic("orders-api", "s"),
		introspect.WithHTTPClient(hc), introspect.WithCache(st.Cache()), introspect.WithClock(clock),
		introspect.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ic.Close() })
	return ic
}
