package redisstore_test

import (
	"context"
	"encoding/base64"
	"log/slog"
	"strings"
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
			replica := func(clock func() time.Time) *introspect.Client {
				st := open(t, srv, redisstore.WithPrefix("ahead"+skew.String()+":"), redisstore.WithClock(clock))
				ic, err := introspect.New(iss.IntrospectionURL(), introspect.ClientSecretBasic("orders-api", "s"),
					introspect.WithHTTPClient(iss.Client()), introspect.WithCache(st.Cache()), introspect.WithClock(clock),
					introspect.WithLogger(slog.New(slog.DiscardHandler)))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ic.Close() })
				return ic
			}
			a, b := replica(time.Now), replica(ahead)
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
