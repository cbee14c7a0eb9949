package redisstore_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/redistest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/redisstore"
)

// TestCacheCallerDeadline: the cache's Redis reads end with the request
// that made them. An Introspect with a 200 ms deadline waited for a slow
// Redis up to the store's timeout (2 s here; up to a minute), so a forward
// auth decision ran past its own timeout. A read its caller gave up on is
// a miss, not a Redis failure: it does not make the cache leave Redis
// alone for every other request.
func TestCacheCallerDeadline(t *testing.T) {
	srv := redistest.Start(t)
	proxy := startDelayProxy(t, srv.Addr, 2*time.Second)
	s, err := redisstore.Open("redis://"+proxy.addr, redisstore.WithTimeout(3*time.Second), redisstore.WithLocalCache(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := s.Cache()
	k := key("slow")
	c.Put(k, introspect.Entry{Token: answer(t, activeBody), Expires: time.Now().Add(time.Minute)})

	proxy.armed.Store(true)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	start := time.Now()
	_, ok := c.GetContext(ctx, k, time.Now())
	cancel()
	if d := time.Since(start); ok || d > time.Second {
		t.Errorf("GetContext with a 200 ms deadline on a Redis 2 s slow: found=%v after %v, want a miss at the deadline", ok, d)
	}
	proxy.armed.Store(false)
	if st := c.Stats(); st.Errors != 0 {
		t.Errorf("a read its caller gave up on counted as %d Redis errors", st.Errors)
	}
	// Redis is not left alone: the next read finds the answer.
	time.Sleep(2 * time.Second) // the delayed reply drains
	if _, ok := c.Get(k, time.Now()); !ok {
		t.Errorf("after a caller's deadline, the next read missed (stats %+v)", c.Stats())
	}

	// Through an introspect.Client: the caller's deadline bounds the lookup.
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers: only the cache could
	}))
	t.Cleanup(endpoint.Close)
	ic, err := introspect.New(endpoint.URL, introspect.ClientSecretBasic("rs", "secret"), introspect.WithInsecureLoopbackHTTP(),
		introspect.WithCache(c), introspect.WithTimeout(time.Second), introspect.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ic.Close() })
	proxy.armed.Store(true)
	defer proxy.armed.Store(false)
	ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = ic.Introspect(ctx, "some-opaque-token")
	if d := time.Since(start); d > time.Second {
		t.Errorf("Introspect with a 200 ms deadline returned after %v (%v): the cache lookup ignored the caller's context", d, err)
	}
}
