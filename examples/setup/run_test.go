package setup

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/leakcheck"
	"github.com/bearerguard/bearerguard/scopes"
)

// guarded is a service for run: GET /healthz open, GET /data needing
// read:data, its keys fetched with client (which trusts the test issuer).
func guarded(client *http.Client) func(Config, *http.Client) (http.Handler, func(), error) {
	return func(c Config, _ *http.Client) (http.Handler, func(), error) {
		g, closeFn, err := c.Guard(client)
		if err != nil {
			return nil, nil, err
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(HealthBody) })
		mux.Handle("GET /data", g.Require(scopes.All("read:data"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "data\n")
		})))
		return mux, closeFn, nil
	}
}

// service is run in the background.
type service struct {
	started
	cancel context.CancelFunc
	done   chan int // run's exit code
	stderr bytes.Buffer
}

// startRun runs args until the test ends (or stop), and returns once it
// listens, or once it exits when it does so first.
func startRun(t *testing.T, args []string, newHandler func(Config, *http.Client) (http.Handler, func(), error)) *service {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s := &service{cancel: cancel, done: make(chan int, 1)}
	up := make(chan started, 1)
	go func() {
		s.done <- run(ctx, "svc", args, env(nil), &s.stderr, newHandler, func(st started) { up <- st })
	}()
	t.Cleanup(func() { s.stop(t) })
	select {
	case s.started = <-up:
	case code := <-s.done:
		s.done <- code
	}
	return s
}

// stop ends the service and checks that it exited 0.
func (s *service) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	if code, ok := <-s.done; ok {
		close(s.done)
		if code != 0 {
			t.Errorf("run exited %d: %s", code, s.stderr.String())
		}
	}
}

type answer struct {
	status int
	body   string
}

func get(t *testing.T, url, token string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(body)}
}

