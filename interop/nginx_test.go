package interop

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// The forward-auth suite: real nginx (Debian's package) with auth_request
// in front of an Express upstream, `bearerguard serve` deciding, tokens
// from node-oidc-provider.

const nginxRoutes = `
identity:
  claims:
    X-Auth-Tenant: tenant
routes:
  - name: health
    path: /healthz
    open: true
  - name: read
    methods: [GET]
    path: /orders/{id}
    scopes: [read:data]
  - name: write
    methods: [POST, PUT]
    path: /orders/{id}
    scopes: [write:data]
`

// nginxConf is the gateway configuration the README shows, with the
// addresses and temporary paths filled in: auth_request asks bearerguard,
// auth_request_set carries the identity headers to the upstream request
// (overwriting what the client sent: an empty value drops the header),
// and the challenge of a 403 back to the client (nginx passes a 401's
// WWW-Authenticate by itself). nginx turns any other status of the
// subrequest into 500; the named location gives the client bearerguard's
// 400 or 503 (with Retry-After) instead. %[1]s is the prefix directory,
// %[2]s the server blocks (nginxServer).
const nginxConf = `daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s/client_body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;

  map $status $bearerguard_challenge_403 {
    403     $auth_www_authenticate;
    default "";
  }
  map $status $bearerguard_no_store {
    401     no-store;
    403     no-store;
    default "";
  }
%[2]s}
`

// nginxServer is one server block, and its upstream block for
// bearerguard (kept-alive connections): listening on %[1]d, asking
// bearerguard on %[2]d, proxying to the upstream on %[3]d.
const nginxServer = `
  upstream bearerguard_%[1]d {
    server 127.0.0.1:%[2]d;
    keepalive 16;
  }
  server {
    listen 127.0.0.1:%[1]d;

    location = /_bearerguard {
      internal;
      proxy_pass http://bearerguard_%[1]d/nginx;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Host $host:$server_port;
      proxy_set_header X-Original-Proto $scheme;
    }

    location @bearerguard_error {
      default_type application/json;
      if ($auth_status = 503) {
        add_header Retry-After $auth_retry_after always;
        add_header Cache-Control no-store always;
        return 503 '{"error":"temporarily_unavailable"}';
      }
      if ($auth_status = 400) {
        add_header WWW-Authenticate $auth_www_authenticate always;
        add_header Cache-Control no-store always;
        return 400 '{"error":"invalid_request"}';
      }
      return 500;
    }

    location / {
      auth_request /_bearerguard;
      auth_request_set $auth_subject $upstream_http_x_auth_subject;
      auth_request_set $auth_client_id $upstream_http_x_auth_client_id;
      auth_request_set $auth_scopes $upstream_http_x_auth_scopes;
      auth_request_set $auth_tenant $upstream_http_x_auth_tenant;
      auth_request_set $auth_token $upstream_http_x_auth_token;
      auth_request_set $auth_www_authenticate $upstream_http_www_authenticate;
      auth_request_set $auth_status $upstream_status;
      auth_request_set $auth_retry_after $upstream_http_retry_after;
      auth_request_set $auth_dpop_nonce $upstream_http_dpop_nonce;
      add_header WWW-Authenticate $bearerguard_challenge_403 always;
      add_header Cache-Control $bearerguard_no_store always;
      add_header DPoP-Nonce $auth_dpop_nonce always;
      error_page 500 = @bearerguard_error;

      proxy_set_header X-Auth-Subject $auth_subject;
      proxy_set_header X-Auth-Client-Id $auth_client_id;
      proxy_set_header X-Auth-Scopes $auth_scopes;
      proxy_set_header X-Auth-Tenant $auth_tenant;
      proxy_set_header X-Auth-Token $auth_token;   # the internal token (--internal-jwt-key); none without it
      proxy_pass http://127.0.0.1:%[3]d;
    }
  }
`

