package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/internal/testlog"
	"github.com/bearerguard/bearerguard/validator"
)

// lockedBuffer is an io.Writer the server's goroutines log to.
type lockedBuffer = testlog.Buffer

const serveRoutes = `
routes:
  - name: health
    path: /healthz
    open: true
  - name: read
    methods: [GET]
    path: /orders/{id}
    scopes: [orders:read]
  - name: write
    methods: [POST]
    path: /orders/
    scopes: [orders:write]
`

// startServe runs `bearerguard serve` against iss until the test ends.
// It returns what serve started, its log, and the route file.
func startServe(t *testing.T, iss *bearertest.Issuer, routes string, extra ...string) (serveStarted, *lockedBuffer, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "routes.yaml")
	writeRoutes(t, file, routes)
	args := append([]string{"--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
		"--issuer", iss.URL, "--audience", "orders", "--routes", file}, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &lockedBuffer{}
	startedc := make(chan serveStarted, 1)
	done := make(chan int, 1)
	go func() {
		done <- runServe(ctx, args, func(string) string { return "" }, stderr, iss.Client(), func(s serveStarted) { startedc <- s })
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, stderr)
		}
	})
	select {
	case s := <-startedc:
		return s, stderr, file
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, stderr)
	}
	return serveStarted{}, nil, ""
}

func writeRoutes(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func nginxAsk(t *testing.T, addr, method, uri, token string, more http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+addr+"/nginx", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Original-Method", method)
	req.Header.Set("X-Original-URI", uri)
	req.Header.Set("X-Original-Host", "api.example.com") // as the README's nginx sets it ($host:$server_port)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range more {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServe(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s, _, _ := startServe(t, iss, serveRoutes)
	read := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "orders:read", "sub": "svc-1"})

	if err := waitReady(t, s.Addr); err != nil {
		t.Fatal(err)
	}
	resp := nginxAsk(t, s.Addr, "GET", "/orders/7", read, http.Header{"X-Auth-Subject": {"admin"}})
	if resp.StatusCode != 200 || resp.Header.Get("X-Auth-Subject") != "svc-1" {
		t.Errorf("nginx read: %d, X-Auth-Subject %q; want 200, svc-1", resp.StatusCode, resp.Header.Get("X-Auth-Subject"))
	}
	if resp := nginxAsk(t, s.Addr, "POST", "/orders/7", read, nil); resp.StatusCode != 403 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_scope") {
		t.Errorf("nginx write with a read token: %d %q; want 403 insufficient_scope", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if resp := nginxAsk(t, s.Addr, "GET", "/orders/7", "", nil); resp.StatusCode != 401 {
		t.Errorf("nginx without a token: %d, want 401", resp.StatusCode)
	}
	if code, _ := get(t, "http://"+s.Addr+"/envoy/healthz"); code != 200 {
		t.Errorf("envoy HTTP open route: %d, want 200", code)
	}
	if code, _ := get(t, "http://"+s.Addr+"/envoy/a/../healthz"); code != 400 {
		t.Errorf("envoy HTTP unclean path: %d, want 400 (not a redirect)", code)
	}
	if code, _ := get(t, "http://"+s.Addr+"/elsewhere"); code != 404 {
		t.Errorf("unknown path: %d, want 404", code)
	}
	if resp := nginxAsk(t, s.Addr, "GET", "/orders/7", read, http.Header{"X-Big": {strings.Repeat("x", 100<<10)}}); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("100 KiB of headers: %d, want 431", resp.StatusCode)
	}

	conn, err := grpc.NewClient(s.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cr, err := authv3.NewAuthorizationClient(conn).Check(t.Context(), &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: "GET", Host: "api.example.com", Path: "/orders/7", Headers: map[string]string{"authorization": "Bearer " + read}}}}})
	if err != nil || codes.Code(cr.GetStatus().GetCode()) != codes.OK {
		t.Errorf("gRPC Check: %v, %v; want OK", cr, err)
	}

	code, body := get(t, "http://"+s.MetricsAddr+"/metrics")
	for _, want := range []string{`bearerguard_forwardauth_decisions_total{frontend="nginx"`, `status="403"`, `frontend="envoy_grpc"`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics %d lacks %s", code, want)
		}
	}
}

