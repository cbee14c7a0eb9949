package forwardauth_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/forwardauth"
)

func TestParseRulesErrors(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{"unknown field", "routes:\n  - path: /a\n    scope: [x]\n", `unknown field "scope"`},
		{"unknown top-level field", "defualt: open\n", `unknown field "defualt"`},
		{"duplicate key", "default: open\ndefault: deny\n", "already defined"},
		{"bad default", "default: allow\n", `default "allow"`},
		{"no path", "routes:\n  - methods: [GET]\n", "empty path"},
		{"relative path", "routes:\n  - path: orders\n", "does not start with '/'"},
		{"method in path", "routes:\n  - path: GET /orders\n", "does not start with '/'"},
		{"unclean path", "routes:\n  - path: /a/../b\n", "not a clean path"},
		{"double slash", "routes:\n  - path: /a//b\n", "not a clean path"},
		{"wildcard not whole segment", "routes:\n  - path: /a{x}\n", "whole segment"},
		{"multi not last", "routes:\n  - path: /{x...}/a\n", "not at the end"},
		{"dollar not last", "routes:\n  - path: /{$}/a\n", "not at the end"},
		{"duplicate wildcard", "routes:\n  - path: /{x}/{x}\n", "twice"},
		{"bad wildcard name", "routes:\n  - path: /{1x}\n", "bad wildcard name"},
		{"escaped slash literal", "routes:\n  - path: /a%2Fb\n", "escaped"},
		{"lower-case method", "routes:\n  - path: /a\n    methods: [get]\n", `method "get"`},
		{"open and deny", "routes:\n  - path: /a\n    open: true\n    deny: true\n", "open and deny together"},
		{"open with scopes", "routes:\n  - path: /a\n    open: true\n    scopes: [x]\n", "take no scopes"},
		{"bad scope", "routes:\n  - path: /a\n    scopes: [\"a b\"]\n", "not one RFC 6749 scope token"},
		{"scope with quote", "routes:\n  - path: /a\n    any_scopes: ['a\"']\n", "not one RFC 6749 scope token"},
		{"host with path", "routes:\n  - path: /a\n    host: example.com/x\n", "is not a host"},
		{"duplicate name", "routes:\n  - {name: a, path: /a}\n  - {name: a, path: /b}\n", "used twice"},
		{"bad header name", "identity:\n  subject: \"X Auth\"\n", "not a header name"},
		{"reserved header", "identity:\n  subject: Authorization\n", "not allowed"},
		{"forwarded header", "identity:\n  claims: {X-Forwarded-User: sub}\n", "not allowed"},
		{"header twice", "identity:\n  subject: X-Who\n  client_id: x-who\n", "used twice"},
		{"max length", "identity:\n  max_length: 5\n", "max_length"},
		{"negative max_age", "routes:\n  - path: /a\n    max_age: -1s\n", "negative"},
		{"not yaml", "routes: [\n", ""},
		{"alias", "m: &m [GET]\nroutes:\n  - {path: /a, methods: *m}\n", "anchors and aliases"},
		{"billion laughs", laughs(), "anchors and aliases"},
		{"two documents", "default: open\n---\ndefault: deny\n", "one YAML document"},
		{"routes not a list", "routes: 3\n", ""},
		// A list written but empty would mean every method or no check
		// (review of session 11): refused, not read as absent.
		{"empty methods on an open route", "routes:\n  - path: /a\n    open: true\n    methods: []\n", "methods is an empty list"},
		{"empty scopes", "routes:\n  - path: /a\n    scopes: []\n", "scopes is an empty list"},
		{"empty any_scopes", "routes:\n  - path: /a\n    any_scopes: []\n", "any_scopes is an empty list"},
		{"empty all_of", "routes:\n  - path: /a\n    all_of: []\n", "all_of is an empty list"},
		{"empty any_of", "routes:\n  - path: /a\n    any_of: []\n", "any_of is an empty list"},
		{"empty acr_values", "routes:\n  - path: /a\n    acr_values: []\n", "acr_values is an empty list"},
		// A key without a value reads as absent, and a file emptied by a
		// failed generator as "deny, no routes" (review of session 11).
		{"scopes without a value", "routes:\n  - path: /a\n    scopes:\n", "without a value"},
		{"any_of null", "routes:\n  - path: /a\n    any_of: ~\n", "without a value"},
		{"deny null", "routes:\n  - path: /a\n    deny: null\n", "without a value"},
		{"methods without a value on an open route", "routes:\n  - path: /a\n    open: true\n    methods:\n", "without a value"},
		{"empty file", "", "is empty"},
		{"comments only", "# routes come later\n", "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := forwardauth.ParseRules([]byte(tt.file))
			if err == nil {
				t.Fatalf("ParseRules(%q) = %v, nil; want an error", tt.file, rs)
			}
			if !errors.Is(err, forwardauth.ErrRules) {
				t.Errorf("ParseRules(%q) = %v, want an error matching ErrRules", tt.file, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseRules(%q) = %v, want it to mention %q", tt.file, err, tt.want)
			}
		})
	}
}

