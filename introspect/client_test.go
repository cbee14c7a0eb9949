package introspect_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/leakcheck"
	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

func TestActiveAndInactive(t *testing.T) {
	iss := newIssuer(t)
	c := newClient(t, iss)
	ctx := t.Context()
	tok := iss.Opaque(t, bearertest.Claims{"aud": audience, "scope": "read:data write:data", "username": "alice", "ext": map[string]any{"tier": 2}})
	got, err := c.Introspect(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != validator.SourceIntrospection || got.ClientID != "test-client" || !got.Scopes.Has("write:data") || !got.HasAudience(audience) || got.Expiry.IsZero() {
		t.Errorf("token = %+v", got)
	}
	if v, ok := got.Claim("username"); !ok || v != "alice" {
		t.Errorf("Claim(username) = %v, %v", v, ok)
	}
	if v, ok := got.Claim("ext"); !ok || v.(map[string]any)["tier"] != float64(2) {
		t.Errorf("Claim(ext) = %v, %v", v, ok)
	}
	if _, err := c.Introspect(ctx, "never-issued"); !errors.Is(err, validator.ErrInactive) {
		t.Errorf("unknown token: %v, want ErrInactive", err)
	}
}

func TestResponseForms(t *testing.T) {
	tests := []struct {
		name string
		body string
		want error // nil: active
	}{
		{"active", `{"active":true,"scope":"a"}`, nil},
		{"inactive", `{"active":false}`, validator.ErrInactive},
		{"missing active", `{"scope":"a","client_id":"x"}`, validator.ErrInactive},
		{"active as string", `{"active":"true"}`, validator.ErrInactive},
		{"active as number", `{"active":1}`, validator.ErrInactive},
		{"active null", `{"active":null}`, validator.ErrInactive},
		{"exp as string", `{"active":true,"exp":"123"}`, validator.ErrMalformed},
		{"aud as number", `{"active":true,"aud":5}`, validator.ErrMalformed},
		{"bad scope", `{"active":true,"scope":"a\tb"}`, validator.ErrMalformed},
		// One strict parser (issue 12, finding 6): what a JWT's claims may
		// not do, an introspection answer may not either, and is refused
		// alike (ErrMalformed, 401) when the body is a well-formed JSON
		// object; a body that is not one is the server's fault.
		{"duplicate active", `{"active":false,"active":true}`, validator.ErrMalformed},
		{"duplicate aud", `{"active":true,"aud":"orders","aud":"admin"}`, validator.ErrMalformed},
		{"duplicate exp, escaped name", `{"active":true,"exp":1,"\u0065xp":99999999999}`, validator.ErrMalformed},
		{"name folding to sub", `{"active":true,"sub":"a","SUB":"b"}`, validator.ErrMalformed},
		{"lone surrogate", `{"active":true,"ext":"\ud800"}`, validator.ErrMalformed},
		{"invalid UTF-8", "{\"active\":true,\"sub\":\"\xff\"}", validator.ErrIntrospectionUnavailable},
		{"exp beyond float64", `{"active":true,"exp":1e400}`, validator.ErrMalformed}, // not a JSON number Go reads
		{"exp past year 5138, read as 5138", `{"active":true,"exp":1e300}`, nil},
		{"negative exp", `{"active":true,"exp":-1}`, validator.ErrMalformed},
		{"aud nested array", `{"active":true,"aud":[["orders"]]}`, validator.ErrMalformed},
		{"scp array", `{"active":true,"scp":["a","b"]}`, nil},
		{"refresh token", `{"active":true,"token_type":"refresh_token"}`, validator.ErrType},
		{"Keycloak refresh token", `{"active":true,"token_type":"Refresh"}`, validator.ErrType},
		{"Keycloak offline token", `{"active":true,"token_type":"Offline"}`, validator.ErrType},
		{"token-type URN of a refresh token", `{"active":true,"token_type":"urn:ietf:params:oauth:token-type:refresh_token"}`, validator.ErrType},
		{"token_type not a string", `{"active":true,"token_type":1}`, validator.ErrMalformed},
		{"access token type", `{"active":true,"token_type":"access_token"}`, nil},
		{"Bearer token type", `{"active":true,"token_type":"Bearer"}`, nil},
		{"empty iss", `{"active":true,"iss":""}`, validator.ErrIssuer},
		{"Keycloak ID token", `{"active":true,"typ":"ID"}`, validator.ErrType},
		{"Hydra refresh token", `{"active":true,"token_type":"Bearer","token_use":"refresh_token"}`, validator.ErrType},
		{"token_use not a string", `{"active":true,"token_use":1}`, validator.ErrMalformed},
		{"array body", `[true]`, validator.ErrIntrospectionUnavailable},
		{"trailing data", `{"active":true} {}`, validator.ErrIntrospectionUnavailable},
		{"not JSON", `active=true`, validator.ErrIntrospectionUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := handRolled(t, 200, "application/json", tt.body)
			c, err := introspect.New(srv.URL, introspect.ClientSecretPost("a", "b"), introspect.WithHTTPClient(srv.Client()), introspect.WithLogger(discard))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			tok, err := c.Introspect(t.Context(), "tok")
			if tt.want == nil {
				if err != nil || tok == nil {
					t.Fatalf("Introspect() = %v, %v", tok, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Introspect() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFailuresAreUnavailableAndNotCached(t *testing.T) {
	huge := strings.Repeat(" ", 10<<20)
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }},
		{"401 wrong client credentials", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "invalid_client", http.StatusUnauthorized) }},
		{"429", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Retry-After", "30"); w.WriteHeader(429) }},
		{"HTML", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>login</html>")
		}},
		{"text/plain", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, `{"active":true}`)
		}},
		{"10 MiB", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"active":true,"pad":"`+huge+`"}`)
		}},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm() // a server notices a client gone only once the body is read
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leakcheck.Check(t)
			var mu sync.Mutex
			healthy := false
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				ok := healthy
				mu.Unlock()
				if ok {
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprint(w, `{"active":true,"aud":"orders"}`)
					return
				}
				tt.handler(w, r)
			}))
			defer srv.Close()
			clock := testclock.New(time.Now())
			c, err := introspect.New(srv.URL, introspect.ClientSecretBasic("a", "b"), introspect.WithHTTPClient(srv.Client()),
				introspect.WithTimeout(time.Second), introspect.WithLogger(discard), introspect.WithClock(clock.Now))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = c.Introspect(t.Context(), "tok")
			clock.Advance(validator.MaxRetryAfter) // past any Retry-After the failure asked for (TestRetryAfterPacesIntrospection)
			if !errors.Is(err, validator.ErrIntrospectionUnavailable) || !errors.Is(err, validator.ErrUnavailable) {
				t.Fatalf("Introspect() = %v, want unavailable", err)
			}
			if ch := validator.ChallengeFor(err, ""); ch.Status != 503 || strings.Contains(ch.Description, "boom") {
				t.Errorf("challenge = %+v", ch)
			}
			// Never cached: once the server heals, the next call asks again.
			mu.Lock()
			healthy = true
			mu.Unlock()
			if tok, err := c.Introspect(t.Context(), "tok"); err != nil || tok == nil {
				t.Fatalf("after recovery: %v", err)
			}
		})
	}
}

func TestClientAuthMethods(t *testing.T) {
	iss := newIssuer(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	iss.AddClient(bearertest.ClientConfig{ID: "rsa-client", PublicKey: &rsaKey.PublicKey})
	iss.AddClient(bearertest.ClientConfig{ID: "ec-client", PublicKey: &ecKey.PublicKey})
	iss.AddClient(bearertest.ClientConfig{ID: "ed-client", PublicKey: edKey.Public()})
	iss.AddClient(bearertest.ClientConfig{ID: "odd id:+&", Secret: "s3cr3t with spaces & symbols:+"})
	rsToken := iss.Mint(t, bearertest.Claims{"aud": "authz", "client_id": rsID})
	tests := []struct {
		name string
		auth introspect.ClientAuth
		want string
	}{
		{"basic", introspect.ClientSecretBasic(rsID, rsSecret), "client_secret_basic"},
		{"basic with characters to encode", introspect.ClientSecretBasic("odd id:+&", "s3cr3t with spaces & symbols:+"), "client_secret_basic"},
		{"post", introspect.ClientSecretPost(rsID, rsSecret), "client_secret_post"},
		{"private_key_jwt RSA", introspect.PrivateKeyJWT("rsa-client", rsaKey, "k1"), "private_key_jwt"},
		{"private_key_jwt EC", introspect.PrivateKeyJWT("ec-client", ecKey, ""), "private_key_jwt"},
		{"private_key_jwt Ed25519", introspect.PrivateKeyJWT("ed-client", edKey, ""), "private_key_jwt"},
		{"bearer", introspect.BearerToken(func() (string, error) { return rsToken, nil }), "bearer"},
		{"bearer, with a context", introspect.BearerTokenContext(func(ctx context.Context) (string, error) {
			if _, ok := ctx.Deadline(); !ok {
				return "", errors.New("no deadline")
			}
			return rsToken, nil
		}), "bearer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := introspect.New(iss.IntrospectionURL(), tt.auth, introspect.WithHTTPClient(iss.Client()))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			tok := iss.Opaque(t, bearertest.Claims{"aud": audience})
			if _, err := c.Introspect(t.Context(), tok); err != nil {
				t.Fatalf("Introspect() = %v", err)
			}
			if got := iss.LastIntrospectionAuth(); got != tt.want {
				t.Errorf("server saw %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		c, _ := introspect.New(iss.IntrospectionURL(), introspect.ClientSecretBasic(rsID, "wrong"), introspect.WithHTTPClient(iss.Client()), introspect.WithLogger(discard))
		defer c.Close()
		if _, err := c.Introspect(t.Context(), iss.Opaque(t, nil)); !errors.Is(err, validator.ErrIntrospectionUnavailable) {
			t.Errorf("wrong secret: %v, want unavailable", err)
		}
	})
}

func TestCacheAndCoalescing(t *testing.T) {
	iss := newIssuer(t)
	clock := testclock.New(time.Now())
	c := newClient(t, iss, introspect.WithClock(clock.Now))
	ctx := t.Context()
	tok := iss.Opaque(t, bearertest.Claims{"aud": audience})

	var wg sync.WaitGroup
	for range 1000 {
		wg.Go(func() {
			if _, err := c.Introspect(ctx, tok); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := iss.IntrospectionRequests(); n != 1 {
		t.Fatalf("1,000 concurrent checks of one token: %d requests, want 1", n)
	}
	for range 100 {
		if _, err := c.Introspect(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := iss.IntrospectionRequests(); n != 1 {
		t.Fatalf("cache hits cost %d requests", n-1)
	}
	clock.Advance(introspect.DefaultMaxTTL + time.Second)
	if _, err := c.Introspect(ctx, tok); err != nil || iss.IntrospectionRequests() != 2 {
		t.Fatalf("after max TTL: %v, %d requests", err, iss.IntrospectionRequests())
	}
}

func TestCacheNeverOutlivesExp(t *testing.T) {
	iss := newIssuer(t)
	clock := testclock.New(time.Now())
	c := newClient(t, iss, introspect.WithClock(clock.Now))
	tok := iss.Opaque(t, bearertest.Claims{"aud": audience, "exp": clock.Now().Add(30 * time.Second).Unix()})
	if _, err := c.Introspect(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	clock.Advance(29 * time.Second)
	c.Introspect(t.Context(), tok)
	if n := iss.IntrospectionRequests(); n != 1 {
		t.Fatalf("before exp: %d requests, want 1", n)
	}
	clock.Advance(2 * time.Second)
	c.Introspect(t.Context(), tok)
	if n := iss.IntrospectionRequests(); n != 2 {
		t.Fatalf("after exp: %d requests, want 2 (cache outlived exp)", n)
	}
}

func TestRevocationSeen(t *testing.T) {
	iss := newIssuer(t)
	clock := testclock.New(time.Now())
	c := newClient(t, iss, introspect.WithClock(clock.Now), introspect.WithMaxTTL(0))
	tok := iss.Opaque(t, bearertest.Claims{"aud": audience})
	if _, err := c.Introspect(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	iss.Revoke(tok)
	if _, err := c.Introspect(t.Context(), tok); !errors.Is(err, validator.ErrInactive) {
		t.Fatalf("after revocation: %v, want ErrInactive", err)
	}
	// The inactive answer is reused for the inactive TTL, then asked again.
	n := iss.IntrospectionRequests()
	for range 50 {
		c.Introspect(t.Context(), tok)
	}
	if got := iss.IntrospectionRequests() - n; got != 0 {
		t.Errorf("inactive answer not cached: %d more requests", got)
	}
	clock.Advance(introspect.DefaultInactiveTTL + time.Second)
	c.Introspect(t.Context(), tok)
	if got := iss.IntrospectionRequests() - n; got != 1 {
		t.Errorf("after the inactive TTL: %d requests, want 1", got)
	}
}

func TestCacheBound(t *testing.T) {
	lru := introspect.NewLRU(1000)
	now := time.Now()
	for i := range 100_000 {
		var k introspect.Key
		k[0], k[1], k[2] = byte(i), byte(i>>8), byte(i>>16)
		lru.Put(k, introspect.Entry{Expires: now.Add(time.Hour)})
		if lru.Len() > 1000 {
			t.Fatalf("LRU holds %d entries after %d puts, bound 1000", lru.Len(), i+1)
		}
	}
	// Through the client: distinct tokens never grow the cache past its size.
	iss := newIssuer(t)
	cache := introspect.NewLRU(50)
	c := newClient(t, iss, introspect.WithCache(cache))
	for range 300 {
		c.Introspect(t.Context(), iss.Opaque(t, bearertest.Claims{"aud": audience}))
	}
	// Active answers have all but the inactive quarter of the entries.
	if want := 50 - 50/4; cache.Len() != want {
		t.Errorf("client cache holds %d, want %d", cache.Len(), want)
	}
}

func TestLRUExpiryAndEviction(t *testing.T) {
	// Each partition of NewLRU(8) is an LRU of its own: six active entries,
	// two inactive.
	tests := []struct {
		name  string
		tok   *validator.Token
		slots int
	}{
		{"active", &validator.Token{Subject: "s"}, 8 - 8/4},
		{"inactive", nil, 8 / 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lru := introspect.NewLRU(8)
			now := time.Now()
			entry := introspect.Entry{Token: tt.tok, Expires: now.Add(time.Minute)}
			keys := make([]introspect.Key, tt.slots+1)
			for i := range keys {
				keys[i] = introspect.Key{byte(i + 1)}
			}
			for _, k := range keys[:tt.slots] {
				lru.Put(k, entry)
			}
			lru.Get(keys[0], now) // keys[0] is now the most recent
			lru.Put(keys[tt.slots], entry)
			if _, ok := lru.Get(keys[1], now); ok {
				t.Error("least recently used entry survived eviction")
			}
			if _, ok := lru.Get(keys[0], now); !ok {
				t.Error("recently used entry evicted")
			}
			if _, ok := lru.Get(keys[tt.slots], now); !ok {
				t.Error("fresh entry lost")
			}
			if _, ok := lru.Get(keys[tt.slots], now.Add(time.Minute)); ok {
				t.Error("entry returned at its expiry time")
			}
			if lru.Len() != tt.slots-1 {
				t.Errorf("Len() = %d after an expired read, want %d", lru.Len(), tt.slots-1)
			}
		})
	}
}

func TestSignedResponses(t *testing.T) {
	iss := newIssuer(t)
	keys := iss.KeySet(t)
	c, err := introspect.Discover(iss.URL, introspect.ClientSecretBasic(rsID, rsSecret), introspect.WithHTTPClient(iss.Client()),
		introspect.WithSignedResponses("", keys, rsID), introspect.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tok := iss.Opaque(t, bearertest.Claims{"aud": audience, "scope": "read:data"})
	got, err := c.Introspect(t.Context(), tok)
	if err != nil || !got.Scopes.Has("read:data") {
		t.Fatalf("signed response: %v, %v", got, err)
	}
	// A tampered signed response is refused.
	iss.SetIntrospectionHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		good := iss.Mint(t, bearertest.Claims{"iss": iss.URL, "aud": rsID, "token_introspection": map[string]any{"active": true, "aud": audience}},
			bearertest.WithHeader("typ", "token-introspection+jwt"))
		parts := strings.Split(good, ".")
		parts[1] = parts[1][:len(parts[1])-2] + "xx"
		w.Header().Set("Content-Type", "application/token-introspection+jwt")
		fmt.Fprint(w, strings.Join(parts, "."))
	}))
	if _, err := c.Introspect(t.Context(), iss.Opaque(t, nil)); !errors.Is(err, validator.ErrIntrospectionUnavailable) {
		t.Fatalf("tampered signed response: %v, want unavailable", err)
	}
	// A plain JSON response when signed ones are required is refused.
	iss.SetIntrospectionHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"active":true}`)
	}))
	if _, err := c.Introspect(t.Context(), iss.Opaque(t, nil)); !errors.Is(err, validator.ErrIntrospectionUnavailable) {
		t.Fatalf("unsigned response: %v, want unavailable", err)
	}
}