// waitReady waits for GET /readyz to say 200: the keys have loaded.
func waitReady(t *testing.T, addr string) error {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get(t, "http://"+addr+"/readyz")
		if code == 200 {
			return nil
		}
		if time.Now().After(deadline) {
			return &readyErr{code, body}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type readyErr struct {
	code int
	body string
}

func (e *readyErr) Error() string { return "readyz " + e.body }

// A good file is put in force on SIGHUP and when it changes; a bad one
// keeps the rules in force and says why in one line.
func TestServeReload(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s, stderr, file := startServe(t, iss, serveRoutes, "--reload-interval", "0")
	status := func() int { return nginxAsk(t, s.Addr, "GET", "/healthz", "", nil).StatusCode }
	if got := status(); got != 200 {
		t.Fatalf("before: /healthz %d, want 200", got)
	}

	writeRoutes(t, file, "routes:\n  - path: /healthz\n    deny: true\n    bogus: 1\n")
	s.Reload()
	if got := status(); got != 200 {
		t.Errorf("after a bad file: /healthz %d, want 200 (the rules in force stay)", got)
	}
	var lines []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "not reloaded") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], `unknown field \"bogus\"`) {
		t.Errorf("log lines about the bad file: %q; want one naming the unknown field", lines)
	}

	writeRoutes(t, file, "routes:\n  - path: /healthz\n    deny: true\n  - name: never\n    path: /healthz\n    open: true\n")
	s.Reload()
	if got := status(); got != 403 {
		t.Errorf("after a good file: /healthz %d, want 403", got)
	}
	if !strings.Contains(stderr.String(), `level=WARN msg="bearerguard serve: a route decides no request"`) ||
		!strings.Contains(stderr.String(), `route \"never\" decides no request: route \"#0\"`) {
		t.Errorf("no warning of the route that decides no request: %s", stderr)
	}

	// SIGHUP itself.
	writeRoutes(t, file, "default: open\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for status() != 200 {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not reload the route file")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The poll reloads a file whose size or time changed, and only then.
// A file of many routes that decide no request is warned of in a bounded
// number of lines, each time it is loaded: the first ten by name, then how
// many more.
func TestShadowedWarningsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("routes:\n  - path: /\n    open: true\n")
	for i := range 25 {
		fmt.Fprintf(&b, "  - name: r%d\n    path: /r%d\n    deny: true\n", i, i)
	}
	rules, err := forwardauth.ParseRules([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	warnShadowed(slog.New(slog.NewTextHandler(&out, nil)), "routes.yaml", rules)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != maxShadowedLogged+1 {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), maxShadowedLogged+1, out.String())
	}
	for i, l := range lines[:maxShadowedLogged] {
		if !strings.Contains(l, fmt.Sprintf(`route \"r%d\" decides no request`, i)) {
			t.Errorf("line %d: %s", i, l)
		}
	}
	if l := lines[maxShadowedLogged]; !strings.Contains(l, "more routes decide no request") || !strings.Contains(l, "more=15") {
		t.Errorf("last line: %s, want the 15 more counted", l)
	}
}

func TestReloaderPoll(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s, _, file := startServe(t, iss, serveRoutes, "--reload-interval", "0")
	rl := &reloader{path: file, d: s.Decider, log: discardLogger()}
	rl.stamp, _ = statFile(file)
	rl.poll()
	if n := s.Decider.Rules().Routes(); n != 3 {
		t.Fatalf("unchanged file: %d routes, want 3", n)
	}
	writeRoutes(t, file, "routes:\n  - path: /a\n    open: true\n")
	rl.poll()
	if n := s.Decider.Rules().Routes(); n != 1 {
		t.Errorf("changed file: %d routes, want 1", n)
	}
}

