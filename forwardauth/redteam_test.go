package forwardauth_test

// Red-team tests: attacks a client (through a gateway, or straight at
// the decision service) could try. Each test passes while the answer to
// "can the attacker do X?" is no, and fails if it becomes yes.

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/lestrrat-go/jwx/v2/jws"
	"google.golang.org/grpc/codes"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/internal/testlog"
	"github.com/bearerguard/bearerguard/validator"
)

// redteamRules: an open prefix, a deny prefix below a token route, a
// scoped route, default deny: the shape in which path confusion pays.
const redteamRules = `
routes:
  - name: static
    path: /static/
    open: true
  - name: admin
    path: /orders/admin/
    deny: true
  - name: read
    methods: [GET]
    path: /orders/{id}
    scopes: [orders:read]
  - name: admin-host
    host: admin.example.com
    path: /
    deny: true
  - name: public
    path: /public/{rest...}
    open: true
`

// An original URI that an upstream could read as a path other than the
// one matched is refused (400), or matched as the path the upstream will
// serve: it never reaches /orders/admin/ through the open /static/ or
// /public/ routes, or through the token route. Double encoding is
// included: an upstream (or a gateway rewrite through $uri) that decodes
// once more must not find a dot segment, '/', '\' or ';' that bearerguard
// did not see.
func TestRedteamPathConfusion(t *testing.T) {
	f := newFixture(t, redteamRules)
	read := f.token(t, "orders:read")
	attacks := []string{
		"/static/../orders/admin/x",
		"/static/./../orders/admin/x",
		"/static/%2e%2e/orders/admin/x",
		"/static/%2E%2e/orders/admin/x",
		"/static/.%2e/orders/admin/x",
		"/static/%2e./orders/admin/x",
		"/static/..",
		"/static//orders/admin/x",
		"//static/orders/admin/x",
		"/static/%2forders%2fadmin%2fx",
		"/static/..%2forders%2fadmin",
		"/static/%5c..%5corders%5cadmin",
		"/static/..\\orders\\admin",
		"/static/..;/orders/admin/x",
		"/static;/../orders/admin/x",
		"/static/x;jsessionid=1/../../orders/admin",
		"/static/%3b/../orders/admin",
		"/orders/admin%3Fx",   // "/orders/admin?x" to a hop that decodes and re-parses
		"/orders/admin%23x",   // "/orders/admin#x" likewise
		"/orders/admin%253Fx", // the same, escaped twice
		"/static/x%3F/../../y",
		"/static/%252e%252e/orders/admin/x",
		"/static/%252E%252E/orders/admin/x",
		"/static/.%252e/orders/admin/x",
		"/static/%252e%252e%252forders%252fadmin%252fx",
		"/static/..%252forders%252fadmin",
		"/static/%255c..%255corders",
		"/public/%252e%252e/orders/admin/x",
		"/public/x%253b/../../orders/admin",
		"/static/x%00/../../orders/admin",
		"/static/%00",
		"/static/%2500",
		"/static/%2541",       // escaped twice: a second decoding makes "A" of it
		"/orders/%2561dmin/x", // and "admin" of this, past the deny route (nginx proxying $uri)
		"/orders/admin%252fx",
		"/static/x%0d%0aX-Original-URI:%20/orders/admin/x",
		"/static/x%09",
		"/static/x\t",
		"/static/x y",
		"/static/\xc3\xa9",
		"/static/x\x7f",
		"/static/x#/../../orders/admin/x",
		"/static#/../orders/admin/x",
		"http://api.example.com/orders/admin/x",
		"//api.example.com/orders/admin/x",
		"*",
		"",
		"static/../orders/admin/x",
		"/%zz/../orders/admin",
		"/static/%e",
		"/" + strings.Repeat("a", forwardauth.MaxURILength),
	}
	for _, uri := range attacks {
		dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: uri, Header: bearer(read)})
		if dec.Allowed {
			t.Errorf("GET %q: allowed by route %q; want 400 (or the admin deny route)", uri, dec.Route)
		}
	}
	// Encoded forms of the deny route's own path are still the deny route.
	for _, uri := range []string{"/orders/admin/x", "/orders/%61dmin/x", "/orders/%61%64%6d%69%6e/x", "/%6frders/admin/", "/orders/admin/x?y=/static/"} {
		dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: uri, Header: bearer(read)})
		if dec.Allowed || dec.Route != "admin" {
			t.Errorf("GET %q: %d by %q, want 403 by the admin route", uri, dec.Status, dec.Route)
		}
	}
	// Harmless forms stay usable: a '%' that decodes to no escape once
	// more, and a query that holds slashes and dots.
	for uri, route := range map[string]string{"/static/100%25": "static", "/static/a%25zz": "static", "/static/x?next=/../orders/admin/x": "static", "/static/50%25off": "static"} {
		dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: uri})
		if !dec.Allowed || dec.Route != route {
			t.Errorf("GET %q: %d by %q (%v), want allowed by %q", uri, dec.Status, dec.Route, dec.Err, route)
		}
	}
}

// Matching costs what the route file costs, not the route file times the
// request: a request whose first segment is long and percent-encoded must
// not have every route decode it again (an unauthenticated caller could
// otherwise buy milliseconds of CPU and megabytes of garbage per request
// with a large route file).
func TestRedteamMatchCostIndependentOfEscapes(t *testing.T) {
	var b strings.Builder
	b.WriteString("routes:\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "  - path: /r%d/{x}\n    deny: true\n", i)
	}
	rs, err := forwardauth.ParseRules([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	long := "/" + strings.Repeat("%41", (forwardauth.MaxURILength-1)/3)
	if allocs := testing.AllocsPerRun(5, func() { rs.Match("GET", "api.example.com", long) }); allocs > 2 {
		t.Errorf("Match over 1000 routes of an 8 KiB escaped segment: %v allocations, want at most 2 (one decode per route)", allocs)
	}
	// The matching itself is unchanged: an escaped literal still matches.
	if r := rs.Match("GET", "", "/r%3999/x"); r.Name() != "#999" {
		t.Errorf("/r%%3999/x matched %q, want #999", r.Name())
	}
}

// A host: deny route holds for its host with a port or without; every
// other spelling that a gateway would route as that host (case, trailing
// dot), which an upstream routing by host as sent could take for another,
// is refused (400), as are spellings that are not a host, never matched as
// "no host".
func TestRedteamHostConfusion(t *testing.T) {
	f := newFixture(t, "routes:\n  - host: admin.example.com\n    path: /\n    deny: true\n  - path: /\n    open: true\n")
	for _, host := range []string{"admin.example.com", "admin.example.com:8443"} {
		if dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: host, URI: "/x"}); dec.Status != 403 || dec.Route != "#0" {
			t.Errorf("Host %q: %d by %q, want 403 by the host's deny route", host, dec.Status, dec.Route)
		}
	}
	for _, host := range []string{"ADMIN.EXAMPLE.COM", "Admin.Example.Com.", "admin.example.com.:443", "ADMIN.example.com:80"} {
		if dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: host, URI: "/x"}); dec.Status != 400 || dec.Allowed {
			t.Errorf("Host %q: %d by %q, want 400: a host route's host spelled otherwise", host, dec.Status, dec.Route)
		}
	}
	// A host no route names decides as no host, however it is spelled.
	for _, host := range []string{"API.example.com", "api.example.com.", "api.example.com"} {
		if dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: host, URI: "/x"}); !dec.Allowed {
			t.Errorf("Host %q: %d by %q, want allowed by the open route", host, dec.Status, dec.Route)
		}
	}
	for _, host := range []string{"admin.example.com:", "admin.example.com:0x50", "admin.example.com:1234567", "admin.example.com:80:80",
		"admin.example.com, api.example.com", "admin.example.com/x", "evil@admin.example.com", "admin.example.com@evil",
		"admin%2eexample.com", "admin.example.com ", " admin.example.com", "admin.example.com\x00", "adm\u0130n.example.com",
		"admin.example.com\r\nX: y", "[::1", "[::1]x", ".", ":80", strings.Repeat("a", 256)} {
		if dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: host, URI: "/x"}); dec.Status != 400 {
			t.Errorf("Host %q: %d by %q, want 400", host, dec.Status, dec.Route)
		}
	}
}