func TestNewRejectsBadConfiguration(t *testing.T) {
	_, err := introspect.New("http://id.example.com/introspect", introspect.ClientSecretBasic("", ""), introspect.WithTimeout(0), introspect.WithCacheSize(0),
		introspect.WithMaxConcurrentRequests(0))
	if err == nil {
		t.Fatal("New() = nil error")
	}
	for _, want := range []string{"https", "client id and secret", "WithTimeout", "WithCacheSize", "WithMaxConcurrentRequests"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New() error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), rsSecret) {
		t.Error("error leaks a secret")
	}
	// A bare number is nanoseconds: no introspection answered in 10 ns,
	// and every opaque token was answered 503.
	for _, d := range []time.Duration{10, time.Millisecond - 1, -time.Second} {
		if _, err := introspect.New("https://id.example.com/introspect", introspect.ClientSecretBasic("a", "b"), introspect.WithTimeout(d)); err == nil ||
			!strings.Contains(err.Error(), "is under a millisecond") {
			t.Errorf("WithTimeout(%v): %v", d, err)
		}
	}
	c, err := introspect.New("https://id.example.com/introspect", introspect.ClientSecretBasic("a", "b"), introspect.WithTimeout(time.Millisecond))
	if err != nil {
		t.Errorf("WithTimeout(1ms): %v", err)
	} else {
		c.Close()
	}
}

