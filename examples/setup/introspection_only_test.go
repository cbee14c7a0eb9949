package setup

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/testlog"
)

func TestParseIntrospectionOnly(t *testing.T) {
	intro := []string{"--introspection-url", "https://as.example/oauth/introspect", "--client-id", "api", "--client-secret", "s"}
	args := func(extra ...string) []string {
		return append(append([]string{"--audience", "orders"}, intro...), extra...)
	}
	for _, tt := range []struct {
		name        string
		args        []string
		env         map[string]string
		wantErr     string // "" for none
		only, query bool   // want IntrospectionOnly, AllowQueryToken
	}{
		{"defaults", args("--issuer", "https://as.example/"), nil, "", false, false},
		{"introspection only, no issuer", args("--introspection-only"), nil, "", true, false},
		{"introspection only, an issuer", args("--introspection-only", "--issuer", "oauth2-server"), nil, "", true, false},
		{"from the environment", args(), map[string]string{"BEARERGUARD_INTROSPECTION_ONLY": "true", "BEARERGUARD_ALLOW_QUERY_TOKEN": "1"}, "", true, true},
		{"flag over the environment", args("--introspection-only=false", "--issuer", "https://as.example/"), map[string]string{"BEARERGUARD_INTROSPECTION_ONLY": "true"}, "", false, false},
		{"query token", args("--introspection-only", "--allow-query-token"), nil, "", true, true},
		{"no issuer without the mode", args(), nil, "--issuer (or BEARERGUARD_ISSUER) is required", false, false},
		{"no introspection endpoint", []string{"--audience", "orders", "--introspection-only"}, nil, "--introspection-only needs --introspection-url", true, false},
		{"with a JWKS URL", args("--introspection-only", "--jwks-url", "https://as.example/jwks"), nil, "exclusive", true, false},
		{"with RFC 9068", args("--introspection-only", "--rfc9068"), nil, "--rfc9068", true, false},
		{"not a boolean", args(), map[string]string{"BEARERGUARD_INTROSPECTION_ONLY": "yes please"}, "BEARERGUARD_INTROSPECTION_ONLY", false, false},
		{"query token, not a boolean", args("--issuer", "https://as.example/"), map[string]string{"BEARERGUARD_ALLOW_QUERY_TOKEN": "sometimes"}, "BEARERGUARD_ALLOW_QUERY_TOKEN", false, false},
		// Read as false without a word before: the safe way, but not what was written.
		{"unencrypted Redis, not a boolean", args("--issuer", "https://as.example/"), map[string]string{"BEARERGUARD_REDIS_UNENCRYPTED": "yes"}, "BEARERGUARD_REDIS_UNENCRYPTED", false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("x", tt.args, env(tt.env), &bytes.Buffer{})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Parse(%q) = %v, want error %q", tt.args, err, tt.wantErr)
			}
			if c.IntrospectionOnly != tt.only || c.AllowQueryToken != tt.query {
				t.Errorf("Parse(%q): IntrospectionOnly %v, AllowQueryToken %v; want %v, %v", tt.args, c.IntrospectionOnly, c.AllowQueryToken, tt.only, tt.query)
			}
		})
	}
	var help bytes.Buffer
	Parse("x", []string{"--help"}, env(nil), &help)
	for _, want := range []string{"-introspection-only", "BEARERGUARD_INTROSPECTION_ONLY", "-allow-query-token", "BEARERGUARD_ALLOW_QUERY_TOKEN",
		"RFC 6750 §2.3", "Cache-Control: private", "logs"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("--help does not mention %q", want)
		}
	}
}