// Host spellings that Unicode case folding would turn into another host
// ("İ" lower-cases to "i", the Kelvin sign to "k") are refused: the
// gateway (nginx lower-cases ASCII only) never routed them as that host,
// so a host route must not decide them.
func TestRedteamHostUnicodeFolding(t *testing.T) {
	f := newFixture(t, "routes:\n  - host: public.example.com\n    path: /\n    open: true\n  - host: kiosk.example.com\n    path: /\n    open: true\n")
	for _, host := range []string{"publ\u0130c.example.com", "\u212Aiosk.example.com", "PUBL\u0130C.EXAMPLE.COM:443", "\u212A\u0130OSK.example.com."} {
		dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: host, URI: "/admin"})
		if dec.Allowed || dec.Status != 400 {
			t.Errorf("Host %q: %d by %q, want 400 (it is not public.example.com)", host, dec.Status, dec.Route)
		}
	}
	if _, err := forwardauth.ParseRules([]byte("routes:\n  - host: \"publ\u0130c.example.com\"\n    path: /\n    open: true\n")); err == nil {
		t.Error("a route host that folds to ASCII was accepted")
	}
}

// Method tricks: a method that is not an upper-case token is refused, not
// matched as another; HEAD is GET's; a method a route does not name
// never takes that route.
func TestRedteamMethods(t *testing.T) {
	f := newFixture(t, "routes:\n  - methods: [GET]\n    path: /admin/\n    deny: true\n  - methods: [GET, POST]\n    path: /orders/{id}\n    scopes: [orders:read]\n  - path: /public/\n    methods: [GET]\n    open: true\n")
	read := f.token(t, "orders:read")
	for _, m := range []string{"get", "Get", "GET ", " GET", "G ET", "GET\r\n", "GET\x00", "", strings.Repeat("A", 33), "GÉT", "GET/1.1", "GET,POST"} {
		if dec := f.d.Decide(t.Context(), forwardauth.Request{Method: m, URI: "/public/x"}); dec.Status != 400 {
			t.Errorf("method %q: %d by %q, want 400", m, dec.Status, dec.Route)
		}
	}
	if dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "HEAD", URI: "/admin/x", Header: bearer(read)}); dec.Status != 403 || dec.Route != "#0" {
		t.Errorf("HEAD on a GET deny route: %d by %q, want 403 by it", dec.Status, dec.Route)
	}
	for _, m := range []string{"OPTIONS", "CONNECT", "TRACE", "PROPFIND", "QUERY", "DELETE", "PATCH", "PUT"} {
		dec := f.d.Decide(t.Context(), forwardauth.Request{Method: m, URI: "/public/x", Header: bearer(read)})
		if dec.Allowed || dec.Route != "default" {
			t.Errorf("%s on a GET-only open route: %d by %q, want the default deny", m, dec.Status, dec.Route)
		}
		dec = f.d.Decide(t.Context(), forwardauth.Request{Method: m, URI: "/orders/7", Header: bearer(read)})
		if dec.Allowed {
			t.Errorf("%s on a GET/POST route: allowed by %q", m, dec.Route)
		}
	}
}