func TestServeUsage(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	file := filepath.Join(t.TempDir(), "routes.yaml")
	writeRoutes(t, file, serveRoutes)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	writeRoutes(t, bad, "routes:\n  - path: nope\n")
	none := func(string) string { return "" }
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"--help"}, 0, "-trusted-proxies"},
		{"help lists the issuer flags", []string{"-h"}, 0, "Issuer-side flags"},
		{"no routes", []string{"--issuer", iss.URL, "--audience", "orders"}, 2, "--routes (or BEARERGUARD_ROUTES) is required"},
		{"no issuer", []string{"--routes", file, "--audience", "orders"}, 2, "--issuer"},
		{"bad route file", []string{"--routes", bad, "--issuer", iss.URL, "--audience", "orders"}, 2, `"nope" does not start with '/'`},
		{"client CA", []string{"--routes", file, "--issuer", iss.URL, "--audience", "orders", "--client-ca", file, "--tls-cert", file, "--tls-key", file}, 2, "--client-ca does not apply"},
		{"bad proxies", []string{"--routes", file, "--issuer", iss.URL, "--audience", "orders", "--trusted-proxies", "10.0.0.0/99"}, 2, "10.0.0.0/99"},
		{"bad envoy prefix", []string{"--routes", file, "--issuer", iss.URL, "--audience", "orders", "--envoy-prefix", "/nginx"}, 2, "--envoy-prefix"},
		{"port in use", []string{"--routes", file, "--issuer", iss.URL, "--audience", "orders", "--addr", strings.TrimPrefix(iss.URL, "https://")}, 1, "address already in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out lockedBuffer
			code := runServe(t.Context(), tt.args, none, &out, iss.Client(), nil)
			if code != tt.code || !strings.Contains(out.String(), tt.want) {
				t.Errorf("serve %v = %d, %q; want %d mentioning %q", tt.args, code, out.String(), tt.code, tt.want)
			}
			if tt.code == 2 && strings.Count(strings.TrimSpace(out.String()), "\n") > 0 {
				t.Errorf("a configuration error takes one line: %q", out.String())
			}
		})
	}
	// The help offers no flag that serve refuses, and keeps its neighbours.
	var help lockedBuffer
	runServe(t.Context(), []string{"--help"}, none, &help, iss.Client(), nil)
	if strings.Contains(help.String(), "-client-ca") || !strings.Contains(help.String(), "-client-id") || !strings.Contains(help.String(), "-tls-key") {
		t.Errorf("serve --help lists --client-ca (refused), or lost a neighbour:\n%s", help.String())
	}
}

// With --internal-jwt-key, allowed answers carry the internal token, and
// its key is served for upstreams to verify it with.
func TestServeInternalToken(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "internal.pem")
	writeRoutes(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	s, _, _ := startServe(t, iss, serveRoutes, "--internal-jwt-key", keyFile, "--internal-jwt-audience", "orders-backend")
	if err := waitReady(t, s.Addr); err != nil {
		t.Fatal(err)
	}
	read := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "orders:read", "sub": "svc-1"})
	resp := nginxAsk(t, s.Addr, "GET", "/orders/7", read, http.Header{"X-Auth-Token": {"forged"}})
	internal := resp.Header.Get("X-Auth-Token")
	if resp.StatusCode != 200 || strings.Count(internal, ".") != 2 {
		t.Fatalf("nginx read: %d, X-Auth-Token %q; want 200 and a JWT", resp.StatusCode, internal)
	}
	code, body := get(t, "http://"+s.Addr+"/.well-known/jwks.json")
	set, err := jwk.Parse([]byte(body))
	if code != 200 || err != nil {
		t.Fatalf("JWKS: %d, %v", code, err)
	}
	payload, err := jws.Verify([]byte(internal), jws.WithKeySet(set, jws.WithRequireKid(true)))
	if err != nil {
		t.Fatalf("the internal token does not verify with the served JWKS: %v", err)
	}
	if !strings.Contains(string(payload), `"sub":"svc-1"`) || !strings.Contains(string(payload), `"aud":"orders-backend"`) ||
		!strings.Contains(string(payload), `"htm":"GET","htu":"https://api.example.com/orders/7","route":"read"`) {
		t.Errorf("internal token claims %s", payload)
	}
	if resp := nginxAsk(t, s.Addr, "GET", "/healthz", "", http.Header{"X-Auth-Token": {"forged"}}); resp.Header.Get("X-Auth-Token") != "" {
		t.Errorf("open route: X-Auth-Token %q, want empty", resp.Header.Get("X-Auth-Token"))
	}
}

