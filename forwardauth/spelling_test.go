package forwardauth_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/bearerguard/bearerguard/forwardauth"
)

// spellingRules is a route file in the README's shape: any valid token by
// default, a deny route and a scoped route inside it, and a scoped route
// whose path an upstream could reach with a trailing slash.
const spellingRules = `
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
    scopes: [orders:read]
  - name: delete
    methods: [DELETE]
    path: /orders/{id}
    scopes: [orders:admin]
  - name: admin
    path: /admin
    scopes: [admin]
  - name: reports
    path: /reports/
    scopes: [reports:read]
  - name: reports-too
    path: /Reports/
    scopes: [reports:read]
  - name: cafe
    path: /caf%C3%A9
    scopes: [cafe]
  - name: uber
    path: /%C3%BCber/x/
    scopes: [uber]
%s`

// A path that an upstream ignoring case or a trailing slash reads as
// another route's is refused with 400 (ErrAmbiguousPath), unless the
// route file says the upstream routes strictly; a spelling that is the
// same decision, or that no route names, is not (found by a review of
// forward auth against Express, whose Routers ignore case and trailing
// slashes whatever the app's settings, and Echo's RemoveTrailingSlash).
func TestPathInAnotherSpellingRefused(t *testing.T) {
	const (
		ambiguous = "ambiguous"
		allowed   = "allowed"
		denied    = "denied"
	)
	tests := []struct {
		upstream       string
		method, target string
		want           string
		route          string // the route that decided
	}{
		// case
		{"", "GET", "/orders/ADMIN", ambiguous, "read"},
		{"", "GET", "/orders/Admin/users", ambiguous, "default"},
		{"", "GET", "/Orders/7", ambiguous, "default"},
		{"", "GET", "/%4frders/7", ambiguous, "default"},
		{"", "GET", "/ADMIN", ambiguous, "default"},
		{"", "GET", "/HEALTHZ", ambiguous, "default"}, // another decision, if a looser one
		// trailing slash
		{"", "GET", "/admin/", ambiguous, "default"},
		{"", "DELETE", "/orders/7/", ambiguous, "default"},
		{"", "GET", "/orders/admin", ambiguous, "read"},
		{"", "GET", "/reports", ambiguous, "default"},
		// both
		{"", "GET", "/ADMIN/", ambiguous, "default"},
		// letters that are ASCII ones in another case by Unicode rules
		// (Java's equalsIgnoreCase, .NET's OrdinalIgnoreCase): ı, İ, ſ
		// and the Kelvin sign; they pass where they spell no route
		{"", "GET", "/adm%C4%B1n", ambiguous, "default"},
		{"", "GET", "/ADM%C4%B0N", ambiguous, "default"},
		{"", "GET", "/orders/adm%C4%B0n/users", ambiguous, "default"},
		{"", "GET", "/orders/adm%C4%B1n", ambiguous, "read"},
		{"", "GET", "/orders/%c5%bfecret", allowed, "read"},
		{"", "GET", "/orders/K%C4%B1r%C4%B1kkale", allowed, "read"},
		{"", "GET", "/orders/%C4%B0stanbul", allowed, "read"},
		{"", "GET", "/%E2%84%AAeys", allowed, "default"},
		{"", "GET", "/caf%C3%A9", allowed, "cafe"},
		// a literal outside ASCII, in another case
		{"", "GET", "/caf%C3%89", ambiguous, "default"},
		{"", "GET", "/CAF%C3%A9", ambiguous, "default"},
		{"", "GET", "/%C3%BCber/x", ambiguous, "default"},
		{"", "GET", "/%C3%9Cber/x", ambiguous, "default"},
		{"", "GET", "/%C3%BCber/x/", allowed, "uber"},
		{"upstream: {case_sensitive: true}", "GET", "/CAF%C3%89", allowed, "default"},
		// escapes as sent (Express; Echo and chi for a path Go escapes
		// otherwise): another path, the default included
		{"", "GET", "/h%65althz", ambiguous, "health"},
		{"", "GET", "/%48EALTHZ", ambiguous, "default"},
		{"", "GET", "/admi%6E", ambiguous, "admin"},
		{"", "GET", "/reports/%71%31", allowed, "reports"},
		{"", "GET", "/orders/%41BC", allowed, "read"},
		{"", "GET", "/caf%c3%a9", ambiguous, "cafe"}, // Echo, chi: not Go's escapes, so RawPath, which spells no literal
		{"", "GET", "/%c3%bcber/x/", ambiguous, "uber"},
		{"upstream: {decoded_path: true}", "GET", "/caf%c3%a9", allowed, "cafe"},
		{"upstream: {case_sensitive: true}", "GET", "/caf%c3%a9", ambiguous, "cafe"},
		{"upstream: {decoded_path: true}", "GET", "/h%65althz", allowed, "health"},
		{"upstream: {decoded_path: true}", "GET", "/admi%6E", allowed, "admin"},
		{"upstream: {case_sensitive: true, strict_slash: true, decoded_path: true}", "GET", "/ADM%C4%B0N", allowed, "default"},
		{"upstream: {case_sensitive: true}", "GET", "/adm%C4%B1n", allowed, "default"},
		// a format suffix (Rails reads /admin.json as /admin, Spring's
		// suffix patterns /admin.tar.gz too): red-team of forward auth,
		// SECURITY.md 141
		{"", "GET", "/admin.json", ambiguous, "default"},
		{"", "GET", "/admin.tar.gz", ambiguous, "default"},
		{"", "GET", "/ADMIN.json", ambiguous, "default"},
		{"", "GET", "/healthz.json", ambiguous, "default"},
		{"", "GET", "/orders/admin.json/", ambiguous, "default"}, // /orders/admin is read's
		{"", "GET", "/orders/admin.json", allowed, "read"},       // so is /orders/admin.json
		{"", "GET", "/orders/7.json", allowed, "read"},
		{"", "GET", "/orders/.json", allowed, "read"},
		{"", "GET", "/reports/q1.csv", allowed, "reports"},
		{"upstream: {no_format_suffix: true}", "GET", "/admin.json", allowed, "default"},
		{"upstream: {no_format_suffix: true, strict_slash: true}", "GET", "/orders/admin.json/", allowed, "default"},
		{"upstream: {case_sensitive: true, strict_slash: true, decoded_path: true}", "GET", "/admin.json", ambiguous, "default"},
		{"upstream: {case_sensitive: true, strict_slash: true, decoded_path: true, no_format_suffix: true}", "GET", "/admin.json", allowed, "default"},
		// one decision whatever the spelling
		{"", "GET", "/orders/7", allowed, "read"},
		{"", "GET", "/orders/ABC", allowed, "read"},
		{"", "GET", "/reports/q1", allowed, "reports"},
		{"", "GET", "/Reports/q1", allowed, "reports-too"}, // reports decides the same
		{"", "GET", "/REPORTS/q1", ambiguous, "default"},
		{"", "GET", "/admin", allowed, "admin"},
		{"", "GET", "/", allowed, "default"},
		{"", "GET", "/other/", allowed, "default"}, // /other is no route's: the default decides both
		{"", "GET", "/orders/admin/x", denied, "no-admin"},
		{"", "GET", "/ORDERS/ADMIN/x", ambiguous, "default"},
		// an upstream declared strict
		{"upstream: {case_sensitive: true}", "GET", "/orders/ADMIN", allowed, "read"},
		{"upstream: {case_sensitive: true}", "GET", "/admin/", ambiguous, "default"},
		{"upstream: {strict_slash: true}", "GET", "/admin/", allowed, "default"},
		{"upstream: {strict_slash: true}", "GET", "/orders/ADMIN", allowed, "read"}, // only /orders/ADMIN/ is no-admin's
		{"upstream: {strict_slash: true}", "GET", "/Orders/7", ambiguous, "default"},
		{"upstream: {case_sensitive: true, strict_slash: true}", "GET", "/ADMIN/", allowed, "default"},
		{"upstream: {case_sensitive: true, strict_slash: true}", "GET", "/reports", allowed, "default"},
	}
	fixtures := map[string]*fixture{}
	for _, tc := range tests {
		f := fixtures[tc.upstream]
		if f == nil {
			f = newFixture(t, strings.Replace(spellingRules, "%s", tc.upstream, 1))
			fixtures[tc.upstream] = f
		}
		tok := f.token(t, "orders:read orders:admin admin reports:read cafe uber")
		dec := f.d.Decide(t.Context(), forwardauth.Request{Method: tc.method, Host: "api.example.com", URI: tc.target, Header: bearer(tok)})
		var got string
		switch {
		case dec.Allowed:
			got = allowed
		case dec.Status == http.StatusBadRequest && errors.Is(dec.Err, forwardauth.ErrAmbiguousPath) && errors.Is(dec.Err, forwardauth.ErrOriginalRequest):
			got = ambiguous
			var ae *forwardauth.AmbiguousPathError
			if !errors.As(dec.Err, &ae) || ae.Route != tc.route || ae.Other == "" || ae.Spelling == "" || strings.Contains(ae.Error(), tc.target) {
				t.Errorf("%q %s %s: error %#v (%v)", tc.upstream, tc.method, tc.target, ae, dec.Err)
			}
		case dec.Status == http.StatusForbidden && errors.Is(dec.Err, forwardauth.ErrDenied):
			got = denied
		default:
			got = dec.Err.Error()
		}
		if got != tc.want || dec.Route != tc.route {
			t.Errorf("%q %s %s: %s by %q (%d, %v), want %s by %q", tc.upstream, tc.method, tc.target, got, dec.Route, dec.Status, dec.Err, tc.want, tc.route)
		}
	}
}

