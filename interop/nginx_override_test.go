package interop

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// overrideRoutes decide /orders/{id} by method: a GET or a POST (a
// search, say) with read:data, a DELETE with write:data; and the admin
// host with write:data.
const overrideRoutes = `
default: deny
routes:
  - name: admin-host
    host: admin.example.com
    path: /
    scopes: [write:data]
  - name: read
    methods: [GET]
    path: /orders/{id}
    scopes: [read:data]
  - name: search
    methods: [POST]
    path: /orders/{id}
    scopes: [read:data]
  - name: delete
    methods: [DELETE]
    path: /orders/{id}
    scopes: [write:data]
`

// Forward auth in front of an Express app that takes the method from the
// request (the method-override package, from headers and from the query),
// through nginx configured as the README shows: a read:data token's POST
// never reaches the delete handler, however it names DELETE (found by a
// red-team review of forward auth: the POST was decided as a search and
// served as a delete), and a POST naming nothing is still served.
func TestNginxOverridesReachNoOtherHandler(t *testing.T) {
	node := requireNode(t)
	nginx := requireNginx(t)
	as := startAuthServer(t, newSigningKey(t, jwa.RS256))
	bin := buildBearerguard(t)
	dir := t.TempDir()

	bgPort := startServe(t, bin, dir, as, overrideRoutes)
	expressPort := startUpstream(t, node, "express method-override", "node/override-upstream.mjs")
	gw := freePort(t)
	startNginx(t, nginx, dir, fmt.Sprintf(nginxServer, gw, bgPort, expressPort))
	waitHTTP(t, "nginx", fmt.Sprintf("http://127.0.0.1:%d/orders/x/y", gw), 403) // no route's: the default denies

	read := as.goToken(readClientID, "read:data", jwtResource)
	send := func(method, target string, header http.Header) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, fmt.Sprintf("http://127.0.0.1:%d%s", gw, target), nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		req.Header.Set("Authorization", "Bearer "+read)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	post := func(target string, header http.Header) (int, string) { return send("POST", target, header) }
	if status, body := post("/orders/7", nil); status != 200 || body != "post-order" {
		t.Fatalf("POST /orders/7 with a read:data token: %d %q, want 200 post-order", status, body)
	}
	for _, c := range []struct {
		target string
		header http.Header
	}{
		{"/orders/7", http.Header{"X-Http-Method-Override": {"DELETE"}}},
		{"/orders/7", http.Header{"X-Http-Method-Override": {"delete"}}},
		{"/orders/7", http.Header{"X-Http-Method": {"DELETE"}}},
		{"/orders/7", http.Header{"X-Http-Method-Override": {"DELETE, POST"}}},
		// A no-break space: Node reads the byte as U+00A0, which
		// method-override's trim drops (found by a review of the fix).
		{"/orders/7", http.Header{"X-Http-Method-Override": {"DELETE\xa0"}}},
		{"/orders/7", http.Header{"X-Http-Method-Override": {"\xa0DELETE"}}},
		{"/orders/7?_method=DELETE", nil},
		{"/orders/7?_method=delete", nil},
		{"/orders/7?x=1&_method=DELETE", nil},
	} {
		status, body := post(c.target, c.header)
		if status == 200 && body != "post-order" {
			t.Errorf("POST %s %v with a read:data token reached the upstream's %q handler", c.target, c.header, body)
		}
		if status != 400 {
			t.Errorf("POST %s %v: %d %q, want 400", c.target, c.header, status, body)
		}
	}

	// The host: Express, trusting the gateway, reads X-Forwarded-Host,
	// which nginx passes on as the README configures it (found by a
	// red-team review: the admin host's handler answered a read:data
	// token decided on the request's own host).
	if status, body := send("GET", "/orders/7", nil); status != 200 || body != "get-order" {
		t.Errorf("GET /orders/7 with a read:data token: %d %q, want 200 get-order", status, body)
	}
	for _, h := range []http.Header{
		{"X-Forwarded-Host": {"admin.example.com"}},
		{"X-Forwarded-Host": {"admin.example.com, api.example.com"}},
	} {
		status, body := send("GET", "/orders/7", h)
		if status == 200 && body != "get-order" {
			t.Errorf("GET /orders/7 %v with a read:data token reached the upstream's %q handler", h, body)
		}
		if status != 400 {
			t.Errorf("GET /orders/7 %v: %d %q, want 400", h, status, body)
		}
	}
}
