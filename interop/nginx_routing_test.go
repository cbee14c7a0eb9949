package interop

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// routingRoutes is a route file in the README's shape: an admin subtree
// denied, reads with read:data, an admin page with write:data, and any
// valid token for the rest.
const routingRoutes = `
default: authenticated
routes:
  - name: health
    path: /healthz
    open: true
  - name: no-admin
    path: /orders/admin/
    deny: true
  - name: read
    methods: [GET]
    path: /orders/{id}
    scopes: [read:data]
  - name: admin
    path: /admin
    scopes: [write:data]
`

// Forward auth in front of upstreams that route more loosely than the
// route file's ServeMux patterns, through nginx configured as the README
// shows: an Express app built of Routers at their defaults (case and
// trailing slashes ignored), and a Go ServeMux that nginx proxies the
// decoded path ($uri) to, so that a segment escaped twice reaches it
// escaped once. A read:data token reaches get-order and nothing that the
// deny route or the admin route protects, however the path is spelled
// (found by a review: /orders/ADMIN reached the Router's admin index),
// and a request with no token only the open route's handler (Express
// matches the path as sent: /h%65althz reached its /:tenant handler).
func TestNginxLooseUpstreamsReachNoHandlerPastItsRoute(t *testing.T) {
	node := requireNode(t)
	nginx := requireNginx(t)
	as := startAuthServer(t, newSigningKey(t, jwa.RS256))
	bin := buildBearerguard(t)
	dir := t.TempDir()

	bgPort := startServe(t, bin, dir, as, routingRoutes)

	expressPort := startUpstream(t, node, "express routers", "node/routers-upstream.mjs")
	mux := http.NewServeMux()
	for pattern, name := range map[string]string{"/orders/admin/": "admin-index", "GET /orders/{id}": "get-order", "/admin": "admin-page", "/healthz": "healthz"} {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, name) })
	}
	goUpstream := httptest.NewServer(mux)
	t.Cleanup(goUpstream.Close)
	goPort := goUpstream.Listener.Addr().(*net.TCPAddr).Port

	expressGW, goGW := freePort(t), freePort(t)
	viaURI := strings.Replace(nginxServer, "proxy_pass http://127.0.0.1:%[3]d;", "proxy_pass http://127.0.0.1:%[3]d$uri$is_args$args;", 1)
	if viaURI == nginxServer {
		t.Fatal("nginxServer has no proxy_pass line to rewrite")
	}
	servers := fmt.Sprintf(nginxServer, expressGW, bgPort, expressPort) + fmt.Sprintf(viaURI, goGW, bgPort, goPort)
	startNginx(t, nginx, dir, servers)
	for _, port := range []int{expressGW, goGW} {
		waitHTTP(t, "nginx", fmt.Sprintf("http://127.0.0.1:%d/healthz", port), 200)
	}

	read := as.goToken(readClientID, "read:data", jwtResource)
	var getAs func(port int, target, token string) (int, string)
	get := func(port int, target string) (int, string) { return getAs(port, target, read) }
	getAs = func(port int, target, token string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), "GET", fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = fmt.Sprintf("//127.0.0.1:%d%s", port, target) // the target exactly as written
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	for _, gw := range []struct {
		name string
		port int
	}{{"express routers", expressGW}, {"ServeMux via $uri", goGW}} {
		if status, body := get(gw.port, "/orders/7"); status != 200 || body != "get-order" {
			t.Errorf("%s: GET /orders/7 with a read:data token: %d %q, want 200 get-order", gw.name, status, body)
		}
		for _, target := range []string{
			"/orders/admin", "/orders/admin/", "/orders/admin/users",
			"/orders/ADMIN", "/orders/Admin/", "/orders/ADMIN/users", "/Orders/Admin/users", "/ORDERS/admin",
			"/orders/%41dmin", "/orders/%61dmin/users", "/orders/%2561dmin/users", "/orders/%2541DMIN",
			"/admin", "/admin/", "/ADMIN", "/Admin/", "/%61dmin", "/%2561dmin",
		} {
			status, body := get(gw.port, target)
			if status == 200 && body != "get-order" {
				t.Errorf("%s: GET %s with a read:data token reached the upstream's %q handler", gw.name, target, body)
			}
		}
		// With no token, only the open route's handler: Express reads
		// /h%65althz as a tenant, not as /healthz.
		for _, target := range []string{"/healthz", "/h%65althz", "/%68ealthz", "/healt%68z", "/HEALTHZ", "/Healthz/", "/h%65althz/"} {
			if status, body := getAs(gw.port, target, ""); status == 200 && body != "healthz" {
				t.Errorf("%s: GET %s with no token reached the upstream's %q handler", gw.name, target, body)
			}
		}
	}
}