// requireNginx finds nginx, or stops the test: in CI with a failure,
// elsewhere with a skip.
func requireNginx(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("nginx")
	if err != nil {
		path, err = exec.LookPath("/usr/sbin/nginx")
	}
	if err != nil {
		msg := "the forward-auth suite needs nginx (Debian's package: apt-get install nginx)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// startNginx writes nginxConf with the server blocks given into dir,
// starts nginx on it, and logs its error.log when the test fails.
func startNginx(t *testing.T, nginx, dir, servers string) {
	t.Helper()
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, dir, servers), 0o600); err != nil {
		t.Fatal(err)
	}
	startProcess(t, "nginx", exec.Command(nginx, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf), "")
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error.log:\n%s", b)
		}
	})
}

// startServe writes the route file into dir and starts bearerguard serve
// on it for the authorization server's issuer over plain HTTP, with the
// extra flags given; it returns once the service is ready, with its port.
func startServe(t *testing.T, bin, dir string, as *authServer, routes string, flags ...string) int {
	t.Helper()
	file := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(file, []byte(routes), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	args := append([]string{"serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port),
		"--issuer", as.issuer, "--audience", apiAudience, "--insecure-http", "--routes", file}, flags...)
	startProcess(t, "bearerguard serve", exec.Command(bin, args...), "")
	waitHTTP(t, "bearerguard serve", fmt.Sprintf("http://127.0.0.1:%d/readyz", port), 200)
	return port
}

// startProcess starts cmd, logging its stderr (and, when ready is "",
// stdout) to the test, and stops it with SIGTERM when the test ends. With
// ready, it waits for the stdout line starting with it and returns the
// rest of that line.
func startProcess(t *testing.T, name string, cmd *exec.Cmd, ready string) string {
	t.Helper()
	cmd.Stderr = &testWriter{t: t, prefix: name + ": "}
	var out io.Reader
	if ready != "" {
		pipe, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		out = pipe
	} else {
		cmd.Stdout = cmd.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	if ready == "" {
		return ""
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), ready); ok {
				line <- rest
				break
			}
		}
		close(line)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case rest, ok := <-line:
		if !ok {
			t.Fatalf("%s exited before it was ready", name)
		}
		return rest
	case <-time.After(30 * time.Second):
		t.Fatalf("%s not ready within 30 s", name)
	}
	return ""
}

// waitHTTP waits until url answers want.
func waitHTTP(t *testing.T, name, url string, want int) {
	t.Helper()
	waitHTTPWith(t, http.DefaultClient, name, url, want)
}

// waitHTTPWith is waitHTTP through client.
func waitHTTPWith(t *testing.T, client *http.Client, name, url string, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s did not answer %d within 30 s (last: %v)", name, url, want, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// buildBearerguard builds the command from the root module.
func buildBearerguard(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bearerguard")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/bearerguard")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/bearerguard: %v\n%s", err, out)
	}
	return bin
}

// upstreamEcho is what node/upstream.mjs answers.
type upstreamEcho struct {
	Method   string            `json:"method"`
	URL      string            `json:"url"`
	Identity map[string]string `json:"identity"`
}

type gatewayAnswer struct {
	status       int
	challenge    string
	retryAfter   string
	cacheControl string
	echo         *upstreamEcho // nil when the upstream did not answer
}

func (a gatewayAnswer) String() string {
	return fmt.Sprintf("%d challenge=%q cache-control=%q upstream=%+v", a.status, a.challenge, a.cacheControl, a.echo)
}

