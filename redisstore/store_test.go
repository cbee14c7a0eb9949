package redisstore_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bearerguard/bearerguard/internal/leakcheck"
	"github.com/bearerguard/bearerguard/internal/redistest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/redisstore"
)

func TestOpenConfiguration(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opts []redisstore.Option
		want []string // every one must be in the error; none: no error
	}{
		{"defaults", "redis://127.0.0.1:6379/0", nil, nil},
		{"TLS and credentials", "rediss://user:secret@redis.internal:6380/2", nil, nil},
		{"unix socket", "unix:///run/redis.sock", nil, nil},
		{"every option", "redis://127.0.0.1:1", []redisstore.Option{
			redisstore.WithPrefix("svc:"), redisstore.WithTimeout(50 * time.Millisecond), redisstore.WithPoolSize(4),
			redisstore.WithMaxValueSize(4096), redisstore.WithLocalCache(100, time.Second),
			redisstore.WithEncryption(keyA, keyB), redisstore.WithReplayFailOpen(),
			redisstore.WithLogger(nil), redisstore.WithClock(nil),
		}, []string{"WithLogger: nil logger", "WithClock: nil clock"}},
		{"all problems at once", "http://user:hunter2@x/", []redisstore.Option{
			redisstore.WithPrefix("has space"), redisstore.WithTimeout(0), redisstore.WithPoolSize(0),
			redisstore.WithMaxValueSize(10), redisstore.WithLocalCache(-1, time.Second),
			redisstore.WithEncryption(redisstore.EncryptionKey{ID: "", Key: make([]byte, 7)}, keyA, keyA),
		}, []string{"WithPrefix", "WithTimeout", "WithPoolSize", "WithMaxValueSize", "WithLocalCache",
			"key 0: the id must be", "must be 16, 24 or 32 bytes", `id "2025-a" given twice`, "invalid URL scheme"}},
		{"no encryption key", "redis://x", []redisstore.Option{redisstore.WithEncryption()}, []string{"WithEncryption: no key"}},
		// A bare number is nanoseconds: no call fits in it.
		{"timeout of 100 ns", "redis://x", []redisstore.Option{redisstore.WithTimeout(100)}, []string{"WithTimeout: 100ns is not between a millisecond and a minute"}},
		{"timeout of a millisecond", "redis://x", []redisstore.Option{redisstore.WithTimeout(time.Millisecond)}, nil},
		// An id given again in a later call once replaced the earlier key:
		// the store encrypted with, and accepted, the one meant retired
		// (SECURITY.md 103).
		{"one id in two calls", "redis://x", []redisstore.Option{
			redisstore.WithEncryption(keyA), redisstore.WithEncryption(redisstore.EncryptionKey{ID: keyA.ID, Key: keyB.Key}),
		}, []string{`id "2025-a" given twice`}},
		{"two calls, two ids", "redis://x", []redisstore.Option{redisstore.WithEncryption(keyA), redisstore.WithEncryption(keyB)}, nil},
		{"URL that does not parse", "redis://user:hunter2@[::1", nil, []string{"does not parse"}},
		{"bad database", "redis://:hunter2@x/abc", nil, []string{"invalid database"}},
		{"skip_verify in the URL", "rediss://:hunter2@x/0?skip_verify=true", nil, []string{"skip_verify is refused"}},
		{"skip_verify=false too", "rediss://:hunter2@x/0?skip_verify=false", nil, []string{"skip_verify is refused"}},
		{"TLS configuration", "rediss://:hunter2@x/0", []redisstore.Option{redisstore.WithTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12})}, nil},
		{"TLS configuration without TLS", "redis://:hunter2@x/0", []redisstore.Option{redisstore.WithTLSConfig(&tls.Config{})}, []string{"WithTLSConfig needs a rediss:// URL"}},
		{"TLS configuration that skips verification", "rediss://x/0", []redisstore.Option{redisstore.WithTLSConfig(&tls.Config{InsecureSkipVerify: true})}, []string{"InsecureSkipVerify is refused"}},
		{"nil TLS configuration", "rediss://x/0", []redisstore.Option{redisstore.WithTLSConfig(nil)}, []string{"WithTLSConfig: nil configuration"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := redisstore.Open(tt.url, tt.opts...)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatal("Open accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the URL's password is in the error: %q", err)
			}
		})
	}
}

func TestNewWithClient(t *testing.T) {
	srv := redistest.Start(t)
	if _, err := redisstore.New(nil); err == nil {
		t.Error("New(nil) accepted")
	}
	plain := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer plain.Close()
	if _, err := redisstore.New(plain, redisstore.WithPoolSize(3)); err == nil ||
		!strings.Contains(err.Error(), "ContextTimeoutEnabled") || !strings.Contains(err.Error(), "only with Open") {
		t.Errorf("New with a client without ContextTimeoutEnabled and WithPoolSize: %v", err)
	}
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	defer client.Close()
	s, err := redisstore.New(client, redisstore.WithPrefix("mine:"))
	if err != nil {
		t.Fatal(err)
	}
	if fresh, err := s.ReplayStore().Remember(context.Background(), "k", time.Now().Add(time.Minute)); !fresh || err != nil {
		t.Fatalf("Remember: %v, %v", fresh, err)
	}
	if n, err := client.Exists(context.Background(), "mine:dpop:k").Result(); n != 1 || err != nil {
		t.Errorf("key under the prefix: %d, %v", n, err)
	}
	s.Close()
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Errorf("Close closed a client the store does not own: %v", err)
	}
}