func TestParseRulesReportsEveryProblem(t *testing.T) {
	_, err := forwardauth.ParseRules([]byte("default: x\nroutes:\n  - path: a\n  - path: /b\n    methods: [get]\n"))
	if err == nil {
		t.Fatal("ParseRules accepted a bad file")
	}
	for _, want := range []string{`default "x"`, `"a" does not start`, `method "get"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRules error %q does not mention %q", err, want)
		}
	}
}

func TestParseRulesDefaults(t *testing.T) {
	rs, err := forwardauth.ParseRules([]byte("routes: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if rs.Default() != forwardauth.AccessDeny || rs.Routes() != 0 {
		t.Errorf("no routes: default %v, %d routes; want deny, 0", rs.Default(), rs.Routes())
	}
	want := []string{"X-Auth-Subject", "X-Auth-Client-Id", "X-Auth-Scopes"}
	if got := rs.Names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	rs, err = forwardauth.ParseRules([]byte("identity:\n  scopes: '-'\n  claims: {x-tenant: tenant, X-Auth-Email: email}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"X-Auth-Subject", "X-Auth-Client-Id", "X-Auth-Email", "X-Tenant"}
	if got := rs.Names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}

// Routes are tried in file order: the first that matches decides, even
// where ServeMux would prefer a more specific pattern further down.
func TestMatchFirstWins(t *testing.T) {
	rs, err := forwardauth.ParseRules([]byte(testRules + `
  - name: late-specific
    path: /orders/admin/export
    open: true
  - name: files
    path: /files/{path...}
    scopes: [files:read]
  - name: root-only
    path: /{$}
    open: true
  - name: upload-head
    methods: [HEAD]
    path: /upload
    open: true
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, host, path, want string
	}{
		{"GET", "api.example.com", "/healthz", "health"},
		{"POST", "api.example.com", "/healthz", "health"}, // no methods: every method
		{"GET", "", "/healthz/", "default"},               // /healthz is exact
		{"GET", "api.example.com", "/orders/7", "read"},
		{"HEAD", "api.example.com", "/orders/7", "read"}, // GET also matches HEAD
		{"DELETE", "api.example.com", "/orders/7", "default"},
		{"POST", "api.example.com", "/orders/7", "write"},
		{"POST", "api.example.com", "/orders/", "write"},
		{"POST", "api.example.com", "/orders", "default"}, // /orders/ is a prefix of what is below it
		{"GET", "api.example.com", "/orders/7/items", "default"},
		{"GET", "api.example.com", "/orders/admin/export", "admin"}, // first match, not most specific
		{"GET", "api.example.com", "/orders/admin/", "admin"},
		{"GET", "api.example.com", "/orders/admin", "read"}, // "admin" is an {id}
		{"GET", "reports.example.com", "/q3", "reports"},
		{"GET", "REPORTS.example.com:8443", "/q3", "reports"}, // host: any case, port ignored
		{"GET", "reports.example.com.", "/q3", "reports"},
		{"GET", "api.example.com", "/q3", "default"},
		{"GET", "", "/files/a/b/c.txt", "files"},
		{"GET", "", "/files/", "files"},
		{"GET", "", "/files", "default"},
		{"GET", "", "/", "root-only"},
		{"GET", "", "/orders/%61dmin/x", "admin"}, // escapes decode per segment, as in ServeMux
		{"HEAD", "", "/upload", "upload-head"},
		{"GET", "", "/upload", "default"}, // HEAD does not imply GET
	}
	for _, tt := range tests {
		if got := rs.Match(tt.method, tt.host, tt.path).Name(); got != tt.want {
			t.Errorf("Match(%q, %q, %q) = %q, want %q", tt.method, tt.host, tt.path, got, tt.want)
		}
	}
}