// nginxPreflight is the README's answer to CORS preflights, the first
// thing in the location: nginx's return runs in its rewrite phase, before
// auth_request's access phase.
const nginxPreflight = `location / {
    if ($request_method = OPTIONS) {
      add_header Access-Control-Allow-Origin https://app.example.com always;
      add_header Access-Control-Allow-Methods "GET, POST" always;
      add_header Access-Control-Allow-Headers "Authorization, Content-Type, DPoP" always;
      add_header Access-Control-Max-Age 600 always;
      return 204;
    }
`

// The README has the gateway answer CORS preflights rather than an open
// OPTIONS route (found by a review: such a route sent token-less OPTIONS
// requests to every handler registered without a method). Through real
// nginx: every OPTIONS request, on an open, a token or a deny route, is
// answered 204 with the CORS headers and reaches neither bearerguard nor
// the upstream, while the other methods are still decided.
func TestNginxAnswersPreflightsBeforeTheDecision(t *testing.T) {
	nginx := requireNginx(t)
	as := startAuthServer(t, newSigningKey(t, jwa.RS256))
	bin := buildBearerguard(t)
	dir := t.TempDir()

	var decisions atomic.Int64
	bgPort := startServe(t, bin, dir, as, routingRoutes)
	// Count the subrequests on their way to bearerguard.
	counter := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		decisions.Add(1)
		r.SetURL(&url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", bgPort)})
		r.Out.Host = r.In.Host
	}})
	t.Cleanup(counter.Close)
	counterPort := counter.Listener.Addr().(*net.TCPAddr).Port

	var reached []string
	var mu sync.Mutex
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reached = append(reached, r.Method+" "+r.URL.Path)
		mu.Unlock()
		io.WriteString(w, "upstream")
	}))
	t.Cleanup(upstream.Close)
	upPort := upstream.Listener.Addr().(*net.TCPAddr).Port

	server := strings.Replace(nginxServer, "location / {\n", nginxPreflight, 1)
	if server == nginxServer {
		t.Fatal("nginxServer has no location / to answer preflights in")
	}
	ngPort := freePort(t)
	startNginx(t, nginx, dir, fmt.Sprintf(server, ngPort, counterPort, upPort))
	gateway := fmt.Sprintf("http://127.0.0.1:%d", ngPort)
	waitHTTP(t, "nginx", gateway+"/healthz", 200)
	mu.Lock()
	reached = nil
	mu.Unlock()
	decisions.Store(0)

	do := func(method, path string, header map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, gateway+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	preflight := map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET",
		"Access-Control-Request-Headers": "authorization"}
	for _, path := range []string{"/healthz", "/orders/7", "/orders/admin/", "/orders/admin/users", "/admin", "/elsewhere"} {
		for _, header := range []map[string]string{preflight, nil} {
			resp := do("OPTIONS", path, header)
			if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
				!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
				t.Errorf("OPTIONS %s (preflight %v): %d %v, want 204 with the CORS headers", path, header != nil, resp.StatusCode, resp.Header)
			}
		}
	}
	if n := decisions.Load(); n != 0 {
		t.Errorf("preflights asked bearerguard %d times, want none", n)
	}
	mu.Lock()
	if len(reached) != 0 {
		t.Errorf("preflights reached the upstream: %v", reached)
	}
	mu.Unlock()

	// The other methods are decided as before.
	read := as.goToken(readClientID, "read:data", jwtResource)
	for _, c := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/orders/admin/", "", 403}, // a deny route
		{"GET", "/admin", "", 401},
		{"GET", "/orders/7", "", 401},
		{"GET", "/orders/7", read, 200},
		{"GET", "/admin", read, 403},
		{"GET", "/orders/admin/users", read, 403},
		{"GET", "/healthz", "", 200},
	} {
		header := map[string]string{}
		if c.token != "" {
			header["Authorization"] = "Bearer " + c.token
		}
		if resp := do(c.method, c.path, header); resp.StatusCode != c.want {
			t.Errorf("%s %s (token %v): %d, want %d", c.method, c.path, c.token != "", resp.StatusCode, c.want)
		}
	}
	if n := decisions.Load(); n != 7 {
		t.Errorf("bearerguard was asked %d times for 7 requests", n)
	}
}
