package introspect_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

func TestSharedCacheSeparatesEndpointsAndClients(t *testing.T) {
	active := func(string) string { return `{"active":true,"sub":"alice"}` }
	inactive := func(string) string { return `{"active":false}` }
	onlyFor := func(want string) func(string) string {
		return func(id string) string {
			if id == want {
				return active(id)
			}
			return inactive(id)
		}
	}
	two := perClient(t, onlyFor("rs-a")) // one endpoint, an answer per client
	tests := []struct {
		name     string
		srvA     *httptest.Server
		idA      string
		srvB     *httptest.Server
		idB      string
		sharedOK bool // whether B may answer from A's entry
	}{
		{"different endpoints", perClient(t, active), "rs", perClient(t, inactive), "rs", false},
		{"different client ids", two, "rs-a", two, "rs-b", false},
		{"same endpoint and client id", two, "rs-a", two, "rs-a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := introspect.NewLRU(100)
			client := func(srv *httptest.Server, id string) *introspect.Client {
				c, err := introspect.New(srv.URL, introspect.ClientSecretBasic(id, "secret"),
					introspect.WithHTTPClient(srv.Client()), introspect.WithCache(cache))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}
			a, b := client(tt.srvA, tt.idA), client(tt.srvB, tt.idB)
			if tok, err := a.Introspect(t.Context(), "tok"); err != nil || tok.Subject != "alice" {
				t.Fatalf("A: %v, %v; want active", tok, err)
			}
			_, err := b.Introspect(t.Context(), "tok")
			if tt.sharedOK {
				if err != nil || b.Requests() != 0 {
					t.Fatalf("B: %v after %d requests; want A's cached answer", err, b.Requests())
				}
				return
			}
			if !errors.Is(err, validator.ErrInactive) || b.Requests() != 1 {
				t.Fatalf("B: %v after %d requests; want its own server's inactive answer", err, b.Requests())
			}
			// And B's inactive answer does not reach A either.
			if tok, err := a.Introspect(t.Context(), "tok"); err != nil || tok.Subject != "alice" || a.Requests() != 1 {
				t.Fatalf("A again: %v, %v after %d requests; want its cached active answer", tok, err, a.Requests())
			}
		})
	}
}

func TestInactiveFloodKeepsActive(t *testing.T) {
	t.Run("LRU", func(t *testing.T) {
		const size = 100
		n := size - size/4 // the active partition
		lru := introspect.NewLRU(size)
		now := time.Now()
		key := func(i int) introspect.Key { return introspect.Key{byte(i), byte(i >> 8), byte(i >> 16)} }
		for i := range n {
			lru.Put(key(i), introspect.Entry{Token: &validator.Token{ID: fmt.Sprint(i)}, Expires: now.Add(time.Hour)})
		}
		for i := n; i < n+10*n; i++ {
			lru.Put(key(i), introspect.Entry{Expires: now.Add(time.Hour)})
		}
		for i := range n {
			if e, ok := lru.Get(key(i), now); !ok || e.Token == nil || e.Token.ID != fmt.Sprint(i) {
				t.Fatalf("active entry %d lost to inactive ones: %+v, %v", i, e, ok)
			}
		}
		if lru.Len() > size {
			t.Errorf("Len() = %d, bound %d", lru.Len(), size)
		}
	})
	t.Run("client", func(t *testing.T) {
		iss := newIssuer(t)
		c := newClient(t, iss, introspect.WithCacheSize(40))
		good := iss.Opaque(t, bearertest.Claims{"aud": audience})
		if _, err := c.Introspect(t.Context(), good); err != nil {
			t.Fatal(err)
		}
		for i := range 400 {
			if _, err := c.Introspect(t.Context(), fmt.Sprintf("junk-%d", i)); !errors.Is(err, validator.ErrInactive) {
				t.Fatalf("junk token: %v", err)
			}
		}
		n := iss.IntrospectionRequests()
		if _, err := c.Introspect(t.Context(), good); err != nil || iss.IntrospectionRequests() != n {
			t.Fatalf("good token after a flood of junk: %v, %d more requests; want a cache hit", err, iss.IntrospectionRequests()-n)
		}
	})
}