// gatewayTo is a gateway in Go, as nginx, Traefik and Envoy are: it asks
// d about every request (method, the request target as sent, host) and
// proxies those allowed to upstream.
func gatewayTo(t *testing.T, d *forwardauth.Decider, upstream string) string {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dec := d.Decide(r.Context(), forwardauth.Request{Method: r.Method, URI: r.RequestURI, Host: r.Host, Scheme: "http", Header: r.Header})
		if !dec.Allowed {
			w.WriteHeader(dec.Status)
			return
		}
		for k, v := range dec.Header {
			r.Header[k] = v
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Real upstreams that route more loosely than ServeMux, behind a gateway
// deciding with spellingRules: no spelling of a request reaches the
// handler of a route that did not decide it.
func TestLooseUpstreamsServeNoHandlerPastItsRoute(t *testing.T) {
	handler := func(name string) echo.HandlerFunc { return func(c echo.Context) error { return c.String(200, name) } }
	// Echo with RemoveTrailingSlash (a common setting): "/admin/" is
	// served as "/admin".
	trailing := echo.New()
	trailing.Pre(middleware.RemoveTrailingSlash())
	trailing.GET("/admin", handler("admin"))
	trailing.GET("/orders/:id", handler("read"))
	trailing.DELETE("/orders/:id", handler("delete"))
	trailing.GET("/orders/admin/*", handler("no-admin"))
	// Echo with AddTrailingSlash: "/reports" is served as "/reports/".
	adding := echo.New()
	adding.Pre(middleware.AddTrailingSlash())
	adding.GET("/reports/", handler("reports"))
	// A case-insensitive router (ASP.NET Core, Express's Routers): paths
	// lower-cased before a ServeMux.
	mux := http.NewServeMux()
	for _, name := range []string{"admin", "healthz", "caf\u00e9"} {
		mux.HandleFunc("/"+name, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, name) })
	}
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "read") })
	mux.HandleFunc("/orders/admin/", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "no-admin") })
	folding := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path, r.URL.RawPath = strings.ToLower(r.URL.Path), ""
		mux.ServeHTTP(w, r)
	})

	f := newFixture(t, strings.Replace(spellingRules, "%s", "", 1))
	read := f.token(t, "orders:read") // admits GET /orders/{id} and the default, nothing else
	for _, up := range []struct {
		name    string
		handler http.Handler
		targets []string
	}{
		{"echo RemoveTrailingSlash", trailing, []string{"/admin/", "/orders/7/"}},
		{"echo AddTrailingSlash", adding, []string{"/reports"}},
		{"case-insensitive", folding, []string{"/ADMIN", "/Admin", "/orders/ADMIN/x", "/Orders/Admin/x", "/%41dmin",
			"/adm%C4%B0n", "/ADM%C4%B0N", "/orders/adm%C4%B0n/x", "/CAF%C3%89", "/caf%C3%89"}},
	} {
		srv := httptest.NewServer(up.handler)
		gw := gatewayTo(t, f.d, srv.URL)
		for _, method := range []string{"GET", "DELETE"} {
			for _, target := range up.targets {
				req, err := http.NewRequest(method, gw+target, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+read)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && string(body) != "read" {
					t.Errorf("%s: %s %s with an orders:read token reached the %q handler", up.name, method, target, body)
				}
			}
		}
		// The spelling the route file names still works.
		resp, err := http.DefaultClient.Do(&http.Request{Method: "GET", URL: mustURL(t, gw+"/orders/7"), Header: bearer(read)})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if up.name != "echo AddTrailingSlash" && resp.StatusCode != 200 {
			t.Errorf("%s: GET /orders/7 with an orders:read token: %d, want 200", up.name, resp.StatusCode)
		}
		srv.Close()
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Routes that ask the same with other words are one decision: no spelling
// between them is ambiguous (found by a review: a token route listing no
// scope and the authenticated default, and scopes [a, b] and [b, a], were
// taken as different).
func TestEquivalentRequirementsAreOneDecision(t *testing.T) {
	f := newFixture(t, `
default: authenticated
routes:
  - name: api
    path: /API/{rest...}
  - name: reports
    path: /reports/{id}
    scopes: [a, b]
  - name: reports-upper
    path: /Reports/{id}
    scopes: [b, a, a]
  - name: step
    path: /step/
    scopes: [a]
    acr_values: [x, y]
  - name: step-upper
    path: /STEP/
    any_of: [{scope: a}]
    acr_values: [y, x]
  - name: other
    path: /Other/{id}
    scopes: [a]
    acr_values: [x]
  - name: vault
    path: /vault
    all_of: [{claim: /org/role, value: admin}]
  - name: team
    path: /{team}
    all_of: [{claim: /org~1role, value: admin}]
`)
	tok := f.token(t, "a b")
	checkAmbiguity(t, f, tok, []ambiguity{
		{target: "/api/x", route: "default"},
		{target: "/Reports/7", route: "reports-upper"},
		{target: "/REPORTS/7", route: "default", ambiguous: true}, // b and a, or any token
		{target: "/step/1", route: "step"},
		{target: "/STEP/1", route: "step-upper"},
		{target: "/other/1", route: "default", ambiguous: true}, // a step-up the default does not ask
		{target: "/VAULT", route: "team", ambiguous: true},      // the claim "org/role" is not "role" in "org"
	})
}

// ambiguity is a GET and how forward auth must decide it: by route, and
// refused as ambiguous or not (allowed: and then let through).
type ambiguity struct {
	host, target, route string
	ambiguous, allowed  bool
}

// checkAmbiguity decides each GET with token (on api.example.com unless
// a host is given) and checks it is decided as the case says.
func checkAmbiguity(t *testing.T, f *fixture, token string, cases []ambiguity) {
	t.Helper()
	for _, c := range cases {
		host := c.host
		if host == "" {
			host = "api.example.com"
		}
		dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: host, URI: c.target, Header: bearer(token)})
		if got := errors.Is(dec.Err, forwardauth.ErrAmbiguousPath); got != c.ambiguous || dec.Route != c.route || c.allowed && !dec.Allowed {
			t.Errorf("GET %s%s: %d by %q (%v), want ambiguous %v by %q (allowed %v)", host, c.target, dec.Status, dec.Route, dec.Err, c.ambiguous, c.route, c.allowed)
		}
	}
}

