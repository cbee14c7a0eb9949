package bearerguard_test

// Identity-provider presets end to end: tokens shaped as each provider
// documents them, minted by bearertest's stand-ins on loopback HTTPS,
// checked by the providers package's presets through the net/http, Gin
// and Echo adapters.

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"

	"github.com/bearerguard/bearerguard/adapters/echobearer"
	"github.com/bearerguard/bearerguard/adapters/ginbearer"
	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/providers"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

const (
	challengeForbidden = `Bearer realm="api", error="insufficient_scope", error_description="The access token lacks a required scope"`
	challengeAudience  = `Bearer realm="api", error="invalid_token", error_description="The access token is not meant for this resource"`
	challengeIssuer    = `Bearer realm="api", error="invalid_token", error_description="The access token issuer is not trusted"`
	challengeType      = `Bearer realm="api", error="invalid_token", error_description="The token is not an access token"`
	challengeClient    = `Bearer realm="api", error="invalid_token", error_description="The access token was not issued to an allowed client"`
)

// providerCase is one request to a route, and the answer it must get.
type providerCase struct {
	name      string
	path      string
	token     string
	status    int
	challenge string // the exact Bearer challenge, "" for a 200
}

// runProviderCases serves routes through the three adapters, with one
// guard over a validator built from opts, and checks every case on each.
func runProviderCases(t *testing.T, opts []validator.Option, routes map[string]scopes.Requirement, cases []providerCase) {
	t.Helper()
	v, err := validator.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	guard, err := httpbearer.New(v, httpbearer.WithRealm("api"))
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range adapterHandlers(t, guard, routes) {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		for _, tc := range cases {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+tc.path, nil)
				req.Header.Set("Authorization", "Bearer "+tc.token)
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Fatalf("GET %s = %d %s, want %d (WWW-Authenticate %q)", tc.path, resp.StatusCode, body, tc.status, resp.Header.Get("WWW-Authenticate"))
				}
				got, _, _ := strings.Cut(resp.Header.Get("WWW-Authenticate"), ", DPoP ")
				if got != tc.challenge {
					t.Errorf("WWW-Authenticate = %q, want %q", got, tc.challenge)
				}
				if tc.status == 200 && string(body) != "ok" {
					t.Errorf("body = %q", body)
				}
			})
		}
	}
	for _, s := range guard.Scopes() {
		if !scopes.ValidToken(s) {
			t.Errorf("Guard.Scopes() lists %q", s)
		}
	}
}

func adapterHandlers(t *testing.T, guard *httpbearer.Guard, routes map[string]scopes.Requirement) map[string]http.Handler {
	t.Helper()
	gin.SetMode(gin.TestMode)
	gb, err := ginbearer.New(guard)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := echobearer.New(guard)
	if err != nil {
		t.Fatal(err)
	}
	mux, g, e := http.NewServeMux(), gin.New(), echo.New()
	for path, need := range routes {
		mux.Handle("GET "+path, guard.Require(need, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })))
		g.GET(path, gb.Require(need), func(c *gin.Context) { c.String(200, "ok") })
		e.GET(path, func(c echo.Context) error { return c.String(200, "ok") }, eb.Require(need))
	}
	return map[string]http.Handler{"net/http": mux, "gin": g, "echo": e}
}

// closeOnCleanup returns a function that takes a preset constructor's
// results, fails the test on an error and closes the preset when it ends.
func closeOnCleanup(t *testing.T) func(*providers.Preset, error) *providers.Preset {
	return func(p *providers.Preset, err error) *providers.Preset {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close() })
		return p
	}
}

