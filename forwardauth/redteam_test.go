package forwardauth_test

// Red-team tests: attacks a client (through a gateway, or straight at
// the decision service) could try. Each test passes while the answer to
// "can the attacker do X?" is no, and fails if it becomes yes.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/forwardauth"
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
	// Harmless forms stay usable: a '%' that decodes to no special
	// character once more, and a query that holds slashes and dots.
	for uri, route := range map[string]string{"/static/100%25": "static", "/static/a%25zz": "static", "/static/x?next=/../orders/admin/x": "static", "/static/%2541": "static"} {
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