// Forwarded headers sent straight to the decision service by a client
// that is not a trusted proxy are never read, whatever else it claims
// (X-Forwarded-For, X-Real-IP, Forwarded); from a trusted proxy, a front
// end reads only its own headers, each exactly once.
func TestRedteamForgedForwardedHeaders(t *testing.T) {
	untrusted := newFixture(t, "default: open\n", forwardauth.WithTrustedProxies("10.0.0.0/8"))
	claims := http.Header{
		"X-Original-Method": {"GET"}, "X-Original-Uri": {"/x"}, "X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/x"},
		"X-Forwarded-Host": {"a.example"}, "X-Forwarded-For": {"10.0.0.1"}, "X-Real-Ip": {"10.0.0.1"}, "Forwarded": {"for=10.0.0.1"},
		"Client-Ip": {"10.0.0.1"}, "True-Client-Ip": {"10.0.0.1"},
	}
	for name, h := range map[string]http.Handler{"nginx": untrusted.d.NginxHandler(), "traefik": untrusted.d.TraefikHandler(), "envoy": untrusted.d.EnvoyHTTPHandler("/envoy")} {
		srv := serve(t, h)
		resp := do(t, srv, "GET", "/envoy/x", claims)
		if resp.StatusCode != 403 {
			t.Errorf("%s, untrusted peer claiming a trusted address: %d, want 403", name, resp.StatusCode)
		}
		// Its connection is not kept: an idle keep-alive per direct
		// caller would hold a descriptor for the idle timeout (red-team
		// review of serve).
		if !resp.Close {
			t.Errorf("%s, untrusted peer: the connection is kept alive, want Connection: close", name)
		}
		for _, n := range untrusted.d.HeaderNames() {
			if resp.Header.Get(n) != "" {
				t.Errorf("%s, untrusted peer: identity header %s set", name, n)
			}
		}
	}

	f := newFixture(t, redteamRules)
	read := f.token(t, "orders:read")
	nginx, traefik, envoy := serve(t, f.d.NginxHandler()), serve(t, f.d.TraefikHandler()), serve(t, f.d.EnvoyHTTPHandler("/envoy"))
	tests := []struct {
		name   string
		srv    func() (string, string, http.Header)
		status int
	}{
		// nginx reads X-Original-*, never X-Forwarded-* a client may have sent through it.
		{"nginx ignores X-Forwarded-Uri", func() (string, string, http.Header) {
			return nginx.URL, "/", http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/orders/admin/x"}, "X-Forwarded-Uri": {"/static/x"}, "X-Forwarded-Method": {"GET"}}
		}, 403},
		{"nginx method twice", func() (string, string, http.Header) {
			return nginx.URL, "/", http.Header{"X-Original-Method": {"GET", "POST"}, "X-Original-Uri": {"/static/x"}}
		}, 400},
		{"nginx host twice", func() (string, string, http.Header) {
			return nginx.URL, "/", http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/static/x"}, "X-Original-Host": {"api.example.com", "admin.example.com"}}
		}, 400},
		{"nginx proto twice", func() (string, string, http.Header) {
			return nginx.URL, "/", http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/static/x"}, "X-Original-Proto": {"https", "http"}}
		}, 400},
		{"nginx host list", func() (string, string, http.Header) {
			return nginx.URL, "/", http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/static/x"}, "X-Original-Host": {"api.example.com, admin.example.com"}}
		}, 400},
		{"nginx admin host", func() (string, string, http.Header) {
			return nginx.URL, "/", http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/static/x"}, "X-Original-Host": {"Admin.Example.Com."}}
		}, 400}, // a host route's host, spelled otherwise
		{"nginx admin host, other path", func() (string, string, http.Header) {
			return nginx.URL, "/", http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/x"}, "X-Original-Host": {"admin.example.com"}, "X-Forwarded-Host": {"api.example.com"}}
		}, 403},
		// Traefik reads X-Forwarded-*, never X-Original-*.
		{"traefik ignores X-Original-Uri", func() (string, string, http.Header) {
			return traefik.URL, "/", http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/orders/admin/x"}, "X-Forwarded-Host": {"api.example.com"}, "X-Original-Uri": {"/static/x"}}
		}, 403},
		{"traefik uri twice", func() (string, string, http.Header) {
			return traefik.URL, "/", http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/static/x", "/orders/admin/x"}, "X-Forwarded-Host": {"api.example.com"}}
		}, 400},
		{"traefik host twice", func() (string, string, http.Header) {
			return traefik.URL, "/", http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/x"}, "X-Forwarded-Host": {"api.example.com", "admin.example.com"}}
		}, 400},
		// Envoy's HTTP form: the path is the request's own, after the prefix.
		{"envoy ignores every forwarded path header", func() (string, string, http.Header) {
			return envoy.URL, "/envoy/orders/admin/x", http.Header{"X-Original-Uri": {"/static/x"}, "X-Forwarded-Uri": {"/static/x"}, "X-Envoy-Original-Path": {"/static/x"}, "X-Forwarded-Prefix": {"/static"}}
		}, 403},
		{"envoy ignores X-Forwarded-Host", func() (string, string, http.Header) {
			return envoy.URL, "/envoy/x", http.Header{"X-Forwarded-Host": {"api.example.com"}, "X-Original-Host": {"api.example.com"}}
		}, 403}, // the Host is the test server's: no route, default deny
		{"envoy dot segment after the prefix", func() (string, string, http.Header) { return envoy.URL, "/envoy/static/%2e%2e/orders/admin/x", nil }, 400},
		{"envoy empty segment after the prefix", func() (string, string, http.Header) { return envoy.URL, "/envoy//static/x", nil }, 400},
		{"envoy double-escaped dot segment", func() (string, string, http.Header) { return envoy.URL, "/envoy/static/%252e%252e/orders/admin/x", nil }, 400},
		{"envoy prefix without a slash", func() (string, string, http.Header) { return envoy.URL, "/envoystatic/x", nil }, 400},
		{"envoy prefix alone", func() (string, string, http.Header) { return envoy.URL, "/envoy", nil }, 400},
		{"envoy outside the prefix", func() (string, string, http.Header) { return envoy.URL, "/static/x", nil }, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, path, h := tt.srv()
			req, err := http.NewRequestWithContext(t.Context(), "GET", base+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range h {
				req.Header[k] = v
			}
			req.Header.Set("Authorization", "Bearer "+read)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}

// Request targets that the HTTP client library would never send, written
// on the wire: absolute form, authority form and asterisk form at the
// Envoy HTTP front end are refused, never read as a path after the
// prefix.
func TestRedteamEnvoyHTTPRawTargets(t *testing.T) {
	f := newFixture(t, redteamRules)
	srv := serve(t, f.d.EnvoyHTTPHandler("/envoy"))
	// ("OPTIONS *" is answered 200 by net/http itself, before any handler;
	// Envoy never sends it: its check path is the prefix and a path.)
	for _, target := range []string{"http://api.example.com/envoy/static/x", "//envoy/static/x", "api.example.com:80", "/envoy/static/x#frag", "/envoy/static/..;/orders/admin/x", "/envoy*"} {
		method := "GET"
		if target == "api.example.com:80" {
			method = "CONNECT"
		}
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n", method, target)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil {
			t.Errorf("%s %s: %v", method, target, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("%s %s: 200, want a refusal", method, target)
		}
	}
}

// Identity headers: whatever the client sent under their names (any case,
// several times) never comes back; every answer that allows carries every
// identity header, so the gateway always overwrites.
func TestRedteamIdentityNeverEchoed(t *testing.T) {
	signer := redteamSigner(t)
	f := newFixture(t, testRules, forwardauth.WithInternalToken(signer, ""))
	nginx := serve(t, f.d.NginxHandler())
	forged := http.Header{}
	for _, n := range f.d.HeaderNames() {
		forged[n] = []string{"forged-1", "forged-2"}
		forged[strings.ToLower(n)] = []string{"forged-3"}
	}
	// (Spelt with '_' for '-' they are refused: TestIdentityHeaderWithUnderscoreRefused.)
	for _, c := range []struct {
		uri, tok string
	}{{"/healthz", ""}, {"/healthz", f.token(t, "orders:read")}, {"/orders/7", f.token(t, "orders:read")}} {
		h := merge(forged, http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {c.uri}, "X-Original-Host": {"api.example.com"}})
		if c.tok != "" {
			h.Set("Authorization", "Bearer "+c.tok)
		}
		req, _ := http.NewRequestWithContext(t.Context(), "GET", nginx.URL, nil)
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d, want 200", c.uri, resp.StatusCode)
		}
		for _, n := range f.d.HeaderNames() {
			v, ok := resp.Header[n]
			if !ok || len(v) != 1 || strings.Contains(v[0], "forged") {
				t.Errorf("%s: %s = %q (present %v): want exactly one value, never the client's", c.uri, n, v, ok)
			}
		}
		for k, v := range resp.Header {
			if strings.Contains(strings.Join(v, ","), "forged") {
				t.Errorf("%s: the client's %s came back as %s", c.uri, v, k)
			}
		}
	}
}

