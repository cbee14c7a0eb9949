package jwks_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bearerguard/bearerguard/internal/leakcheck"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

func TestLookupAndRotation(t *testing.T) {
	leakcheck.Check(t)
	loadKeys()
	srv := newServer(t, jwksDoc(jwk("a", &rsaA.PublicKey, nil)))
	clock := newClock()
	set := newSet(t, srv, jwks.WithClock(clock.Now))
	ctx := t.Context()

	k, err := set.Key(ctx, "a", validator.RS256)
	if err != nil || k.ID() != "a" {
		t.Fatalf("Key(a) = %v, %v", k, err)
	}
	// A new key appears upstream: the first token that names it triggers
	// one refetch and is accepted.
	srv.set(200, jwksDoc(jwk("a", &rsaA.PublicKey, nil), jwk("b", &rsaB.PublicKey, nil)), nil)
	before := srv.requests.Load()
	if k, err := set.Key(ctx, "b", validator.RS256); err != nil || k.ID() != "b" {
		t.Fatalf("Key(b) after rotation = %v, %v", k, err)
	}
	if got := srv.requests.Load() - before; got != 1 {
		t.Errorf("rotation cost %d fetches, want 1", got)
	}
	// Key a is removed upstream: after a refresh it is no longer trusted.
	srv.set(200, jwksDoc(jwk("b", &rsaB.PublicKey, nil)), nil)
	if err := set.Refresh(ctx); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if _, err := set.Key(ctx, "a", validator.RS256); !errors.Is(err, validator.ErrUnknownKey) {
		t.Fatalf("Key(a) after removal = %v, want ErrUnknownKey", err)
	}
	if st := set.Status(); st.Keys != 1 || st.LastError != nil || st.LastRefresh.IsZero() || st.URL != srv.URL+"/jwks" {
		t.Errorf("Status() = %+v", st)
	}
}

func TestUnknownKidFlood(t *testing.T) {
	loadKeys()
	srv := newServer(t, jwksDoc(jwk("a", &rsaA.PublicKey, nil)))
	clock := newClock()
	set := newSet(t, srv, jwks.WithClock(clock.Now))
	ctx := t.Context()
	if err := set.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	flood := func(prefix string) {
		var wg sync.WaitGroup
		for i := range 1000 {
			wg.Go(func() {
				_, err := set.Key(ctx, fmt.Sprintf("%s-%d", prefix, i), validator.RS256)
				if !errors.Is(err, validator.ErrUnknownKey) {
					t.Errorf("Key(%s-%d) = %v, want ErrUnknownKey", prefix, i, err)
				}
			})
		}
		wg.Wait()
	}
	base := srv.requests.Load()
	flood("first")
	if got := srv.requests.Load() - base; got > 1 {
		t.Errorf("first flood of 1,000 unknown kids: %d fetches, want at most 1", got)
	}
	base = srv.requests.Load()
	flood("second") // same window
	if got := srv.requests.Load() - base; got != 0 {
		t.Errorf("second flood in the same window: %d fetches, want 0", got)
	}
	clock.Advance(jwks.DefaultMinRefetchInterval + time.Second)
	base = srv.requests.Load()
	flood("third") // next window
	if got := srv.requests.Load() - base; got != 1 {
		t.Errorf("flood in the next window: %d fetches, want 1", got)
	}
	// A bad kid that a fetch did not find, sent again in a later window,
	// is answered from the negative cache.
	clock.Advance(jwks.DefaultMinRefetchInterval + time.Second)
	base = srv.requests.Load()
	if _, err := set.Key(ctx, "repeat", validator.RS256); !errors.Is(err, validator.ErrUnknownKey) {
		t.Fatal(err)
	}
	if got := srv.requests.Load() - base; got != 1 {
		t.Fatalf("first lookup of a new bad kid in a fresh window: %d fetches, want 1", got)
	}
	clock.Advance(jwks.DefaultMinRefetchInterval + time.Second)
	base = srv.requests.Load()
	for range 100 {
		_, _ = set.Key(ctx, "repeat", validator.RS256)
	}
	if got := srv.requests.Load() - base; got != 0 {
		t.Errorf("repeated known-unknown kid: %d fetches, want 0", got)
	}
}

