package forwardauth_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/forwardauth"
)

// serve starts h on a loopback httptest server.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, srv *httptest.Server, method, path string, h http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func merge(hs ...http.Header) http.Header {
	out := http.Header{}
	for _, h := range hs {
		for k, v := range h {
			out[k] = append(out[k], v...)
		}
	}
	return out
}

// Each HTTP front end reads the original request from its gateway's
// headers, and answers with the identity headers set from the token:
// what the client sent under those names is overwritten, never echoed.
func TestHTTPFrontends(t *testing.T) {
	f := newFixture(t, testRules)
	read := f.token(t, "orders:read")
	forged := http.Header{"X-Auth-Subject": {"admin"}, "X-Auth-Scopes": {"orders:write admin"}, "X-Auth-Tenant": {"other"}}
	nginx := serve(t, f.d.NginxHandler())
	traefik := serve(t, f.d.TraefikHandler())
	envoy := serve(t, f.d.EnvoyHTTPHandler("/envoy"))

	nginxReq := func(method, uri string) http.Header {
		return http.Header{"X-Original-Method": {method}, "X-Original-Uri": {uri}, "X-Original-Host": {"api.example.com"}}
	}
	traefikReq := func(method, uri string) http.Header {
		return http.Header{"X-Forwarded-Method": {method}, "X-Forwarded-Uri": {uri}, "X-Forwarded-Host": {"api.example.com"}, "X-Forwarded-Proto": {"https"}}
	}
	tests := []struct {
		name         string
		srv          *httptest.Server
		method, path string
		header       http.Header
		status       int
		subject      string
		challenge    string
	}{
		{"nginx allowed", nginx, "GET", "/", merge(nginxReq("GET", "/orders/7"), bearer(read), forged), 200, "user-1", ""},
		{"nginx no token", nginx, "GET", "/", nginxReq("GET", "/orders/7"), 401, "", `Bearer realm="orders"`},
		{"nginx read-only writing", nginx, "GET", "/", merge(nginxReq("POST", "/orders/7"), bearer(read)), 403, "", `error="insufficient_scope"`},
		{"nginx open route sets empty identity", nginx, "GET", "/", merge(nginxReq("GET", "/healthz"), forged), 200, "", ""},
		{"nginx without the URI", nginx, "GET", "/", http.Header{"X-Original-Method": {"GET"}}, 400, "", ""},
		{"nginx URI twice", nginx, "GET", "/", merge(nginxReq("GET", "/healthz"), http.Header{"X-Original-Uri": {"/orders/admin/"}}), 400, "", ""},
		{"traefik allowed", traefik, "GET", "/", merge(traefikReq("GET", "/orders/7"), bearer(read), forged), 200, "user-1", ""},
		{"traefik no token", traefik, "GET", "/", traefikReq("GET", "/orders/7"), 401, "", `Bearer realm="orders"`},
		{"traefik without the host", traefik, "GET", "/", http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/healthz"}}, 400, "", ""},
		{"envoy allowed", envoy, "GET", "/envoy/orders/7?x=1", merge(bearer(read), forged), 200, "user-1", ""},
		{"envoy POST never reads a body", envoy, "POST", "/envoy/orders/7", bearer(read), 403, "", `error="insufficient_scope"`},
		{"envoy without the prefix", envoy, "GET", "/orders/7", bearer(read), 400, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, tt.srv, tt.method, tt.path, tt.header)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, tt.challenge) || (tt.challenge == "") != (got == "") {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.challenge)
			}
			if tt.status != 200 {
				return
			}
			for _, n := range f.d.HeaderNames() {
				if _, ok := resp.Header[n]; !ok {
					t.Errorf("answer lacks %s: the gateway would pass the client's own on", n)
				}
			}
			if got := resp.Header.Get("X-Auth-Subject"); got != tt.subject {
				t.Errorf("X-Auth-Subject %q, want %q", got, tt.subject)
			}
			if got := resp.Header.Get("X-Auth-Tenant"); got != "" {
				t.Errorf("X-Auth-Tenant %q: the client's forged value came back", got)
			}
		})
	}
}

// The forwarded headers are read only from the trusted proxies: anyone
// else is refused, whatever the headers say.
func TestProxyTrust(t *testing.T) {
	open := "default: open\n"
	tests := []struct {
		name    string
		proxies []string // nil: the default (loopback)
		status  int
	}{
		{"default: loopback trusted", nil, 200},
		{"loopback address", []string{"127.0.0.1"}, 200},
		{"loopback prefix", []string{"10.0.0.0/8", "127.0.0.0/8"}, 200},
		{"another network only", []string{"10.0.0.0/8"}, 403},
		{"IPv6 only", []string{"::1"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []forwardauth.Option
			if tt.proxies != nil {
				opts = append(opts, forwardauth.WithTrustedProxies(tt.proxies...))
			}
			f := newFixture(t, open, opts...)
			for name, h := range map[string]http.Handler{"nginx": f.d.NginxHandler(), "traefik": f.d.TraefikHandler(), "envoy": f.d.EnvoyHTTPHandler("")} {
				srv := serve(t, h)
				hdr := http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/x"}, "X-Forwarded-Method": {"GET"},
					"X-Forwarded-Uri": {"/x"}, "X-Forwarded-Host": {"a.example"}}
				if resp := do(t, srv, "GET", "/x", hdr); resp.StatusCode != tt.status {
					t.Errorf("%s: status %d, want %d", name, resp.StatusCode, tt.status)
				}
			}
		})
	}
}

func TestNginxHeaderNames(t *testing.T) {
	f := newFixture(t, testRules, forwardauth.WithNginxHeaders(forwardauth.NginxHeaders{Method: "x-m", URI: "X-U"}))
	srv := serve(t, f.d.NginxHandler())
	if resp := do(t, srv, "GET", "/", http.Header{"X-M": {"GET"}, "X-U": {"/healthz"}}); resp.StatusCode != 200 {
		t.Errorf("renamed headers: %d, want 200", resp.StatusCode)
	}
	if resp := do(t, srv, "GET", "/", http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/healthz"}}); resp.StatusCode != 400 {
		t.Errorf("default names after renaming: %d, want 400", resp.StatusCode)
	}
}

// No request body is ever read: a check whose body never comes is
// answered at once.
func TestNoBodyRead(t *testing.T) {
	f := newFixture(t, testRules)
	srv := serve(t, f.d.EnvoyHTTPHandler("/envoy"))
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	// A body of 1 GB is announced and never sent.
	if _, err := io.WriteString(conn, "POST /envoy/healthz HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 1000000000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer while the body was pending: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d, want 200 (open route)", resp.StatusCode)
	}
}