// Two different identities never render alike: the escaping is one to
// one, so an upstream comparing header values compares identities, and
// every value is printable ASCII without a space at either end (nothing a
// gateway or HTTP library would trim, fold or split).
func TestRedteamIdentityOneToOne(t *testing.T) {
	f := newFixture(t, "default: authenticated\n")
	subjects := []string{"a", "A", "a ", " a", "a  b", "a%20", "a%2520", "a\n", "a%0A", "a%0a", "\u00e9", "%C3%A9", "e\u0301",
		"a\x00", "a%00", "%", "%25", "%2525", "a\r\nX-Auth-Subject: admin", "a\u2028", "a\ufeff", "\xff", "a\t", "a%09", "admin", "admin\u200b"}
	seen := map[string]string{}
	for _, sub := range subjects {
		dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", URI: "/x", Header: bearer(f.token(t, "", "sub", sub))})
		if !dec.Allowed {
			t.Fatalf("sub %q: %d (%v)", sub, dec.Status, dec.Err)
		}
		v := dec.Header.Get("X-Auth-Subject")
		if prev, dup := seen[v]; dup {
			t.Errorf("subjects %q and %q both render as %q", prev, sub, v)
		}
		seen[v] = sub
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 || v[i] > 0x7e {
				t.Errorf("sub %q renders as %q: byte %#x is not printable ASCII", sub, v, v[i])
			}
		}
		if strings.TrimSpace(v) != v {
			t.Errorf("sub %q renders as %q: a space at an end would be trimmed", sub, v)
		}
	}
}

// A giant identity (from a token the issuer signed) is refused, never
// cut, and costs no more than its length: 1 MB of escapes is decided
// fast.
func TestRedteamIdentityHuge(t *testing.T) {
	f := newFixture(t, "default: authenticated\n")
	for _, sub := range []string{strings.Repeat("\n", 400<<10), strings.Repeat("\n", 2000), strings.Repeat("a", 1025), strings.Repeat("\u00e9", 200)} {
		start := time.Now()
		dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", URI: "/x", Header: bearer(f.token(t, "", "sub", sub))})
		if dec.Allowed || dec.Status != 403 && dec.Status != 401 { // 401: a token over the validator's size cap
			t.Errorf("sub of %d bytes: %d, want 403 (over the cap)", len(sub), dec.Status)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("sub of %d bytes decided in %v", len(sub), took)
		}
	}
}

func redteamSigner(t *testing.T) *forwardauth.Signer {
	t.Helper()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := forwardauth.NewSigner(ec, "bearerguard", "upstream", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The internal token never outlives the gateway's acceptance of the
// access token (its exp plus the validator's leeway), is not born expired
// when the token was accepted within the leeway, is never issued on an
// open route, the open default, a deny route or any refusal, and is never
// issued when the identity is refused.
func TestRedteamInternalTokenLifetime(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	keys, err := iss.NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = keys.Close() })
	v, err := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithAudience(audience), validator.WithLeeway(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := forwardauth.ParseRules([]byte("default: open\nidentity:\n  max_length: 16\nroutes:\n  - path: /deny/\n    deny: true\n  - path: /open/\n    open: true\n  - path: /api/\n    scopes: [api]\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := forwardauth.New(g, rs, forwardauth.WithInternalToken(redteamSigner(t), ""))
	if err != nil {
		t.Fatal(err)
	}
	mint := func(exp time.Duration, claims ...any) string {
		c := bearertest.Claims{"aud": audience, "scope": "api", "sub": "u"}
		for i := 0; i+1 < len(claims); i += 2 {
			c[claims[i].(string)] = claims[i+1]
		}
		return iss.Mint(t, c, bearertest.ExpiresIn(exp))
	}
	for name, exp := range map[string]time.Duration{"expires in 1.5 s": 1500 * time.Millisecond, "expires in 30 s": 30 * time.Second,
		"expired 1 min ago, within the leeway": -time.Minute} {
		tok := mint(exp)
		dec := d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/api/x", Header: bearer(tok)})
		if !dec.Allowed {
			t.Fatalf("%s: %d (%v)", name, dec.Status, dec.Err)
		}
		atExp := claimOf(t, tok, "exp")
		internal := dec.Header.Get(forwardauth.DefaultInternalTokenHeader)
		if internal == "" {
			t.Fatalf("%s: no internal token", name)
		}
		// It lasts as long as the gateway accepts the access token (exp
		// plus the leeway) at most, and is never born expired.
		if got := claimOf(t, internal, "exp"); got > atExp+120 {
			t.Errorf("%s: internal token exp %v after the access token's %v plus the leeway", name, got, atExp)
		} else if iat := claimOf(t, internal, "iat"); got <= iat {
			t.Errorf("%s: internal token born expired: exp %v, iat %v", name, got, iat)
		}
	}
	for name, req := range map[string]forwardauth.Request{
		"open route":            {Method: "GET", URI: "/open/x", Header: bearer(mint(time.Hour))},
		"open default":          {Method: "GET", URI: "/elsewhere", Header: bearer(mint(time.Hour))},
		"deny route":            {Method: "GET", URI: "/deny/x", Header: bearer(mint(time.Hour))},
		"no token":              {Method: "GET", URI: "/api/x"},
		"insufficient scope":    {Method: "GET", URI: "/api/x", Header: bearer(iss.Mint(t, bearertest.Claims{"aud": audience, "scope": "other"}))},
		"expired past leeway":   {Method: "GET", URI: "/api/x", Header: bearer(mint(-time.Hour))},
		"identity over the cap": {Method: "GET", URI: "/api/x", Header: bearer(mint(time.Hour, "sub", strings.Repeat("x", 17)))},
		"bad URI":               {Method: "GET", URI: "/api/../x", Header: bearer(mint(time.Hour))},
	} {
		dec := d.Decide(t.Context(), req)
		if v := dec.Header.Get(forwardauth.DefaultInternalTokenHeader); v != "" {
			t.Errorf("%s (%d): an internal token was issued", name, dec.Status)
		}
		if dec.Allowed {
			if _, ok := dec.Header[forwardauth.DefaultInternalTokenHeader]; !ok {
				t.Errorf("%s: allowed without the (empty) internal token header: a forged one would pass", name)
			}
		}
	}
}

func claimOf(t *testing.T, jwt, name string) float64 {
	t.Helper()
	msg, err := jws.Parse([]byte(jwt))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(msg.Payload(), &c); err != nil {
		t.Fatal(err)
	}
	v, ok := c[name].(float64)
	if !ok {
		t.Fatalf("claim %s missing from %s", name, msg.Payload())
	}
	return v
}

// Envoy gRPC: whatever the CheckRequest lacks or holds, a request that is
// not allowed gets a denied_response and a non-OK status, as a response
// (never a gRPC error that failure_mode_allow would let through, never an
// ok_response); an unavailable or hanging issuer is UNAVAILABLE, denied.
func TestRedteamEnvoyCheckNeverAllowsByAccident(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f := newFixture(t, redteamRules)
	c := envoyClient(t, f.d)
	read := f.token(t, "orders:read")
	bigHeaders := map[string]string{}
	for i := range 20000 {
		bigHeaders[fmt.Sprintf("x-h-%d", i)] = "v"
	}
	bigHeaders["authorization"] = "Bearer " + read
	tests := []struct {
		name string
		req  *authv3.CheckRequest
		want int
	}{
		{"empty request", &authv3.CheckRequest{}, 400},
		{"no request attributes", &authv3.CheckRequest{Attributes: &authv3.AttributeContext{}}, 400},
		{"no http", &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{}}}, 400},
		{"empty http", &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{}}}}, 400},
		{"no method", checkRequest("", "api.example.com", "/static/x", nil), 400},
		{"no path", checkRequest("GET", "api.example.com", "", nil), 400},
		{"lowercase method", checkRequest("get", "api.example.com", "/static/x", nil), 400},
		{"bad scheme", &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/static/x", Scheme: "gopher"}}}}, 400},
		{"dot segment", checkRequest("GET", "api.example.com", "/static/../orders/admin/x", map[string]string{"authorization": "Bearer " + read}), 400},
		{"double-escaped dot segment", checkRequest("GET", "api.example.com", "/static/%252e%252e/orders/admin/x", map[string]string{"authorization": "Bearer " + read}), 400},
		{"deny route", checkRequest("GET", "api.example.com", "/orders/admin/x", map[string]string{"authorization": "Bearer " + read}), 403},
		{"admin host", checkRequest("GET", "admin.example.com:443", "/x", map[string]string{"authorization": "Bearer " + read}), 403},
		{"admin host spelled otherwise", checkRequest("GET", "ADMIN.example.com.:443", "/x", map[string]string{"authorization": "Bearer " + read}), 400},
		{"nil headers", checkRequest("GET", "api.example.com", "/orders/7", nil), 401},
		{"forged x-original-uri", checkRequest("GET", "api.example.com", "/orders/admin/x", map[string]string{"x-original-uri": "/static/x", ":path": "/static/x", "authorization": "Bearer " + read}), 403},
		{"token twice (headers and header_map)", &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: "GET", Host: "api.example.com", Path: "/orders/7", Headers: map[string]string{"authorization": "Bearer " + read},
			HeaderMap: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: "authorization", Value: "Bearer " + read}}}}}}}, 400},
		{"token twice (header_map)", &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: "GET", Host: "api.example.com", Path: "/orders/7",
			HeaderMap: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: "Authorization", Value: "Bearer " + read}, {Key: "authorization", RawValue: []byte("Bearer x")}}}}}}}, 400},
		{"comma-joined tokens", checkRequest("GET", "api.example.com", "/orders/7", map[string]string{"authorization": "Bearer " + read + ",Bearer " + read}), 400},
		{"20000 headers, no route", checkRequest("GET", "api.example.com", "/nowhere", bigHeaders), 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.Check(t.Context(), tt.req)
			if err != nil {
				t.Fatalf("Check: gRPC error %v: failure_mode_allow would let it through", err)
			}
			d := resp.GetDeniedResponse()
			if resp.GetOkResponse() != nil || d == nil || codes.Code(resp.GetStatus().GetCode()) == codes.OK {
				t.Fatalf("Check = %v, want a denied_response with a non-OK status", resp)
			}
			if got := int(d.GetStatus().GetCode()); got != tt.want {
				t.Errorf("denied with %d, want %d", got, tt.want)
			}
		})
	}
	// The many-headers request is still decided normally when allowed.
	resp, err := c.Check(t.Context(), checkRequest("GET", "api.example.com", "/orders/7", bigHeaders))
	if err != nil || resp.GetOkResponse() == nil {
		t.Errorf("20000 headers with a good token: %v, %v; want allowed", resp, err)
	}

	// An issuer whose keys hang past the decision timeout.
	hangIss := bearertest.NewIssuer(t)
	hangIss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	hf := newFixtureFor(t, hangIss, redteamRules, forwardauth.WithTimeout(150*time.Millisecond))
	hc := envoyClient(t, hf.d)
	resp, err = hc.Check(t.Context(), checkRequest("GET", "api.example.com", "/orders/7", map[string]string{"authorization": "Bearer " + hf.token(t, "orders:read")}))
	if err != nil {
		t.Fatalf("hanging keys: gRPC error %v, want a denied response", err)
	}
	if resp.GetOkResponse() != nil || resp.GetDeniedResponse().GetStatus().GetCode() != 503 || codes.Code(resp.GetStatus().GetCode()) != codes.Unavailable {
		t.Errorf("hanging keys: %v, want UNAVAILABLE with a denied_response of 503", resp)
	}
}