// /metrics serves, on its own listener, the decisions and key-set metrics
// in the Prometheus format; /readyz answers 200 once the keys loaded.
func TestRunMetricsAndReadiness(t *testing.T) {
	leakcheck.Check(t)
	iss := bearertest.NewIssuer(t)
	s := startRun(t, []string{"--issuer", iss.URL, "--audience", "orders", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"}, guarded(iss.Client()))
	if s.Addr == "" || s.MetricsAddr == "" {
		t.Fatalf("run did not start: %s", s.stderr.String())
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.Readiness.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if r := get(t, "http://"+s.Addr+"/readyz", ""); r.status != 200 || r.body != `{"status":"ready"}`+"\n" {
		t.Errorf("/readyz when ready: %d %q", r.status, r.body)
	}
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"})
	if r := get(t, "http://"+s.Addr+"/data", tok); r.status != 200 {
		t.Errorf("GET /data: %d %q", r.status, r.body)
	}
	if r := get(t, "http://"+s.Addr+"/data", "not-a-jwt"); r.status != 401 {
		t.Errorf("GET /data with a bad token: %d %q", r.status, r.body)
	}
	if r := get(t, "http://"+s.Addr+"/metrics", ""); r.status != 404 {
		t.Errorf("/metrics on the main listener: %d", r.status)
	}
	m := get(t, "http://"+s.MetricsAddr+"/metrics", "")
	if m.status != 200 {
		t.Fatalf("/metrics: %d %q", m.status, m.body)
	}
	for _, want := range []struct {
		name   string
		labels map[string]string
		value  float64 // -1: any
	}{
		{"bearerguard_decisions_total", map[string]string{"outcome": "allow", "reason": "none", "source": "jwt", "otel_scope_name": "github.com/bearerguard/bearerguard/validator"}, 1},
		{"bearerguard_decisions_total", map[string]string{"outcome": "deny", "reason": "malformed", "source": "jwt"}, 1},
		{"bearerguard_validation_duration_seconds_count", map[string]string{"outcome": "allow", "source": "jwt"}, 1},
		{"bearerguard_validation_duration_seconds_bucket", map[string]string{"outcome": "allow", "source": "jwt", "le": "+Inf"}, 1},
		{"bearerguard_token_cache_events_total", map[string]string{"event": "miss"}, 2},
		{"bearerguard_jwks_fetches_total", map[string]string{"result": "ok", "otel_scope_name": "github.com/bearerguard/bearerguard/jwks"}, 1},
		{"bearerguard_jwks_keys", map[string]string{"source": iss.URL}, 1},
		{"bearerguard_jwks_age_seconds", map[string]string{"source": iss.URL}, -1},
		{"target_info", map[string]string{"service_name": "svc"}, 1},
		{"go_goroutines", nil, -1},
	} {
		if v, ok := sample(m.body, want.name, want.labels); !ok || (want.value >= 0 && v != want.value) {
			t.Errorf("/metrics: %s%v = %v (found %v), want %v", want.name, want.labels, v, ok, want.value)
		}
	}
	if strings.Contains(m.body, tok) {
		t.Error("/metrics shows the token")
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", bearerguardLines(m.body))
	}
	if r := get(t, "http://"+s.MetricsAddr+"/data", tok); r.status != 404 {
		t.Errorf("GET /data on the metrics listener: %d", r.status)
	}
}

// sample returns the value of the first series of the exposition body
// named name that has the labels given.
func sample(body, name string, labels map[string]string) (float64, bool) {
next:
	for line := range strings.Lines(body) {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, name)
		if !ok || strings.HasPrefix(line, "#") || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		got := map[string]string{}
		if rest[0] == '{' {
			end := strings.LastIndex(rest, "}")
			for pair := range strings.SplitSeq(rest[1:end], `",`) {
				k, v, _ := strings.Cut(pair, `="`)
				got[k] = strings.TrimSuffix(v, `"`)
			}
			rest = rest[end+1:]
		}
		for k, v := range labels {
			if got[k] != v {
				continue next
			}
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		return v, err == nil
	}
	return 0, false
}

func bearerguardLines(body string) string {
	var out []string
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, "bearerguard_") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}

// Without --metrics-addr there is no second listener, and /readyz still
// answers on the main one.
func TestRunWithoutMetrics(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s := startRun(t, []string{"--issuer", iss.URL, "--audience", "orders", "--addr", "127.0.0.1:0"}, guarded(iss.Client()))
	if s.Addr == "" || s.MetricsAddr != "" {
		t.Fatalf("started %+v: %s", s.started, s.stderr.String())
	}
	if err := s.Readiness.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := get(t, "http://"+s.Addr+"/readyz", ""); r.status != 200 {
		t.Errorf("/readyz: %d", r.status)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+s.Addr+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /readyz: %d %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// An issuer that is down at start: the service serves past the startup
// timeout with /readyz at 503, and is ready once the issuer is back.
func TestRunIssuerDownAtStart(t *testing.T) {
	leakcheck.Check(t)
	iss := bearertest.NewIssuer(t)
	var fetches atomic.Int64
	hit := make(chan struct{})
	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fetches.Add(1) == 1 {
			close(hit)
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	s := startRun(t, []string{"--issuer", iss.URL, "--audience", "orders", "--addr", "127.0.0.1:0", "--startup-timeout", "1ms"}, guarded(iss.Client()))
	if s.Addr == "" {
		t.Fatalf("run did not start: %s", s.stderr.String())
	}
	// The first fetch reached the issuer, which fails every one; the
	// startup timeout is past: the service serves, not ready.
	select {
	case <-hit:
	case <-t.Context().Done():
	}
	if s.Readiness.Ready() {
		t.Fatal("ready with the issuer down")
	}
	r := get(t, "http://"+s.Addr+"/readyz", "")
	var body struct {
		Status     string   `json:"status"`
		WaitingFor []string `json:"waiting_for"`
	}
	if r.status != 503 || json.Unmarshal([]byte(r.body), &body) != nil || body.Status != "not ready" || len(body.WaitingFor) != 1 || body.WaitingFor[0] != "keys" {
		t.Errorf("/readyz with the issuer down: %d %q", r.status, r.body)
	}
	if r := get(t, "http://"+s.Addr+"/healthz", ""); r.status != 200 {
		t.Errorf("/healthz with the issuer down: %d", r.status)
	}

	// The issuer comes back; the background retry (backoff from 1 s) loads
	// the keys.
	iss.SetJWKSHandler(nil)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.Readiness.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if r := get(t, "http://"+s.Addr+"/readyz", ""); r.status != 200 {
		t.Errorf("/readyz once the issuer is back: %d %q", r.status, r.body)
	}
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"})
	if r := get(t, "http://"+s.Addr+"/data", tok); r.status != 200 {
		t.Errorf("GET /data once the issuer is back: %d %q", r.status, r.body)
	}
	select {
	case code := <-s.done:
		t.Fatalf("run exited %d: %s", code, s.stderr.String())
	default:
	}
}

// discoveryServer serves a discovery document naming issuer (nil: 503
// until set).
type discoveryServer struct {
	*httptest.Server
	mu     sync.Mutex
	issuer string
}

func newDiscoveryServer(t *testing.T) *discoveryServer {
	d := &discoveryServer{}
	d.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		issuer := d.issuer
		d.mu.Unlock()
		if issuer == "" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": issuer, "jwks_uri": issuer + "/jwks"})
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *discoveryServer) names(issuer string) {
	d.mu.Lock()
	d.issuer = issuer
	d.mu.Unlock()
}

// A discovery document that names another issuer (here the configured one
// with a trailing slash more) ends the service at once, with one line, and
// exit code 1, well within the startup timeout.
func TestRunIssuerMismatch(t *testing.T) {
	leakcheck.Check(t)
	d := newDiscoveryServer(t)
	d.names(d.URL)
	start := time.Now()
	s := startRun(t, []string{"--issuer", d.URL + "/", "--audience", "orders", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"}, guarded(d.Client()))
	code := <-s.done
	close(s.done)
	if code != 1 {
		t.Fatalf("run exited %d, want 1: %s", code, s.stderr.String())
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the mismatch took %v to end the service", time.Since(start))
	}
	checkMismatchLine(t, s.stderr.String(), d.URL)
}

// A mismatch found once an unreachable issuer comes back, after the startup
// timeout, ends the service too.
func TestRunIssuerMismatchAfterStartup(t *testing.T) {
	leakcheck.Check(t)
	d := newDiscoveryServer(t)
	s := startRun(t, []string{"--issuer", d.URL + "/", "--audience", "orders", "--addr", "127.0.0.1:0", "--startup-timeout", "1ms"}, guarded(d.Client()))
	if s.Readiness == nil || s.Readiness.Ready() {
		t.Fatalf("started %+v: %s", s.started, s.stderr.String())
	}
	if r := get(t, "http://"+s.Addr+"/readyz", ""); r.status != 503 {
		t.Errorf("/readyz with discovery down: %d", r.status)
	}
	d.names(d.URL) // the background retry, about a second later, finds it
	code := <-s.done
	close(s.done)
	if code != 1 {
		t.Fatalf("run exited %d, want 1: %s", code, s.stderr.String())
	}
	checkMismatchLine(t, s.stderr.String(), d.URL)
}

func checkMismatchLine(t *testing.T, stderr, other string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "svc: --issuer ") ||
		!strings.Contains(stderr, "is not the issuer its discovery document names") || !strings.Contains(stderr, `(got "`+other+`")`) ||
		strings.Contains(stderr, "status 404") {
		t.Errorf("stderr = %q, want one line naming the other issuer", stderr)
	}
	t.Logf("stderr: %s", stderr)
}

func TestParseOperations(t *testing.T) {
	var out bytes.Buffer
	base := map[string]string{"BEARERGUARD_ISSUER": "https://e/", "BEARERGUARD_AUDIENCE": "a"}
	c, err := Parse("x", nil, env(base), &out)
	if err != nil || c.MetricsAddr != "" || c.StartupTimeout != DefaultStartupTimeout {
		t.Errorf("defaults: %q %v %v", c.MetricsAddr, c.StartupTimeout, err)
	}
	c, err = Parse("x", []string{"--metrics-addr", ":9090", "--startup-timeout", "0"}, env(base), &out)
	if err != nil || c.MetricsAddr != ":9090" || c.StartupTimeout != 0 {
		t.Errorf("flags: %q %v %v", c.MetricsAddr, c.StartupTimeout, err)
	}
	withEnv := map[string]string{"BEARERGUARD_METRICS_ADDR": "127.0.0.1:9464", "BEARERGUARD_STARTUP_TIMEOUT": "30s"}
	for k, v := range base {
		withEnv[k] = v
	}
	c, err = Parse("x", nil, env(withEnv), &out)
	if err != nil || c.MetricsAddr != "127.0.0.1:9464" || c.StartupTimeout != 30*time.Second {
		t.Errorf("env: %q %v %v", c.MetricsAddr, c.StartupTimeout, err)
	}
	for _, v := range []string{"soon", "-1s"} {
		if _, err := Parse("x", []string{"--startup-timeout", v}, env(base), &out); err == nil || !strings.Contains(err.Error(), "--startup-timeout") {
			t.Errorf("--startup-timeout %s: %v", v, err)
		}
	}
}

// Guard registers its key set and introspection client; with nothing
// registered, a Readiness is ready.
func TestReadinessFromGuard(t *testing.T) {
	var empty Readiness
	if !empty.Ready() || empty.Pending() != nil || empty.Wait(t.Context()) != nil {
		t.Error("an empty Readiness is not ready")
	}
	iss := bearertest.NewIssuer(t)
	ready := &Readiness{}
	cfg := Config{Issuer: iss.URL, Audience: "orders", IntrospectionURL: iss.IntrospectionURL(), ClientID: "c", ClientSecret: "s", Readiness: ready}
	_, closeFn, err := cfg.Guard(iss.Client())
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if got := len(ready.list()); got != 2 {
		t.Fatalf("%d dependencies registered, want 2", got)
	}
	if err := ready.Wait(t.Context()); err != nil || !ready.Ready() {
		t.Fatalf("Wait: %v, ready %v", err, ready.Ready())
	}
	rec := httptest.NewRecorder()
	ready.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/readyz", nil))
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("HEAD /readyz: %d %v", rec.Code, rec.Header())
	}
}