func TestStaleOnError(t *testing.T) {
	loadKeys()
	good := jwksDoc(jwk("a", &rsaA.PublicKey, nil))
	huge := make([]byte, 10<<20)
	for i := range huge {
		huge[i] = ' '
	}
	tests := []struct {
		name  string
		apply func(s *server)
	}{
		{"500", func(s *server) { s.set(500, []byte("oops"), nil) }},
		{"503 with Retry-After", func(s *server) { s.set(503, nil, map[string]string{"Retry-After": "120"}) }},
		{"429", func(s *server) { s.set(429, nil, nil) }},
		{"garbage JSON", func(s *server) { s.set(200, []byte(`{"keys": [`), nil) }},
		{"not a JWKS", func(s *server) { s.set(200, []byte(`{"hello":"world"}`), nil) }},
		{"HTML error page", func(s *server) {
			s.set(200, []byte("<html><body>Service Unavailable</body></html>"), map[string]string{"Content-Type": "text/html"})
		}},
		{"10 MiB body", func(s *server) { s.set(200, huge, nil) }},
		{"slow server", func(s *server) {
			s.setHandler(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			})
		}},
		{"connection refused", func(s *server) { s.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, good)
			logs := &logBuffer{}
			set := newSet(t, srv, jwks.WithFetchTimeout(time.Second), jwks.WithLogger(newLogger(logs)))
			ctx := t.Context()
			if err := set.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			tt.apply(srv)
			if err := set.Refresh(ctx); err == nil {
				t.Fatal("Refresh() = nil error against a broken issuer")
			}
			if k, err := set.Key(ctx, "a", validator.RS256); err != nil || k == nil {
				t.Fatalf("Key(a) with a broken issuer = %v, want the stale key", err)
			}
			st := set.Status()
			if st.LastError == nil || st.Keys != 1 {
				t.Errorf("Status() = %+v", st)
			}
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "serving the last good keys") {
				t.Errorf("no Warn log for a failed refresh: %s", logs)
			}
		})
	}
}

func TestUnavailableFromStart(t *testing.T) {
	loadKeys()
	srv := newServer(t, nil)
	srv.set(503, nil, nil)
	logs := &logBuffer{}
	set := newSet(t, srv, jwks.WithLogger(newLogger(logs)))
	_, err := set.Key(t.Context(), "a", validator.RS256)
	if !errors.Is(err, validator.ErrKeysUnavailable) || !errors.Is(err, validator.ErrUnavailable) {
		t.Fatalf("Key() with the issuer down from the start = %v, want ErrKeysUnavailable", err)
	}
	if c := validator.ChallengeFor(err, ""); c.Status != http.StatusServiceUnavailable {
		t.Errorf("mapped to %d, want 503", c.Status)
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("no Error log with no keys at all: %s", logs)
	}
	// The issuer heals: the next allowed fetch loads the keys.
	srv.set(200, jwksDoc(jwk("a", &rsaA.PublicKey, nil)), nil)
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := set.Key(t.Context(), "a", validator.RS256); err != nil {
		t.Fatalf("Key() after recovery = %v", err)
	}
}

func TestMaxStaleness(t *testing.T) {
	loadKeys()
	srv := newServer(t, jwksDoc(jwk("a", &rsaA.PublicKey, nil)))
	clock := newClock()
	set := newSet(t, srv, jwks.WithClock(clock.Now), jwks.WithMaxStaleness(time.Hour))
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.set(500, nil, nil)
	clock.Advance(59 * time.Minute)
	if _, err := set.Key(t.Context(), "a", validator.RS256); err != nil {
		t.Fatalf("Key() within max staleness = %v", err)
	}
	clock.Advance(2 * time.Minute)
	if _, err := set.Key(t.Context(), "a", validator.RS256); !errors.Is(err, validator.ErrKeysUnavailable) {
		t.Fatalf("Key() past max staleness = %v, want ErrKeysUnavailable", err)
	}
}