// syncBuffer is a log sink for concurrent writers.
type syncBuffer = testlog.Buffer

// No token (nor its signature) is ever in a log line (Debug included, the
// validator's too), an answer's body or headers, a Decision's error, or
// a gRPC answer: whatever the refusal.
func TestRedteamNoTokenInLogsOrAnswers(t *testing.T) {
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	iss := bearertest.NewIssuer(t)
	d := newFixtureWith(t, iss, redteamRules, []validator.Option{validator.WithLogger(log)},
		forwardauth.WithLogger(log), forwardauth.WithInternalToken(redteamSigner(t), "")).d
	mint := func(c bearertest.Claims, opts ...bearertest.MintOption) string {
		tok, err := iss.MintToken(c, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tokens := map[string]string{
		"good":          mint(bearertest.Claims{"aud": audience, "scope": "orders:read"}),
		"wrong scope":   mint(bearertest.Claims{"aud": audience, "scope": "other"}),
		"wrong aud":     mint(bearertest.Claims{"aud": "billing", "scope": "orders:read"}),
		"expired":       mint(bearertest.Claims{"aud": audience, "scope": "orders:read"}, bearertest.ExpiresIn(-time.Hour)),
		"unknown kid":   mint(bearertest.Claims{"aud": audience, "scope": "orders:read"}, bearertest.WithKeyID("nope")),
		"bad signature": mint(bearertest.Claims{"aud": audience, "scope": "orders:read"})[:40] + "xxxxxxxxxxxxxxxxxxxxxxxx.yyyyyyyyyyyyyyyyyyyyyyyyy.zzzzzzzzzzzzzzzzzzzzzzzzz",
		"opaque":        "opaque-secret-token-value-1234567890",
	}
	c := envoyClient(t, d)
	var answers []string
	for name, tok := range tokens {
		for _, uri := range []string{"/orders/7", "/orders/admin/x", "/static/x", "/nowhere", "/orders/../x"} {
			for _, h := range []http.Header{bearer(tok), {"Authorization": {"Bearer " + tok, "Bearer " + tok}}, {"Authorization": {"Basic " + tok}}, {"Authorization": {"DPoP " + tok}}} {
				dec := d.Decide(t.Context(), forwardauth.Request{Method: "GET", URI: uri, Header: h})
				var hb strings.Builder
				for k, vs := range dec.Header {
					if k == forwardauth.DefaultInternalTokenHeader {
						continue // a token of its own, not the client's
					}
					fmt.Fprintf(&hb, "%s: %s\n", k, strings.Join(vs, ","))
				}
				answers = append(answers, name+" "+uri+": "+hb.String()+string(dec.Body))
				if dec.Err != nil {
					answers = append(answers, dec.Err.Error())
				}
			}
			resp, err := c.Check(t.Context(), checkRequest("GET", "api.example.com", uri, map[string]string{"authorization": "Bearer " + tok}))
			if err != nil {
				answers = append(answers, err.Error())
			} else {
				answers = append(answers, resp.GetStatus().GetMessage(), resp.GetDeniedResponse().String())
			}
		}
	}
	all := logs.String() + strings.Join(answers, "\n")
	if !strings.Contains(logs.String(), "forwardauth: refused") {
		t.Fatalf("no Debug log line at all: the test does not see the logs")
	}
	for name, tok := range tokens {
		secret := tok
		if parts := strings.Split(tok, "."); len(parts) == 3 {
			secret = parts[2] // the signature: what makes a JWT usable
		}
		if strings.Contains(all, secret) {
			t.Errorf("the %s token's secret part appears in a log line or an answer", name)
		}
	}
}

// Requests decided without a token (deny routes, open routes, the deny
// default, unusable URIs) never make the service call out, whatever token
// they carry: an unknown kid there must not fetch the issuer's keys.
func TestRedteamNoOutgoingCallsWithoutTokenRoute(t *testing.T) {
	f := newFixture(t, redteamRules)
	good := f.token(t, "orders:read")
	if dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", URI: "/orders/7", Header: bearer(good)}); !dec.Allowed {
		t.Fatalf("warm-up: %d", dec.Status)
	}
	before := f.iss.JWKSRequests()
	for i := range 50 {
		tok := f.iss.Mint(t, bearertest.Claims{"aud": audience}, bearertest.WithKeyID(fmt.Sprintf("unknown-%d", i)))
		for _, req := range []forwardauth.Request{
			{Method: "GET", URI: "/orders/admin/x", Header: bearer(tok)},
			{Method: "GET", URI: "/static/x", Header: bearer(tok)},
			{Method: "DELETE", URI: "/nowhere", Header: bearer(tok)},
			{Method: "GET", Host: "admin.example.com", URI: "/x", Header: bearer(tok)},
			{Method: "GET", URI: "/orders/%2e%2e/7", Header: bearer(tok)},
			{Method: "get", URI: "/orders/7", Header: bearer(tok)},
		} {
			f.d.Decide(t.Context(), req)
		}
	}
	if after := f.iss.JWKSRequests(); after != before {
		t.Errorf("%d key fetches for requests no token route decided", after-before)
	}
}

// Route file traps: whatever YAML can say twice, in another case, by
// merge key, alias or type coercion, is refused, never read as something
// looser; an empty or comment-only file denies.
func TestRedteamRouteFileTraps(t *testing.T) {
	bad := map[string]string{
		"duplicate key":              "routes:\n  - path: /a/\n    deny: true\n    deny: false\n",
		"duplicate key in JSON form": `{"routes":[{"path":"/a/","deny":true,"deny":false}]}`,
		"duplicate default":          "default: deny\ndefault: open\n",
		"key in another case":        "routes:\n  - path: /a/\n    deny: true\n    Deny: false\n",
		"merge key":                  "routes:\n  - path: /a/\n    deny: true\n    <<: {deny: false}\n",
		"alias":                      "x: &d {deny: false}\nroutes:\n  - path: /a/\n    <<: *d\n",
		"anchor only":                "routes:\n  - &r\n    path: /a/\n    deny: true\n",
		"two documents":              "default: deny\n---\ndefault: open\n",
		"yes is not true":            "routes:\n  - path: /a/\n    deny: yes\n",
		"a string is not true":       "routes:\n  - path: /a/\n    deny: \"true\"\n",
		"1 is not true":              "routes:\n  - path: /a/\n    deny: 1\n",
		"truncated true":             "routes:\n  - path: /a/\n    deny: tr\n",
		"default in another case":    "default: Open\n",
		"default with a space":       "default: \"open \"\n",
		"a scope that is two":        "routes:\n  - path: /a/\n    scopes: [\"a b\"]\n",
		"an empty scope":             "routes:\n  - path: /a/\n    scopes: [\"\"]\n",
		"scopes as a string":         "routes:\n  - path: /a/\n    scopes: admin\n",
		"open and deny":              "routes:\n  - path: /a/\n    open: true\n    deny: true\n",
		"open with scopes":           "routes:\n  - path: /a/\n    open: true\n    scopes: [a]\n",
		"lower-case method":          "routes:\n  - path: /a/\n    methods: [get]\n    deny: true\n",
		"method in the path":         "routes:\n  - path: GET /a/\n    deny: true\n",
		"host in the path":           "routes:\n  - path: admin.example.com/a/\n    deny: true\n",
		"unclean path":               "routes:\n  - path: /a/../b\n    deny: true\n",
		"escaped slash in the path":  "routes:\n  - path: /a%2Fb\n    deny: true\n",
		"host with a port":           "routes:\n  - host: admin.example.com:443\n    path: /\n    deny: true\n",
		"host wildcard":              "routes:\n  - host: \"*.example.com\"\n    path: /\n    deny: true\n",
		"byte order mark":            "\ufeffdefault: open\n",
		"identity in Authorization":  "identity:\n  subject: Authorization\n",
		"identity in X-Forwarded":    "identity:\n  claims: {X-Forwarded-User: sub}\n",
		"identity in Host":           "identity:\n  client_id: host\n",
		"identity twice":             "identity:\n  subject: X-User\n  claims: {x-user: name}\n",
		"too many routes":            "routes:\n" + strings.Repeat("  - path: /a\n    deny: true\n", forwardauth.MaxRoutes+1),
		"too large":                  "# " + strings.Repeat("x", forwardauth.MaxRulesFileSize) + "\n",
		"negative max_age":           "routes:\n  - path: /a/\n    max_age: -1m\n",
		"bare number max_age":        "routes:\n  - path: /a/\n    max_age: 10\n",
	}
	for name, file := range bad {
		if rs, err := forwardauth.ParseRules([]byte(file)); err == nil {
			t.Errorf("%s: accepted (%d routes, default %s), want an error", name, rs.Routes(), rs.Default())
		}
	}
	// These once read as "default: deny, no routes". Refused now: a file
	// emptied by a failed generator swapped itself in for the rules in
	// force on reload, and a key without a value reads as absent (a
	// "scopes:" that rendered empty meant no scope check; review of
	// session 11).
	// An empty host (a quoted template value that rendered empty) once
	// read as no host: the route held on every host (SECURITY.md 99).
	for name, file := range map[string]string{
		"empty": "", "blank": "\n\n  \n", "comments only": "# default: open\n", "null default": "default: ~\n",
		"empty host":         "routes:\n  - host: \"\"\n    path: /\n    open: true\n",
		"empty host, single": "routes:\n  - path: /\n    host: ''\n    open: true\n",
		"empty host, JSON":   `{"routes": [{"host": "", "path": "/", "open": true}]}`,
		"empty host, flow":   "routes: [{path: /, host: \"\", open: true}]\n",
		"65 identity claims": func() string {
			var b strings.Builder
			b.WriteString("identity:\n  claims:\n")
			for i := range forwardauth.MaxIdentityClaims + 1 {
				fmt.Fprintf(&b, "    X-C%d: c%d\n", i, i)
			}
			return b.String()
		}(),
		"empty host, tagged":      "routes:\n  - host: !!str \"\"\n    path: /\n    open: true\n",
		"empty host, tagged bare": "routes:\n  - host: !!str\n    path: /\n    open: true\n",
		"empty host, block":       "routes:\n  - host: |-\n    path: /\n    open: true\n",
		"empty host, folded":      "routes:\n  - host: >-\n\n    path: /\n    open: true\n",
		"empty host, 2nd route":   "routes:\n  - host: www.example.com\n    path: /\n    open: true\n  - host: \"\"\n    path: /admin/\n    open: true\n",
	} {
		if rs, err := forwardauth.ParseRules([]byte(file)); err == nil {
			t.Errorf("%s: accepted (%d routes, default %s), want an error", name, rs.Routes(), rs.Default())
		}
	}
}

// A large route file (near the size and route caps) parses in bounded
// time, and a decision over it costs no more than one pass over the
// routes, even for a hostile URI. (Loading looks for shadowed routes;
// comparing every pair of routes took 35 s here under the race detector:
// TestShadowIndexComparesFew.)
func TestRedteamLargeRouteFile(t *testing.T) {
	var b strings.Builder
	b.WriteString("routes:\n")
	for i := 0; b.Len() < forwardauth.MaxRulesFileSize-200 && i < forwardauth.MaxRoutes; i++ {
		fmt.Fprintf(&b, "  - methods: [GET, POST]\n    path: /r%d/{id}/x/{rest...}\n    scopes: [s%d]\n", i, i)
	}
	start := time.Now()
	rs, err := forwardauth.ParseRules([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("a %d-byte route file of %d routes took %v to parse", b.Len(), rs.Routes(), took)
	}
	long := "/" + strings.Repeat("%41", (forwardauth.MaxURILength-1)/3)
	if allocs := testing.AllocsPerRun(3, func() { rs.Match("GET", "h", long) }); allocs > 2 {
		t.Errorf("Match of a long escaped URI over %d routes: %v allocations", rs.Routes(), allocs)
	}
}

// Decisions that time out on an issuer whose keys hang leave nothing
// behind: an unauthenticated flood of fresh tokens (unknown kids) does
// not grow the goroutines by one per request.
func TestRedteamNoGoroutineGrowthOnHangingKeys(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	release := make(chan struct{})
	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	f := newFixtureFor(t, iss, redteamRules, forwardauth.WithTimeout(50*time.Millisecond))
	defer close(release)
	base := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			tok := f.iss.Mint(t, bearertest.Claims{"aud": audience, "scope": "orders:read"}, bearertest.WithKeyID(fmt.Sprintf("k%d", i)))
			if dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", URI: "/orders/7", Header: bearer(tok)}); dec.Allowed {
				t.Error("allowed without keys")
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base+20 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base+20 {
		t.Errorf("%d goroutines after 200 timed-out decisions, %d before", n, base)
	}
}

// A route file nested absurdly deep ("[[[[…", "- - - - …", "? ? ? …") is
// refused at once: the YAML library's parse time grows with the square of
// the nesting (20,000 levels took seconds, 100,000 minutes, a 1 MiB file
// would hold a core for hours), and a reload or a start must not hang on
// a generated file gone wrong.
func TestRedteamRouteFileNestingBounded(t *testing.T) {
	const n = 40000
	for name, file := range map[string]string{
		"flow sequences": "routes: " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n",
		"unclosed flow":  "routes: " + strings.Repeat("[", n) + "\n",
		"flow mappings":  "routes: " + strings.Repeat("{a: ", n/4) + "1" + strings.Repeat("}", n/4) + "\n",
		"block dashes":   "routes:\n" + strings.Repeat("- ", n) + "a\n",
		"explicit keys":  "routes:\n" + strings.Repeat("? ", n) + "a\n",
	} {
		start := time.Now()
		_, err := forwardauth.ParseRules([]byte(file))
		t.Logf("%s: %v", name, time.Since(start))
		if took := time.Since(start); err == nil || took > 2*time.Second {
			t.Errorf("%s, %d levels: %v after %v, want an error at once", name, n, err, took)
		}
	}
	// Ordinary nesting (a flow mapping holding a list) is fine.
	if _, err := forwardauth.ParseRules([]byte("routes:\n  - {path: \"/a/{id}/{rest...}\", methods: [GET, POST], open: true}\n")); err != nil {
		t.Errorf("ordinary flow nesting refused: %v", err)
	}
}

// The README's route file, copied as it is, denies the admin API's own
// index too: its deny route "/orders/admin/" matches everything below,
// not "/orders/admin", which the next route ("/orders/{id}", any
// orders:read token) would take, and which Express (a router mounted at
// /orders/admin, or non-strict routing) serves as the admin index.
func TestRedteamREADMERouteFileDeniesAdminIndex(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "### The route file")
	_, block, _ := strings.Cut(section, "```yaml\n")
	block, _, _ = strings.Cut(block, "```")
	rs, err := forwardauth.ParseRules([]byte(block))
	if err != nil {
		t.Fatalf("README.md's route file: %v", err)
	}
	for _, p := range []string{"/orders/admin", "/orders/admin/", "/orders/admin/users", "/orders/%61dmin"} {
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE"} {
			if r := rs.Match(m, "api.example.com", p); r.Access() != forwardauth.AccessDeny {
				t.Errorf("README.md's routes: %s %s is decided by %q (%s), want a deny route", m, p, r.Name(), r.Access())
			}
		}
	}
}

