package interop

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
// (found by a review: /orders/ADMIN reached the Router's admin index).
func TestNginxLooseUpstreamsReachNoHandlerPastItsRoute(t *testing.T) {
	node := requireNode(t)
	nginx := requireNginx(t)
	as := startAuthServer(t, newSigningKey(t, jwa.RS256))
	bin := buildBearerguard(t)
	dir := t.TempDir()

	routes := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(routes, []byte(routingRoutes), 0o600); err != nil {
		t.Fatal(err)
	}
	bgPort := freePort(t)
	startProcess(t, "bearerguard serve", exec.Command(bin, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", bgPort),
		"--issuer", as.issuer, "--audience", apiAudience, "--insecure-http", "--routes", routes), "")
	waitHTTP(t, "bearerguard serve", fmt.Sprintf("http://127.0.0.1:%d/readyz", bgPort), 200)

	expressPort := 0
	if _, err := fmt.Sscan(startProcess(t, "express routers", exec.Command(node, "node/routers-upstream.mjs"), "READY "), &expressPort); err != nil {
		t.Fatal(err)
	}
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
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, dir, servers), 0o600); err != nil {
		t.Fatal(err)
	}
	startProcess(t, "nginx", exec.Command(nginx, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf), "")
	for _, port := range []int{expressGW, goGW} {
		waitHTTP(t, "nginx", fmt.Sprintf("http://127.0.0.1:%d/healthz", port), 200)
	}

	read := as.goToken(readClientID, "read:data", jwtResource)
	get := func(port int, target string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), "GET", fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = fmt.Sprintf("//127.0.0.1:%d%s", port, target) // the target exactly as written
		req.Header.Set("Authorization", "Bearer "+read)
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
	}
}