func TestProviderCognito(t *testing.T) {
	c := bearertest.NewCognito(t, "eu-west-1", "eu-west-1_Orders")
	preset := closeOnCleanup(t)(providers.Cognito("eu-west-1", "eu-west-1_Orders", []string{"app-orders", "app-reports"},
		providers.WithBaseURL(c.URL), providers.WithHTTPClient(c.Client())))
	runProviderCases(t, []validator.Option{preset.Option()}, map[string]scopes.Requirement{
		"/data":   scopes.All("orders/read"),
		"/admins": scopes.AllOf(scopes.Role("admins")),
	}, []providerCase{
		{"access token", "/data", c.AccessToken(t, "app-orders", "orders/read", nil), 200, ""},
		{"second allowed client", "/data", c.AccessToken(t, "app-reports", "orders/read orders/write", nil), 200, ""},
		{"client not allowed", "/data", c.AccessToken(t, "app-other", "orders/read", nil), 401, challengeAudience},
		{"ID token", "/data", c.IDToken(t, "app-orders", nil), 401, challengeType},
		{"ID token with client_id and scope", "/data", c.IDToken(t, "app-orders", bearertest.Claims{"client_id": "app-orders", "scope": "orders/read"}), 401, challengeType},
		{"another pool", "/data", c.AccessToken(t, "app-orders", "orders/read", bearertest.Claims{"iss": c.URL + "/eu-west-1_Other"}), 401, challengeIssuer},
		{"missing scope", "/data", c.AccessToken(t, "app-orders", "orders/write", nil), 403, challengeForbidden + `, scope="orders/read"`},
		{"group as role", "/admins", c.AccessToken(t, "app-orders", "", bearertest.Claims{"cognito:groups": []string{"admins"}}), 200, ""},
		{"no group", "/admins", c.AccessToken(t, "app-orders", "admins", nil), 403, challengeForbidden},
	})
}

const (
	tenantContoso  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	tenantFabrikam = "9188040d-6c67-4c5b-b112-36a304b66dad"
	tenantAttacker = "0d1f2e3c-0000-4000-8000-00000000beef"
	entraAPIClient = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
	entraCaller    = "2d4d11a2-f814-46a7-890a-274a72a7309e"
)

func TestProviderEntraSingleTenant(t *testing.T) {
	e := bearertest.NewEntra(t)
	preset := closeOnCleanup(t)(providers.Entra(tenantContoso, []string{"api://orders", entraAPIClient},
		providers.WithEntraVersions(1, 2), providers.WithBaseURL(e.URL), providers.WithEntraV1IssuerURL(e.STSURL()),
		providers.WithHTTPClient(e.Client())))
	mixed := scopes.AnyOf(scopes.Scope("read:data"), scopes.Role("Data.Read"))
	tok := func(tt bearertest.EntraToken) string {
		if tt.Tenant == "" {
			tt.Tenant = tenantContoso
		}
		tt.AppID = entraCaller
		return e.Token(t, tt)
	}
	runProviderCases(t, []validator.Option{preset.Option()}, map[string]scopes.Requirement{"/data": mixed}, []providerCase{
		{"v2 app token with role", "/data", tok(bearertest.EntraToken{Version: 2, Audience: entraAPIClient, Roles: []string{"Data.Read"}}), 200, ""},
		{"v1 app token with role", "/data", tok(bearertest.EntraToken{Version: 1, Audience: "api://orders", Roles: []string{"Data.Read"}}), 200, ""},
		{"v2 delegated token with scp", "/data", tok(bearertest.EntraToken{Audience: entraAPIClient, Scp: "profile read:data"}), 200, ""},
		{"other role", "/data", tok(bearertest.EntraToken{Audience: entraAPIClient, Roles: []string{"Data.Write"}}), 403, challengeForbidden + `, scope="read:data"`},
		{"role name as scp", "/data", tok(bearertest.EntraToken{Audience: entraAPIClient, Scp: "Data.Read"}), 403, challengeForbidden + `, scope="read:data"`},
		{"another API", "/data", tok(bearertest.EntraToken{Audience: "api://payments", Roles: []string{"Data.Read"}}), 401, challengeAudience},
		{"another tenant", "/data", tok(bearertest.EntraToken{Tenant: tenantFabrikam, Audience: entraAPIClient, Roles: []string{"Data.Read"}}), 401, challengeIssuer},
		{"tid not the issuer's tenant", "/data", tok(bearertest.EntraToken{Audience: entraAPIClient, Roles: []string{"Data.Read"}, Extra: bearertest.Claims{"tid": tenantFabrikam}}), 401, challengeIssuer},
	})
}

