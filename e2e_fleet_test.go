package bearerguard_test

// A fleet: three replicas of the net/http example service, each with its
// own validator, introspection client and caches, sharing one real Redis
// (--redis-url), behind a round-robin client, against a bearertest issuer.
// They ask the authorization server once per token between them, refuse a
// DPoP proof replayed from one to another, keep answering (without a wrong
// decision) while Redis is down, and resume when it is back, without a
// restart. Bounded: a few seconds; everything stops when the test ends.

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/examples/nethttp/api"
	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/internal/leakcheck"
	"github.com/bearerguard/bearerguard/internal/redistest"
	"github.com/bearerguard/bearerguard/validator"
)

// fleetPublicURL is the address clients use for every replica, as behind
// a load balancer: DPoP proofs name it, so a proof is valid on any replica.
const fleetPublicURL = "https://api.example.com"

// fleetRedisKeys encrypt the answers the fleet keeps in Redis, as a
// deployment's secret would (two keys: the first encrypts).
const fleetRedisKeys = "k2:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=,k1:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="

// fleet is N replicas behind a round-robin client.
type fleet struct {
	t        *testing.T
	replicas []*httptest.Server
	next     atomic.Uint64
}

// startFleet starts n replicas of the net/http example configured as a
// deployment would be: flags and environment, Redis when redisURL is set
// (by flag on the first replica, by environment on the others).
func startFleet(t *testing.T, iss *bearertest.Issuer, n int, redisURL string, extra ...string) *fleet {
	t.Helper()
	f := &fleet{t: t}
	for i := range n {
		args := append([]string{"--issuer", iss.URL, "--audience", "orders", "--introspection-url", iss.IntrospectionURL(),
			"--client-id", "orders-api", "--public-url", fleetPublicURL}, extra...)
		env := map[string]string{"BEARERGUARD_CLIENT_SECRET": "orders-api-secret"}
		if redisURL != "" {
			env["BEARERGUARD_REDIS_ENCRYPTION_KEYS"] = fleetRedisKeys
		}
		if redisURL != "" && i == 0 {
			args = append(args, "--redis-url", redisURL)
		} else if redisURL != "" {
			env["BEARERGUARD_REDIS_URL"] = redisURL
		}
		cfg, err := setup.Parse("nethttp", args, func(k string) string { return env[k] }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.RedisURL != redisURL {
			t.Fatalf("replica %d: Redis URL %q, want %q", i, cfg.RedisURL, redisURL)
		}
		// On a loaded two-core CI machine a loopback Redis call now and
		// then takes longer than the 100 ms default: a 503 there would be
		// right, but not what this test is about. Redis down is a refused
		// connection, answered at once whatever the timeout.
		cfg.RedisTimeout = 2 * time.Second
		h, closeFn, err := api.New(cfg, iss.Client())
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(func() { srv.Close(); closeFn() })
		f.replicas = append(f.replicas, srv)
	}
	return f
}

// reply is what a replica answered.
type reply struct {
	status      int
	challenge   string // WWW-Authenticate
	retryAfter  string
	subject     string
	description string
}

// send sends GET /data to replica i (-1: the next in round-robin order)
// with the token as Bearer, or as DPoP with proof.
func (f *fleet) send(i int, token, proof string) reply {
	f.t.Helper()
	if i < 0 {
		i = int(f.next.Add(1)-1) % len(f.replicas)
	}
	req, err := http.NewRequest(http.MethodGet, f.replicas[i].URL+"/data", nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if proof != "" {
		req.Header.Set("Authorization", "DPoP "+token)
		req.Header.Set("DPoP", proof)
	} else {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.replicas[i].Client().Do(req)
	if err != nil {
		f.t.Error(err)
		return reply{}
	}
	defer resp.Body.Close()
	var body struct {
		Subject     string `json:"subject"`
		Description string `json:"error_description"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return reply{resp.StatusCode, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Retry-After"), body.Subject, body.Description}
}

// isReplayRefusal reports whether r refuses a DPoP proof as replayed.
func (r reply) isReplayRefusal() bool {
	return r.status == http.StatusUnauthorized && strings.Contains(r.challenge, `error="invalid_dpop_proof"`) &&
		strings.Contains(r.challenge, "already used")
}

// A fleet whose Redis speaks TLS with a private CA (--redis-ca) shares its
// replay state through it; without the CA it refuses what it cannot check
// (the certificate is never skipped).
func TestFleetOverTLSWithPrivateCA(t *testing.T) {
	rs := redistest.Start(t)
	url, ca := rs.TLSFront()
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "orders-api-secret"})
	key := bearertest.MustDPoPKey(t, validator.ES256)
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"}, bearertest.BoundToKey(key))

	f := startFleet(t, iss, 2, url, "--redis-ca", ca)
	proof := key.MustProof(t, "GET", fleetPublicURL+"/data", tok)
	if r := f.send(0, tok, proof); r.status != http.StatusOK {
		t.Fatalf("replica A refused a fresh proof: %+v", r)
	}
	if r := f.send(1, tok, proof); !r.isReplayRefusal() {
		t.Errorf("the proof replayed to replica B: %+v, want 401 invalid_dpop_proof (already used)", r)
	}

	untrusting := startFleet(t, iss, 1, url)
	if r := untrusting.send(0, tok, key.MustProof(t, "GET", fleetPublicURL+"/data", tok)); r.status == http.StatusOK {
		t.Errorf("a replica that does not trust Redis's certificate accepted a proof it could not record: %+v", r)
	}
}

func TestFleetSharesStateThroughRedis(t *testing.T) {
	leakcheck.Check(t)
	rs := redistest.Start(t)
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "orders-api-secret"})
	f := startFleet(t, iss, 3, rs.URL)
	opaque := func(extra bearertest.Claims) string {
		claims := bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "fleet-user"}
		for k, v := range extra {
			claims[k] = v
		}
		return iss.Opaque(t, claims)
	}

	// 1,000 requests with one fresh opaque token: one introspection call.
	// The first request goes alone: replicas that first see a token at the
	// same instant each ask (there is no fleet-wide coalescing).
	hot := opaque(nil)
	before := iss.IntrospectionRequests()
	if r := f.send(-1, hot, ""); r.status != http.StatusOK || r.subject != "fleet-user" {
		t.Fatalf("first request: %+v", r)
	}
	var wg sync.WaitGroup
	var failed atomic.Int64
	work := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			for range work {
				if r := f.send(-1, hot, ""); r.status != http.StatusOK || r.subject != "fleet-user" {
					failed.Add(1)
				}
			}
		})
	}
	for range 999 {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of 1,000 requests were not answered 200", n)
	}
	if n := iss.IntrospectionRequests() - before; n != 1 {
		t.Errorf("1,000 requests over 3 replicas cost %d introspection calls, want 1", n)
	}

	// A DPoP proof accepted by replica A is refused by B and C, for an
	// introspected token and for a JWT.
	key := bearertest.MustDPoPKey(t, validator.ES256)
	bound := map[string]string{
		"opaque": opaque(bearertest.Claims{"cnf": map[string]any{"jkt": key.Thumbprint()}}),
		"JWT":    iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"}, bearertest.BoundToKey(key)),
	}
	var replayed []string // proofs already used, with their tokens
	for kind, tok := range bound {
		proof := key.MustProof(t, "GET", fleetPublicURL+"/data", tok)
		if r := f.send(0, tok, proof); r.status != http.StatusOK {
			t.Fatalf("%s: replica A refused a fresh proof: %+v", kind, r)
		}
		for i, name := range []string{"B", "C"} {
			if r := f.send(i+1, tok, proof); !r.isReplayRefusal() {
				t.Errorf("%s: the proof replayed to replica %s: %+v, want 401 invalid_dpop_proof (already used)", kind, name, r)
			}
		}
		replayed = append(replayed, tok, proof)
	}

	// Redis killed mid-run.
	rs.Kill()
	unknown := "opaque-never-issued-" + time.Now().Format("150405.000")
	fresh := opaque(nil)
	checks := []struct {
		name   string
		token  string
		proof  func() string
		status int
	}{
		{"known opaque token", hot, nil, http.StatusOK},
		{"new opaque token (the authorization server answers)", fresh, nil, http.StatusOK},
		{"unknown opaque token", unknown, nil, http.StatusUnauthorized},
		{"Bearer JWT", iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"}), nil, http.StatusOK},
		{"JWT for another audience", iss.Mint(t, bearertest.Claims{"aud": "payments", "scope": "read:data"}), nil, http.StatusUnauthorized},
		{"fresh DPoP proof: the replay check cannot decide", bound["JWT"], func() string {
			return key.MustProof(t, "GET", fleetPublicURL+"/data", bound["JWT"])
		}, http.StatusServiceUnavailable},
		{"replayed DPoP proof", replayed[0], func() string { return replayed[1] }, http.StatusServiceUnavailable},
		{"DPoP-bound token sent as Bearer", bound["opaque"], nil, http.StatusUnauthorized},
	}
	for _, c := range checks {
		for i, name := range []string{"A", "B", "C"} {
			proof := ""
			if c.proof != nil {
				proof = c.proof()
			}
			r := f.send(i, c.token, proof)
			if r.status != c.status {
				t.Errorf("Redis down, %s, replica %s: %d %q, want %d", c.name, name, r.status, r.challenge, c.status)
			}
			if r.status == http.StatusServiceUnavailable && r.retryAfter == "" {
				t.Errorf("Redis down, %s, replica %s: 503 without Retry-After", c.name, name)
			}
		}
	}

	// Redis back on the same port, empty: every replica resumes by itself.
	rs.Restart()
	for i, name := range []string{"A", "B", "C"} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			r := f.send(i, bound["JWT"], key.MustProof(t, "GET", fleetPublicURL+"/data", bound["JWT"]))
			if r.status == http.StatusOK {
				break
			}
			if r.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
				t.Fatalf("replica %s after Redis restarted: %+v", name, r)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	proof := key.MustProof(t, "GET", fleetPublicURL+"/data", bound["JWT"])
	if r := f.send(1, bound["JWT"], proof); r.status != http.StatusOK {
		t.Fatalf("after the restart, a fresh proof on B: %+v", r)
	}
	if r := f.send(2, bound["JWT"], proof); !r.isReplayRefusal() {
		t.Errorf("after the restart, the proof replayed to C: %+v", r)
	}
	after := opaque(nil)
	before = iss.IntrospectionRequests()
	for i := range 30 {
		if r := f.send(i%3, after, ""); r.status != http.StatusOK {
			t.Fatalf("after the restart, a new opaque token: %+v", r)
		}
	}
	if n := iss.IntrospectionRequests() - before; n != 1 {
		t.Errorf("after the restart, a new token on 3 replicas cost %d introspection calls, want 1", n)
	}
}

// TestFleetWithoutRedis is the problem the shared store solves: replicas
// that share nothing each ask about a token, and accept a proof replayed
// from another.
func TestFleetWithoutRedis(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "orders-api-secret"})
	f := startFleet(t, iss, 3, "")
	tok := iss.Opaque(t, bearertest.Claims{"aud": "orders", "scope": "read:data"})
	before := iss.IntrospectionRequests()
	for range 30 {
		if r := f.send(-1, tok, ""); r.status != http.StatusOK {
			t.Fatalf("%+v", r)
		}
	}
	if n := iss.IntrospectionRequests() - before; n != 3 {
		t.Errorf("%d introspection calls without Redis, want 3 (one per replica)", n)
	}
	key := bearertest.MustDPoPKey(t, validator.ES256)
	jwt := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"}, bearertest.BoundToKey(key))
	proof := key.MustProof(t, "GET", fleetPublicURL+"/data", jwt)
	if r := f.send(0, jwt, proof); r.status != http.StatusOK {
		t.Fatalf("fresh proof: %+v", r)
	}
	if r := f.send(1, jwt, proof); r.status != http.StatusOK {
		t.Errorf("without a shared store a replayed proof is accepted by another replica, but got %+v", r)
	}
	if r := f.send(0, jwt, proof); !r.isReplayRefusal() {
		t.Errorf("replayed to the same replica: %+v", r)
	}
}

// TestFleetRedisURLConfiguration: --redis-url and BEARERGUARD_REDIS_URL
// are read like every other setting, and a bad URL is refused at start
// without being echoed (it may hold a password).
func TestFleetRedisURLConfiguration(t *testing.T) {
	base := []string{"--issuer", "https://id.example.com/", "--audience", "orders"}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    string
		refused bool
	}{
		{"flag", []string{"--redis-url", "rediss://:pw@redis.internal:6380/1"}, nil, "rediss://:pw@redis.internal:6380/1", false},
		{"environment", nil, map[string]string{"BEARERGUARD_REDIS_URL": "redis://redis:6379"}, "redis://redis:6379", false},
		{"flag over environment", []string{"--redis-url", "unix:///run/redis.sock"}, map[string]string{"BEARERGUARD_REDIS_URL": "redis://redis:6379"}, "unix:///run/redis.sock", false},
		{"not set", nil, nil, "", false},
		{"wrong scheme", []string{"--redis-url", "http://:hunter2@redis:6379"}, nil, "", true},
		{"shared introspection answers without encryption", []string{"--redis-url", "redis://redis:6379", "--introspection-url", "https://id.example.com/introspect",
			"--client-id", "orders-api", "--client-secret", "s"}, nil, "", true},
		{"shared introspection answers, encrypted", []string{"--redis-url", "redis://redis:6379", "--introspection-url", "https://id.example.com/introspect",
			"--client-id", "orders-api", "--client-secret", "s"}, map[string]string{"BEARERGUARD_REDIS_ENCRYPTION_KEYS": fleetRedisKeys}, "redis://redis:6379", false},
		{"shared introspection answers, unencrypted by choice", []string{"--redis-url", "redis://redis:6379", "--introspection-url", "https://id.example.com/introspect",
			"--client-id", "orders-api", "--client-secret", "s", "--redis-unencrypted"}, nil, "redis://redis:6379", false},
		{"a key of the wrong size", []string{"--redis-url", "redis://redis:6379", "--redis-encryption-keys", "k1:aHVudGVyMg=="}, nil, "", true},
		{"keys without Redis", nil, map[string]string{"BEARERGUARD_REDIS_ENCRYPTION_KEYS": fleetRedisKeys}, "", true},
		{"does not parse", nil, map[string]string{"BEARERGUARD_REDIS_URL": "redis://:hunter2@[::1"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := setup.Parse("nethttp", append(append([]string{}, base...), tt.args...), func(k string) string { return tt.env[k] }, io.Discard)
			if tt.refused {
				if err == nil || !strings.Contains(err.Error(), "--redis-") || strings.Contains(err.Error(), "hunter2") ||
					strings.Contains(err.Error(), "aHVudGVyMg") || strings.Contains(err.Error(), "MDEyMzQ1") {
					t.Errorf("Parse: %v; want a refusal naming the --redis- flag, without the URL or a key", err)
				}
				return
			}
			if err != nil || cfg.RedisURL != tt.want {
				t.Errorf("Parse: %q, %v; want %q", cfg.RedisURL, err, tt.want)
			}
		})
	}
}

// TestFleetRedisWriterCannotForgeAnswers: whoever can write to the fleet's
// Redis (another application on a shared instance, anyone on the path of
// a plain redis:// connection) cannot make a token string of their choosing
// valid by storing an "active" answer for it: the fleet's answers are
// encrypted and authenticated, so the value is refused and the token is
// asked of the authorization server, which does not know it (red-team
// finding: the services' --redis-url had no way to turn encryption on).
func TestFleetRedisWriterCannotForgeAnswers(t *testing.T) {
	rs := redistest.Start(t)
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "orders-api-secret"})
	f := startFleet(t, iss, 2, rs.URL)
	// A genuine answer, to find the fleet's key for a token and its shape.
	genuine := iss.Opaque(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "alice"})
	if r := f.send(0, genuine, ""); r.status != http.StatusOK {
		t.Fatalf("a genuine token: %+v", r)
	}
	keys, err := rs.Client().Keys(t.Context(), "bearerguard:introspect:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys in Redis: %v, %v", keys, err)
	}
	// The writer can compute any token's key from public data (endpoint,
	// client id, token): here, it reuses the genuine token's key and
	// stores, in the codec's plain format, an answer it made up.
	exp := time.Now().Add(time.Hour)
	forged := []byte{1, 1}
	forged = binary.BigEndian.AppendUint64(forged, uint64(exp.UnixNano()))
	forged = append(forged, fmt.Sprintf(`{"active":true,"sub":"admin","aud":"orders","scope":"read:data","exp":%d}`, exp.Unix())...)
	if err := rs.Client().Set(t.Context(), keys[0], forged, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if r := f.send(i, genuine, ""); r.status != http.StatusOK || r.subject != "alice" {
			t.Errorf("replica %d answered the forged value: %+v", i, r)
		}
	}
}