// getExactly sends GET with the request target exactly as written (no
// escaping by the client) to base, with no token, and returns the status
// and body.
func getExactly(t *testing.T, base, target string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = target
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// Echo at its defaults routes a path that Go would escape otherwise on
// the path as sent (URL.RawPath), as Express always does: an escaped
// letter is another path to it. Forward auth, which decides the decoded
// path, refuses a path whose escapes as sent match another decision, the
// default included (found by a review: /h%65althz, decided by an open
// route, reached Echo's /:tenant handler with no token).
func TestEscapesAsSentReachNoHandlerPastItsRoute(t *testing.T) {
	handler := func(name string) echo.HandlerFunc {
		return func(c echo.Context) error { return c.String(200, name) }
	}
	e := echo.New()
	e.GET("/healthz", handler("healthz"))
	e.GET("/:tenant", handler("tenant"))
	e.GET("/files/public/*", handler("public"))
	e.GET("/files/*", handler("files"))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	f := newFixture(t, `
default: authenticated
routes:
  - name: health
    path: /healthz
    open: true
  - name: public
    path: /files/public/
    open: true
  - name: files
    path: /files/
    scopes: [files:read]
`)
	gw := gatewayTo(t, f.d, srv.URL)
	get := func(target string) (int, string) { t.Helper(); return getExactly(t, gw, target) }
	for _, target := range []string{"/h%65althz", "/healt%68z", "/%68ealthz", "/files/p%75blic/a.txt", "/files/%70ublic/a.txt",
		"/files/publi%63/a.txt", "/files/p%75blic/", "/files/P%75blic/a.txt"} {
		if status, body := get(target); status == 200 {
			t.Errorf("GET %s with no token reached the %q handler", target, body)
		}
	}
	// What the route file opens stays open, escapes Go writes the same way
	// included.
	for target, want := range map[string]string{"/healthz": "healthz", "/files/public/a.txt": "public",
		"/files/public/a%20b.txt": "public", "/files/public/caf%C3%A9": "public"} {
		if status, body := get(target); status != 200 || body != want {
			t.Errorf("GET %s with no token: %d %q, want 200 %q", target, status, body, want)
		}
	}
}

// The error names both routes and the setting that would turn its check
// off, never the path.
func TestAmbiguousPathErrorNamesTheSetting(t *testing.T) {
	for spelling, setting := range map[string]string{
		"in another case":                                      "upstream.case_sensitive in",
		"with a trailing slash":                                "upstream.strict_slash in",
		"in another case and without its trailing slash":       "upstream.case_sensitive or upstream.strict_slash in",
		"with its escapes undecoded":                           "upstream.decoded_path in",
		"with its escapes undecoded and with a trailing slash": "upstream.decoded_path or upstream.strict_slash in",
	} {
		msg := (&forwardauth.AmbiguousPathError{Route: "r1", Other: "r2", Spelling: spelling}).Error()
		if !strings.Contains(msg, setting) || !strings.Contains(msg, `"r1"`) || !strings.Contains(msg, `"r2"`) || !strings.Contains(msg, spelling) {
			t.Errorf("%s: %q, want it to name both routes and %s", spelling, msg, setting)
		}
	}
}

// Every route that a path matches only in another case is compared, not
// the first: an upstream routing to the most specific handler (ASP.NET
// Core, Spring), or holding its handlers in another order, may take any
// of them (found by a review: with /Reports/ before /reports/admin,
// GET /Reports/admin was decided by the first and could reach the
// second's handler).
func TestEveryRouteInAnotherCaseCompared(t *testing.T) {
	f := newFixture(t, `
default: authenticated
routes:
  - name: reports
    path: /Reports/
    scopes: [reports:read]
  - name: reports-admin
    path: /reports/admin
    scopes: [reports:admin]
  - name: files
    path: /files/{name}
    scopes: [files:read]
  - name: files-secret
    path: /files/Secret
    deny: true
`)
	tok := f.token(t, "reports:read files:read")
	checkAmbiguity(t, f, tok, []ambiguity{
		{target: "/Reports/admin", route: "reports", ambiguous: true},
		{target: "/Reports/q1", route: "reports"},
		{target: "/files/secret", route: "files", ambiguous: true},
		{target: "/files/notes", route: "files"},
	})
}

// Echo and chi route the path as sent when Go would escape it otherwise
// (one %2D for '-', a lower-case hex digit, anywhere in it): then no
// escaped segment is any literal of theirs, and a non-ASCII literal
// ("/café/:item", as Echo users write it) matches nothing. Such a path is
// refused when the route Echo then takes decides otherwise, whatever the
// case and slash settings (found by a review: /caf%C3%A9/green%2Dtea,
// decided by an open route, ran Echo's /:shop/:item handler with no
// token).
func TestEchoRawPathSpellsNoLiteral(t *testing.T) {
	handler := func(name string) echo.HandlerFunc { return func(c echo.Context) error { return c.String(200, name) } }
	e := echo.New()
	e.GET("/café/:item", handler("menu"))
	e.GET("/:shop/:item", handler("orders"))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	const rules = `
default: deny
routes:
  - name: menu
    path: /caf%C3%A9/{item}
    open: true
  - name: orders
    path: /{shop}/{item}
    scopes: [orders]
`
	for name, file := range map[string]string{
		"defaults":                    rules,
		"case_sensitive+strict_slash": rules + "upstream:\n  case_sensitive: true\n  strict_slash: true\n",
	} {
		f := newFixture(t, file)
		gw := gatewayTo(t, f.d, srv.URL)
		get := func(target string) (int, string) { t.Helper(); return getExactly(t, gw, target) }
		if status, body := get("/caf%C3%A9/tea"); status != 200 || body != "menu" {
			t.Errorf("%s: GET /caf%%C3%%A9/tea: %d %q, want 200 menu", name, status, body)
		}
		for _, target := range []string{"/caf%C3%A9/green%2Dtea", "/caf%C3%A9/%74ea", "/caf%c3%a9/tea"} {
			if status, body := get(target); status == 200 && body != "menu" {
				t.Errorf("%s: GET %s with no token reached Echo's %q handler", name, target, body)
			}
		}
	}
}

// A route that matches a path both as written and with a slash added or
// taken away (a catch-all after specific routes: path: /, a prefix, a
// host's whole tree) is no other reading of the specific routes before
// it: their requests are decided by them, not refused (found by a review:
// with a catch-all last, GET /orders/7 was refused because /orders/7/
// matched the catch-all; with the README's file, so was GET /orders/7 on
// the host of the reports route). A route matching only the other
// spelling still is one.
func TestCatchAllIsNoOtherSpelling(t *testing.T) {
	f := newFixture(t, `
default: deny
routes:
  - name: me
    methods: [GET]
    path: /users/me
    scopes: [profile]
  - name: read
    methods: [GET]
    path: /orders/{id}
    scopes: [orders:read]
  - name: admin
    path: /admin/
    scopes: [admin]
  - name: users
    path: /users/
    scopes: [users:admin]
  - name: reports
    host: reports.example.com
    path: /
    scopes: [reports:read]
  - name: api
    path: /
    scopes: [api]
`)
	tok := f.token(t, "profile orders:read api")
	checkAmbiguity(t, f, tok, []ambiguity{
		{target: "/orders/7", route: "read", allowed: true},
		{target: "/users/me", route: "me", allowed: true},
		{host: "reports.example.com", target: "/orders/7", route: "read", allowed: true},
		{target: "/other", route: "api", allowed: true},
		{target: "/admin", route: "api", ambiguous: true}, // /admin/ is the admin route's alone
	})
}

// A ServeMux upstream matches a host pattern as the Host header spells it,
// where host routes match it in any case and without a trailing dot:
// "Host: REPORTS.example.com" was decided by the reports route and served
// by ServeMux's host-less /admin handler (found by a review; behind
// Traefik and Envoy, which pass the Host on as sent). A host a route names
// is refused spelled otherwise than in lower case without a trailing dot.
func TestHostSpelledOtherwiseRefused(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("reports.example.com/", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "reports") })
	mux.HandleFunc("/admin", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "admin") })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f := newFixture(t, `
default: deny
routes:
  - name: reports
    host: reports.example.com
    path: /
    scopes: [reports:read]
  - name: admin
    path: /admin
    scopes: [admin]
upstream: {case_sensitive: true, strict_slash: true, decoded_path: true}
`)
	gw := gatewayTo(t, f.d, srv.URL)
	tok := f.token(t, "reports:read")
	for host, want := range map[string]string{"reports.example.com": "reports", "REPORTS.example.com": "", "reports.example.com.": "", "Reports.Example.Com:443": ""} {
		req, err := http.NewRequest("GET", gw+"/admin", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := string(b); resp.StatusCode == 200 && got != want || want != "" && resp.StatusCode != 200 {
			t.Errorf("Host %s, GET /admin with a reports:read token: %d %q, want %q", host, resp.StatusCode, got, want)
		}
	}
}