// TestClose: after Close nothing is left running, the replay store refuses,
// and the cache answers from its local tier.
func TestClose(t *testing.T) {
	leakcheck.Check(t)
	srv := redistest.Start(t)
	s, err := redisstore.Open(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	s.Cache().Put(key("k"), introspect.Entry{Token: answer(t, activeBody), Expires: now.Add(time.Minute)})
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.ReplayStore().Remember(ctx, "p", now.Add(time.Minute)); !errors.Is(err, redisstore.ErrClosed) {
		t.Errorf("Remember after Close: %v", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, redisstore.ErrClosed) {
		t.Errorf("Ping after Close: %v", err)
	}
	if _, ok := s.Cache().Get(key("k"), now); !ok {
		t.Error("the local tier does not answer after Close")
	}
	if _, ok := s.Cache().Get(key("other"), now); ok || s.Cache().Stats().Errors != 0 {
		t.Errorf("a miss after Close: %v, %+v", ok, s.Cache().Stats())
	}
}

// TestPoolBound: however many callers, the store holds at most its pool of
// connections, and a frozen Redis costs each caller at most the timeout.
func TestPoolBound(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	s := open(t, srv, redisstore.WithPoolSize(3), redisstore.WithTimeout(80*time.Millisecond))
	ctx := context.Background()
	expires := time.Now().Add(time.Minute)
	run := func(n int) (worst time.Duration) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				start := time.Now()
				_, _ = s.ReplayStore().Remember(ctx, "pool-"+strconv.Itoa(i)+time.Now().String(), expires)
				d := time.Since(start)
				mu.Lock()
				worst = max(worst, d)
				mu.Unlock()
			})
		}
		wg.Wait()
		return worst
	}
	run(50)
	clients, err := rdb.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	// One line per connection: the store's, and this test's own client.
	if n := strings.Count(strings.TrimSpace(clients), "\n") + 1; n > 3+1 {
		t.Errorf("%d connections to Redis, want at most the pool (3) and the test's own:\n%s", n, clients)
	}
	srv.Pause()
	worst := run(30)
	srv.Resume()
	if worst > 80*time.Millisecond+900*time.Millisecond {
		t.Errorf("with Redis frozen the slowest of 30 callers took %v; the timeout is 80 ms", worst)
	}
}

// A rediss:// server is verified: go-redis's skip_verify=true in the URL
// (a platform's environment, rarely reviewed) would have let whoever
// answers the connection answer every DPoP replay check; it is refused,
// and a private CA is trusted with WithTLSConfig (second Redis review).
func TestRedissVerified(t *testing.T) {
	srv := redistest.Start(t)
	front, caFile := srv.TLSFront()
	addr := strings.TrimSuffix(strings.TrimPrefix(front, "rediss://"), "/0")
	ping := func(url string, opts ...redisstore.Option) error {
		s, err := redisstore.Open(url, append(opts, redisstore.WithTimeout(2*time.Second))...)
		if err != nil {
			return err
		}
		defer s.Close()
		return s.Ping(t.Context())
	}
	if err := ping("rediss://" + addr + "/0"); err == nil {
		t.Error("rediss:// accepted a certificate no one trusts")
	}
	if err := ping("rediss://" + addr + "/0?skip_verify=true"); err == nil || !strings.Contains(err.Error(), "skip_verify is refused") {
		t.Errorf("skip_verify=true in the URL: %v", err)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	if err := ping("rediss://"+addr+"/0", redisstore.WithTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})); err != nil {
		t.Errorf("rediss:// with its CA trusted: %v", err)
	}
	if err := ping("rediss://"+addr+"/0", redisstore.WithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "redis.example.com"})); err == nil {
		t.Error("a certificate for the loopback names was accepted for redis.example.com")
	}
}

// RouteClientLogs takes go-redis's own lines (a failed dial per call
// during an outage) off the standard error into the program's logger, at
// the level asked for; below the handler's level they are dropped.
func TestRouteClientLogs(t *testing.T) {
	srv := redistest.Start(t)
	url := srv.URL
	srv.Kill() // nothing listens there now: every call fails to dial
	t.Cleanup(func() { redisstore.RouteClientLogs(slog.New(slog.NewTextHandler(os.Stderr, nil)), slog.LevelWarn) })
	for _, tt := range []struct {
		name  string
		level slog.Level
		want  bool
	}{
		{"at Warn", slog.LevelWarn, true},
		{"at Debug, below the handler's Info", slog.LevelDebug, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			buf := &logBuffer{}
			redisstore.RouteClientLogs(slog.New(slog.NewTextHandler(buf, nil)), tt.level)
			s, err := redisstore.Open(url, redisstore.WithTimeout(faultTimeout), redisstore.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Ping(t.Context()); err == nil {
				t.Fatal("Ping of a closed server succeeded")
			}
			got := buf.String()
			if has := strings.Contains(got, "go-redis: ") && strings.Contains(got, "failed to dial"); has != tt.want {
				t.Errorf("logged %q; want go-redis's failed dial: %v", got, tt.want)
			}
		})
	}
}