// A route's path pattern matches exactly the clean paths that a
// net/http.ServeMux holding that pattern alone routes to it.
func TestPatternMatchesLikeServeMux(t *testing.T) {
	patterns := []string{"/", "/{$}", "/a", "/a/", "/a/{$}", "/a/{x}", "/a/{x}/", "/a/{x}/b", "/a/{x...}",
		"/{x}", "/{x}/{y}", "/{x...}", "/a/b/c", "/a%20b", "/caf%C3%A9/{id}", "/a/{x}/{$}", "/%7Ba%7D"}
	paths := []string{"/", "/a", "/a/", "/a/b", "/a/b/", "/a/b/c", "/a/b/c/", "/b", "/b/", "/a%20b",
		"/caf%C3%A9/1", "/a/%62", "/%7Ba%7D", "/{a}", "/a/x/b", "/a/x/b/", "/x/y", "/x/y/"}
	const hit = 299
	for _, pat := range patterns {
		rs, err := forwardauth.ParseRules([]byte("routes:\n  - name: r\n    path: '" + pat + "'\n"))
		if err != nil {
			t.Fatalf("pattern %q: %v", pat, err)
		}
		mux := http.NewServeMux()
		mux.Handle(pat, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(hit) }))
		for _, p := range paths {
			req := httptest.NewRequest("GET", "http://example.com/", nil)
			req.URL.Path, req.URL.RawPath = unescape(t, p), p
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			want := w.Code == hit
			if got := rs.Match("GET", "example.com", p).Name() == "r"; got != want {
				t.Errorf("pattern %q, path %q: matched %v, ServeMux %v (status %d)", pat, p, got, want, w.Code)
			}
		}
	}
}

func unescape(t *testing.T, p string) string {
	t.Helper()
	req, err := http.NewRequest("GET", "http://example.com"+strings.ReplaceAll(p, " ", "%20"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return req.URL.Path
}

func TestLoadRules(t *testing.T) {
	dir := t.TempDir()
	if _, err := forwardauth.LoadRules(dir + "/missing.yaml"); !errors.Is(err, forwardauth.ErrRules) {
		t.Errorf("LoadRules(missing) = %v, want ErrRules", err)
	}
	big := dir + "/big.yaml"
	writeFile(t, big, "# "+strings.Repeat("x", forwardauth.MaxRulesFileSize)+"\n")
	if _, err := forwardauth.LoadRules(big); !errors.Is(err, forwardauth.ErrRules) || !strings.Contains(err.Error(), "larger") {
		t.Errorf("LoadRules(big) = %v, want ErrRules, larger than", err)
	}
	good := dir + "/good.yaml"
	writeFile(t, good, testRules)
	rs, err := forwardauth.LoadRules(good)
	if err != nil || rs.Routes() != 5 {
		t.Errorf("LoadRules(good) = %v routes, %v; want 5, nil", rs, err)
	}
}

// The route file README.md shows parses, and decides as the text says.
func TestREADMERouteFile(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "### The route file")
	_, block, ok2 := strings.Cut(section, "```yaml\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no route file under \"### The route file\"")
	}
	rs, err := forwardauth.ParseRules([]byte(block))
	if err != nil {
		t.Fatalf("README.md's route file: %v", err)
	}
	for _, c := range [][3]string{{"GET", "/orders/admin/export", "no-admin"}, {"HEAD", "/orders/7", "read"}, {"DELETE", "/orders/7", "default"}} {
		if got := rs.Match(c[0], "api.example.com", c[1]).Name(); got != c[2] {
			t.Errorf("README.md's routes: %s %s is decided by %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

// laughs is a route file whose aliases would expand to 10^9 nodes.
func laughs() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	b.WriteString("routes: [{path: /, methods: *a8}]\n")
	return b.String()
}
