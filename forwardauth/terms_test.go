package forwardauth_test

import (
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/validator"
)

// A route can require scopes, roles, permissions and claim values in one
// language (all_of, any_of): "scope orders:read or role Orders.Read". Roles
// and permissions come only from the claims the issuer is configured to
// read; a refusal names only scope terms in its challenge.
func TestRouteTerms(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	keys, err := iss.NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = keys.Close() })
	v, err := validator.New(validator.WithIssuer(iss.URL, keys,
		validator.IssuerRoleClaims("/roles"), validator.IssuerPermissionClaims("/permissions")), validator.WithAudience(audience))
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpbearer.New(v, httpbearer.WithRealm(audience))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := forwardauth.ParseRules([]byte(`
routes:
  - name: read
    methods: [GET]
    path: /orders/{id}
    any_of:
      - scope: orders:read
      - role: Orders.Read
  - name: export
    path: /export
    all_of:
      - permission: export:orders
      - claim: /tenant/id
        value: acme
`))
	if err != nil {
		t.Fatal(err)
	}
	d, err := forwardauth.New(g, rs)
	if err != nil {
		t.Fatal(err)
	}
	mint := func(c bearertest.Claims) string {
		c["aud"], c["sub"] = audience, "svc-1"
		return iss.Mint(t, c)
	}
	for _, tt := range []struct {
		name, method, uri string
		tok               string
		status            int
		challengeScope    string // the scope attribute of a 403, "" for none
	}{
		{"scope", "GET", "/orders/1", mint(bearertest.Claims{"scope": "orders:read"}), 200, ""},
		{"role", "GET", "/orders/1", mint(bearertest.Claims{"roles": []string{"Orders.Read"}}), 200, ""},
		{"role in a claim not configured", "GET", "/orders/1", mint(bearertest.Claims{"groups": []string{"Orders.Read"}}), 403, "orders:read"},
		{"role given as a scope", "GET", "/orders/1", mint(bearertest.Claims{"scope": "Orders.Read"}), 403, "orders:read"},
		{"permission and claim", "GET", "/export", mint(bearertest.Claims{"permissions": []string{"export:orders"}, "tenant": map[string]any{"id": "acme"}}), 200, ""},
		{"permission, other tenant", "GET", "/export", mint(bearertest.Claims{"permissions": []string{"export:orders"}, "tenant": map[string]any{"id": "other"}}), 403, ""},
		{"claim, no permission", "GET", "/export", mint(bearertest.Claims{"scope": "export:orders", "tenant": map[string]any{"id": "acme"}}), 403, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for round := range 3 { // the token cache admits on the second sighting: hits decide alike
				dec := d.Decide(t.Context(), forwardauth.Request{Method: tt.method, URI: tt.uri, Header: bearer(tt.tok)})
				if dec.Status != tt.status {
					t.Fatalf("round %d: status %d, want %d (%v)", round, dec.Status, tt.status, dec.Err)
				}
				chal := dec.Header.Get("WWW-Authenticate")
				if tt.status == 403 {
					if !strings.Contains(chal, `error="insufficient_scope"`) {
						t.Errorf("challenge %q lacks insufficient_scope", chal)
					}
					if got := strings.Contains(chal, "scope="); got != (tt.challengeScope != "") || (got && !strings.Contains(chal, `scope="`+tt.challengeScope+`"`)) {
						t.Errorf("challenge %q, want scope=%q", chal, tt.challengeScope)
					}
				}
			}
		})
	}
}

func TestRouteTermErrors(t *testing.T) {
	for _, tt := range []struct{ name, terms, want string }{
		{"two kinds in one term", "      - scope: a\n        role: b\n", "exactly one of"},
		{"empty term", "      - {}\n", "exactly one of"},
		{"value without claim", "      - role: a\n        value: b\n", "value belongs to a claim term"},
		{"claim without value", "      - claim: /tenant\n", "needs a value"},
		{"claim path not a pointer", "      - claim: tenant\n        value: a\n", "claim"},
		{"bad scope", "      - scope: 'a\"'\n", "not one RFC 6749 scope token"},
		{"control in a role", "      - role: \"a\\x01\"\n", "control character"},
		{"unknown field", "      - group: a\n", `unknown field "group"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := forwardauth.ParseRules([]byte("routes:\n  - path: /a\n    any_of:\n" + tt.terms))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := forwardauth.ParseRules([]byte("routes:\n  - path: /a\n    open: true\n    any_of:\n      - role: a\n")); err == nil {
		t.Error("an open route took terms")
	}
}
