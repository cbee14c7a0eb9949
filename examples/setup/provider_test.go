package setup

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
)

func TestParseProvider(t *testing.T) {
	const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	for _, tt := range []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(p ProviderSettings) bool
	}{
		{"entra from flags", []string{"--provider", "entra", "--entra-tenants", tenant, "--audience", "api://orders, 6e74", "--entra-versions", "1,2"}, nil, "",
			func(p ProviderSettings) bool {
				return p.Name == "entra" && slices.Equal(p.Audiences, []string{"api://orders", "6e74"}) && slices.Equal(p.Versions, []int{1, 2}) && p.AuthServerID == ""
			}},
		{"cognito from the environment", nil, map[string]string{"BEARERGUARD_PROVIDER": "cognito", "BEARERGUARD_COGNITO_REGION": "eu-west-1",
			"BEARERGUARD_COGNITO_USER_POOL": "eu-west-1_x", "BEARERGUARD_PROVIDER_CLIENT_IDS": "a,b"}, "",
			func(p ProviderSettings) bool {
				return p.Region == "eu-west-1" && slices.Equal(p.ClientIDs, []string{"a", "b"}) && p.Audiences == nil
			}},
		{"okta", []string{"--provider", "okta", "--provider-url", "https://x.okta.com", "--audience", "api://default"}, nil, "",
			func(p ProviderSettings) bool { return p.URL == "https://x.okta.com" && p.AuthServerID == "default" }},
		{"flag over the environment", []string{"--provider", "auth0", "--auth0-domain", "x.auth0.com", "--audience", "a"}, map[string]string{"BEARERGUARD_PROVIDER": "okta"}, "",
			func(p ProviderSettings) bool { return p.Name == "auth0" }},
		{"provider and issuer", []string{"--provider", "auth0", "--issuer", "https://x/", "--audience", "a"}, nil, "exclusive", nil},
		{"entra without audience", []string{"--provider", "entra", "--entra-tenants", tenant}, nil, "needs --audience", nil},
		{"versions for another provider", []string{"--provider", "auth0", "--audience", "a", "--entra-versions", "1"}, nil, "--entra-versions", nil},
		{"bad versions", []string{"--provider", "entra", "--entra-tenants", tenant, "--audience", "a", "--entra-versions", "two"}, nil, "want 1 and/or 2", nil},
		{"no provider still needs an issuer", []string{"--audience", "a"}, nil, "--issuer", nil},
		{"not a boolean", []string{"--provider", "entra", "--audience", "a"}, map[string]string{"BEARERGUARD_ENTRA_MULTI_TENANT": "perhaps"}, "BEARERGUARD_ENTRA_MULTI_TENANT", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("x", tt.args, env(tt.env), &bytes.Buffer{})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Parse(%q) = %v, want error %q", tt.args, err, tt.wantErr)
			}
			if tt.check != nil && !tt.check(c.Provider) {
				t.Errorf("Parse(%q): Provider = %+v", tt.args, c.Provider)
			}
		})
	}
	var help bytes.Buffer
	Parse("x", []string{"--help"}, env(nil), &help)
	for _, want := range []string{"-provider", "BEARERGUARD_PROVIDER", "-cognito-user-pool", "-entra-tenants", "-keycloak-realm", "-auth0-domain", "-okta-auth-server"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("--help does not mention %q", want)
		}
	}
}