func TestIntrospectedTokenIsCallersOwn(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"active":true,"sub":"alice","aud":["orders","billing"]}`)
	}))
	defer srv.Close()
	client := noKeepAlive(srv)
	synctest.Test(t, func(t *testing.T) {
		// The request, once answered, waits to cache its answer until every
		// caller has joined it.
		cache := gatedCache{LRU: introspect.NewLRU(100), gate: make(chan struct{})}
		c, err := introspect.New(srv.URL, introspect.ClientSecretBasic("a", "b"), introspect.WithHTTPClient(client), introspect.WithCache(cache))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// use checks that the caller sees the answer as sent, then scribbles on
		// its token as a careless handler might.
		use := func(tok *validator.Token, err error) {
			if err != nil {
				t.Error(err)
				return
			}
			if tok.Subject != "alice" || len(tok.Audience) != 2 || tok.Audience[0] != "orders" {
				t.Errorf("token changed by another caller: sub %q, aud %q", tok.Subject, tok.Audience)
			}
			tok.Subject = "mallory"
			tok.Audience[0] = "admin"
		}
		// Concurrent callers sharing one request, each writing to its token.
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() { use(c.Introspect(t.Context(), "tok")) })
		}
		synctest.Wait() // every caller waits for the one request, which waits at the gate
		close(cache.gate)
		wg.Wait()
		// Cache hits, concurrently, each writing to its token.
		for range 8 {
			wg.Go(func() { use(c.Introspect(t.Context(), "tok")) })
		}
		wg.Wait()
		if n := requests.Load(); n != 1 || c.Requests() != 1 {
			t.Errorf("server saw %d requests, client sent %d; want 1", n, c.Requests())
		}
	})
}

func TestDefaultMaxTTL(t *testing.T) {
	srv := handRolled(t, 200, "application/json", `{"active":true}`) // no "exp": only the max TTL bounds reuse
	clock := testclock.New(time.Now())
	c, err := introspect.New(srv.URL, introspect.ClientSecretBasic("a", "b"), introspect.WithHTTPClient(srv.Client()), introspect.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	steps := []struct {
		advance  time.Duration
		requests int64
	}{
		{0, 1},
		{59 * time.Second, 1}, // still reused
		{2 * time.Second, 2},  // 61 s after the answer: asked again
		{30 * time.Second, 2}, // the new answer is reused in turn
		{5 * time.Minute, 3},  // and expires like the first
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		if _, err := c.Introspect(t.Context(), "tok"); err != nil {
			t.Fatal(err)
		}
		if got := c.Requests(); got != s.requests {
			t.Fatalf("after +%v: %d requests, want %d", s.advance, got, s.requests)
		}
	}
}

// Two Puts of one key racing (an active answer and the inactive one of a
// revocation) leave it in one partition: in both, Get answered the active
// one. Add never replaces a live entry.
func TestLRUPutsOfOneKeyDoNotTear(t *testing.T) {
	c := introspect.NewLRU(100)
	key := introspect.Key{1}
	exp := time.Now().Add(time.Hour)
	active := introspect.Entry{Token: &validator.Token{Subject: "alice"}, Expires: exp}
	inactive := introspect.Entry{Expires: exp}
	for i := range 2000 {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); c.Put(key, active) }()
		go func() { defer wg.Done(); c.Put(key, inactive) }()
		wg.Wait()
		if n := c.Len(); n != 1 {
			t.Fatalf("round %d: %d entries for one key after two racing Puts", i, n)
		}
	}
	c.Put(key, inactive)
	if c.Add(key, active, time.Now()) {
		t.Errorf("Add replaced a live entry")
	}
	if e, ok := c.Get(key, time.Now()); !ok || e.Token != nil {
		t.Errorf("Get after Add = %v, %v; want the inactive entry", e, ok)
	}
	if !c.Add(introspect.Key{2}, active, time.Now()) {
		t.Errorf("Add of an absent key did not store it")
	}
}