func TestMixedKeys(t *testing.T) {
	loadKeys()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	private := jwk("private", &rsaC.PublicKey, map[string]any{"d": b64.EncodeToString(rsaC.D.Bytes()),
		"p": b64.EncodeToString(rsaC.Primes[0].Bytes()), "q": b64.EncodeToString(rsaC.Primes[1].Bytes())})
	offCurve := jwk("off-curve", &ecA.PublicKey, nil)
	offCurve["y"] = offCurve["x"]
	doc := jwksDoc(
		jwk("rsa", &rsaA.PublicKey, map[string]any{"use": "sig", "alg": "RS256"}),
		jwk("ec", &ecA.PublicKey, map[string]any{"key_ops": []string{"verify"}}),
		jwk("ed", edA.Public(), nil),
		map[string]any{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"},
		jwk("enc", &rsaB.PublicKey, map[string]any{"use": "enc"}),
		jwk("ops", &rsaB.PublicKey, map[string]any{"key_ops": []string{"encrypt"}}),
		map[string]any{"kty": "XYZ", "kid": "weird"},
		map[string]any{"kty": "OKP", "crv": "X25519", "kid": "x25519", "x": b64.EncodeToString(make([]byte, 32))},
		jwk("small", &small.PublicKey, nil),
		jwk("p224", &p224.PublicKey, nil),
		jwk("rsa-as-ec", &rsaB.PublicKey, map[string]any{"alg": "ES256"}),
		jwk(strings.Repeat("k", 300), &rsaB.PublicKey, nil),
		map[string]any{"kty": "RSA", "kid": 7, "n": "AQAB", "e": "AQAB"},
		private,
		offCurve,
		map[string]any{"kty": "RSA", "kid": "broken", "n": "!!!", "e": "AQAB"},
	)
	srv := newServer(t, doc)
	logs := &logBuffer{}
	set := newSet(t, srv, jwks.WithLogger(newLogger(logs)))
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh() = %v, want the usable keys loaded", err)
	}
	st := set.Status()
	if st.Keys != 3 || st.Skipped != 13 {
		t.Errorf("Status() keys %d skipped %d, want 3 and 13; logs:\n%s", st.Keys, st.Skipped, logs)
	}
	for _, c := range []struct {
		kid string
		alg validator.Algorithm
		ok  bool
	}{
		{"rsa", validator.RS256, true},
		{"rsa", validator.PS256, false}, // "alg" set: only RS256
		{"ec", validator.ES256, true},
		{"ed", validator.EdDSA, true},
		{"hmac", validator.HS256, false},
		{"enc", validator.RS256, false},
		{"private", validator.RS256, false},
		{"off-curve", validator.ES256, false},
	} {
		_, err := set.Key(t.Context(), c.kid, c.alg)
		if (err == nil) != c.ok {
			t.Errorf("Key(%q, %s) = %v, want found %v", c.kid, c.alg, err, c.ok)
		}
	}
	if n := strings.Count(logs.String(), "key skipped"); n != 13 {
		t.Errorf("%d skip warnings, want 13:\n%s", n, logs)
	}
}

func TestCacheControl(t *testing.T) {
	loadKeys()
	tests := []struct {
		header string
		want   time.Duration
		opts   []jwks.Option
	}{
		{"", jwks.DefaultRefreshInterval, nil},
		{"max-age=600", 10 * time.Minute, nil},
		{"public, max-age=5", jwks.MinRefreshInterval, nil},
		// A max-age never lengthens the interval: a key the issuer removed
		// would be trusted for a day (it did, up to 24 h).
		{"max-age=86400", jwks.DefaultRefreshInterval, nil},
		{"max-age=864000", jwks.DefaultRefreshInterval, nil},
		{"max-age=3600", 2 * time.Minute, []jwks.Option{jwks.WithRefreshInterval(2 * time.Minute)}},
		{"max-age=86400", 2 * time.Hour, []jwks.Option{jwks.WithRefreshInterval(2 * time.Hour)}},
		{"max-age=60", time.Minute, []jwks.Option{jwks.WithRefreshInterval(2 * time.Hour)}},
		{"no-store", jwks.MinRefreshInterval, nil},
		{"max-age=junk", jwks.DefaultRefreshInterval, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %d", tt.header, len(tt.opts)), func(t *testing.T) {
			srv := newServer(t, nil)
			srv.set(200, jwksDoc(jwk("a", &rsaA.PublicKey, nil)), map[string]string{"Cache-Control": tt.header})
			before := srv.requests.Load()
			synctest.Test(t, func(t *testing.T) {
				set, err := jwks.New(srv.URL+"/jwks", append([]jwks.Option{jwks.WithHTTPClient(srv.noKeepAlive()), jwks.WithLogger(discard)}, tt.opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				defer set.Close()
				synctest.Wait()
				st := set.Status()
				if got := st.NextRefresh.Sub(st.LastRefresh); got != tt.want {
					t.Errorf("next refresh in %v, want %v", got, tt.want)
				}
				time.Sleep(tt.want - time.Second)
				synctest.Wait()
				if got := srv.requests.Load() - before; got != 1 {
					t.Errorf("%d fetches before the interval, want 1", got)
				}
				time.Sleep(2 * time.Second)
				synctest.Wait()
				if got := srv.requests.Load() - before; got != 2 {
					t.Errorf("%d fetches after the interval, want 2", got)
				}
			})
		})
	}
}

func TestRefetchSendsNoCache(t *testing.T) {
	loadKeys()
	srv := newServer(t, jwksDoc(jwk("a", &rsaA.PublicKey, nil)))
	var mu sync.Mutex
	var seen []string
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Cache-Control"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(jwksDoc(jwk("a", &rsaA.PublicKey, nil)))
	})
	set := newSet(t, srv)
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := set.Key(t.Context(), "new", validator.RS256); !errors.Is(err, validator.ErrUnknownKey) {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 2 || seen[len(seen)-1] != "no-cache" {
		t.Errorf("Cache-Control of fetches = %q, want no-cache on the refetch", seen)
	}
}