// --trusted-proxies reaches every front end: from anywhere else, forwarded
// headers are not read and the request is refused.
func TestServeTrustedProxies(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s, _, _ := startServe(t, iss, "default: open\n", "--trusted-proxies", "10.0.0.0/8, 192.168.1.1")
	if resp := nginxAsk(t, s.Addr, "GET", "/anything", "", nil); resp.StatusCode != 403 {
		t.Errorf("nginx from loopback, not trusted: %d, want 403", resp.StatusCode)
	}
	if code, _ := get(t, "http://"+s.Addr+"/envoy/anything"); code != 403 {
		t.Errorf("envoy HTTP from loopback, not trusted: %d, want 403", code)
	}
	conn, err := grpc.NewClient(s.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := authv3.NewAuthorizationClient(conn).Check(t.Context(), &authv3.CheckRequest{})
	if err != nil || codes.Code(resp.GetStatus().GetCode()) != codes.PermissionDenied || resp.GetDeniedResponse().GetStatus().GetCode() != 403 {
		t.Errorf("gRPC Check from loopback, not trusted: %v %v, want a 403 denied_response", resp, err)
	}
	if code, _ := get(t, "http://"+s.Addr+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d, want 200 from anywhere", code)
	}
}

// With a resource, challenges point to its RFC 9728 metadata, and serve
// serves the document at that path.
func TestServeResourceMetadata(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s, _, _ := startServe(t, iss, serveRoutes, "--resource", "http://127.0.0.1/orders")
	resp := nginxAsk(t, s.Addr, "GET", "/orders/7", "", nil)
	chal := resp.Header.Get("WWW-Authenticate")
	const want = "http://127.0.0.1/.well-known/oauth-protected-resource/orders"
	if resp.StatusCode != 401 || !strings.Contains(chal, `resource_metadata="`+want+`"`) {
		t.Fatalf("401 challenge %q, want resource_metadata=%q", chal, want)
	}
	code, body := get(t, "http://"+s.Addr+"/.well-known/oauth-protected-resource/orders")
	if code != 200 || !strings.Contains(body, `"resource":"http://127.0.0.1/orders"`) {
		t.Errorf("metadata: %d %s", code, body)
	}
}

// A route file that is a symbolic link swapped to another file (how
// Kubernetes updates a ConfigMap volume) is reloaded, even when the new
// file has the same size and time.
func TestReloaderPollSymlinkSwap(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s, _, _ := startServe(t, iss, serveRoutes, "--reload-interval", "0")
	dir := t.TempDir()
	first, second := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	writeRoutes(t, first, "routes:\n  - {path: /a, open: true}\n")
	writeRoutes(t, second, "routes:\n  - {path: /b, deny: true}\n")
	now := time.Now()
	for _, f := range []string{first, second} {
		if err := os.Chtimes(f, now, now); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "routes.yaml")
	if err := os.Symlink(first, link); err != nil {
		t.Fatal(err)
	}
	rl := &reloader{path: link, d: s.Decider, log: discardLogger()}
	rl.reload()
	if got := s.Decider.Rules().Default(); s.Decider.Rules().Routes() != 1 || got.String() != "deny" {
		t.Fatalf("first file not in force")
	}
	rl.poll()
	if name := s.Decider.Rules().Match("GET", "", "/a").Access().String(); name != "open" {
		t.Fatalf("unchanged link: /a is %s, want open", name)
	}
	tmp := filepath.Join(dir, "swap")
	if err := os.Symlink(second, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
	rl.poll()
	if name := s.Decider.Rules().Match("GET", "", "/b").Access().String(); name != "deny" || s.Decider.Rules().Match("GET", "", "/a").Access().String() != "deny" {
		t.Errorf("after the swap: /b is %s, want deny (and /a no longer open)", name)
	}
}

// --nginx-client-cert-header: a certificate-bound token (RFC 8705) passes
// the nginx front end with its certificate in that header, from a trusted
// gateway only; never with another certificate, never through Traefik,
// and not at all without the flag.
func TestServeNginxClientCert(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	ca := bearertest.MustClientCA(t)
	_, cert := ca.MustIssue(t, "client")
	_, other := ca.MustIssue(t, "other")
	bound := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "orders:read"}, bearertest.BoundToCertificate(cert))
	const header = "X-SSL-Client-Cert"
	https := http.Header{"X-Original-Proto": {"https"}}
	with := func(c *x509.Certificate) http.Header {
		h := https.Clone()
		h.Set(header, bearertest.EscapedPEM(c))
		return h
	}
	traefikAsk := func(addr, token string, c *x509.Certificate) int {
		req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+addr+"/traefik", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-Method", "GET")
		req.Header.Set("X-Forwarded-Uri", "/orders/7")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "api.example.com")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set(header, bearertest.EscapedPEM(c))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	t.Run("on", func(t *testing.T) {
		s, _, _ := startServe(t, iss, serveRoutes, "--nginx-client-cert-header", header)
		if err := waitReady(t, s.Addr); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name string
			more http.Header
			want int
		}{
			{"its certificate", with(cert), 200},
			{"another certificate", with(other), 401},
			{"no certificate", https, 401},
		} {
			if got := nginxAsk(t, s.Addr, "GET", "/orders/7", bound, tt.more).StatusCode; got != tt.want {
				t.Errorf("nginx, %s: %d, want %d", tt.name, got, tt.want)
			}
		}
		unbound := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "orders:read"})
		if got := traefikAsk(s.Addr, unbound, cert); got != 200 {
			t.Fatalf("traefik, a token bound to nothing: %d, want 200 (the premise)", got)
		}
		if got := traefikAsk(s.Addr, bound, cert); got != 401 {
			t.Errorf("traefik with the certificate in a header the client wrote: %d, want 401", got)
		}
	})
	t.Run("from a gateway not trusted", func(t *testing.T) {
		// The header is read only from --trusted-proxies: serve refuses
		// the request outright (403), before any header is read.
		s, _, _ := startServe(t, iss, serveRoutes, "--nginx-client-cert-header", header, "--trusted-proxies", "10.0.0.0/8")
		if got := nginxAsk(t, s.Addr, "GET", "/orders/7", bound, with(cert)).StatusCode; got != 403 {
			t.Errorf("nginx from loopback, not trusted: %d, want 403", got)
		}
	})
	t.Run("off", func(t *testing.T) {
		s, _, _ := startServe(t, iss, serveRoutes)
		if err := waitReady(t, s.Addr); err != nil {
			t.Fatal(err)
		}
		if got := nginxAsk(t, s.Addr, "GET", "/orders/7", bound, with(cert)).StatusCode; got != 401 {
			t.Errorf("nginx without the flag: %d, want 401", got)
		}
	})
}