// The guard an example builds with --provider checks tokens as the
// preset says, and its readiness follows the preset's keys.
func TestGuardProvider(t *testing.T) {
	k := bearertest.NewKeycloak(t, "prod")
	c, err := Parse("x", []string{"--provider", "keycloak", "--provider-url", k.URL, "--keycloak-realm", "prod",
		"--keycloak-client", "orders-api", "--keycloak-azp", "orders-client", "--audience", "orders-api"}, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	c.Readiness = &Readiness{}
	g, closeAll, err := c.Guard(k.Client())
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	if err := c.Readiness.Wait(t.Context()); err != nil {
		t.Fatalf("readiness: %v", err)
	}
	srv := httptest.NewServer(g.Require(scopes.AllOf(scopes.Role("admin")), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv.Close()
	for _, tt := range []struct {
		name   string
		tok    bearertest.KeycloakToken
		status int
	}{
		{"client role", bearertest.KeycloakToken{ClientID: "orders-client", Audience: []string{"orders-api"}, ClientRoles: map[string][]string{"orders-api": {"admin"}}}, 200},
		{"no role", bearertest.KeycloakToken{ClientID: "orders-client", Audience: []string{"orders-api"}}, 403},
		{"azp not allowed", bearertest.KeycloakToken{ClientID: "rogue", Audience: []string{"orders-api"}, ClientRoles: map[string][]string{"orders-api": {"admin"}}}, 401},
		{"audience", bearertest.KeycloakToken{ClientID: "orders-client", Audience: []string{"account"}, ClientRoles: map[string][]string{"orders-api": {"admin"}}}, 401},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+k.Token(t, tt.tok))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
	}
}

// An allow-list flag given with nothing in it must be a usage error, not
// "allow every client": --keycloak-azp "" (an unset shell variable) and
// --provider-client-ids " , " for Okta parse today and the preset then has
// no "azp" (or "cid") allow-list at all.
func TestRedteamEmptyAllowListFlagRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--provider", "keycloak", "--provider-url", "https://sso.example.com", "--keycloak-realm", "prod", "--audience", "orders-api", "--keycloak-azp", ""},
		{"--provider", "keycloak", "--provider-url", "https://sso.example.com", "--keycloak-realm", "prod", "--audience", "orders-api", "--keycloak-azp", " , "},
		{"--provider", "okta", "--provider-url", "https://x.okta.com", "--audience", "api://default", "--provider-client-ids", ""},
	} {
		c, err := Parse("x", args, env(nil), &bytes.Buffer{})
		if err == nil {
			t.Errorf("Parse(%q) accepted an empty allow-list: AuthorizedParties=%q ClientIDs=%q", args, c.Provider.AuthorizedParties, c.Provider.ClientIDs)
		}
	}
	// In the environment, a list of nothing but commas and spaces too (an
	// empty variable counts as unset, as for every flag).
	c, err := Parse("x", []string{"--provider", "keycloak", "--provider-url", "https://sso.example.com", "--keycloak-realm", "prod", "--audience", "orders-api"},
		env(map[string]string{"BEARERGUARD_KEYCLOAK_AZP": " , "}), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "BEARERGUARD_KEYCLOAK_AZP: an empty list") {
		t.Errorf("BEARERGUARD_KEYCLOAK_AZP=\" , \": %v (AuthorizedParties=%q)", err, c.Provider.AuthorizedParties)
	}
}

// An allow-list variable set but empty (BEARERGUARD_KEYCLOAK_AZP=${AZP}
// with AZP unset) is refused before Parse, which cannot tell it from an
// unset one and would read it as no allow-list (review of this session's
// changes).
func TestEmptyAllowLists(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want string // "" for no error
	}{
		{nil, ""},
		{map[string]string{"BEARERGUARD_KEYCLOAK_AZP": "orders-ui"}, ""},
		{map[string]string{"BEARERGUARD_KEYCLOAK_AZP": ""}, "BEARERGUARD_KEYCLOAK_AZP is set but empty"},
		{map[string]string{"BEARERGUARD_PROVIDER_CLIENT_IDS": " , "}, "BEARERGUARD_PROVIDER_CLIENT_IDS is set but empty"},
		{map[string]string{"BEARERGUARD_AUDIENCE": ""}, ""}, // not an allow-list: empty is unset, as for every flag
	} {
		err := EmptyAllowLists(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%v: %v, want %q", tt.env, err, tt.want)
		}
	}
}