// A route deciding as the deciding one, earlier in the file and at least
// as specific, takes a reading first for any upstream routing by first
// match or by specificity: a later, broader route matching the reading
// is no other spelling (found by a review: with /v1/users/me and
// /v1/users/me/ before /v1/users/{id} and /v1/users/{id}/{rest...}, GET
// /v1/users/me was refused because /v1/users/me/ matched the last).
func TestEarlierNarrowerRouteTakesTheReading(t *testing.T) {
	f := newFixture(t, `
default: deny
routes:
  - name: me
    path: /v1/users/me
    scopes: [profile]
  - name: me-sub
    path: /v1/users/me/
    scopes: [profile]
  - name: user-read
    methods: [GET]
    path: /v1/users/{id}
    scopes: [users:read]
  - name: user-sub
    methods: [GET]
    path: /v1/users/{id}/{rest...}
    scopes: [users:read]
`)
	tok := f.token(t, "profile")
	for _, target := range []string{"/v1/users/me", "/v1/users/me/", "/v1/users/me/settings"} {
		dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: target, Header: bearer(tok)})
		if !dec.Allowed {
			t.Errorf("GET %s with a profile token: %d by %q (%v), want allowed", target, dec.Status, dec.Route, dec.Err)
		}
	}
	// Another case is still another route's.
	dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/v1/users/ME", Header: bearer(tok)})
	if !errors.Is(dec.Err, forwardauth.ErrAmbiguousPath) {
		t.Errorf("GET /v1/users/ME: %d by %q (%v), want ambiguous", dec.Status, dec.Route, dec.Err)
	}
}