func TestServeNginxClientCertHeaderRefused(t *testing.T) {
	for _, args := range [][]string{
		{"X SSL"}, {"authorization"}, {"DPoP"}, {"x-original-uri"}, {"X-Cert:"}, {"Cookie"}, {"host"}, {"Connection"},
		{"X-Proto", "--nginx-proto-header", "x-proto"},
		// An empty name takes the default: still that header.
		{"X-Original-Proto", "--nginx-proto-header", ""},
	} {
		h := args[0]
		_, err := parseServe(append([]string{"--routes", "r.yaml", "--issuer", "https://id.example.com/", "--audience", "a", "--nginx-client-cert-header", h}, args[1:]...),
			func(string) string { return "" }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--nginx-client-cert-header") {
			t.Errorf("--nginx-client-cert-header %q: %v, want refused", h, err)
		}
	}
	if _, err := parseServe([]string{"--routes", "r.yaml", "--issuer", "https://id.example.com/", "--audience", "a", "--nginx-client-cert-header", "X-SSL-Client-Cert"},
		func(string) string { return "" }, io.Discard); err != nil {
		t.Errorf("X-SSL-Client-Cert: %v", err)
	}
}

// SIGHUP fetches the key set at once, as well as reading the route file:
// a key the issuer removed in an emergency stops being trusted without
// waiting for the background refresh (15 minutes by default). A fetch that
// fails keeps the keys in force.
func TestServeHUPRefreshesKeys(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s, stderr, _ := startServe(t, iss, serveRoutes, "--reload-interval", "0")
	ask := func(token string) int {
		return nginxAsk(t, s.Addr, "GET", "/orders/7", token, nil).StatusCode
	}
	claims := bearertest.Claims{"aud": "orders", "scope": "orders:read"}
	old := iss.Mint(t, claims)
	if got := ask(old); got != 200 {
		t.Fatalf("before the rotation: %d, want 200", got)
	}
	oldKid := iss.CurrentKeyID(validator.RS256)
	iss.Rotate(t, validator.RS256)
	iss.Remove(oldKid)
	if got := ask(old); got != 200 {
		t.Fatalf("removed key, before SIGHUP: %d, want 200 (the set is not fetched yet; else this test shows nothing)", got)
	}
	fetches := iss.JWKSRequests()
	s.HUP()
	if n := iss.JWKSRequests() - fetches; n != 1 {
		t.Errorf("SIGHUP made %d key set fetches, want 1", n)
	}
	if got := ask(old); got != 401 {
		t.Errorf("removed key, after SIGHUP: %d, want 401", got)
	}
	current := iss.Mint(t, claims)
	if got := ask(current); got != 200 {
		t.Errorf("the new key, after SIGHUP: %d, want 200", got)
	}
	if !strings.Contains(stderr.String(), "SIGHUP: key set fetched again") {
		t.Errorf("no log line for the fetch: %s", stderr)
	}

	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	s.HUP()
	if got := ask(current); got != 200 {
		t.Errorf("after a SIGHUP whose fetch failed: %d, want 200 (the keys in force stay)", got)
	}
	if !strings.Contains(stderr.String(), "SIGHUP: the key set could not be fetched; the keys in force stay") {
		t.Errorf("no log line for the failed fetch: %s", stderr)
	}
}