func TestProviderEntraMultiTenant(t *testing.T) {
	e := bearertest.NewEntra(t)
	preset := closeOnCleanup(t)(providers.EntraMultiTenant([]string{tenantContoso, strings.ToUpper(tenantFabrikam)}, []string{entraAPIClient},
		providers.WithBaseURL(e.URL), providers.WithHTTPClient(e.Client())))
	tok := func(tenant string, extra bearertest.Claims) string {
		return e.Token(t, bearertest.EntraToken{Tenant: tenant, Audience: entraAPIClient, AppID: entraCaller, Roles: []string{"Data.Read"}, Extra: extra})
	}
	runProviderCases(t, []validator.Option{preset.Option()}, map[string]scopes.Requirement{"/data": scopes.AllOf(scopes.Role("Data.Read"))}, []providerCase{
		{"allowed tenant", "/data", tok(tenantContoso, nil), 200, ""},
		{"second allowed tenant", "/data", tok(tenantFabrikam, nil), 200, ""},
		{"tenant not allowed", "/data", tok(tenantAttacker, nil), 401, challengeIssuer},
		{"disallowed tenant claiming an allowed tid", "/data", tok(tenantAttacker, bearertest.Claims{"tid": tenantContoso}), 401, challengeIssuer},
		{"allowed issuer with another tenant's tid", "/data", tok(tenantContoso, bearertest.Claims{"tid": tenantFabrikam}), 401, challengeIssuer},
		{"template issuer itself", "/data", tok("{tenantid}", nil), 401, challengeIssuer},
		{"v1 not enabled", "/data", e.Token(t, bearertest.EntraToken{Version: 1, Tenant: tenantContoso, Audience: entraAPIClient, Roles: []string{"Data.Read"}}), 401, challengeIssuer},
	})
}

func TestProviderKeycloak(t *testing.T) {
	k := bearertest.NewKeycloak(t, "prod")
	preset := closeOnCleanup(t)(providers.Keycloak(k.URL, "prod", providers.WithKeycloakClient("orders-api"),
		providers.WithAuthorizedParties("orders-client"), providers.WithAudience("orders-api"), providers.WithHTTPClient(k.Client())))
	tok := func(tt bearertest.KeycloakToken) string {
		if tt.ClientID == "" {
			tt.ClientID = "orders-client"
		}
		if tt.Audience == nil {
			tt.Audience = []string{"orders-api", "account"}
		}
		return k.Token(t, tt)
	}
	runProviderCases(t, []validator.Option{preset.Option()}, map[string]scopes.Requirement{
		"/data":  scopes.AnyOf(scopes.Scope("read:data"), scopes.Role("orders-reader")),
		"/admin": scopes.AllOf(scopes.Role("admin")),
	}, []providerCase{
		{"realm role", "/data", tok(bearertest.KeycloakToken{RealmRoles: []string{"orders-reader"}, Scope: "profile email"}), 200, ""},
		{"scope", "/data", tok(bearertest.KeycloakToken{Scope: "profile read:data"}), 200, ""},
		{"client role", "/admin", tok(bearertest.KeycloakToken{ClientRoles: map[string][]string{"orders-api": {"admin"}}}), 200, ""},
		{"another client's role", "/admin", tok(bearertest.KeycloakToken{ClientRoles: map[string][]string{"billing-api": {"admin"}}}), 403, challengeForbidden},
		{"neither", "/data", tok(bearertest.KeycloakToken{Scope: "profile"}), 403, challengeForbidden + `, scope="read:data"`},
		{"azp not allowed", "/data", tok(bearertest.KeycloakToken{ClientID: "rogue-client", Scope: "read:data"}), 401, challengeClient},
		{"aud account only", "/data", tok(bearertest.KeycloakToken{Audience: []string{"account"}, Scope: "read:data"}), 401, challengeAudience},
		{"another realm", "/data", tok(bearertest.KeycloakToken{Scope: "read:data", Extra: bearertest.Claims{"iss": k.URL + "/realms/master"}}), 401, challengeIssuer},
	})
}