// The README's route file in front of an upstream that ignores case and
// trailing slashes (Express's Routers, whatever the app's settings): no
// spelling of the admin paths is allowed with an orders:read token, and
// the ones the README names are refused as ambiguous.
func TestREADMERouteFileRefusesOtherSpellings(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "### The route file")
	_, block, _ := strings.Cut(section, "```yaml\n")
	block, _, _ = strings.Cut(block, "```")
	f := newFixture(t, block)
	read := f.token(t, "orders:read")
	decide := func(rules, target string) *forwardauth.Decision {
		d := f.d
		if rules != block {
			rs, err := forwardauth.ParseRules([]byte(rules))
			if err != nil {
				t.Fatal(err)
			}
			if d, err = forwardauth.New(f.g, rs); err != nil {
				t.Fatal(err)
			}
		}
		return d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: target, Header: bearer(read)})
	}
	if dec := decide(block, "/orders/7"); !dec.Allowed {
		t.Fatalf("GET /orders/7 with an orders:read token: %d (%v)", dec.Status, dec.Err)
	}
	// A format suffix: Rails serves /orders/admin.json by the handler of
	// /orders/admin (SECURITY.md 141).
	for _, target := range []string{"/orders/ADMIN", "/orders/Admin", "/orders/ADMIN/", "/orders/Admin/users", "/ORDERS/admin/users", "/Orders/7",
		"/orders/admin.json", "/orders/admin.xml", "/orders/admin.json/", "/orders/Admin.json", "/orders/admin.tar.gz",
		"/orders/admin%2Ejson", "/orders/admin%2ejson", "/orders/ADMIN%2Ejson", "/orders/admin%2E", "/orders/admin%2ejson.json"} {
		if dec := decide(block, target); dec.Allowed || dec.Status == http.StatusOK {
			t.Errorf("GET %s with an orders:read token: allowed by %q", target, dec.Route)
		}
	}
	for _, target := range []string{"/orders/ADMIN", "/orders/admin.json"} {
		if dec := decide(block, target); !errors.Is(dec.Err, forwardauth.ErrAmbiguousPath) || dec.Route != "read" {
			t.Errorf("GET %s: %d by %q (%v), want 400 ErrAmbiguousPath by read", target, dec.Status, dec.Route, dec.Err)
		}
	}
	if dec := decide(block, "/orders/7.json"); !dec.Allowed {
		t.Errorf("GET /orders/7.json with an orders:read token: %d (%v)", dec.Status, dec.Err)
	}
	// As the README says: without no-admin-index, /orders/admin is read's,
	// and no-admin's with a slash.
	i := strings.Index(block, "  - name: no-admin-index")
	j := strings.Index(block, "  - name: read")
	if i < 0 || j < i {
		t.Fatal("README.md's route file has no no-admin-index route before read")
	}
	if dec := decide(block[:i]+block[j:], "/orders/admin"); !errors.Is(dec.Err, forwardauth.ErrAmbiguousPath) || dec.Route != "read" {
		t.Errorf("without no-admin-index, GET /orders/admin: %d by %q (%v), want 400 ErrAmbiguousPath by read", dec.Status, dec.Route, dec.Err)
	}
}

