package validator_test

import (
	"crypto"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

const (
	poolIssuer   = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_pool"
	tenantA      = "11111111-1111-1111-1111-111111111111"
	tenantB      = "22222222-2222-2222-2222-222222222222"
	tenantOther  = "33333333-3333-3333-3333-333333333333"
	entraV2      = "https://login.microsoftonline.com/{tenantid}/v2.0"
	keycloakIss  = "https://sso.example.com/realms/prod"
	keycloakRole = "/resource_access/orders-api/roles"
)

// policyValidator trusts four issuers, each with keys of its own: the
// plain test issuer (global audience "orders"), a Cognito-like pool
// (client_id allow-list, token_use=access), two Entra tenants through a
// template, and a Keycloak realm (azp allow-list, roles).
func policyValidator(t testing.TB, opts ...validator.Option) *validator.Validator {
	t.Helper()
	loadKeys(t)
	base := []validator.Option{
		validator.WithIssuer(testIssuer, validator.NewKeys(mustKey(t, "rsa-1", &rsaKey.PublicKey, validator.RS256))),
		validator.WithIssuer(poolIssuer, validator.NewKeys(mustKey(t, "pool", &rsaKey2.PublicKey, validator.RS256)),
			validator.IssuerClientIDs("app-1", "app-2"), validator.IssuerAccessTokenClaim("token_use", "access")),
		validator.WithTenantIssuers(entraV2, []string{tenantA, tenantB}, validator.NewKeys(mustKey(t, "entra", &ecKey.PublicKey, validator.ES256)),
			validator.IssuerAudience("api://orders", "6e0c5a5e-0000-0000-0000-000000000001"), validator.IssuerRoleClaims("/roles"),
			validator.IssuerClientIDClaim("appid")),
		validator.WithIssuer(keycloakIss, validator.NewKeys(mustKey(t, "kc", edKey.Public(), validator.EdDSA)),
			validator.IssuerAudience("orders-api"), validator.IssuerClaimValues("azp", "orders-client"),
			validator.IssuerRoleClaims("/realm_access/roles", keycloakRole)),
		validator.WithAudience(testAud),
		validator.WithClock(func() time.Time { return testNow }),
	}
	v, err := validator.New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

func claimsAt(iss string, overrides map[string]any) string {
	return jwstest.Claims(map[string]any{
		"iss": iss, "sub": "svc-a", "iat": testNow.Unix() - 10, "exp": testNow.Unix() + 300, "jti": "id-1",
	}, overrides)
}

func poolToken(claims map[string]any) string {
	return jwstest.Token(`{"alg":"RS256","kid":"pool"}`, claimsAt(poolIssuer, claims), jwstest.RS(rsaKey2, crypto.SHA256))
}

func entraToken(tenant string, claims map[string]any) string {
	c := map[string]any{"iss": "https://login.microsoftonline.com/" + tenant + "/v2.0", "tid": tenant, "aud": "6e0c5a5e-0000-0000-0000-000000000001"}
	for k, v := range claims {
		c[k] = v
	}
	return jwstest.Token(`{"alg":"ES256","kid":"entra","typ":"JWT"}`, claimsAt("", c), jwstest.ES(ecKey, crypto.SHA256))
}

func kcToken(claims map[string]any) string {
	c := map[string]any{"aud": "orders-api", "azp": "orders-client"}
	for k, v := range claims {
		c[k] = v
	}
	return jwstest.Token(`{"alg":"EdDSA","kid":"kc","typ":"JWT"}`, claimsAt(keycloakIss, c), jwstest.EdDSA(edKey))
}

func TestIssuerPolicy(t *testing.T) {
	v := policyValidator(t)
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"plain issuer, audience", rs256(baseClaims(nil)), nil},
		{"plain issuer, no aud but an allowed client_id", rs256(baseClaims(map[string]any{"aud": nil, "client_id": "app-1"})), validator.ErrAudience},
		{"plain issuer, preset audience", rs256(baseClaims(map[string]any{"aud": "orders-api"})), validator.ErrAudience},
		{"pool access token", poolToken(map[string]any{"client_id": "app-1", "token_use": "access"}), nil},
		{"pool access token, other client", poolToken(map[string]any{"client_id": "app-9", "token_use": "access"}), validator.ErrAudience},
		{"pool access token, no client_id", poolToken(map[string]any{"token_use": "access", "azp": "app-1"}), validator.ErrAudience},
		{"pool access token, empty client_id, allowed azp", poolToken(map[string]any{"token_use": "access", "client_id": "", "azp": "app-1"}), validator.ErrAudience},
		{"pool ID token", poolToken(map[string]any{"aud": "app-1", "token_use": "id"}), validator.ErrType},
		{"pool token without token_use", poolToken(map[string]any{"client_id": "app-1"}), validator.ErrType},
		{"pool token_use of the wrong type", poolToken(map[string]any{"client_id": "app-1", "token_use": 1}), validator.ErrMalformed},
		{"pool token with the global audience only", poolToken(map[string]any{"aud": testAud, "token_use": "access"}), validator.ErrAudience},
		{"entra tenant A", entraToken(tenantA, nil), nil},
		{"entra tenant B, app ID URI", entraToken(tenantB, map[string]any{"aud": "api://orders"}), nil},
		{"entra tenant not allowed", entraToken(tenantOther, nil), validator.ErrIssuer},
		{"entra tid differs from the issuer's", entraToken(tenantA, map[string]any{"tid": tenantB}), validator.ErrIssuer},
		{"entra without tid", entraToken(tenantA, map[string]any{"tid": nil}), validator.ErrIssuer},
		{"entra global audience", entraToken(tenantA, map[string]any{"aud": testAud}), validator.ErrAudience},
		{"entra roles not an array of strings", entraToken(tenantA, map[string]any{"roles": []any{1}}), validator.ErrMalformed},
		{"entra appid not a string", entraToken(tenantA, map[string]any{"appid": 1}), validator.ErrMalformed},
		{"keycloak", kcToken(nil), nil},
		{"keycloak other azp", kcToken(map[string]any{"azp": "other"}), validator.ErrClaimValue},
		{"keycloak no azp", kcToken(map[string]any{"azp": nil}), validator.ErrClaimValue},
		{"keycloak duplicate nested member", jwstest.Token(`{"alg":"EdDSA","kid":"kc"}`,
			`{"iss":"`+keycloakIss+`","aud":"orders-api","azp":"orders-client","exp":`+itoa(testNow.Unix()+60)+
				`,"realm_access":{"roles":["a"],"roles":["admin"]}}`, jwstest.EdDSA(edKey)), validator.ErrMalformed},
		// Keys stay per issuer: the pool's key cannot sign for the plain issuer.
		{"plain issuer signed with the pool's key", jwstest.Token(`{"alg":"RS256","kid":"pool"}`, baseClaims(nil), jwstest.RS(rsaKey2, crypto.SHA256)), validator.ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Validate(t.Context(), tt.token)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Validate() = %v, want %v", err, tt.want)
			}
			if err != nil && !errors.Is(err, validator.ErrInvalidToken) {
				t.Errorf("Validate() = %v, not an invalid_token", err)
			}
		})
	}
}

