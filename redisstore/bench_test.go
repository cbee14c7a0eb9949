package redisstore_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/redistest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/redisstore"
	"github.com/bearerguard/bearerguard/validator"
)

// latencies records one duration per operation and reports the median and
// the 99th percentile, in microseconds.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(us(l[len(l)/2]), "p50-µs")
	b.ReportMetric(us(l[min(len(l)*99/100, len(l)-1)]), "p99-µs")
}

// BenchmarkIntrospect: one introspection answer, served from the local
// tier, from Redis (plain and encrypted), from the authorization server
// over loopback HTTPS (nothing cached), and for a token never seen (with
// Redis: missed in Redis twice, asked, written to Redis), each against the
// in-memory LRU of a replica without Redis. Percentiles time the
// Introspect call alone.
func BenchmarkIntrospect(b *testing.B) {
	srv := redistest.Start(b)
	dflt := redisstore.WithTimeout(redisstore.DefaultTimeout) // what a service runs with
	iss := bearertest.NewIssuer(b)
	iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "s"})
	claims := bearertest.Claims{"aud": "orders", "scope": "read:data write:data", "sub": "alice", "client_id": "billing"}
	newClient := func(b *testing.B, opts ...introspect.Option) *introspect.Client {
		ic, err := introspect.New(iss.IntrospectionURL(), introspect.ClientSecretBasic("orders-api", "s"),
			append([]introspect.Option{introspect.WithHTTPClient(iss.Client())}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ic.Close() })
		return ic
	}
	ctx := context.Background()
	hit := func(b *testing.B, ic *introspect.Client) {
		tok := iss.Opaque(b, claims)
		if _, err := ic.Introspect(ctx, tok); err != nil { // warm
			b.Fatal(err)
		}
		l := make(latencies, 0, b.N)
		b.ResetTimer()
		for range b.N {
			start := time.Now()
			if _, err := ic.Introspect(ctx, tok); err != nil {
				b.Fatal(err)
			}
			l = append(l, time.Since(start))
		}
		b.StopTimer()
		l.report(b)
	}
	miss := func(b *testing.B, ic *introspect.Client) {
		l := make(latencies, 0, b.N)
		for range b.N {
			tok := iss.Opaque(b, claims) // never seen: not timed
			start := time.Now()
			if _, err := ic.Introspect(ctx, tok); err != nil {
				b.Fatal(err)
			}
			l = append(l, time.Since(start))
		}
		b.StopTimer()
		l.report(b)
	}
	b.Run("in-memory-LRU", func(b *testing.B) { hit(b, newClient(b)) })
	b.Run("local-tier", func(b *testing.B) {
		hit(b, newClient(b, introspect.WithCache(open(b, srv, dflt).Cache())))
	})
	b.Run("redis", func(b *testing.B) {
		hit(b, newClient(b, introspect.WithCache(open(b, srv, dflt, redisstore.WithLocalCache(0, 0)).Cache())))
	})
	b.Run("redis-encrypted", func(b *testing.B) {
		hit(b, newClient(b, introspect.WithCache(open(b, srv, dflt, redisstore.WithLocalCache(0, 0), redisstore.WithEncryption(keyA)).Cache())))
	})
	b.Run("authorization-server", func(b *testing.B) { hit(b, newClient(b, introspect.WithMaxTTL(0))) })
	b.Run("miss-in-memory-LRU", func(b *testing.B) { miss(b, newClient(b)) })
	b.Run("miss-through-redis", func(b *testing.B) {
		miss(b, newClient(b, introspect.WithCache(open(b, srv, dflt).Cache())))
	})
}

// BenchmarkReplayCheck: one DPoP proof remembered, in Redis (one SET NX
// round trip, with the default timeout) or in the default in-process
// store. A call that times out counts in "timeouts/op" (on a busy
// two-core machine a loopback call now and then takes over 100 ms).
func BenchmarkReplayCheck(b *testing.B) {
	srv := redistest.Start(b)
	ctx := context.Background()
	run := func(b *testing.B, s validator.ReplayStore) {
		expires := time.Now().Add(90 * time.Second)
		prefix := strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
		l := make(latencies, 0, b.N)
		timeouts := 0
		b.ResetTimer()
		for i := range b.N {
			k := prefix + strconv.Itoa(i)
			start := time.Now()
			fresh, err := s.Remember(ctx, k, expires)
			l = append(l, time.Since(start))
			switch {
			case errors.Is(err, redisstore.ErrUnavailable):
				timeouts++
			case !fresh || err != nil:
				b.Fatal(fresh, err)
			}
		}
		b.StopTimer()
		l.report(b)
		b.ReportMetric(float64(timeouts)/float64(b.N), "timeouts/op")
	}
	b.Run("redis", func(b *testing.B) {
		run(b, open(b, srv, redisstore.WithTimeout(redisstore.DefaultTimeout)).ReplayStore())
	})
	b.Run("memory", func(b *testing.B) { run(b, validator.NewMemoryReplayStore(validator.DefaultReplayStoreSize, nil)) })
}

// BenchmarkFleetASCalls: authorization-server requests per token per TTL
// when every replica of a fleet sees the token, with and without Redis.
func BenchmarkFleetASCalls(b *testing.B) {
	srv := redistest.Start(b)
	iss := bearertest.NewIssuer(b)
	iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "s"})
	ctx := context.Background()
	for _, shared := range []bool{false, true} {
		for _, n := range []int{1, 3} {
			name := "N=" + strconv.Itoa(n) + "/in-memory"
			if shared {
				name = "N=" + strconv.Itoa(n) + "/redis"
			}
			b.Run(name, func(b *testing.B) {
				var replicas []*introspect.Client
				for range n {
					opts := []introspect.Option{introspect.WithHTTPClient(iss.Client())}
					if shared {
						opts = append(opts, introspect.WithCache(open(b, srv, redisstore.WithTimeout(redisstore.DefaultTimeout)).Cache()))
					}
					ic, err := introspect.New(iss.IntrospectionURL(), introspect.ClientSecretBasic("orders-api", "s"), opts...)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { ic.Close() })
					replicas = append(replicas, ic)
				}
				before := iss.IntrospectionRequests()
				for range b.N {
					tok := iss.Opaque(b, bearertest.Claims{"aud": "orders"})
					for range 10 { // ten requests per replica within the TTL
						for _, ic := range replicas {
							if _, err := ic.Introspect(ctx, tok); err != nil {
								b.Fatal(err)
							}
						}
					}
				}
				b.ReportMetric(float64(iss.IntrospectionRequests()-before)/float64(b.N), "AS-calls/token")
			})
		}
	}
}