func TestProviderAuth0(t *testing.T) {
	a := bearertest.NewAuth0(t)
	const api = "https://api.example.com/orders"
	preset := closeOnCleanup(t)(providers.Auth0(a.Domain(), []string{api}, providers.WithHTTPClient(a.Client())))
	tok := func(tt bearertest.Auth0Token) string {
		tt.ClientID = "kbyuFDidLLm280LIwVFiazOqjO3ty8KH"
		return a.Token(t, tt)
	}
	runProviderCases(t, []validator.Option{preset.Option()}, map[string]scopes.Requirement{
		"/data":   scopes.All("read:data"),
		"/export": scopes.AllOf(scopes.Permission("export:data")),
	}, []providerCase{
		{"scope", "/data", tok(bearertest.Auth0Token{Audience: []string{api}, Scope: "read:data"}), 200, ""},
		{"permission, aud array", "/export", tok(bearertest.Auth0Token{Audience: []string{api, a.URL + "/userinfo"}, Permissions: []string{"read:data", "export:data"}}), 200, ""},
		{"scope is not a permission", "/export", tok(bearertest.Auth0Token{Audience: []string{api}, Scope: "export:data", Permissions: []string{}}), 403, challengeForbidden},
		{"another API", "/data", tok(bearertest.Auth0Token{Audience: []string{"https://api.example.com/billing"}, Scope: "read:data"}), 401, challengeAudience},
		{"issuer without trailing slash", "/data", tok(bearertest.Auth0Token{Audience: []string{api}, Scope: "read:data", Extra: bearertest.Claims{"iss": a.URL}}), 401, challengeIssuer},
		{"missing scope", "/data", tok(bearertest.Auth0Token{Audience: []string{api}, Scope: "write:data"}), 403, challengeForbidden + `, scope="read:data"`},
	})
}

func TestProviderOkta(t *testing.T) {
	o := bearertest.NewOkta(t)
	preset := closeOnCleanup(t)(providers.Okta(o.URL, "default", []string{"api://default"},
		providers.WithClientIDs("0oa1orders"), providers.WithHTTPClient(o.Client())))
	tok := func(tt bearertest.OktaToken) string {
		if tt.ClientID == "" {
			tt.ClientID = "0oa1orders"
		}
		if tt.AuthServerID == "" {
			tt.AuthServerID = "default"
		}
		tt.Audience = "api://default"
		return o.Token(t, tt)
	}
	runProviderCases(t, []validator.Option{preset.Option()}, map[string]scopes.Requirement{"/data": scopes.All("orders.read")}, []providerCase{
		{"scp array", "/data", tok(bearertest.OktaToken{Scopes: []string{"orders.read", "orders.write"}}), 200, ""},
		{"cid not allowed", "/data", tok(bearertest.OktaToken{ClientID: "0oa9rogue", Scopes: []string{"orders.read"}}), 401, challengeClient},
		{"another authorization server", "/data", tok(bearertest.OktaToken{AuthServerID: "aus1payments", Scopes: []string{"orders.read"}}), 401, challengeIssuer},
		{"org authorization server", "/data", tok(bearertest.OktaToken{Scopes: []string{"orders.read"}, Extra: bearertest.Claims{"iss": o.URL}}), 401, challengeIssuer},
		{"missing scope", "/data", tok(bearertest.OktaToken{Scopes: []string{"orders.write"}}), 403, challengeForbidden + `, scope="orders.read"`},
	})
}

// An Okta ID token (no "cid") is refused even without a client allow-list,
// when its "aud" (the client it was issued to) is the API's audience.
func TestProviderOktaIDToken(t *testing.T) {
	o := bearertest.NewOkta(t)
	preset := closeOnCleanup(t)(providers.Okta(o.URL, "default", []string{"0oa1web"}, providers.WithHTTPClient(o.Client())))
	idToken := o.Token(t, bearertest.OktaToken{AuthServerID: "default", Audience: "0oa1web", ClientID: "0oa1web",
		Extra: bearertest.Claims{"cid": nil, "amr": []string{"pwd"}, "nonce": "n-1"}})
	access := o.Token(t, bearertest.OktaToken{AuthServerID: "default", Audience: "0oa1web", ClientID: "0oa1web", Scopes: []string{"orders.read"}})
	runProviderCases(t, []validator.Option{preset.Option()}, map[string]scopes.Requirement{"/data": {}}, []providerCase{
		{"access token", "/data", access, 200, ""},
		{"ID token", "/data", idToken, 401, challengeType},
	})
}