// A preset for one issuer never weakens another issuer's checks, whatever
// the validator-wide settings: with WithoutAudienceCheck, a preset's own
// audience still holds; without it, the plain issuer keeps the global one.
func TestIssuerPolicyDoesNotLeak(t *testing.T) {
	v := policyValidator(t)
	// Tokens of the plain issuer shaped like every preset's accepted token.
	for name, claims := range map[string]map[string]any{
		"cognito shape": {"aud": nil, "client_id": "app-1", "token_use": "access"},
		"entra shape":   {"aud": "api://orders", "tid": tenantA},
		"keycloak":      {"aud": "orders-api", "azp": "orders-client"},
	} {
		if _, err := v.Validate(t.Context(), rs256(baseClaims(claims))); !errors.Is(err, validator.ErrAudience) {
			t.Errorf("%s on the plain issuer: Validate() = %v, want ErrAudience", name, err)
		}
	}
	// Without a global audience check, the presets' audiences still hold.
	loose, err := validator.New(
		validator.WithIssuer(testIssuer, validator.NewKeys(mustKey(t, "rsa-1", &rsaKey.PublicKey, validator.RS256))),
		validator.WithIssuer(keycloakIss, validator.NewKeys(mustKey(t, "kc", edKey.Public(), validator.EdDSA)),
			validator.IssuerAudience("orders-api"), validator.IssuerClaimValues("azp", "orders-client")),
		validator.WithoutAudienceCheck(),
		validator.WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loose.Validate(t.Context(), kcToken(map[string]any{"aud": "anything"})); !errors.Is(err, validator.ErrAudience) {
		t.Errorf("preset audience under WithoutAudienceCheck: Validate() = %v, want ErrAudience", err)
	}
	if _, err := loose.Validate(t.Context(), rs256(baseClaims(map[string]any{"aud": "anything"}))); err != nil {
		t.Errorf("plain issuer under WithoutAudienceCheck: Validate() = %v", err)
	}
	// An issuer without its own audience needs the global one.
	_, err = validator.New(
		validator.WithIssuer(poolIssuer, validator.NewKeys(mustKey(t, "pool", &rsaKey2.PublicKey, validator.RS256)), validator.IssuerClientIDs("app-1")),
		validator.WithIssuer(testIssuer, validator.NewKeys(mustKey(t, "rsa-1", &rsaKey.PublicKey, validator.RS256))))
	if err == nil {
		t.Error("New without an audience for the plain issuer succeeded")
	}
}

func TestIssuerPolicyConfigErrors(t *testing.T) {
	keys := validator.NewKeys()
	tests := []struct {
		name string
		opt  validator.Option
	}{
		{"empty client ids", validator.WithIssuer(poolIssuer, keys, validator.IssuerClientIDs())},
		{"audience and client ids", validator.WithIssuer(poolIssuer, keys, validator.IssuerAudience("a"), validator.IssuerClientIDs("b"))},
		{"empty claim values", validator.WithIssuer(poolIssuer, keys, validator.IssuerClaimValues("azp"), validator.IssuerAudience("a"))},
		{"bad role path", validator.WithIssuer(poolIssuer, keys, validator.IssuerRoleClaims("roles"), validator.IssuerAudience("a"))},
		{"bad escape", validator.WithIssuer(poolIssuer, keys, validator.IssuerPermissionClaims("/a~2"), validator.IssuerAudience("a"))},
		{"template without placeholder", validator.WithTenantIssuers("https://login.example/v2.0", []string{tenantA}, keys, validator.IssuerAudience("a"))},
		{"no tenant", validator.WithTenantIssuers(entraV2, nil, keys, validator.IssuerAudience("a"))},
		{"tenant with a slash", validator.WithTenantIssuers(entraV2, []string{"a/b"}, keys, validator.IssuerAudience("a"))},
		{"nil issuer option", validator.WithIssuer(poolIssuer, keys, nil, validator.IssuerAudience("a"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := validator.New(tt.opt); err == nil {
				t.Error("New() succeeded, want an error")
			}
		})
	}
}

func TestTokenGrants(t *testing.T) {
	v := policyValidator(t)
	raw := kcToken(map[string]any{
		"scope":           "profile read:data",
		"realm_access":    map[string]any{"roles": []string{"offline_access", "user"}},
		"resource_access": map[string]any{"orders-api": map[string]any{"roles": []string{"admin", "user"}}, "other": map[string]any{"roles": []string{"root"}}},
		"tier":            "gold",
		"groups":          []any{"/staff", 7, "/ops"},
	})
	// The third validation is a cache hit: it must grant the same.
	for range 3 {
		tok, err := v.Validate(t.Context(), raw)
		if err != nil {
			t.Fatal(err)
		}
		checkGrants(t, tok)
	}
	// A plain token (which the cache holds in compact form) keeps its
	// claims for claim terms on a hit.
	plain := rs256(baseClaims(map[string]any{"tier": "gold"}))
	for i := range 3 {
		tok, err := v.Validate(t.Context(), plain)
		if err != nil {
			t.Fatal(err)
		}
		if !tok.Grants(scopes.Claim("/tier", "gold")) {
			t.Errorf("validation %d: claim term not granted", i)
		}
	}
}

func checkGrants(t *testing.T, tok *validator.Token) {
	t.Helper()
	if got, want := tok.Roles.List(), []string{"offline_access", "user", "admin"}; !slices.Equal(got, want) {
		t.Errorf("Roles = %q, want %q", got, want)
	}
	tests := []struct {
		term scopes.Term
		want bool
	}{
		{scopes.Scope("read:data"), true},
		{scopes.Scope("admin"), false},
		{scopes.Role("admin"), true},
		{scopes.Role("root"), false}, // another client's role
		{scopes.Role("read:data"), false},
		{scopes.Permission("admin"), false},
		{scopes.Claim("/tier", "gold"), true},
		{scopes.Claim("/tier", "silver"), false},
		{scopes.Claim("/groups", "/ops"), true},
		{scopes.Claim("/groups", "7"), false},
		{scopes.Claim("/resource_access/other/roles", "root"), true},
		{scopes.Claim("/resource_access/other/roles/x", "root"), false},
		{scopes.Claim("/missing", "x"), false},
	}
	for _, tt := range tests {
		if got := tok.Grants(tt.term); got != tt.want {
			t.Errorf("Grants(%v) = %v, want %v", tt.term, got, tt.want)
		}
	}
	req := scopes.AnyOf(scopes.Scope("write:data"), scopes.Role("admin")).And(scopes.AllOf(scopes.Claim("/tier", "gold")))
	if !req.SatisfiedBy(tok) {
		t.Errorf("%v not satisfied", req)
	}
}

// Roles and permissions are read only for the issuer configured to read
// them, and each validation hands out its own copy: replacing a field on
// one token never reaches a cached one.
func TestRolesPerIssuerAndCopies(t *testing.T) {
	v := policyValidator(t)
	plain := rs256(baseClaims(map[string]any{"roles": []string{"admin"}}))
	tok, err := v.Validate(t.Context(), plain)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Roles.Len() != 0 || tok.Grants(scopes.Role("admin")) {
		t.Errorf("plain issuer's token has roles %q", tok.Roles.List())
	}
	for _, tt := range []struct {
		claims map[string]any
		want   string
	}{
		{map[string]any{"appid": "app-v1"}, "app-v1"},
		{map[string]any{"appid": "app-v1", "azp": "app-v2"}, "app-v2"},
		{nil, ""},
	} {
		tok, err := v.Validate(t.Context(), entraToken(tenantA, tt.claims))
		if err != nil || tok.ClientID != tt.want {
			t.Errorf("ClientID of %v = %q, %v; want %q", tt.claims, tok.ClientID, err, tt.want)
		}
	}
	if tok, err := v.Validate(t.Context(), rs256(baseClaims(map[string]any{"client_id": nil, "appid": "x"}))); err != nil || tok.ClientID != "" {
		t.Errorf("plain issuer read appid: %v, %v", tok, err)
	}
	entra := entraToken(tenantA, map[string]any{"roles": []string{"Data.Read", "Data.Read"}})
	for i := range 4 { // admitted on the second sighting, then cache hits
		tok, err := v.Validate(t.Context(), entra)
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Roles.List(); !slices.Equal(got, []string{"Data.Read"}) {
			t.Fatalf("validation %d: Roles = %q", i, got)
		}
		tok.Roles = scopes.MustParse("Data.Write")
		tok.Permissions = scopes.MustParse("everything")
	}
	if v.CachedTokens() == 0 {
		t.Error("nothing cached: the copies were not tested")
	}
}

func itoa(n int64) string {
	return string(jwstest.JSON(n))
}

// The issuers' own checks run after the signature: a forged token (signed
// with a key its issuer does not hold) is refused for its signature,
// whatever its token_use, tid, azp or roles say.
func TestIssuerPolicyAfterSignature(t *testing.T) {
	v := policyValidator(t)
	forged := func(header, claims string) string {
		return jwstest.Token(header, claims, jwstest.RS(rsaKey, crypto.SHA256)) // rsaKey is the plain issuer's
	}
	for name, tok := range map[string]string{
		"cognito ID token":         forged(`{"alg":"RS256","kid":"pool"}`, claimsAt(poolIssuer, map[string]any{"token_use": "id", "aud": "x"})),
		"cognito token_use number": forged(`{"alg":"RS256","kid":"pool"}`, claimsAt(poolIssuer, map[string]any{"token_use": 7})),
		"cognito client_id number": forged(`{"alg":"RS256","kid":"pool"}`, claimsAt(poolIssuer, map[string]any{"client_id": 7, "token_use": "access"})),
		"keycloak roles malformed": forged(`{"alg":"EdDSA","kid":"kc"}`, claimsAt(keycloakIss, map[string]any{"realm_access": map[string]any{"roles": 1}})),
		"keycloak other azp":       forged(`{"alg":"EdDSA","kid":"kc"}`, claimsAt(keycloakIss, map[string]any{"azp": "rogue"})),
	} {
		_, err := v.Validate(t.Context(), tok)
		if !errors.Is(err, validator.ErrSignature) && !errors.Is(err, validator.ErrAlgorithm) {
			t.Errorf("%s: Validate() = %v, want a signature or algorithm refusal", name, err)
		}
	}
	// Same key and alg as the issuer but a bad signature: ErrSignature.
	good := poolToken(map[string]any{"client_id": "app-1", "token_use": "id"})
	tampered := good[:len(good)-4] + "AAAA"
	if _, err := v.Validate(t.Context(), tampered); !errors.Is(err, validator.ErrSignature) {
		t.Errorf("tampered ID token: Validate() = %v, want ErrSignature", err)
	}
	for _, tt := range []struct{ name, tok string }{
		{"entra wrong tid", entraToken(tenantA, map[string]any{"tid": tenantB})},
		{"entra roles malformed", entraToken(tenantA, map[string]any{"roles": 5})},
	} {
		tampered := tt.tok[:len(tt.tok)-4] + "AAAA"
		if _, err := v.Validate(t.Context(), tampered); !errors.Is(err, validator.ErrSignature) {
			t.Errorf("%s, tampered: Validate() = %v, want ErrSignature", tt.name, err)
		}
	}
}

// Role names may hold spaces and characters no scope token may (Keycloak
// allows them): cache hits must give back exactly the roles of the token,
// whatever other tokens with similar-looking role sets were cached first.
func TestRoleNamesCached(t *testing.T) {
	v := policyValidator(t)
	sets := [][]string{{"Admin", "Users"}, {"Admin Users"}, {"Données", `say "hi"`}, {"Admin Users", "Admin"}}
	for round := range 3 { // admitted on the second sighting, then hits
		for i, roles := range sets {
			tok, err := v.Validate(t.Context(), kcToken(map[string]any{"jti": itoa(int64(i)), "realm_access": map[string]any{"roles": roles}}))
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Roles.List(); !slices.Equal(got, roles) {
				t.Errorf("round %d: Roles = %q, want %q", round, got, roles)
			}
			for _, r := range roles {
				if !tok.Grants(scopes.Role(r)) {
					t.Errorf("round %d: role %q not granted", round, r)
				}
			}
		}
	}
}

// A claim an issuer reads as roles or permissions is not read as scopes
// for its tokens, however many scope claims are configured (the first four
// are kept inline, the rest beside); another issuer's tokens still have
// them all as scopes.
func TestScopeClaimsNotReadWhereRolesOrPermissions(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef-scope-claims-per-issuer")
	now := time.Unix(1_800_000_000, 0)
	const withRoles, plain = "https://roles.example.com/", "https://plain.example.com/"
	claims := []string{"c1", "c2", "c3", "c4", "c5", "c6"}
	opts := []validator.Option{
		validator.WithIssuerSecret(withRoles, secret, validator.IssuerRoleClaims("/c5", "/c1/nested"), validator.IssuerPermissionClaims("/c2")),
		validator.WithIssuerSecret(plain, secret),
		validator.WithAudience("orders"), validator.WithClock(func() time.Time { return now }),
	}
	for _, c := range claims {
		opts = append(opts, validator.WithScopeClaim(c))
	}
	v, err := validator.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		iss                  string
		scopes, roles, perms []string
	}{
		{withRoles, []string{"s1", "s3", "s4", "s6"}, []string{"s5"}, []string{"s2"}},
		{plain, []string{"s1", "s2", "s3", "s4", "s5", "s6"}, nil, nil},
	}
	for _, tt := range tests {
		body := map[string]any{"iss": tt.iss, "aud": "orders", "exp": now.Unix() + 60}
		for i, c := range claims {
			body[c] = []string{"s" + string(rune('1'+i))}
		}
		for range 2 { // validated, then from the cache
			tok, err := v.Validate(t.Context(), jwstest.Token(`{"alg":"HS256"}`, jwstest.JSON(body), jwstest.HS(secret, crypto.SHA256)))
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Scopes.List(); !slices.Equal(got, tt.scopes) {
				t.Errorf("%s: scopes %q, want %q", tt.iss, got, tt.scopes)
			}
			if got := tok.Roles.List(); !slices.Equal(got, tt.roles) {
				t.Errorf("%s: roles %q, want %q", tt.iss, got, tt.roles)
			}
			if got := tok.Permissions.List(); !slices.Equal(got, tt.perms) {
				t.Errorf("%s: permissions %q, want %q", tt.iss, got, tt.perms)
			}
		}
	}
}