func TestNginxAuthRequest(t *testing.T) {
	node := requireNode(t)
	nginx := requireNginx(t)
	as := startAuthServer(t, newSigningKey(t, jwa.RS256))
	bin := buildBearerguard(t)
	dir := t.TempDir()

	bgPort := startServe(t, bin, dir, as, nginxRoutes)
	routes := filepath.Join(dir, "routes.yaml")

	upPort := startUpstream(t, node, "upstream", "node/upstream.mjs")

	// A second bearerguard for the same issuer whose keys cannot be had:
	// nothing listens at its JWKS URL.
	downPort, bgDownPort := freePort(t), freePort(t)
	startProcess(t, "bearerguard serve (keys down)", exec.Command(bin, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", bgDownPort),
		"--issuer", as.issuer, "--jwks-url", fmt.Sprintf("http://127.0.0.1:%d/jwks", downPort), "--audience", apiAudience,
		"--insecure-http", "--routes", routes, "--startup-timeout", "0"), "")
	waitHTTP(t, "bearerguard serve (keys down)", fmt.Sprintf("http://127.0.0.1:%d/healthz", bgDownPort), 200)

	ngPort, ngDownPort := freePort(t), freePort(t)
	startNginx(t, nginx, dir, fmt.Sprintf(nginxServer, ngPort, bgPort, upPort)+fmt.Sprintf(nginxServer, ngDownPort, bgDownPort, upPort))
	gateway := fmt.Sprintf("http://127.0.0.1:%d", ngPort)
	waitHTTP(t, "nginx", gateway+"/healthz", 200)

	rw := as.goToken(rsaClientID, "read:data write:data", jwtResource)
	readOnly := as.goToken(readClientID, "read:data", jwtResource)
	forged := http.Header{"X-Auth-Subject": {"admin"}, "X-Auth-Client-Id": {"admin-app"}, "X-Auth-Scopes": {"write:data admin"}, "X-Auth-Tenant": {"evil-corp"},
		"X-Auth-Token": {"forged-internal-token"}, "X-Original-Uri": {"/healthz"}, "X-Original-Method": {"GET"}}

	ask := func(base, method, path, token string, extra http.Header) gatewayAnswer {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for k, v := range extra {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		a := gatewayAnswer{status: resp.StatusCode, challenge: strings.Join(resp.Header.Values("WWW-Authenticate"), " | "), // two would show
			retryAfter: resp.Header.Get("Retry-After"), cacheControl: strings.Join(resp.Header.Values("Cache-Control"), " | ")}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			var e upstreamEcho
			if json.NewDecoder(resp.Body).Decode(&e) == nil && e.Method != "" {
				a.echo = &e
			}
		}
		return a
	}
	upstreamCalls := func() int {
		t.Helper()
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/__calls", upPort))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var c struct{ Calls int }
		_ = json.NewDecoder(resp.Body).Decode(&c)
		return c.Calls
	}

	tests := []struct {
		name         string
		method, path string
		token        string
		header       http.Header
		check        func(gatewayAnswer) string
	}{
		{"token reaches the upstream with the identity headers", "GET", "/orders/7", rw, nil, func(a gatewayAnswer) string {
			if a.status != 200 || a.echo == nil || strings.Contains(a.cacheControl, "no-store") {
				return "want 200 from the upstream, its own Cache-Control"
			}
			want := map[string]string{"x-auth-subject": rsaClientID, "x-auth-client-id": rsaClientID, "x-auth-scopes": "read:data write:data"}
			if fmt.Sprint(a.echo.Identity) != fmt.Sprint(want) {
				return fmt.Sprintf("identity %v, want %v", a.echo.Identity, want)
			}
			return ""
		}},
		{"forged identity headers are overwritten", "GET", "/orders/7?x=1", readOnly, forged, func(a gatewayAnswer) string {
			want := map[string]string{"x-auth-subject": readClientID, "x-auth-client-id": readClientID, "x-auth-scopes": "read:data"}
			if a.status != 200 || a.echo == nil || fmt.Sprint(a.echo.Identity) != fmt.Sprint(want) {
				return fmt.Sprintf("want 200 with identity %v", want)
			}
			return ""
		}},
		{"forged identity headers are stripped on an open route", "GET", "/healthz", "", forged, func(a gatewayAnswer) string {
			if a.status != 200 || a.echo == nil || len(a.echo.Identity) != 0 {
				return "want 200 and no x-auth-* header upstream"
			}
			return ""
		}},
		{"read-only token writing: 403 with the challenge", "POST", "/orders/7", readOnly, nil, func(a gatewayAnswer) string {
			if a.status != 403 || a.echo != nil || !strings.Contains(a.challenge, `error="insufficient_scope"`) || !strings.Contains(a.challenge, `scope="write:data"`) ||
				a.cacheControl != "no-store" {
				return `want 403 with error="insufficient_scope", scope="write:data", Cache-Control: no-store, upstream not reached`
			}
			return ""
		}},
		{"no token: 401", "GET", "/orders/7", "", nil, func(a gatewayAnswer) string {
			if a.status != 401 || a.echo != nil || !strings.HasPrefix(a.challenge, `Bearer realm="orders"`) || strings.Contains(a.challenge, "error=") ||
				a.cacheControl != "no-store" {
				return `want 401 with a bare Bearer realm="orders" challenge and Cache-Control: no-store`
			}
			return ""
		}},
		{"forged original URI does not open a route", "GET", "/orders/7", "", forged, func(a gatewayAnswer) string {
			if a.status != 401 || a.echo != nil {
				return "want 401: nginx sets X-Original-URI itself"
			}
			return ""
		}},
		{"bad token: 401 invalid_token", "GET", "/orders/7", rw + "x", nil, func(a gatewayAnswer) string {
			if a.status != 401 || !strings.Contains(a.challenge, `error="invalid_token"`) {
				return `want 401 with error="invalid_token"`
			}
			return ""
		}},
		{"unmatched route: default deny", "DELETE", "/orders/7", rw, nil, func(a gatewayAnswer) string {
			if a.status != 403 || a.echo != nil || a.challenge != "" {
				return "want 403 without a challenge"
			}
			return ""
		}},
		{"a scheme without a token: 400 with its challenge", "GET", "/orders/7", "", http.Header{"Authorization": {"Bearer"}}, func(a gatewayAnswer) string {
			// RFC 6750 §3: the 400 carries WWW-Authenticate too.
			if a.status != 400 || a.echo != nil || !strings.Contains(a.challenge, `error="invalid_request"`) || a.cacheControl != "no-store" {
				return `want 400 with error="invalid_request" in WWW-Authenticate and Cache-Control: no-store`
			}
			return ""
		}},
		{"dot segments never reach the upstream", "GET", "/healthz/../orders/7", "", nil, func(a gatewayAnswer) string {
			// bearerguard answers 400, which the named location passes on.
			if a.status != 400 || a.echo != nil || a.cacheControl != "no-store" {
				return "want 400 with Cache-Control: no-store, upstream not reached"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := upstreamCalls()
			a := ask(gateway, tt.method, tt.path, tt.token, tt.header)
			if msg := tt.check(a); msg != "" {
				t.Errorf("%s %s: %v: %s", tt.method, tt.path, a, msg)
			}
			if reached := upstreamCalls() > before; reached != (a.echo != nil) {
				t.Errorf("%s %s: upstream reached %v, answer from it %v", tt.method, tt.path, reached, a.echo != nil)
			}
		})
	}

	t.Run("issuer unavailable: 503 with Retry-After", func(t *testing.T) {
		before := upstreamCalls()
		a := ask(fmt.Sprintf("http://127.0.0.1:%d", ngDownPort), "GET", "/orders/7", rw, nil)
		if a.status != 503 || a.retryAfter == "" || a.cacheControl != "no-store" || a.echo != nil || upstreamCalls() != before {
			t.Errorf("GET /orders/7 with the issuer down: %v retry-after=%q; want 503 with Retry-After and Cache-Control: no-store, upstream not reached", a, a.retryAfter)
		}
		if a := ask(fmt.Sprintf("http://127.0.0.1:%d", ngDownPort), "GET", "/healthz", "", nil); a.status != 200 || a.echo == nil {
			t.Errorf("open route with the issuer down: %v, want 200 from the upstream", a)
		}
	})
}