// counter is a loopback server that counts every request it gets, of any
// method and path, and answers none usefully: the issuer of a service that
// must never fetch anything from it.
func counter(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// In introspection-only mode the service makes no request but
// introspection: no discovery, no JWKS, ever (its issuer counts every
// request); GET /readyz is 200 at once, with no key set to wait for; every
// token, JWT-shaped or not, is introspected; and the query token is
// accepted only with --allow-query-token, with Cache-Control: private.
func TestRunIntrospectionOnly(t *testing.T) {
	// Every log line, Debug included (the validator's rejections), to check
	// that no token reaches the logs.
	var logs lockedBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	issuer, fetches := counter(t)
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "api", Secret: "api-secret"})
	opaque := iss.Opaque(t, bearertest.Claims{"iss": nil, "aud": nil, "scope": "read:data"})
	jwt := iss.Mint(t, bearertest.Claims{"iss": nil, "aud": nil, "scope": "read:data"})
	const unknown = "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed"
	base := []string{"--addr", "127.0.0.1:0", "--audience", "orders", "--introspection-only", "--issuer", issuer.URL,
		"--introspection-url", iss.IntrospectionURL(), "--client-id", "api", "--client-secret", "api-secret",
		"--introspection-audience-optional", "--introspection-cache-ttl", "0"}

	for _, query := range []bool{false, true} {
		args := base
		if query {
			args = append(args, "--allow-query-token")
		}
		s := startRun(t, args, guarded(iss.Client()))
		if s.Addr == "" {
			t.Fatalf("run exited: %s", s.stderr.String())
		}
		base := "http://" + s.Addr
		if r := get(t, base+"/readyz", ""); r.status != 200 {
			t.Errorf("GET /readyz = %d %s, want 200 at once", r.status, r.body)
		}
		if p := s.Readiness.Pending(); p != nil {
			t.Errorf("pending %q, want nothing", p)
		}
		before := iss.IntrospectionRequests()
		for _, tok := range []string{opaque, jwt} {
			if r := get(t, base+"/data", tok); r.status != 200 {
				t.Errorf("GET /data (header) = %d %s, want 200", r.status, r.body)
			}
		}
		if n := iss.IntrospectionRequests() - before; n != 2 {
			t.Errorf("%d introspection requests for an opaque token and a JWT, want 2", n)
		}
		if r := get(t, base+"/data", unknown); r.status != 401 {
			t.Errorf("GET /data with an unknown token = %d %s, want 401", r.status, r.body)
		}

		want, cache := 400, "no-store"
		if query {
			want, cache = 200, "private"
		}
		resp := do(t, base+"/data?access_token="+url.QueryEscape(opaque), nil)
		if resp.StatusCode != want || resp.Header.Get("Cache-Control") != cache {
			t.Errorf("query=%v: GET /data?access_token= = %d, Cache-Control %q; want %d, %q", query, resp.StatusCode, resp.Header.Get("Cache-Control"), want, cache)
		}
		resp = do(t, base+"/data?access_token="+url.QueryEscape(opaque), http.Header{"Authorization": {"Bearer " + opaque}})
		if resp.StatusCode != 400 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_request"`) {
			t.Errorf("query=%v: header and query = %d %q, want 400 invalid_request", query, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		s.stop(t)
		for _, tok := range []string{opaque, jwt, unknown} {
			if strings.Contains(s.stderr.String(), tok) || strings.Contains(logs.String(), tok) {
				t.Errorf("a token is in the service's output or logs:\n%s\n%s", s.stderr.String(), logs.String())
			}
		}
	}
	if !strings.Contains(logs.String(), "level=DEBUG") {
		t.Errorf("no rejection was logged at Debug: the check above saw nothing:\n%s", logs.String())
	}
	if n := fetches.Load(); n != 0 || iss.JWKSRequests() != 0 {
		t.Errorf("%d requests to the issuer, %d JWKS requests; want none", n, iss.JWKSRequests())
	}
}

// lockedBuffer is a bytes.Buffer for concurrent writers.
type lockedBuffer = testlog.Buffer

// do sends a GET with header h, and returns the response with its body
// read and closed.
func do(t *testing.T, url string, h http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// Without --issuer, an introspection-only Guard builds, and the metadata
// document names no authorization server (there is none to name) and the
// query method with --allow-query-token.
func TestIntrospectionOnlyWithoutIssuer(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "api", Secret: "api-secret"})
	cfg, err := Parse("x", []string{"--audience", "https://api.example/orders", "--introspection-only", "--allow-query-token",
		"--introspection-url", iss.IntrospectionURL(), "--client-id", "api", "--client-secret", "api-secret", "--introspection-audience-optional"},
		env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Readiness = &Readiness{}
	g, closeFn, err := cfg.Guard(iss.Client())
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if names := cfg.Readiness.list(); len(names) != 1 || names[0].name != "introspection" {
		t.Errorf("readiness dependencies %v, want introspection alone", names)
	}
	srv := httptest.NewServer(g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv.Close()
	tok := iss.Opaque(t, bearertest.Claims{"iss": nil, "aud": nil, "scope": "read:data"})
	if r := do(t, srv.URL+"/?access_token="+url.QueryEscape(tok), nil); r.StatusCode != 200 {
		t.Errorf("query token: %d, want 200", r.StatusCode)
	}
	if r := do(t, srv.URL+"/", http.Header{"Authorization": {"Bearer " + iss.Opaque(t, bearertest.Claims{"aud": nil})}}); r.StatusCode != 401 {
		t.Errorf("an answer naming an issuer, none configured: %d, want 401", r.StatusCode)
	}
	md, err := cfg.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	md.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, md.Path(), nil))
	body := rec.Body.String()
	if strings.Contains(body, "authorization_servers") || !strings.Contains(body, `"bearer_methods_supported":["header","query"]`) {
		t.Errorf("metadata: %s", body)
	}
}