func TestCloseEndsRequests(t *testing.T) {
	leakcheck.Check(t)
	arrived := make(chan struct{}, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm() // a server notices a client gone only once the body is read
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	defer srv.Close()
	c, err := introspect.New(srv.URL, introspect.ClientSecretBasic("a", "b"), introspect.WithHTTPClient(srv.Client()), introspect.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := c.Introspect(context.Background(), "tok")
		done <- err
	}()
	<-arrived // the request is at the server, which holds it
	c.Close()
	if err := <-done; !errors.Is(err, validator.ErrIntrospectionUnavailable) || !errors.Is(err, introspect.ErrClosed) {
		t.Errorf("Introspect() during Close = %v, want unavailable (ErrClosed)", err)
	}
	if _, err := c.Introspect(context.Background(), "other"); !errors.Is(err, validator.ErrIntrospectionUnavailable) || !errors.Is(err, introspect.ErrClosed) {
		t.Errorf("Introspect() after Close = %v, want unavailable (ErrClosed)", err)
	}
	c.Close()
}

// TestCachedAnswersAfterClose: after Close, cached answers are still given;
// only what needs a request fails with ErrClosed, and nothing is sent.
func TestCachedAnswersAfterClose(t *testing.T) {
	iss := newIssuer(t)
	c := newClient(t, iss, introspect.WithLogger(discard))
	active := iss.Opaque(t, bearertest.Claims{"aud": audience})
	if _, err := c.Introspect(t.Context(), active); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Introspect(t.Context(), "never-issued"); !errors.Is(err, validator.ErrInactive) {
		t.Fatal(err)
	}
	c.Close()
	before := c.Requests()
	tests := []struct {
		token string
		want  error // nil: active
	}{
		{active, nil},
		{"never-issued", validator.ErrInactive},
		{"not-cached", introspect.ErrClosed},
	}
	for _, tt := range tests {
		_, err := c.Introspect(t.Context(), tt.token)
		if (tt.want == nil && err != nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("Introspect(%q) after Close = %v, want %v", tt.token, err, tt.want)
		}
	}
	if n := c.Requests() - before; n != 0 {
		t.Errorf("%d requests after Close, want 0", n)
	}
}

// A caller's client (WithHTTPClient) follows redirects by the library's
// rules: an https endpoint redirecting to plain http (307 keeps the method,
// the body with the token, and, on the same host, the client's
// credentials) is refused, and the plain-http server hears nothing. With
// the client's own policy alone it was followed, and whoever answered on
// the plain hop decided the token was active.
func TestCustomClientRedirectToPlainHTTP(t *testing.T) {
	var heard atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		heard.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"active":true,"sub":"mallory","aud":"orders","exp":9999999999}`)
	}))
	t.Cleanup(plain.Close)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/introspect", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	own := 0
	hc := srv.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { own++; return nil }
	c, err := introspect.New(srv.URL+"/introspect", introspect.ClientSecretBasic(rsID, rsSecret),
		introspect.WithHTTPClient(hc), introspect.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	tok, err := c.Introspect(t.Context(), "opaque-token-value")
	if err == nil {
		t.Fatalf("Introspect followed a redirect to plain http and accepted %q", tok.Subject)
	}
	if n := heard.Load(); n != 0 {
		t.Errorf("the plain-http server was asked %d times", n)
	}
	if own != 0 {
		t.Errorf("the caller's CheckRedirect was asked before the library's policy refused")
	}
	if hc.CheckRedirect == nil {
		t.Error("the caller's client was modified")
	}
}