// Refusals built from hostile tokens (header fields, kids, claims full of
// controls, quotes and non-ASCII) carry only printable ASCII header
// values and fixed error text: nothing the client wrote is reflected into
// WWW-Authenticate, where a gateway (or Envoy, validating a
// denied_response) could be made to split, reject or misread it.
func TestRedteamRefusalHeadersPrintable(t *testing.T) {
	f := newFixture(t, "default: authenticated\nroutes:\n  - path: /s/\n    scopes: [orders:read]\n")
	c := envoyClient(t, f.d)
	const marker = "zzmarkerzz"
	hostile := "\r\n\"\\\x00\u00e9" + marker
	toks := []string{
		f.iss.Mint(t, bearertest.Claims{"aud": audience}, bearertest.WithKeyID(hostile)),
		f.iss.Mint(t, bearertest.Claims{"aud": hostile, "scope": hostile}),
		f.iss.Mint(t, bearertest.Claims{"aud": audience, "iss": hostile}),
		f.iss.Mint(t, bearertest.Claims{"aud": audience}, bearertest.WithHeader("typ", hostile), bearertest.WithHeader("crit", []string{hostile})),
		f.iss.Mint(t, bearertest.Claims{"aud": audience, "scope": "other " + marker}),
		marker + ".x.y",
	}
	for i, tok := range toks {
		for _, uri := range []string{"/x", "/s/x"} {
			dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", URI: uri, Header: bearer(tok)})
			if dec.Allowed {
				continue // an identity, escaped: TestRedteamIdentityOneToOne
			}
			resp, err := c.Check(t.Context(), checkRequest("GET", "api.example.com", uri, map[string]string{"authorization": "Bearer " + tok}))
			if err != nil {
				t.Fatal(err)
			}
			all := map[string]string{"body": string(dec.Body), "envoy body": resp.GetDeniedResponse().GetBody()}
			for k, vs := range dec.Header {
				all[k] = strings.Join(vs, ",")
			}
			for _, h := range resp.GetDeniedResponse().GetHeaders() {
				all["envoy "+h.GetHeader().GetKey()] = h.GetHeader().GetValue()
			}
			for k, v := range all {
				if strings.Contains(v, marker) {
					t.Errorf("token %d %s: %s reflects the client's text: %q", i, uri, k, v)
				}
				for j := 0; j < len(v); j++ {
					if (v[j] < 0x20 && v[j] != '\n') || v[j] > 0x7e || (v[j] == '\n' && k != "body" && k != "envoy body") {
						t.Errorf("token %d %s: %s has byte %#x: %q", i, uri, k, v[j], v)
						break
					}
				}
			}
		}
	}
}