// Settings no deployment means are refused (red-team review of serve): a
// reload interval of a microsecond kept a core busy, a proxy list of
// every address checked nothing, and a log level other than the four.
func TestServeFlagsBounds(t *testing.T) {
	base := []string{"--routes", "r.yaml", "--issuer", "https://id.example.com/", "--audience", "a"}
	for _, tt := range []struct {
		args []string
		bad  string // the flag the error must name; "" when accepted
	}{
		{[]string{"--reload-interval", "1us"}, "--reload-interval"},
		{[]string{"--reload-interval", "99ms"}, "--reload-interval"},
		{[]string{"--reload-interval", "100ms"}, ""},
		{[]string{"--reload-interval", "0"}, ""},
		{[]string{"--trusted-proxies", "0.0.0.0/0,::/0"}, "0.0.0.0/0"},
		{[]string{"--trusted-proxies", "::/0"}, "::/0"},
		{[]string{"--trusted-proxies", "10.0.0.0/8"}, ""},
		{[]string{"--log-level", "verbose"}, "--log-level"},
		{[]string{"--log-level", "DEBUG+2"}, "--log-level"},
		{[]string{"--log-level", "debug"}, ""},
		{[]string{"--log-level", "WARN"}, ""},
		{[]string{"--max-conns", "15"}, "--max-conns"},
		{[]string{"--max-conns", "many"}, "--max-conns"},
		{[]string{"--max-conns", "16"}, ""},
	} {
		cfg, err := parseServe(append(slices.Clone(base), tt.args...), func(string) string { return "" }, io.Discard)
		switch {
		case tt.bad == "" && err != nil:
			t.Errorf("%q: %v, want accepted", tt.args, err)
		case tt.bad != "" && (err == nil || !strings.Contains(err.Error(), tt.bad)):
			t.Errorf("%q: %v, want refused naming %s", tt.args, err, tt.bad)
		case tt.bad == "" && tt.args[0] == "--log-level" && !strings.EqualFold(cfg.LogLevel.String(), tt.args[1]):
			t.Errorf("%q: level %v", tt.args, cfg.LogLevel)
		}
	}
	if _, err := parseServe(base, func(k string) string {
		return map[string]string{"BEARERGUARD_LOG_LEVEL": "loud"}[k]
	}, io.Discard); err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Errorf("BEARERGUARD_LOG_LEVEL=loud: %v, want refused", err)
	}
}

// --log-level debug logs every refusal with its reason, never the token;
// the default (info) logs none of them.
func TestServeLogLevelDebug(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "orders:read"})
	for _, level := range []string{"debug", "info"} {
		s, stderr, _ := startServe(t, iss, serveRoutes, "--log-level", level)
		if err := waitReady(t, s.Addr); err != nil {
			t.Fatal(err)
		}
		if got := nginxAsk(t, s.Addr, "POST", "/orders/", tok, nil).StatusCode; got != 403 {
			t.Fatalf("POST /orders/ with orders:read: %d, want 403", got)
		}
		logged := stderr.String()
		if refused := strings.Contains(logged, "forwardauth: refused"); refused != (level == "debug") {
			t.Errorf("--log-level %s: refusal logged %v:\n%s", level, refused, logged)
		}
		if strings.Contains(logged, tok) || strings.Contains(logged, tok[strings.LastIndexByte(tok, '.')+1:]) {
			t.Errorf("--log-level %s: the token is in the log", level)
		}
	}
}

