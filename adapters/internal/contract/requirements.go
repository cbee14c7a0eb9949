package contract

import (
	"slices"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// Requirements over several permission sources, for the routes every
// adapter's Build registers:
//
//	GET /mixed       requires Mixed: scope read:data, or role Data.Read
//	GET /privileged  requires Privileged: role Data.Admin, and permission
//	                 export:data or claim /tier = "gold"
var (
	Mixed      = scopes.AnyOf(scopes.Scope("read:data"), scopes.Role("Data.Read"))
	Privileged = scopes.AllOf(scopes.Role("Data.Admin")).And(scopes.AnyOf(scopes.Permission("export:data"), scopes.Claim("/tier", "gold")))
)

// requirementCases checks requirements naming roles, permissions and
// claims: any term of a clause satisfies it; roles and permissions come
// only from the claims the token's issuer is configured to read; the 403
// stays RFC 6750-correct, its scope attribute naming only scopes, and left
// out when the unmet clauses name none.
func requirementCases(t *testing.T, f *fixture, build Build) {
	// An issuer whose roles and permissions are read (as Entra ID and
	// Auth0 presets configure them), next to the plain contract issuer,
	// whose "roles" claim means nothing.
	rbac := bearertest.NewIssuer(t)
	v, err := validator.New(
		validator.WithIssuer(f.iss.URL, f.iss.KeySet(t)),
		validator.WithIssuer(rbac.URL, rbac.KeySet(t), validator.IssuerRoleClaims("/roles"), validator.IssuerPermissionClaims("/permissions")),
		validator.WithAudience(Audience))
	if err != nil {
		t.Fatal(err)
	}
	g := guard(t, v)
	srv := serve(t, build, g)
	mint := func(iss *bearertest.Issuer, sub string, claims bearertest.Claims) string {
		c := bearertest.Claims{"aud": Audience, "sub": sub}
		for k, val := range claims {
			c[k] = val
		}
		return iss.Mint(t, c)
	}
	const insufficient = `Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a required scope"`
	tests := []struct {
		name      string
		path      string
		token     string
		status    int
		challenge string
		subject   string
	}{
		{"mixed: scope", "/mixed", mint(rbac, "svc-scope", bearertest.Claims{"scope": "read:data"}), 200, "", "svc-scope"},
		{"mixed: role", "/mixed", mint(rbac, "svc-role", bearertest.Claims{"roles": []string{"Data.Read"}}), 200, "", "svc-role"},
		{"mixed: other role", "/mixed", mint(rbac, "svc-x", bearertest.Claims{"roles": []string{"Data.Write"}, "scope": "write:data"}), 403, insufficient + `, scope="read:data"`, ""},
		{"mixed: permission is not a role", "/mixed", mint(rbac, "svc-x", bearertest.Claims{"permissions": []string{"Data.Read"}}), 403, insufficient + `, scope="read:data"`, ""},
		{"mixed: roles of an issuer that has none", "/mixed", mint(f.iss, "svc-x", bearertest.Claims{"roles": []string{"Data.Read"}}), 403, insufficient + `, scope="read:data"`, ""},
		{"mixed: role name in scope", "/mixed", mint(rbac, "svc-x", bearertest.Claims{"scope": "Data.Read"}), 403, insufficient + `, scope="read:data"`, ""},
		{"privileged: role and permission", "/privileged", mint(rbac, "svc-admin", bearertest.Claims{"roles": []string{"Data.Admin"}, "permissions": []string{"export:data"}}), 200, "", "svc-admin"},
		{"privileged: role and claim", "/privileged", mint(rbac, "svc-gold", bearertest.Claims{"roles": []string{"Data.Admin"}, "tier": "gold"}), 200, "", "svc-gold"},
		{"privileged: role only", "/privileged", mint(rbac, "svc-x", bearertest.Claims{"roles": []string{"Data.Admin"}, "tier": "silver"}), 403, insufficient, ""},
		{"privileged: scopes do not stand for roles", "/privileged", mint(rbac, "svc-x", bearertest.Claims{"scope": "Data.Admin export:data", "tier": "gold"}), 403, insufficient, ""},
		{"privileged: claim of another type", "/privileged", mint(rbac, "svc-x", bearertest.Claims{"roles": []string{"Data.Admin"}, "tier": map[string]any{"gold": true}}), 403, insufficient, ""},
		{"malformed roles", "/mixed", mint(rbac, "svc-x", bearertest.Claims{"roles": "Data.Read\n"}), 401,
			`Bearer realm="orders", error="invalid_token", error_description="The access token is malformed"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, srv, "GET", tt.path, auth("Bearer "+tt.token), "")
			check(t, r, tt.status, tt.challenge, tt.subject, false)
		})
	}
	// scopes_supported names scopes only: no role, permission or claim.
	for _, s := range g.Scopes() {
		if !scopes.ValidToken(s) || slices.Contains([]string{"Data.Read", "Data.Admin", "export:data", "gold"}, s) {
			t.Errorf("Scopes() = %q: lists %q, not a scope of the routes", g.Scopes(), s)
		}
	}
}