// The README's nginx configuration sets every header bearerguard reads
// the original request from: nginx passes the client's own headers on to
// the auth_request subrequest, so one it did not set would be the
// client's (checked against real nginx: a client's X-Original-Host
// arrives as it was sent when the configuration does not set it).
func TestRedteamREADMENginxSetsEveryOriginalHeader(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "### nginx (`auth_request`)")
	_, block, _ := strings.Cut(section, "```nginx\n")
	block, _, _ = strings.Cut(block, "```")
	_, auth, ok := strings.Cut(block, "location = /_bearerguard {")
	auth, _, _ = strings.Cut(auth, "}")
	if !ok {
		t.Fatal("README.md's nginx configuration has no /_bearerguard location")
	}
	for _, want := range []string{"proxy_set_header X-Original-Method $request_method;", "proxy_set_header X-Original-URI $request_uri;",
		"proxy_set_header X-Original-Host $host:$server_port;", "proxy_set_header X-Original-Proto $scheme;"} {
		if !strings.Contains(auth, want) {
			t.Errorf("README.md's auth location lacks %q: the client's own header would be read", want)
		}
	}
}

// On a token route, a flood of tokens with kids the issuer never had
// (which anyone can mint) makes the service fetch the issuer's keys a
// bounded number of times, not once per request.
func TestRedteamUnknownKidFloodBoundedFetches(t *testing.T) {
	f := newFixture(t, redteamRules)
	if dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", URI: "/orders/7", Header: bearer(f.token(t, "orders:read"))}); !dec.Allowed {
		t.Fatalf("warm-up: %d", dec.Status)
	}
	before := f.iss.JWKSRequests()
	for i := range 100 {
		tok := f.iss.Mint(t, bearertest.Claims{"aud": audience, "scope": "orders:read"}, bearertest.WithKeyID(fmt.Sprintf("flood-%d", i)))
		if dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", URI: "/orders/7", Header: bearer(tok)}); dec.Allowed {
			t.Fatal("a token of an unknown key was allowed")
		}
	}
	if n := f.iss.JWKSRequests() - before; n > 3 {
		t.Errorf("100 unknown kids made %d key fetches, want a handful", n)
	}
}