// serve warns when its connection caps allow more connections than the
// process may open descriptors: past the limit Accept fails and net/http
// waits, so a gateway's connection waits in the kernel's queue like
// anyone's, which the caps are there to prevent. Read against this
// machine's real limit (Linux's largest is 1,048,576 by default: the
// million-connection caps exceed it, 16 fit any).
func TestServeWarnsOfDescriptorLimit(t *testing.T) {
	limit, known := openFileLimit()
	if !known {
		t.Skip("no RLIMIT_NOFILE to read on this system")
	}
	iss := bearertest.NewIssuer(t)
	const warning = "the connection caps allow more connections than the process may open"
	for _, maxConns := range []int{16, defaultMaxConns, 1_000_000} {
		// startServe opens the HTTP, gRPC and metrics listeners.
		need := descriptorHeadroom + 2*(maxConns+maxOtherConns) + maxMetricsConns
		_, stderr, _ := startServe(t, iss, serveRoutes, "--max-conns", strconv.Itoa(maxConns))
		logged := stderr.String()
		if got, want := strings.Contains(logged, warning), uint64(need) > limit; got != want {
			t.Errorf("--max-conns %d (%d descriptors) under a limit of %d: warned %v, want %v:\n%s", maxConns, need, limit, got, want, logged)
		} else if got && !strings.Contains(logged, fmt.Sprintf("open_file_limit=%d caps_need=%d", limit, need)) {
			t.Errorf("--max-conns %d: the warning does not name the limit and the need:\n%s", maxConns, logged)
		}
	}
}

// Connections are capped in two pools (red-team review of serve: 2,100
// idle keep-alive connections from anyone used up the process's
// descriptors, and then no gateway could connect; a first fix with one
// cap let anyone fill it, a second with one pool for everyone else let one
// address fill that and shut the health probes out): the gateways'
// (--max-conns) and everyone else's (maxOtherConns, maxConnsPerSource from
// one address). A connection past a cap is closed, and a full pool of
// others takes no gateway's place.
func TestServeMaxConns(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	// 127.0.0.2 is the gateway; 127.0.1.x anyone else (loopback is a /8).
	s, _, _ := startServe(t, iss, serveRoutes, "--max-conns", "16", "--trusted-proxies", "127.0.0.2")
	from := func(ip string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", s.Addr)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(10 * time.Second)) // a regression fails, not hangs
		}
		return c, err
	}
	healthz := func(c net.Conn) error {
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	hold := func(ip string, n int) []net.Conn {
		var held []net.Conn
		for range n {
			c, err := from(ip)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			if err := healthz(c); err != nil {
				t.Fatalf("connection %d from %s: %v", len(held)+1, ip, err)
			}
			held = append(held, c) // kept alive, idle
		}
		return held
	}
	refused := func(ip, what string) {
		t.Helper()
		c, err := from(ip)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := healthz(c); err == nil {
			t.Errorf("%s: served", what)
		}
	}
	first := hold("127.0.1.1", maxConnsPerSource)
	refused("127.0.1.1", fmt.Sprintf("connection %d from one address not trusted", maxConnsPerSource+1))
	for i := 2; i <= maxOtherConns/maxConnsPerSource; i++ {
		hold(fmt.Sprintf("127.0.1.%d", i), maxConnsPerSource)
	}
	refused("127.0.1.200", fmt.Sprintf("connection %d from peers not trusted", maxOtherConns+1))
	gateways := hold("127.0.0.2", 16) // the others' pool is full: the gateways' is not
	refused("127.0.0.2", "a 17th gateway connection past --max-conns 16")
	gateways[0].Close()
	first[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for _, ip := range []string{"127.0.0.2", "127.0.1.1"} {
		for { // the server sees the close when it reads next
			c, err := from(ip)
			if err != nil {
				t.Fatal(err)
			}
			err = healthz(c)
			c.Close()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("from %s, once a connection closed: %v", ip, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