// With a slash taken away (Echo's RemoveTrailingSlash), a path is served
// by the handler of the path without it: where the deciding route does
// not match that path, the first route that does must decide the same
// (found by a review: GET /docs/, decided by an open /docs/{p...},
// reached Echo's /docs handler, which the catch-all route protects).
func TestSlashTakenAwayServedByTheRouteWithout(t *testing.T) {
	h := func(name string) echo.HandlerFunc { return func(c echo.Context) error { return c.String(200, name) } }
	e := echo.New()
	e.Pre(middleware.RemoveTrailingSlash())
	e.GET("/docs", h("private-docs-index"))
	e.GET("/docs/*", h("public-docs"))
	e.Any("/*", h("api"))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	f := newFixture(t, `
default: deny
routes:
  - name: public-docs
    path: /docs/{p...}
    open: true
  - name: api
    path: /
    scopes: [api]
`)
	gw := gatewayTo(t, f.d, srv.URL)
	for _, target := range []string{"/docs", "/docs/", "/docs/x"} {
		resp, err := http.Get(gw + target)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && string(body) != "public-docs" {
			t.Errorf("GET %s with no token reached the %q handler", target, body)
		}
		if target == "/docs/x" && resp.StatusCode != 200 {
			t.Errorf("GET /docs/x with no token: %d, want 200 public-docs", resp.StatusCode)
		}
	}
}