func TestBackoffAndRecovery(t *testing.T) {
	loadKeys()
	srv := newServer(t, nil)
	srv.set(500, nil, nil)
	synctest.Test(t, func(t *testing.T) {
		set, err := jwks.New(srv.URL+"/jwks", jwks.WithHTTPClient(srv.noKeepAlive()), jwks.WithLogger(discard))
		if err != nil {
			t.Fatal(err)
		}
		defer set.Close()
		synctest.Wait()
		// Failures are retried with growing, bounded backoff: about 1, 2,
		// 4, 8, 16 s, … so ten minutes see a handful of attempts, not a storm.
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		n := srv.requests.Load()
		if n < 5 || n > 15 {
			t.Errorf("%d attempts in 10 minutes of outage, want between 5 and 15", n)
		}
		srv.set(200, jwksDoc(jwk("a", &rsaA.PublicKey, nil)), nil)
		time.Sleep(6 * time.Minute) // beyond the backoff ceiling
		synctest.Wait()
		if st := set.Status(); st.Keys != 1 || st.LastError != nil {
			t.Errorf("after the issuer healed: %+v", st)
		}
	})
}

func TestWaitHonoursContext(t *testing.T) {
	loadKeys()
	srv := newServer(t, nil)
	release := make(chan struct{})
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	set := newSet(t, srv)
	defer close(release)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := set.Key(ctx, "a", validator.RS256)
	if !errors.Is(err, validator.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Key() = %v, want unavailable by deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Key() waited %v past its context", d)
	}
}

func TestURLPolicy(t *testing.T) {
	tests := []struct {
		url  string
		opts []jwks.Option
		ok   bool
	}{
		{"https://id.example.com/jwks", nil, true},
		{"http://id.example.com/jwks", nil, false},
		{"http://id.example.com/jwks", []jwks.Option{jwks.WithInsecureLoopbackHTTP()}, false},
		{"http://127.0.0.1:8080/jwks", nil, false},
		{"http://127.0.0.1:8080/jwks", []jwks.Option{jwks.WithInsecureLoopbackHTTP()}, true},
		{"http://localhost/jwks", []jwks.Option{jwks.WithInsecureLoopbackHTTP()}, true},
		{"http://[::1]/jwks", []jwks.Option{jwks.WithInsecureLoopbackHTTP()}, true},
		{"ftp://id.example.com/jwks", nil, false},
		{"https://user:pass@id.example.com/jwks", nil, false},
		{"not a url", nil, false},
	}
	for _, tt := range tests {
		set, err := jwks.New(tt.url, tt.opts...)
		if set != nil {
			set.Close()
		}
		if (err == nil) != tt.ok {
			t.Errorf("New(%q) error = %v, want ok %v", tt.url, err, tt.ok)
		}
		if err != nil && strings.Contains(err.Error(), "pass") {
			t.Errorf("New(%q) error leaks the password: %v", tt.url, err)
		}
	}
	if _, err := jwks.New("https://x/jwks", jwks.WithHTTPClient(nil), jwks.WithMinRefetchInterval(0), jwks.WithBodyLimit(1)); err == nil ||
		!strings.Contains(err.Error(), "nil client") || !strings.Contains(err.Error(), "WithMinRefetchInterval") || !strings.Contains(err.Error(), "WithBodyLimit") {
		t.Errorf("New with bad options = %v, want every problem", err)
	}
}