// Several presets and a plain issuer in one validator: each issuer keeps
// its own checks. A token of the plain issuer shaped like a Cognito access
// token (no "aud", an allowed "client_id") is refused; presets' tokens
// signed with another issuer's key are refused.
func TestProvidersDoNotWeakenOtherIssuers(t *testing.T) {
	c := bearertest.NewCognito(t, "eu-west-1", "eu-west-1_Orders")
	a := bearertest.NewAuth0(t)
	plain := bearertest.NewIssuer(t)
	cognito := closeOnCleanup(t)(providers.Cognito("eu-west-1", "eu-west-1_Orders", []string{"app-orders"},
		providers.WithBaseURL(c.URL), providers.WithHTTPClient(c.Client())))
	auth0 := closeOnCleanup(t)(providers.Auth0(a.Domain(), []string{"orders-auth0"}, providers.WithHTTPClient(a.Client())))
	opts := []validator.Option{
		cognito.Option(), auth0.Option(),
		validator.WithIssuer(plain.URL, plain.KeySet(t)),
		validator.WithAudience(audience),
	}
	cognitoShaped := bearertest.Claims{"aud": nil, "client_id": "app-orders", "token_use": "access", "scope": "read:data"}
	runProviderCases(t, opts, map[string]scopes.Requirement{
		"/data":   scopes.All("read:data"),
		"/export": scopes.AllOf(scopes.Permission("export:data")),
	}, []providerCase{
		{"plain issuer", "/data", plain.Mint(t, bearertest.Claims{"aud": audience, "scope": "read:data"}), 200, ""},
		{"plain issuer, Cognito-shaped", "/data", plain.Mint(t, cognitoShaped), 401, challengeAudience},
		{"plain issuer, Auth0 audience", "/data", plain.Mint(t, bearertest.Claims{"aud": "orders-auth0", "scope": "read:data"}), 401, challengeAudience},
		{"plain issuer's permissions are not read", "/export", plain.Mint(t, bearertest.Claims{"aud": audience, "permissions": []string{"export:data"}}), 403, challengeForbidden},
		{"Cognito", "/data", c.AccessToken(t, "app-orders", "read:data", nil), 200, ""},
		{"Cognito with the global audience instead of a client", "/data", c.AccessToken(t, "app-other", "read:data", bearertest.Claims{"aud": audience}), 401, challengeAudience},
		{"Auth0", "/export", a.Token(t, bearertest.Auth0Token{ClientID: "x", Audience: []string{"orders-auth0"}, Permissions: []string{"export:data"}}), 200, ""},
		{"Auth0 with the global audience", "/export", a.Token(t, bearertest.Auth0Token{ClientID: "x", Audience: []string{audience}, Permissions: []string{"export:data"}}), 401, challengeAudience},
		{"Cognito issuer, plain issuer's key", "/data", plain.Mint(t, bearertest.Claims{"iss": c.IssuerURL(), "client_id": "app-orders", "token_use": "access", "scope": "read:data"}), 401,
			`Bearer realm="api", error="invalid_token", error_description="The access token was signed with an unknown key"`},
	})
}

// Introspected tokens answer claim terms from the introspection answer,
// and carry no roles or permissions (no issuer configuration reads them
// there): a role requirement fails closed, a claim term works.
func TestRequirementsOnIntrospectedTokens(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	v := introspectingStack(t, iss)
	opaque := iss.Opaque(t, bearertest.Claims{"aud": audience, "scope": "read:data", "roles": []string{"Data.Read"}, "tier": "gold"})
	tok, err := v.Validate(t.Context(), opaque)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		need scopes.Requirement
		want bool
	}{
		{scopes.All("read:data"), true},
		{scopes.AllOf(scopes.Claim("/tier", "gold")), true},
		{scopes.AllOf(scopes.Claim("/roles", "Data.Read")), true},
		{scopes.AllOf(scopes.Role("Data.Read")), false},
		{scopes.AllOf(scopes.Claim("/tier", "silver")), false},
	} {
		if got := tt.need.SatisfiedBy(tok); got != tt.want {
			t.Errorf("%v.SatisfiedBy(introspected) = %v, want %v", tt.need, got, tt.want)
		}
	}
}
