package bearerguard_test

// Red-team tests of the identity-provider presets, the per-issuer policy,
// the requirement language, introspection-only mode and the compact
// validated-token cache, through the public API only: each test is an
// attack that must fail, and would pass (so the test would fail) if the
// defence it names were gone.

import (
	"context"
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/providers"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// An HMAC issuer lets a test sign any claims JSON byte for byte (nested
// duplicate members, odd types) with the key the validator trusts.
const rtIssuer = "https://idp.redteam.example"

var rtSecret = []byte("redteam-secret-0123456789abcdef-0123456789")

// rtToken signs claims (JSON, used as given) for rtIssuer.
func rtToken(claims string) string {
	return jwstest.Token(`{"alg":"HS256","typ":"JWT"}`, claims, jwstest.HS(rtSecret, crypto.SHA256))
}

// rtClaims is a valid claims object for rtIssuer and audience, with extra
// members (raw JSON, each "name":value) appended.
func rtClaims(extra ...string) string {
	now := time.Now().Unix()
	base := fmt.Sprintf(`"iss":%q,"aud":%q,"sub":"rt","client_id":"rt","iat":%d,"exp":%d`, rtIssuer, audience, now, now+3600)
	for _, e := range extra {
		base += "," + e
	}
	return "{" + base + "}"
}

func rtValidator(t *testing.T, policy []validator.IssuerOption, opts ...validator.Option) *validator.Validator {
	t.Helper()
	v, err := validator.New(append([]validator.Option{
		validator.WithIssuerSecret(rtIssuer, rtSecret, policy...),
		validator.WithAudience(audience),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// validateN validates token n times (the second sighting admits it to the
// cache, the third and later are hits) and returns every result.
func validateN(t *testing.T, v *validator.Validator, token string, n int) []*validator.Token {
	t.Helper()
	out := make([]*validator.Token, n)
	for i := range n {
		tok, err := v.Validate(t.Context(), token)
		if err != nil {
			t.Fatalf("presentation %d: %v", i+1, err)
		}
		out[i] = tok
	}
	return out
}

// Keycloak signs ID tokens ("typ": "ID", "aud" the client) with the realm
// keys that sign its access tokens ("typ": "Bearer", or "DPoP" when bound).
// Where the API's audience is the client's own id (a common setup) and
// azp is allowed, an ID token must still not pass as an access token.
func TestRedteamKeycloakIDTokenIsNotAnAccessToken(t *testing.T) {
	k := bearertest.NewKeycloak(t, "prod")
	preset := closeOnCleanup(t)(providers.Keycloak(k.URL, "prod", providers.WithAudience("orders-app"),
		providers.WithAuthorizedParties("orders-app"), providers.WithHTTPClient(k.Client())))
	v, err := validator.New(preset.Option())
	if err != nil {
		t.Fatal(err)
	}
	tok := func(extra bearertest.Claims) string {
		return k.Token(t, bearertest.KeycloakToken{ClientID: "orders-app", Audience: []string{"orders-app"}, RealmRoles: []string{"admin"}, Scope: "openid", Extra: extra})
	}
	if _, err := v.Validate(t.Context(), tok(nil)); err != nil {
		t.Fatalf("access token (typ Bearer): %v", err)
	}
	// A DPoP-bound access token is an access token: refused here only for
	// its missing proof, never for its type.
	if _, err := v.Validate(t.Context(), tok(bearertest.Claims{"typ": "DPoP", "cnf": map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}})); !errors.Is(err, validator.ErrBoundToken) {
		t.Errorf("DPoP-bound access token presented as Bearer: %v, want ErrBoundToken", err)
	}
	for name, extra := range map[string]bearertest.Claims{
		"ID token":      {"typ": "ID", "nonce": "n-0S6_WzA2Mj", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ", "client_id": nil},
		"logout token":  {"typ": "Logout", "events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}},
		"no typ at all": {"typ": nil},
		"typ as array":  {"typ": []string{"Bearer"}},
	} {
		if _, err := v.Validate(t.Context(), tok(extra)); err == nil {
			t.Errorf("%s accepted as an access token", name)
		} else if !errors.Is(err, validator.ErrType) && !errors.Is(err, validator.ErrMalformed) {
			t.Errorf("%s: %v, want ErrType", name, err)
		}
	}
}

// A check a user adds to a preset ([providers.WithIssuerOptions]) adds to
// the preset's checks: it never replaces one, even when it is of the same
// kind. Cognito's "token_use": "access" must survive a user's own
// IssuerAccessTokenClaim.
func TestRedteamUserIssuerOptionsNeverDropPresetChecks(t *testing.T) {
	c := bearertest.NewCognito(t, "eu-west-1", "eu-west-1_Orders")
	preset := closeOnCleanup(t)(providers.Cognito("eu-west-1", "eu-west-1_Orders", []string{"app-orders"},
		providers.WithBaseURL(c.URL), providers.WithHTTPClient(c.Client()),
		providers.WithIssuerOptions(validator.IssuerAccessTokenClaim("custom:kind", "service"))))
	v, err := validator.New(preset.Option())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(t.Context(), c.AccessToken(t, "app-orders", "orders/read", bearertest.Claims{"custom:kind": "service"})); err != nil {
		t.Fatalf("access token with both claims: %v", err)
	}
	if _, err := v.Validate(t.Context(), c.AccessToken(t, "app-orders", "orders/read", nil)); !errors.Is(err, validator.ErrType) {
		t.Errorf("access token without the user's claim: %v, want ErrType", err)
	}
	// An ID token that a pre-token-generation trigger gave a client_id,
	// a scope and the user's claim: only token_use tells it apart.
	id := c.IDToken(t, "app-orders", bearertest.Claims{"client_id": "app-orders", "scope": "orders/read", "custom:kind": "service"})
	if _, err := v.Validate(t.Context(), id); !errors.Is(err, validator.ErrType) {
		t.Errorf("Cognito ID token with the user's claim: %v, want ErrType (the preset's token_use check was dropped)", err)
	}
}

// Where an audience is required (a preset's own, or the validator's), a
// token without "aud", or with an empty, null or wrongly typed one, is
// refused; WithoutAudienceCheck never lifts an issuer's own audience.
func TestRedteamNoAudienceWhereOneIsRequired(t *testing.T) {
	e := bearertest.NewEntra(t)
	a := bearertest.NewAuth0(t)
	o := bearertest.NewOkta(t)
	k := bearertest.NewKeycloak(t, "prod")
	entra := closeOnCleanup(t)(providers.Entra(tenantContoso, []string{entraAPIClient}, providers.WithBaseURL(e.URL), providers.WithHTTPClient(e.Client())))
	auth0 := closeOnCleanup(t)(providers.Auth0(a.Domain(), []string{"https://api.example.com/orders"}, providers.WithHTTPClient(a.Client())))
	okta := closeOnCleanup(t)(providers.Okta(o.URL, "default", []string{"api://default"}, providers.WithHTTPClient(o.Client())))
	kc := closeOnCleanup(t)(providers.Keycloak(k.URL, "prod", providers.WithAudience("orders-api"), providers.WithHTTPClient(k.Client())))
	for _, skip := range []bool{false, true} {
		opts := []validator.Option{entra.Option(), auth0.Option(), okta.Option(), kc.Option()}
		if skip {
			opts = append(opts, validator.WithoutAudienceCheck())
		}
		v, err := validator.New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		good := map[string]func(aud any) string{
			"entra": func(aud any) string {
				return e.Token(t, bearertest.EntraToken{Tenant: tenantContoso, Audience: entraAPIClient, Roles: []string{"Data.Read"}, Extra: bearertest.Claims{"aud": aud}})
			},
			"auth0": func(aud any) string {
				return a.Token(t, bearertest.Auth0Token{ClientID: "c", Audience: []string{"https://api.example.com/orders"}, Scope: "read:data", Extra: bearertest.Claims{"aud": aud}})
			},
			"okta": func(aud any) string {
				return o.Token(t, bearertest.OktaToken{ClientID: "0oa1", AuthServerID: "default", Audience: "api://default", Scopes: []string{"x"}, Extra: bearertest.Claims{"aud": aud}})
			},
			"keycloak": func(aud any) string {
				return k.Token(t, bearertest.KeycloakToken{ClientID: "c", Audience: []string{"orders-api"}, Extra: bearertest.Claims{"aud": aud}})
			},
		}
		right := map[string]string{"entra": entraAPIClient, "auth0": "https://api.example.com/orders", "okta": "api://default", "keycloak": "orders-api"}
		for name, mint := range good {
			if _, err := v.Validate(t.Context(), mint(right[name])); err != nil {
				t.Fatalf("%s (skip=%v) with its audience: %v", name, skip, err)
			}
			for what, aud := range map[string]any{
				"absent":            nil, // a nil Extra removes the claim
				"empty array":       []string{},
				"empty string":      "",
				"another":           "https://evil.example",
				"nested in array":   [][]string{{right[name]}},
				"object":            map[string]any{right[name]: true},
				"case differs":      strings.ToUpper(right[name]),
				"with a trailing /": right[name] + "/",
			} {
				if _, err := v.Validate(t.Context(), mint(aud)); err == nil {
					t.Errorf("%s (skip=%v): token with aud %s accepted", name, skip, what)
				}
			}
		}
	}
}

// Multi-tenant Entra ID: a token of one tenant is never accepted as
// another's, whatever it says in "tid" (absent, another type, another
// case), and a tenant's cached tokens do not open the door to another's.
func TestRedteamEntraTenantCrossing(t *testing.T) {
	e := bearertest.NewEntra(t)
	preset := closeOnCleanup(t)(providers.EntraMultiTenant([]string{tenantContoso, tenantFabrikam}, []string{entraAPIClient},
		providers.WithEntraVersions(1, 2), providers.WithBaseURL(e.URL), providers.WithEntraV1IssuerURL(e.STSURL()), providers.WithHTTPClient(e.Client())))
	v, err := validator.New(preset.Option())
	if err != nil {
		t.Fatal(err)
	}
	mint := func(version int, tenant string, extra bearertest.Claims) string {
		return e.Token(t, bearertest.EntraToken{Version: version, Tenant: tenant, Audience: entraAPIClient, AppID: entraCaller, Roles: []string{"Data.Read"}, Extra: extra})
	}
	// Tenant A's token, cached (three presentations, the third a hit).
	for _, ver := range []int{1, 2} {
		toks := validateN(t, v, mint(ver, tenantContoso, nil), 3)
		if toks[2].Issuer != e.IssuerURL(ver, tenantContoso) || !toks[2].Roles.Has("Data.Read") {
			t.Fatalf("v%d cache hit: %+v", ver, toks[2])
		}
	}
	if v.CachedTokens() == 0 {
		t.Fatal("nothing cached: the cache-hit half of this test tests nothing")
	}
	for _, ver := range []int{1, 2} {
		for name, tok := range map[string]string{
			"tenant not allowed":             mint(ver, tenantAttacker, nil),
			"not allowed, claiming A's tid":  mint(ver, tenantAttacker, bearertest.Claims{"tid": tenantContoso}),
			"A's issuer, B's tid":            mint(ver, tenantContoso, bearertest.Claims{"tid": tenantFabrikam}),
			"A's issuer, attacker's tid":     mint(ver, tenantContoso, bearertest.Claims{"tid": tenantAttacker}),
			"A's issuer, no tid":             mint(ver, tenantContoso, bearertest.Claims{"tid": nil}),
			"A's issuer, tid as array":       mint(ver, tenantContoso, bearertest.Claims{"tid": []string{tenantContoso}}),
			"A's issuer, tid in upper case":  mint(ver, tenantContoso, bearertest.Claims{"tid": strings.ToUpper(tenantContoso)}),
			"A's issuer, tid with a space":   mint(ver, tenantContoso, bearertest.Claims{"tid": tenantContoso + " "}),
			"A's issuer in upper case":       mint(ver, tenantContoso, bearertest.Claims{"iss": strings.ToUpper(e.IssuerURL(ver, tenantContoso))}),
			"common as the tenant":           mint(ver, "common", bearertest.Claims{"tid": "common"}),
			"organizations as the tenant":    mint(ver, "organizations", bearertest.Claims{"tid": "organizations"}),
			"template's placeholder":         mint(ver, "{tenantid}", bearertest.Claims{"tid": "{tenantid}"}),
			"A's tenant, another API":        mint(ver, tenantContoso, bearertest.Claims{"aud": "api://payments"}),
			"A's tenant, audience is tenant": mint(ver, tenantContoso, bearertest.Claims{"aud": tenantContoso}),
		} {
			for i := range 3 { // the second sighting would admit it to the cache
				if _, err := v.Validate(t.Context(), tok); err == nil {
					t.Errorf("v%d %s: accepted on presentation %d", ver, name, i+1)
				}
			}
		}
	}
}

// Roles and permissions come only from the claims their issuer's
// configuration names: a claim of the same name elsewhere, a scope, a
// permission or a role of another kind never answers for them.
func TestRedteamRolesOnlyFromConfiguredClaims(t *testing.T) {
	e := bearertest.NewEntra(t)
	a := bearertest.NewAuth0(t)
	k := bearertest.NewKeycloak(t, "prod")
	c := bearertest.NewCognito(t, "eu-west-1", "eu-west-1_Orders")
	entra := closeOnCleanup(t)(providers.Entra(tenantContoso, []string{entraAPIClient}, providers.WithBaseURL(e.URL), providers.WithHTTPClient(e.Client())))
	auth0 := closeOnCleanup(t)(providers.Auth0(a.Domain(), []string{"orders"}, providers.WithHTTPClient(a.Client())))
	kc := closeOnCleanup(t)(providers.Keycloak(k.URL, "prod", providers.WithAudience("orders-api"), providers.WithKeycloakClient("orders-api"), providers.WithHTTPClient(k.Client())))
	cognito := closeOnCleanup(t)(providers.Cognito("eu-west-1", "eu-west-1_Orders", []string{"app"}, providers.WithBaseURL(c.URL), providers.WithHTTPClient(c.Client())))
	plainRoles := []validator.IssuerOption{validator.IssuerRoleClaims("/roles")}
	v, err := validator.New(entra.Option(), auth0.Option(), kc.Option(), cognito.Option(),
		validator.WithIssuerSecret(rtIssuer, rtSecret, plainRoles...), validator.WithAudience(audience))
	if err != nil {
		t.Fatal(err)
	}
	admin := []string{"admin"}
	cases := []struct {
		name  string
		token string
	}{
		// Each Entra token grants a scope: one granting nothing is refused
		// before its roles could be looked at (ErrNoGrant).
		{"entra: groups", e.Token(t, bearertest.EntraToken{Tenant: tenantContoso, Audience: entraAPIClient, Scp: "read:data", Extra: bearertest.Claims{"groups": admin, "wids": admin}})},
		{"entra: scp", e.Token(t, bearertest.EntraToken{Tenant: tenantContoso, Audience: entraAPIClient, Scp: "admin"})},
		{"entra: roles nested", e.Token(t, bearertest.EntraToken{Tenant: tenantContoso, Audience: entraAPIClient, Scp: "read:data", Extra: bearertest.Claims{"realm_access": map[string]any{"roles": admin}}})},
		{"auth0: roles", a.Token(t, bearertest.Auth0Token{ClientID: "c", Audience: []string{"orders"}, Extra: bearertest.Claims{"roles": admin, "https://example.com/roles": admin}})},
		{"auth0: scope", a.Token(t, bearertest.Auth0Token{ClientID: "c", Audience: []string{"orders"}, Scope: "admin"})},
		{"keycloak: top-level roles", k.Token(t, bearertest.KeycloakToken{ClientID: "c", Audience: []string{"orders-api"}, RealmRoles: []string{}, Extra: bearertest.Claims{"roles": admin}})},
		{"keycloak: another client's roles", k.Token(t, bearertest.KeycloakToken{ClientID: "c", Audience: []string{"orders-api"}, RealmRoles: []string{}, ClientRoles: map[string][]string{"account": admin, "orders-api-x": admin, "orders": admin}})},
		{"keycloak: client named like the path", k.Token(t, bearertest.KeycloakToken{ClientID: "c", Audience: []string{"orders-api"}, RealmRoles: []string{}, Extra: bearertest.Claims{"resource_access": map[string]any{"orders-api/roles": admin, "orders-api~1roles": admin}}})},
		{"keycloak: realm roles one level down", k.Token(t, bearertest.KeycloakToken{ClientID: "c", Audience: []string{"orders-api"}, RealmRoles: []string{}, Extra: bearertest.Claims{"realm_access": map[string]any{"x": map[string]any{"roles": admin}}}})},
		{"cognito: cognito:roles", c.AccessToken(t, "app", "", bearertest.Claims{"cognito:roles": admin, "roles": admin})},
		{"plain issuer: permissions", rtToken(rtClaims(`"permissions":["admin"]`))},
		{"plain issuer: roles in scope", rtToken(rtClaims(`"scope":"admin"`))},
	}
	for _, tc := range cases {
		tok, err := v.Validate(t.Context(), tc.token)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		for _, term := range []scopes.Term{scopes.Role("admin"), scopes.Permission("admin")} {
			if tok.Grants(term) {
				t.Errorf("%s: token grants %v (roles %v, permissions %v)", tc.name, term, tok.Roles.List(), tok.Permissions.List())
			}
		}
	}
	// Kinds never stand in for each other.
	cross := []struct {
		name  string
		token string
		not   []scopes.Term
	}{
		{"auth0 permission", a.Token(t, bearertest.Auth0Token{ClientID: "c", Audience: []string{"orders"}, Permissions: []string{"read:data"}}), []scopes.Term{scopes.Scope("read:data"), scopes.Role("read:data")}},
		{"entra role", e.Token(t, bearertest.EntraToken{Tenant: tenantContoso, Audience: entraAPIClient, Roles: []string{"read:data"}}), []scopes.Term{scopes.Scope("read:data"), scopes.Permission("read:data")}},
		{"plain scope", rtToken(rtClaims(`"scope":"read:data"`)), []scopes.Term{scopes.Role("read:data"), scopes.Permission("read:data")}},
	}
	for _, tc := range cross {
		toks := validateN(t, v, tc.token, 3)
		for i, tok := range toks {
			for _, term := range tc.not {
				if tok.Grants(term) {
					t.Errorf("%s (presentation %d) grants %v", tc.name, i+1, term)
				}
			}
		}
	}
}

// A claim-path term matches a string, or a string element of an array, at
// exactly its path; nothing else: not a number, boolean, object, nested
// array, a value one level up or down, or a path through an array. A token
// naming a member twice (which encoding/json would read as its last value)
// is refused whole.
func TestRedteamClaimTermTypes(t *testing.T) {
	v := rtValidator(t, nil)
	gold := scopes.Claim("/org/tier", "gold")
	for _, member := range []string{
		`"org":{"tier":{"gold":true}}`,
		`"org":{"tier":[["gold"]]}`,
		`"org":{"tier":[{"name":"gold"}]}`,
		`"org":{"tier":true}`,
		`"org":{"tier":null}`,
		`"org":{"tier":"Gold"}`,
		`"org":{"tier":"gold "}`,
		`"org":{"tier":"gol"}`,
		`"org":{"tier":"goldx"}`,
		`"org":{"tier":"gold\u0000"}`,
		`"org":{"x":{"tier":"gold"}}`,
		`"org":[{"tier":"gold"}]`,
		`"org":"gold"`,
		`"tier":"gold"`,
		`"org/tier":"gold"`,
		`"x":{"org":{"tier":"gold"}}`,
	} {
		for i, tok := range validateN(t, v, rtToken(rtClaims(member)), 3) {
			if tok.Grants(gold) {
				t.Errorf("claims {%s} satisfy %v (presentation %d)", member, gold, i+1)
			}
		}
	}
	for _, member := range []string{
		`"org":{"tier":"free","tier":"gold"}`,
		`"org":{"tier":"gold","tier":"free"}`,
		`"org":{"tier":"free","Tier":"gold"}`,
	} {
		if _, err := v.Validate(t.Context(), rtToken(rtClaims(member))); !errors.Is(err, validator.ErrMalformed) {
			t.Errorf("claims {%s}: %v, want ErrMalformed", member, err)
		}
	}
	// Numbers never match, even written as the term's value.
	for i, tok := range validateN(t, v, rtToken(rtClaims(`"level":5`, `"levels":[5]`)), 3) {
		if tok.Grants(scopes.Claim("/level", "5")) || tok.Grants(scopes.Claim("/levels", "5")) {
			t.Errorf("number satisfied a claim term (presentation %d)", i+1)
		}
	}
	// Controls: the right shapes match, before and after caching.
	for _, member := range []string{`"org":{"tier":"gold"}`, `"org":{"tier":[1,{"a":"gold"},"gold"]}`, `"org":{"t\u0069er":"gold"}`} {
		for i, tok := range validateN(t, v, rtToken(rtClaims(member)), 3) {
			if !tok.Grants(gold) {
				t.Errorf("claims {%s} do not satisfy %v (presentation %d)", member, gold, i+1)
			}
		}
	}
}

// Role names with spaces, punctuation or look-alike characters are
// compared exactly: they never collide with each other, with a scope of
// the same spelling, or across tokens through the cache's shared sets.
func TestRedteamRoleNamesWithOddCharacters(t *testing.T) {
	v := rtValidator(t, []validator.IssuerOption{validator.IssuerRoleClaims("/roles"), validator.IssuerPermissionClaims("/perms")})
	type check struct {
		term scopes.Term
		want bool
	}
	cases := []struct {
		roles, perms string
		checks       []check
	}{
		{`["a b"]`, `[]`, []check{{scopes.Role("a b"), true}, {scopes.Role("a"), false}, {scopes.Role("b"), false}, {scopes.Scope("a"), false}}},
		{`["a","b"]`, `[]`, []check{{scopes.Role("a"), true}, {scopes.Role("b"), true}, {scopes.Role("a b"), false}}},
		{`["1:a","1:b"]`, `[]`, []check{{scopes.Role("1:a"), true}, {scopes.Role("1:a1:b"), false}, {scopes.Role("a"), false}}},
		{`["1:a1:b"]`, `[]`, []check{{scopes.Role("1:a1:b"), true}, {scopes.Role("1:a"), false}}},
		{`["role:admin"]`, `["role:admin"]`, []check{{scopes.Role("admin"), false}, {scopes.Role("role:admin"), true}, {scopes.Permission("admin"), false}}},
		{`["admin"]`, `[]`, []check{{scopes.Role("admin"), true}, {scopes.Role("Admin"), false}, {scopes.Role("admin "), false}, {scopes.Role("аdmin"), false}, {scopes.Permission("admin"), false}}},
		{`["аdmin"]`, `[]`, []check{{scopes.Role("admin"), false}, {scopes.Role("аdmin"), true}}}, // Cyrillic а
		{`["a\"b"]`, `[]`, []check{{scopes.Role(`a"b`), true}, {scopes.Role("a"), false}}},
		{`["x","y"]`, `["x y"]`, []check{{scopes.Role("x y"), false}, {scopes.Permission("x y"), true}, {scopes.Permission("x"), false}}},
		{`["x y"]`, `["x","y"]`, []check{{scopes.Role("x y"), true}, {scopes.Role("x"), false}, {scopes.Permission("x y"), false}, {scopes.Permission("y"), true}}},
	}
	tokens := make([]string, len(cases))
	for i, tc := range cases {
		tokens[i] = rtToken(rtClaims(`"roles":`+tc.roles, `"perms":`+tc.perms, fmt.Sprintf(`"n":%d`, i)))
	}
	// Round robin, so that every token is cached and hit between the
	// others' hits.
	for round := range 4 {
		for i, tc := range cases {
			tok, err := v.Validate(t.Context(), tokens[i])
			if err != nil {
				t.Fatalf("case %d round %d: %v", i, round, err)
			}
			for _, c := range tc.checks {
				if got := tok.Grants(c.term); got != c.want {
					t.Errorf("roles %s perms %s, round %d: Grants(%v) = %v, want %v (roles %q)", tc.roles, tc.perms, round, c.term, got, c.want, tok.Roles.List())
				}
			}
		}
	}
	if v.CachedTokens() < len(cases) {
		t.Errorf("%d tokens cached, want %d: the rounds after the second were not hits", v.CachedTokens(), len(cases))
	}
	// Names a role may not have make the token malformed, not rolled.
	for _, bad := range []string{`["a\u0000b"]`, `["a\nb"]`, `[""]`, `["\u0085"]`, `[1]`, `[["a"]]`, `[{"a":1}]`, `{"a":1}`, `true`} {
		if _, err := v.Validate(t.Context(), rtToken(rtClaims(`"roles":`+bad))); !errors.Is(err, validator.ErrMalformed) {
			t.Errorf("roles %s: %v, want ErrMalformed", bad, err)
		}
	}
}

// A cache hit answers for its own token only: requirements are checked
// against each presentation's token, claim checks run on every hit, and
// the roles and claims of one cached token never answer for another's.
func TestRedteamCacheHitsKeepRequirements(t *testing.T) {
	var checks atomic.Int64
	v := rtValidator(t, []validator.IssuerOption{validator.IssuerRoleClaims("/roles")},
		validator.WithClaimCheck(func(_ context.Context, tok *validator.Token) error {
			checks.Add(1)
			if tok.Subject == "banned" {
				return errors.New("banned")
			}
			return nil
		}))
	guard, err := httpbearer.New(v, httpbearer.WithRealm("api"))
	if err != nil {
		t.Fatal(err)
	}
	need := scopes.AllOf(scopes.Role("Data.Write")).And(scopes.AllOf(scopes.Claim("/tier", "gold")))
	srv := httptest.NewServer(guard.Require(need, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := validator.FromContext(r.Context())
		_, _ = io.WriteString(w, tok.Subject)
	})))
	t.Cleanup(srv.Close)
	writer := rtToken(rtClaims(`"roles":["Data.Write"]`, `"tier":"gold"`, `"jti":"w"`))
	reader := rtToken(rtClaims(`"roles":["Data.Read"]`, `"tier":"gold"`, `"jti":"r"`))
	silver := rtToken(rtClaims(`"roles":["Data.Write"]`, `"tier":"silver"`, `"jti":"s"`))
	banned := rtToken(strings.Replace(rtClaims(`"roles":["Data.Write"]`, `"tier":"gold"`), `"sub":"rt"`, `"sub":"banned"`, 1))
	get := func(tok string) int {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 403 && strings.Contains(resp.Header.Get("WWW-Authenticate"), "scope=") {
			t.Errorf("403 names a scope for a role and claim requirement: %q", resp.Header.Get("WWW-Authenticate"))
		}
		return resp.StatusCode
	}
	before := checks.Load()
	for round := range 5 {
		for _, tc := range []struct {
			tok  string
			want int
		}{{writer, 200}, {reader, 403}, {silver, 403}, {banned, 401}} {
			if got := get(tc.tok); got != tc.want {
				t.Errorf("round %d: %d, want %d", round, got, tc.want)
			}
		}
	}
	if v.CachedTokens() < 3 {
		t.Errorf("%d cached tokens: the later rounds were not cache hits", v.CachedTokens())
	}
	if n := checks.Load() - before; n != 20 {
		t.Errorf("claim check ran %d times for 20 presentations", n)
	}
}

// Before the signature holds, nothing but "iss" is decoded: a forged token
// carrying every policy violation is refused for its signature, never for
// a claim, so no check can be probed without the issuer's key.
func TestRedteamNothingDecodedBeforeSignature(t *testing.T) {
	c := bearertest.NewCognito(t, "eu-west-1", "eu-west-1_Orders")
	e := bearertest.NewEntra(t)
	cognito := closeOnCleanup(t)(providers.Cognito("eu-west-1", "eu-west-1_Orders", []string{"app"}, providers.WithBaseURL(c.URL), providers.WithHTTPClient(c.Client())))
	entra := closeOnCleanup(t)(providers.EntraMultiTenant([]string{tenantContoso}, []string{entraAPIClient}, providers.WithBaseURL(e.URL), providers.WithHTTPClient(e.Client())))
	v, err := validator.New(cognito.Option(), entra.Option(),
		validator.WithIssuerSecret(rtIssuer, rtSecret, validator.IssuerRoleClaims("/roles"), validator.IssuerClaimValues("azp", "good")), validator.WithAudience(audience))
	if err != nil {
		t.Fatal(err)
	}
	corrupt := func(tok string) string {
		i := strings.LastIndexByte(tok, '.')
		sig := []byte(tok[i+1:])
		if sig[3] == 'A' {
			sig[3] = 'B'
		} else {
			sig[3] = 'A'
		}
		return tok[:i+1] + string(sig)
	}
	exp := time.Now().Add(-time.Hour).Unix()
	for name, tok := range map[string]string{
		"cognito ID token, client not allowed, expired":         c.IDToken(t, "evil", bearertest.Claims{"exp": exp, "cognito:groups": map[string]any{"x": 1}}),
		"entra: tid of another tenant, no aud, roles malformed": e.Token(t, bearertest.EntraToken{Tenant: tenantContoso, Extra: bearertest.Claims{"tid": tenantAttacker, "aud": nil, "roles": 7, "exp": exp}}),
		"hmac: everything wrong":                                rtToken(fmt.Sprintf(`{"iss":%q,"aud":7,"exp":"never","nbf":[],"roles":{"a":1},"azp":"evil","scope":"\u0001","cnf":{"jwk":{}},"org":{"a":"\u0001"}}`, rtIssuer)),
	} {
		if _, err := v.Validate(t.Context(), corrupt(tok)); !errors.Is(err, validator.ErrSignature) {
			t.Errorf("%s, signature corrupted: %v, want ErrSignature and nothing about the claims", name, err)
		}
	}
}

// The 403 names scopes only (RFC 6750 §3: scope= is a scope value): role,
// permission and claim terms never reach the challenge, however they are
// spelled, and a scope alternative in the same clause does.
func TestRedteamForbiddenChallengeNamesScopesOnly(t *testing.T) {
	evil := `x", error="invalid_token", scope="admin`
	routes := map[string]scopes.Requirement{
		"/roles":  scopes.AllOf(scopes.Role(evil)),
		"/mixed":  scopes.AnyOf(scopes.Role(evil), scopes.Permission("p q"), scopes.Claim("/a~1b", evil), scopes.Scope("read:data")),
		"/claims": scopes.AllOf(scopes.Claim("/tier", "gold, scope=\"admin\"")),
		"/both":   scopes.AllOf(scopes.Role("r")).And(scopes.All("write:data")),
	}
	tok := rtToken(rtClaims(`"scope":"other"`, `"roles":["r"]`))
	runProviderCases(t, []validator.Option{validator.WithIssuerSecret(rtIssuer, rtSecret, validator.IssuerRoleClaims("/roles"), validator.IssuerPermissionClaims("/permissions")), validator.WithAudience(audience)}, routes, []providerCase{
		{"role only", "/roles", tok, 403, challengeForbidden},
		{"mixed", "/mixed", tok, 403, challengeForbidden + `, scope="read:data"`},
		{"claim only", "/claims", tok, 403, challengeForbidden},
		{"role held, scope missing", "/both", tok, 403, challengeForbidden + `, scope="write:data"`},
		{"role held, scope missing (again, cached)", "/both", tok, 403, challengeForbidden + `, scope="write:data"`},
		{"role held, scope missing (hit)", "/both", tok, 403, challengeForbidden + `, scope="write:data"`},
	})
}

// fakeIntrospection is an RFC 7662 endpoint that counts requests, the
// most in flight at once, and answers with answer(token).
type fakeIntrospection struct {
	srv                *httptest.Server
	requests, inFlight atomic.Int64
	mu                 sync.Mutex
	maxInFlight        int64
	answer             func(token string) (status int, body string)
	delay              time.Duration
}

func newFakeIntrospection(t *testing.T, answer func(token string) (int, string)) *fakeIntrospection {
	f := &fakeIntrospection{answer: answer}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		n := f.inFlight.Add(1)
		defer f.inFlight.Add(-1)
		f.mu.Lock()
		f.maxInFlight = max(f.maxInFlight, n)
		f.mu.Unlock()
		if id, secret, ok := r.BasicAuth(); !ok || id != "api" || secret != "api-secret-value" {
			w.WriteHeader(401)
			return
		}
		time.Sleep(f.delay)
		status, body := f.answer(r.PostFormValue("token"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIntrospection) client(t *testing.T, opts ...introspect.Option) *introspect.Client {
	t.Helper()
	ic, err := introspect.New(f.srv.URL+"/introspect", introspect.ClientSecretBasic("api", "api-secret-value"), append([]introspect.Option{introspect.WithHTTPClient(f.srv.Client())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ic.Close() })
	return ic
}

// Introspection-only mode: every garbage token costs at most one outgoing
// request within the inactive TTL, requests in flight are bounded, tokens
// too large or empty cost none, answers naming an issuer are refused when
// none is trusted, an answer without "aud" is refused unless opted in, and
// no token, secret or answer reaches the logs or the errors.
func TestRedteamIntrospectionOnly(t *testing.T) {
	const good = "good-opaque-token-0001"
	exp := time.Now().Add(time.Hour).Unix()
	f := newFakeIntrospection(t, func(tok string) (int, string) {
		switch {
		case tok == good:
			return 200, fmt.Sprintf(`{"active":true,"scope":"read:data","client_id":"c","exp":%d,"aud":%q}`, exp, audience)
		case tok == "no-aud-token":
			return 200, fmt.Sprintf(`{"active":true,"scope":"read:data","client_id":"c","exp":%d}`, exp)
		case tok == "with-iss-token":
			return 200, fmt.Sprintf(`{"active":true,"iss":"https://other.example","exp":%d,"aud":%q}`, exp, audience)
		case tok == "server-error-token":
			return 500, `{"error":"server_error","token":"` + tok + `"}`
		}
		return 200, `{"active":false}`
	})
	f.delay = 20 * time.Millisecond
	logger, logs := captureLogs()
	ic := f.client(t, introspect.WithMaxConcurrentRequests(3), introspect.WithLogger(logger))
	v, err := validator.New(validator.WithIntrospection("", ic), validator.WithAudience(audience), validator.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := v.Validate(ctx, good); err != nil {
		t.Fatal(err)
	}
	base := f.requests.Load()
	// No call for what is refused by size alone.
	for _, tok := range []string{"", strings.Repeat("A", validator.DefaultMaxTokenSize+1)} {
		if _, err := v.Validate(ctx, tok); err == nil {
			t.Errorf("token of %d bytes accepted", len(tok))
		}
	}
	if n := f.requests.Load() - base; n != 0 {
		t.Errorf("empty and oversized tokens cost %d requests", n)
	}
	// A flood of distinct garbage tokens, JWT-shaped or not: one request
	// each at most, never more than the bound in flight.
	const flood = 40
	var wg sync.WaitGroup
	garbage := make([]string, flood)
	for i := range flood {
		garbage[i] = fmt.Sprintf("garbage-%03d", i)
		if i%2 == 0 {
			garbage[i] = rtToken(fmt.Sprintf(`{"iss":"https://evil.example","n":%d}`, i))
		}
	}
	for _, tok := range garbage {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = v.Validate(ctx, tok)
		}()
	}
	wg.Wait()
	if n := f.requests.Load() - base; n > flood {
		t.Errorf("%d garbage tokens cost %d requests", flood, n)
	}
	f.mu.Lock()
	most := f.maxInFlight
	f.mu.Unlock()
	if most > 3 {
		t.Errorf("%d introspection requests in flight at once, bound 3", most)
	}
	// The same garbage again, within the inactive TTL: no request.
	base = f.requests.Load()
	for _, tok := range garbage {
		if _, err := v.Validate(ctx, tok); !errors.Is(err, validator.ErrInactive) {
			t.Errorf("garbage: %v, want ErrInactive", err)
		}
	}
	if n := f.requests.Load() - base; n != 0 {
		t.Errorf("garbage seen before cost %d more requests", n)
	}
	// Answers the configuration must refuse.
	if _, err := v.Validate(ctx, "with-iss-token"); !errors.Is(err, validator.ErrIssuer) {
		t.Errorf("answer naming an issuer, none trusted: %v, want ErrIssuer", err)
	}
	if _, err := v.Validate(ctx, "no-aud-token"); !errors.Is(err, validator.ErrAudience) {
		t.Errorf("answer without aud: %v, want ErrAudience", err)
	}
	_, err = v.Validate(ctx, "server-error-token")
	if !errors.Is(err, validator.ErrUnavailable) {
		t.Errorf("server error: %v, want ErrUnavailable", err)
	}
	// Nothing secret in logs or errors.
	all := logs.String()
	if err != nil {
		all += err.Error()
	}
	for _, secret := range append([]string{good, "no-aud-token", "with-iss-token", "server-error-token", "api-secret-value", "garbage-001"}, garbage[0]) {
		if strings.Contains(all, secret) {
			t.Errorf("logs or errors carry %q:\n%s", secret, all)
		}
	}
}

// A query token in introspection-only mode is the same token as in the
// header: one introspection answer serves both (the cache is keyed by the
// token, not the way it came), the answer is private, and neither the
// token nor the query reaches the logs.
func TestRedteamIntrospectionOnlyQueryToken(t *testing.T) {
	const tok = "query-opaque-token-0002"
	f := newFakeIntrospection(t, func(token string) (int, string) {
		if token == tok {
			return 200, fmt.Sprintf(`{"active":true,"scope":"read:data","client_id":"c","token_type":"Bearer","exp":%d}`, time.Now().Add(time.Hour).Unix())
		}
		return 200, `{"active":false}`
	})
	logger, logs := captureLogs()
	ic := f.client(t, introspect.WithLogger(logger))
	v, err := validator.New(validator.WithIntrospection("https://node-as.example", ic), validator.WithAudience(audience),
		validator.WithIntrospectionAudienceOptional(), validator.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	for _, query := range []bool{false, true} {
		var opts []httpbearer.Option
		if query {
			opts = append(opts, httpbearer.WithQueryToken())
		}
		guard, err := httpbearer.New(v, append(opts, httpbearer.WithRealm("api"))...)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(guard.Require(scopes.All("read:data"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, _ := validator.FromContext(r.Context())
			_, _ = io.WriteString(w, got.Issuer)
		})))
		do := func(header, q string) (*http.Response, string) {
			u := srv.URL + "/data"
			if q != "" {
				u += "?access_token=" + q
			}
			req, _ := http.NewRequestWithContext(t.Context(), "GET", u, nil)
			if header != "" {
				req.Header.Set("Authorization", "Bearer "+header)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp, string(body)
		}
		base := f.requests.Load()
		resp, body := do("", tok)
		switch {
		case !query && resp.StatusCode != 400:
			t.Errorf("query token without WithQueryToken: %d, want 400", resp.StatusCode)
		case query && (resp.StatusCode != 200 || body != "https://node-as.example"):
			t.Errorf("query token: %d %q", resp.StatusCode, body)
		case query && resp.Header.Get("Cache-Control") != "private":
			t.Errorf("query token answer: Cache-Control %q, want private", resp.Header.Get("Cache-Control"))
		}
		if !query && f.requests.Load() != base {
			t.Errorf("a refused query token cost an introspection request")
		}
		if resp, _ := do(tok, tok); resp.StatusCode != 400 {
			t.Errorf("token in header and query: %d, want 400", resp.StatusCode)
		}
		if resp, _ := do(tok, "another-token-0003"); resp.StatusCode != 400 {
			t.Errorf("different tokens in header and query: %d, want 400", resp.StatusCode)
		}
		if resp, _ := do(tok, ""); resp.StatusCode != 200 {
			t.Errorf("header token: %d", resp.StatusCode)
		}
		srv.Close()
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("one token sent by query and by header cost %d introspection requests, want 1", n)
	}
	if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), "access_token") {
		t.Errorf("logs carry the query token:\n%s", logs.String())
	}
}

// Presets and tenant lists configure many issuers, and a route many
// terms: the work per token stays flat in the number of issuers (the
// token's "iss" is looked up, not searched for), and a roles array as
// large as a token may hold is read in linear time.
func TestRedteamManyTenantsAndLargeRoleArrays(t *testing.T) {
	keys := bearertest.NewIssuer(t)
	tenants := make([]string, 5000)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("tenant-%05d", i)
	}
	tmpl := keys.URL + "/" + validator.TenantPlaceholder + "/v2.0"
	set := keys.KeySet(t)
	few, err := validator.New(validator.WithTenantIssuers(tmpl, tenants[:2], set, validator.IssuerAudience("api"), validator.IssuerRoleClaims("/roles")))
	if err != nil {
		t.Fatal(err)
	}
	many, err := validator.New(validator.WithTenantIssuers(tmpl, tenants, set, validator.IssuerAudience("api"), validator.IssuerRoleClaims("/roles")))
	if err != nil {
		t.Fatal(err)
	}
	// Tenant 1's token is good in both; a tenant that only the large list
	// has is refused by the small one.
	tok := keys.Mint(t, bearertest.Claims{"iss": strings.Replace(tmpl, validator.TenantPlaceholder, tenants[1], 1), "tid": tenants[1], "aud": "api", "roles": []string{"r"}})
	last := keys.Mint(t, bearertest.Claims{"iss": strings.Replace(tmpl, validator.TenantPlaceholder, tenants[4999], 1), "tid": tenants[4999], "aud": "api"})
	for _, v := range []*validator.Validator{few, many} {
		if _, err := v.Validate(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := few.Validate(t.Context(), last); !errors.Is(err, validator.ErrIssuer) {
		t.Errorf("tenant outside the list: %v", err)
	}
	if _, err := many.Validate(t.Context(), last); err != nil {
		t.Errorf("last tenant of the list: %v", err)
	}
	// Uncached validation cost: many tenants must not cost much more.
	fewU, _ := validator.New(validator.WithoutTokenCache(), validator.WithTenantIssuers(tmpl, tenants[:2], set, validator.IssuerAudience("api")))
	manyU, _ := validator.New(validator.WithoutTokenCache(), validator.WithTenantIssuers(tmpl, tenants, set, validator.IssuerAudience("api")))
	cost := func(v *validator.Validator) time.Duration {
		best := time.Duration(1 << 62)
		for range 5 {
			start := time.Now()
			for range 50 {
				_, _ = v.Validate(t.Context(), tok)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	if f, m := cost(fewU), cost(manyU); m > 5*f+20*time.Millisecond {
		t.Errorf("2 tenants: %v per 50; 5000 tenants: %v per 50", f, m)
	}
	// A large roles array: linear (quadratic would be 100x for 10x).
	big := validator.WithMaxTokenSize(4 << 20)
	v := rtValidator(t, []validator.IssuerOption{validator.IssuerRoleClaims("/roles")}, big, validator.WithoutTokenCache())
	rolesOf := func(n int) string {
		var b strings.Builder
		b.WriteString(`"roles":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"role-%d"`, i)
		}
		b.WriteString("]")
		return rtToken(rtClaims(b.String()))
	}
	small, large := rolesOf(8000), rolesOf(80000)
	timeOf := func(tok string) time.Duration {
		best := time.Duration(1 << 62)
		for range 3 {
			start := time.Now()
			got, err := v.Validate(t.Context(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Grants(scopes.Role("role-7999")) {
				t.Fatal("last role of the small array not granted")
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	if s, l := timeOf(small), timeOf(large); l > 30*s+50*time.Millisecond {
		t.Errorf("8000 roles: %v; 80000 roles: %v (super-linear)", s, l)
	}
	// Claim paths deeper than the limit are refused when configured, not
	// walked per request.
	if _, err := validator.New(validator.WithIssuerSecret(rtIssuer, rtSecret, validator.IssuerRoleClaims("/a/b/c/d/e/f/g/h/i")), validator.WithAudience(audience)); err == nil {
		t.Error("a 9-segment role claim path was accepted")
	}
}

// jwtPayloadAnswer is an introspection endpoint's answer for a JWT, the
// way Keycloak answers: the token's own claims, and "active": true.
func jwtPayloadAnswer() func(tok string) (int, string) {
	return func(tok string) (int, string) {
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			return 200, `{"active":false}`
		}
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			return 200, `{"active":false}`
		}
		return 200, `{"active":true,` + strings.TrimPrefix(string(payload), "{")
	}
}

// A preset's per-issuer checks hold however its tokens are checked: an
// introspection answer naming the preset's issuer (WithIntrospectJWTs, for
// revocation) gets the same azp allow-list and token-type checks as a JWT
// verified locally.
func TestRedteamIntrospectedAnswerKeepsIssuerChecks(t *testing.T) {
	k := bearertest.NewKeycloak(t, "prod")
	preset := closeOnCleanup(t)(providers.Keycloak(k.URL, "prod", providers.WithAuthorizedParties("orders-client"),
		providers.WithAudience("orders-api"), providers.WithHTTPClient(k.Client())))
	f := newFakeIntrospection(t, jwtPayloadAnswer())
	for _, introspectJWTs := range []bool{false, true} {
		opts := []validator.Option{preset.Option(), validator.WithAudience("orders-api")}
		if introspectJWTs {
			opts = append(opts, validator.WithIntrospection(k.IssuerURL(), f.client(t)), validator.WithIntrospectJWTs())
		}
		v, err := validator.New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		mint := func(azp string, extra bearertest.Claims) string {
			return k.Token(t, bearertest.KeycloakToken{ClientID: azp, Audience: []string{"orders-api"}, Scope: "read:data", Extra: extra})
		}
		if tok, err := v.Validate(t.Context(), mint("orders-client", nil)); err != nil {
			t.Fatalf("introspect=%v: allowed client: %v", introspectJWTs, err)
		} else if introspectJWTs != (tok.Source == validator.SourceIntrospection) {
			t.Fatalf("introspect=%v: source %v", introspectJWTs, tok.Source)
		}
		if _, err := v.Validate(t.Context(), mint("rogue-client", nil)); !errors.Is(err, validator.ErrClaimValue) {
			t.Errorf("introspect=%v: azp not allowed: %v, want ErrClaimValue", introspectJWTs, err)
		}
		if _, err := v.Validate(t.Context(), mint("orders-client", bearertest.Claims{"typ": "ID"})); !errors.Is(err, validator.ErrType) {
			t.Errorf("introspect=%v: ID token: %v, want ErrType", introspectJWTs, err)
		}
	}
}

// Two configurations of one issuer never merge: a second preset (or a
// plain WithIssuer) for an issuer a preset trusts is a configuration
// error, not a second, looser policy the token may pick.
func TestRedteamIssuerConfiguredTwiceIsAnError(t *testing.T) {
	e := bearertest.NewEntra(t)
	strict := closeOnCleanup(t)(providers.Entra(tenantContoso, []string{entraAPIClient}, providers.WithBaseURL(e.URL), providers.WithHTTPClient(e.Client())))
	loose := closeOnCleanup(t)(providers.EntraMultiTenant([]string{tenantContoso, tenantFabrikam}, []string{"api://anything"}, providers.WithBaseURL(e.URL), providers.WithHTTPClient(e.Client())))
	if _, err := validator.New(strict.Option(), loose.Option()); err == nil {
		t.Error("two Entra presets trusting the same tenant's issuer were accepted together")
	}
	if _, err := validator.New(strict.Option(), validator.WithIssuer(e.IssuerURL(2, tenantContoso), strict.KeySets()[0]), validator.WithAudience(audience)); err == nil {
		t.Error("a preset's issuer configured again with WithIssuer was accepted")
	}
}

// More distinct role sets than the cache shares (past its table, each
// entry keeps a set of its own): every hit still answers with its own
// token's roles, never a neighbour's.
func TestRedteamCacheRoleSetsNeverCross(t *testing.T) {
	v := rtValidator(t, []validator.IssuerOption{validator.IssuerRoleClaims("/roles")})
	const n = 300
	tokens := make([]string, n)
	for i := range n {
		tokens[i] = rtToken(rtClaims(fmt.Sprintf(`"roles":["r%d","shared"]`, i), fmt.Sprintf(`"tier":"t%d"`, i)))
	}
	for round := range 3 {
		for i, raw := range tokens {
			tok, err := v.Validate(t.Context(), raw)
			if err != nil {
				t.Fatal(err)
			}
			own, next := fmt.Sprintf("r%d", i), fmt.Sprintf("r%d", (i+1)%n)
			if !tok.Grants(scopes.Role(own)) || tok.Grants(scopes.Role(next)) || tok.Roles.Len() != 2 ||
				!tok.Grants(scopes.Claim("/tier", fmt.Sprintf("t%d", i))) || tok.Grants(scopes.Claim("/tier", fmt.Sprintf("t%d", (i+1)%n))) {
				t.Fatalf("round %d token %d: roles %v", round, i, tok.Roles.List())
			}
			// A handler replacing its token's sets changes nothing for
			// the next presentation.
			tok.Roles, tok.Scopes = scopes.Set{}, scopes.MustParse("admin")
			tok.Audience = append(tok.Audience, "https://evil.example")
		}
	}
	// Two tokens whose tags share a doorkeeper slot may, presented in
	// turn, never be admitted: a few missing entries are expected.
	if v.CachedTokens() < n-20 {
		t.Errorf("%d tokens cached, want about %d: the later rounds were not hits", v.CachedTokens(), n)
	}
}

// Refusals of preset tokens are logged at Debug without the token or any
// of its segments.
func TestRedteamPresetRefusalsLogNoTokenMaterial(t *testing.T) {
	c := bearertest.NewCognito(t, "eu-west-1", "eu-west-1_Orders")
	k := bearertest.NewKeycloak(t, "prod")
	cognito := closeOnCleanup(t)(providers.Cognito("eu-west-1", "eu-west-1_Orders", []string{"app"}, providers.WithBaseURL(c.URL), providers.WithHTTPClient(c.Client())))
	kc := closeOnCleanup(t)(providers.Keycloak(k.URL, "prod", providers.WithAudience("orders-api"), providers.WithAuthorizedParties("orders-client"), providers.WithHTTPClient(k.Client())))
	logger, logs := captureLogs()
	v, err := validator.New(cognito.Option(), kc.Option(), validator.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	refused := []string{
		c.IDToken(t, "app", nil),
		c.AccessToken(t, "other-app", "x", nil),
		k.Token(t, bearertest.KeycloakToken{ClientID: "rogue", Audience: []string{"orders-api"}}),
		k.Token(t, bearertest.KeycloakToken{ClientID: "orders-client", Audience: []string{"orders-api"}, Extra: bearertest.Claims{"typ": "ID"}}),
		k.Token(t, bearertest.KeycloakToken{ClientID: "orders-client", Audience: []string{"orders-api"}, Extra: bearertest.Claims{"realm_access": map[string]any{"roles": []any{1}}}}),
	}
	for _, tok := range refused {
		if _, err := v.Validate(t.Context(), tok); err == nil {
			t.Fatal("a token meant to be refused was accepted")
		} else {
			logs.add(err.Error())
		}
	}
	out := logs.String()
	if !strings.Contains(out, "token rejected") {
		t.Fatalf("no refusal logged: %s", out)
	}
	for _, tok := range refused {
		for _, seg := range strings.Split(tok, ".") {
			if len(seg) > 8 && strings.Contains(out, seg) {
				t.Errorf("logs or errors carry a token segment %.20s…", seg)
			}
		}
	}
	for _, s := range []string{"rogue", "other-app", "orders-client"} {
		if strings.Contains(out, s) {
			t.Errorf("logs or errors carry the claim value %q:\n%s", s, out)
		}
	}
}

// Entra ID signs ID tokens with the keys that sign access tokens, with
// the same issuer and "tid", "aud" the client id of the app signing in,
// and "roles" for the user's app roles. Where one app registration is both
// the web app and the API (its audience given as the client id, as v2
// access tokens carry it), an ID token must still not pass as an access
// token: access tokens name their caller ("azp" in v2, "appid" in v1), ID
// tokens never do.
func TestRedteamEntraIDTokenIsNotAnAccessToken(t *testing.T) {
	e := bearertest.NewEntra(t)
	preset := closeOnCleanup(t)(providers.Entra(tenantContoso, []string{entraAPIClient, "api://orders"}, providers.WithEntraVersions(1, 2),
		providers.WithBaseURL(e.URL), providers.WithEntraV1IssuerURL(e.STSURL()), providers.WithHTTPClient(e.Client())))
	v, err := validator.New(preset.Option())
	if err != nil {
		t.Fatal(err)
	}
	admin := scopes.AllOf(scopes.Role("Orders.Admin"))
	for _, ver := range []int{1, 2} {
		access := e.Token(t, bearertest.EntraToken{Version: ver, Tenant: tenantContoso, Audience: entraAPIClient, AppID: entraAPIClient, Roles: []string{"Orders.Admin"}})
		if tok, err := v.Validate(t.Context(), access); err != nil || !admin.SatisfiedBy(tok) {
			t.Fatalf("v%d access token: %v", ver, err)
		}
		// The ID token of a user with the Orders.Admin app role, as the
		// app's sign-in returns it.
		id := e.Token(t, bearertest.EntraToken{Version: ver, Tenant: tenantContoso, Audience: entraAPIClient, Roles: []string{"Orders.Admin"},
			Extra: bearertest.Claims{"azp": nil, "azpacr": nil, "appid": nil, "appidacr": nil, "idp": nil,
				"nonce": "c8f2e7c4-3b1a", "name": "Alice", "preferred_username": "alice@contoso.com", "sid": "00ab-sid"}})
		for i := range 3 {
			tok, err := v.Validate(t.Context(), id)
			if err == nil {
				t.Errorf("v%d ID token accepted as an access token (presentation %d), admin route satisfied: %v", ver, i+1, admin.SatisfiedBy(tok))
			} else if !errors.Is(err, validator.ErrType) {
				t.Errorf("v%d ID token: %v, want ErrType", ver, err)
			}
		}
	}
}

// An allow-list given empty must be refused at construction, never read as
// "no allow-list": providers.WithClientIDs() (Okta "cid") and
// providers.WithAuthorizedParties() (Keycloak "azp") with no values, as a
// program passes them when the list it loaded from its configuration is
// empty (WithClientIDs(cfg.Clients...)), or a providers.Config whose list
// is an empty, non-nil slice (decoded from JSON "client_ids": []). Today
// the option records nothing (append of nothing to nil is nil), the
// preset's "if c.clientIDs != nil" never sees it, and a token issued to any
// client is accepted.
func TestRedteamEmptyAllowListsAreRefused(t *testing.T) {
	o := bearertest.NewOkta(t)
	k := bearertest.NewKeycloak(t, "prod")
	rogueOkta := o.Token(t, bearertest.OktaToken{AuthServerID: "default", ClientID: "0oa9rogue", Audience: "api://default", Scopes: []string{"orders.read"}})
	rogueKC := k.Token(t, bearertest.KeycloakToken{ClientID: "rogue-client", Audience: []string{"orders-api"}, Scope: "orders.read"})

	check := func(t *testing.T, p *providers.Preset, err error, token string) {
		t.Helper()
		if err != nil {
			return // refused at construction: what we want
		}
		t.Cleanup(func() { _ = p.Close() })
		v, verr := validator.New(p.Option())
		if verr != nil {
			return
		}
		if tok, verr := v.Validate(t.Context(), token); verr == nil {
			t.Errorf("empty allow-list accepted at construction, and a token of client %q passed: want a configuration error", tok.ClientID)
		}
	}
	t.Run("okta WithClientIDs()", func(t *testing.T) {
		var allowed []string // e.g. read from a file, found empty
		p, err := providers.Okta(o.URL, "default", []string{"api://default"},
			providers.WithClientIDs(allowed...), providers.WithHTTPClient(o.Client()))
		check(t, p, err, rogueOkta)
	})
	t.Run("okta Config.ClientIDs empty", func(t *testing.T) {
		p, err := providers.New(providers.Config{Name: "okta", URL: o.URL, AuthServerID: "default",
			Audiences: []string{"api://default"}, ClientIDs: []string{}}, providers.WithHTTPClient(o.Client()))
		check(t, p, err, rogueOkta)
	})
	t.Run("keycloak WithAuthorizedParties()", func(t *testing.T) {
		p, err := providers.Keycloak(k.URL, "prod", providers.WithAudience("orders-api"),
			providers.WithAuthorizedParties(), providers.WithHTTPClient(k.Client()))
		check(t, p, err, rogueKC)
	})
	t.Run("keycloak Config.AuthorizedParties empty", func(t *testing.T) {
		p, err := providers.New(providers.Config{Name: "keycloak", URL: k.URL, Realm: "prod",
			Audiences: []string{"orders-api"}, AuthorizedParties: []string{}}, providers.WithHTTPClient(k.Client()))
		check(t, p, err, rogueKC)
	})
	// Keycloak's own audience given empty: Config.OwnAudience says the
	// preset checks an audience of its own, the preset checks none, and a
	// program that follows OwnAudience (no validator-wide audience, so
	// WithoutAudienceCheck for its other issuers) accepts a Keycloak token
	// for any API.
	t.Run("keycloak Config.Audiences empty", func(t *testing.T) {
		cfg := providers.Config{Name: "keycloak", URL: k.URL, Realm: "prod", Audiences: []string{}}
		p, err := providers.New(cfg, providers.WithHTTPClient(k.Client()))
		if err != nil {
			return
		}
		t.Cleanup(func() { _ = p.Close() })
		if !cfg.OwnAudience() {
			return
		}
		v, err := validator.New(p.Option(), validator.WithoutAudienceCheck())
		if err != nil {
			t.Fatal(err)
		}
		other := k.Token(t, bearertest.KeycloakToken{ClientID: "c", Audience: []string{"payments-api"}})
		if _, err := v.Validate(t.Context(), other); !errors.Is(err, validator.ErrAudience) {
			t.Errorf("OwnAudience() = true but a token for payments-api gave %v, want ErrAudience (or refuse the empty list)", err)
		}
	})
}

// validator.WithScopeClaim is validator-wide, and its documentation
// suggests it for one provider's claim ("permissions" for Auth0, "roles").
// Added for a plain issuer that writes its scopes in "roles", it also
// turned every Entra ID app role ("roles", which the Entra preset reads as
// roles only) into a scope of the same name: an Entra token with the app
// role Data.Read met scopes.All("Data.Read"), a requirement meant for the
// plain issuer's scope. A claim an issuer reads as roles or permissions is
// no longer a scope for its tokens (second provider review).
func TestRedteamScopeClaimOfOneIssuerLeaksIntoPresets(t *testing.T) {
	const tenant, api, caller = "72f988bf-86f1-41af-91ab-2d7cd011db47", "6e74172b-be56-4843-9ff4-e66a39bb12e3", "2d4d11a2-f814-46a7-890a-274a72a7309e"
	e := bearertest.NewEntra(t)
	plain := bearertest.NewIssuer(t)
	entra, err := providers.Entra(tenant, []string{api}, providers.WithBaseURL(e.URL), providers.WithHTTPClient(e.Client()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = entra.Close() })
	v, err := validator.New(entra.Option(),
		validator.WithIssuer(plain.URL, plain.KeySet(t)), validator.WithAudience("orders"),
		validator.WithScopeClaim("roles")) // for the plain issuer
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := v.Validate(t.Context(), plain.Mint(t, bearertest.Claims{"aud": "orders", "roles": []string{"Data.Read"}})); err != nil || !tok.Scopes.Has("Data.Read") {
		t.Fatalf("plain issuer: %v", err)
	}
	tok, err := v.Validate(t.Context(), e.Token(t, bearertest.EntraToken{Tenant: tenant, Audience: api, AppID: caller, Roles: []string{"Data.Read"}}))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Scopes.Has("Data.Read") {
		t.Errorf("an Entra app role became a scope through a validator-wide WithScopeClaim: Scopes=%v Roles=%v", tok.Scopes.List(), tok.Roles.List())
	}
}