func TestRefreshKeepsKeyIdentity(t *testing.T) {
	loadKeys()
	srv := newServer(t, jwksDoc(jwk("a", &rsaA.PublicKey, nil)))
	set := newSet(t, srv)
	before, err := set.Key(t.Context(), "a", validator.RS256)
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if after, _ := set.Key(t.Context(), "a", validator.RS256); after != before {
		t.Error("an unchanged key got a new identity on refresh (cached tokens would be dropped)")
	}
	// Same kid, new material: a new key.
	srv.set(200, jwksDoc(jwk("a", &rsaB.PublicKey, nil)), nil)
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if after, _ := set.Key(t.Context(), "a", validator.RS256); after == before || after.Equal(before) {
		t.Error("a replaced key kept the old identity")
	}
}

// The issuer rotated to a new key and its key set is down: the refetch the
// new kid triggers fails, and nobody can tell whether the kid is the
// issuer's. That is 503, so that the client retries its token rather than
// throwing it away on a 401 (review of session 11); the calls the refetch
// limit then turns away stay "unknown key".
func TestUnknownKidWithFailingRefetchIsUnavailable(t *testing.T) {
	loadKeys()
	srv := newServer(t, jwksDoc(jwk("old", &rsaA.PublicKey, nil)))
	set := newSet(t, srv)
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.set(503, []byte("down"), nil)
	_, err := set.Key(t.Context(), "new", validator.RS256)
	if c := validator.ChallengeFor(err, ""); !errors.Is(err, validator.ErrKeysUnavailable) || c.Status != 503 {
		t.Errorf("a kid the failed refetch could not look up: %v (%d), want keys unavailable (503)", err, c.Status)
	}
	if _, err := set.Key(t.Context(), "newer", validator.RS256); !errors.Is(err, validator.ErrUnknownKey) {
		t.Errorf("within the refetch limit: %v, want unknown key", err)
	}
	if k, err := set.Key(t.Context(), "old", validator.RS256); err != nil || k == nil {
		t.Errorf("the last good key: %v, %v", k, err)
	}
}

// TestMinRefetchIntervalFloor: WithMinRefetchInterval(30), written without
// its unit, meant 30 ns, and every made-up kid cost the issuer a fetch. It
// is raised to FloorRefetchInterval (SECURITY.md 100).
func TestMinRefetchIntervalFloor(t *testing.T) {
	loadKeys()
	srv := newServer(t, jwksDoc(jwk("a", &rsaA.PublicKey, nil)))
	clock := newClock()
	set := newSet(t, srv, jwks.WithClock(clock.Now), jwks.WithMinRefetchInterval(30), jwks.WithUnknownKeyTTL(0))
	ctx := t.Context()
	if err := set.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	base := srv.requests.Load()
	for i := range 50 {
		clock.Advance(10 * time.Millisecond) // 500 ms in all: far past 30 ns, inside the floor
		if _, err := set.Key(ctx, fmt.Sprintf("made-up-%d", i), validator.RS256); !errors.Is(err, validator.ErrUnknownKey) {
			t.Fatalf("Key(made-up-%d) = %v, want ErrUnknownKey", i, err)
		}
	}
	if got := srv.requests.Load() - base; got != 1 {
		t.Errorf("50 made-up kids in 500 ms with WithMinRefetchInterval(30): %d fetches, want 1", got)
	}
	clock.Advance(jwks.FloorRefetchInterval)
	base = srv.requests.Load()
	if _, err := set.Key(ctx, "made-up-next", validator.RS256); !errors.Is(err, validator.ErrUnknownKey) {
		t.Fatal(err)
	}
	if got := srv.requests.Load() - base; got != 1 {
		t.Errorf("a made-up kid after the floor: %d fetches, want 1", got)
	}
}