// A route that a route before it takes every request of is reported
// (Shadowed), with both names; the README's file, and routes that only
// overlap, are not (found by a review: /public/{p...} open before
// /public/admin asking for admin decides /public/admin open, while a
// router picking the most specific match serves the admin handler).
func TestShadowedRoutesReported(t *testing.T) {
	rs, err := forwardauth.ParseRules([]byte(`
routes:
  - name: public
    path: /public/{p...}
    open: true
  - name: public-admin
    path: /public/admin
    scopes: [admin]
  - name: reads
    methods: [GET]
    path: /orders/{id}
    scopes: [read]
  - name: read-one
    methods: [GET]
    path: /orders/7
    scopes: [read]
  - name: writes
    methods: [POST]
    path: /orders/{id}
    scopes: [write]
  - name: any-method
    path: /orders/{id}
    scopes: [other]
  - name: b-host
    host: b.example.com
    path: /hosts/
    scopes: [x]
  - name: other-host
    host: a.example.com
    path: /hosts/8
    scopes: [x]
`))
	if err != nil {
		t.Fatal(err)
	}
	found, unchecked := rs.Shadowed()
	if unchecked != "" {
		t.Errorf("the check stopped at route %q", unchecked)
	}
	got := strings.Join(found, "\n")
	for _, want := range []string{`route "public-admin" decides no request: route "public"`, `route "read-one" decides no request: route "reads"`} {
		if !strings.Contains(got, want) {
			t.Errorf("Shadowed() = %q, want it to hold %q", got, want)
		}
	}
	for _, name := range []string{`"writes"`, `"any-method"`, `"other-host"`} {
		if strings.Contains(got, "route "+name+" decides") {
			t.Errorf("Shadowed() = %q: %s is reached by some request", got, name)
		}
	}
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	file := string(b)
	file = file[strings.Index(file, "### The route file"):]
	file = file[strings.Index(file, "```yaml\n")+len("```yaml\n"):]
	file = file[:strings.Index(file, "```")]
	readme, err := forwardauth.ParseRules([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if s, unchecked := readme.Shadowed(); len(s) != 0 || unchecked != "" {
		t.Errorf("the README's route file: %q (unchecked from %q)", s, unchecked)
	}
}

// A decision stays linear in the routes whatever the file: a route that
// could serve another reading is excused by at most a few earlier routes
// met on the way, never by a scan of all those before it (which made a
// file of 10,000 routes cost 1.9 s per request without a token, this one
// about 0.17 s; found by
// reviewing the change). A route left unexcused is refused: the safe side.
func TestDecisionLinearInRoutes(t *testing.T) {
	var b strings.Builder
	b.WriteString("default: deny\nroutes:\n  - path: /a/b/c/d\n    scopes: [s]\n")
	for i := range 1495 { // deciding the same, matching /a/b/c/d/, none narrower than the routes below
		fmt.Fprintf(&b, "  - path: /a/{x}/c/d/\n    scopes: [s]\n    name: t%d\n", i)
	}
	b.WriteString("  - path: /a/b/c/d/\n    scopes: [s]\n") // narrower than every route below
	for i := range 1500 {
		fmt.Fprintf(&b, "  - path: /a/b/{x}/d/\n    scopes: [o%d]\n    name: c%d\n", i, i)
	}
	f := newFixture(t, b.String())
	start := time.Now()
	dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/a/b/c/d"})
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Errorf("one decision over 3,000 routes took %v", took)
	}
	if !errors.Is(dec.Err, forwardauth.ErrAmbiguousPath) {
		t.Errorf("decided %d by %q (%v), want refused as ambiguous", dec.Status, dec.Route, dec.Err)
	}
}

// An IPv6 host in another spelling ("[2001:db8:0::1]", which a WHATWG URL
// parser writes "[2001:db8::1]") is the route's host, spelled otherwise:
// refused, never passed to the default (second review of serve).
func TestIPv6HostSpellings(t *testing.T) {
	f := newFixture(t, "default: open\nroutes:\n  - host: \"[2001:db8::1]\"\n    path: /\n    deny: true\n")
	for host, want := range map[string]int{"[2001:db8::1]": 403, "[2001:db8::1]:8443": 403, "[2001:db8:0::1]": 400,
		"[2001:0db8:0:0:0:0:0:1]:443": 400, "[2001:DB8::1]": 400, "[2001:db8::2]": 200} {
		if dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: host, URI: "/admin"}); dec.Status != want {
			t.Errorf("Host %s: %d (%v), want %d", host, dec.Status, dec.Err, want)
		}
	}
	// IPv4 too (third review): a host Node's new URL reads as 127.0.0.1
	// is that address spelled otherwise, never another host.
	f = newFixture(t, "default: open\nroutes:\n  - host: 127.0.0.1\n    path: /\n    deny: true\n")
	for host, want := range map[string]int{"127.0.0.1": 403, "127.0.0.1:8080": 403, "127.1": 400, "0x7f000001": 400, "2130706433": 400,
		"0177.0.0.1": 400, "127.0.0.01:80": 400, "127.0.0.2": 200,
		// A port a WHATWG parser refuses, on a host the route denies and
		// one the default opens: no host at all.
		"127.0.0.1:65535": 403, "127.0.0.1:65536": 400, "127.0.0.1:99999": 400, "127.0.0.2:99999": 400} {
		if dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: host, URI: "/admin"}); dec.Status != want {
			t.Errorf("Host %s: %d (%v), want %d", host, dec.Status, dec.Err, want)
		}
	}
	// A route file naming an IPv6 host otherwise than URL parsers write it
	// would refuse the requests that spell it its way: refused, with the
	// spelling to use.
	for file, want := range map[string]string{
		"routes:\n  - host: \"[::ffff:127.0.0.1]\"\n    path: /\n": `"[::ffff:7f00:1]"`,
		"routes:\n  - host: \"[2001:db8:0::1]\"\n    path: /\n":    `"[2001:db8::1]"`,
	} {
		if _, err := forwardauth.ParseRules([]byte(file)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRules(%q) = %v, want an error naming %s", file, err, want)
		}
	}
	if _, err := forwardauth.ParseRules([]byte("routes:\n  - host: \"[2001:DB8::1]\"\n    path: /\n")); err != nil {
		t.Errorf("an IPv6 host in upper case: %v", err)
	}
}
