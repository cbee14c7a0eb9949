package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
)

func TestValidateProvider(t *testing.T) {
	const tenant, other = "72f988bf-86f1-41af-91ab-2d7cd011db47", "9188040d-6c67-4c5b-b112-36a304b66dad"
	e := bearertest.NewEntra(t)
	c := bearertest.NewCognito(t, "eu-west-1", "eu-west-1_Orders")
	k := bearertest.NewKeycloak(t, "prod")
	entra := []string{"--provider", "entra", "--entra-tenants", tenant + "," + other, "--entra-versions", "1,2",
		"--audience", "api://orders,6e74172b-be56-4843-9ff4-e66a39bb12e3", "--provider-url", e.URL, "--entra-v1-issuer-url", e.STSURL()}
	cognito := []string{"--provider", "cognito", "--cognito-region", "eu-west-1", "--cognito-user-pool", "eu-west-1_Orders",
		"--provider-client-ids", "app-orders", "--provider-url", c.URL}
	keycloak := []string{"--provider", "keycloak", "--keycloak-url", k.URL, "--keycloak-realm", "prod", "--keycloak-azp", "orders-client", "--audience", "orders-api"}
	v2 := e.Token(t, bearertest.EntraToken{Tenant: tenant, Audience: "6e74172b-be56-4843-9ff4-e66a39bb12e3", AppID: "caller", Roles: []string{"Data.Read"}})
	v1 := e.Token(t, bearertest.EntraToken{Version: 1, Tenant: other, Audience: "api://orders", AppID: "caller", Scp: "read:data"})
	stranger := e.Token(t, bearertest.EntraToken{Tenant: "0d1f2e3c-0000-4000-8000-00000000beef", Audience: "api://orders"})
	// Entra ID gives any client of the tenant a token for the API; one
	// nobody granted anything carries neither "roles" nor "scp".
	ungranted := e.Token(t, bearertest.EntraToken{Tenant: tenant, Audience: "6e74172b-be56-4843-9ff4-e66a39bb12e3", AppID: "stranger-app"})
	access := c.AccessToken(t, "app-orders", "read:data", nil)
	idToken := c.IDToken(t, "app-orders", nil)
	kcGood := k.Token(t, bearertest.KeycloakToken{ClientID: "orders-client", Audience: []string{"orders-api"}})
	kcRogue := k.Token(t, bearertest.KeycloakToken{ClientID: "rogue", Audience: []string{"orders-api"}})
	tests := []struct {
		name   string
		client *bearertest.Provider
		args   []string
		code   int
		want   []string
	}{
		{"entra v2, first tenant", e.Provider, append(entra, v2), 0, []string{"VALID (via jwt)", "matched and verified"}},
		{"entra v1, second tenant, scope", e.Provider, append(entra, "--scope", "read:data", v1), 0, []string{"VALID"}},
		{"entra tenant not allowed", e.Provider, append(entra, stranger), 1, []string{"INVALID", "not trusted"}},
		{"entra token granting nothing", e.Provider, append(entra, ungranted), 1, []string{"INVALID", "grants no scope, role or permission"}},
		{"entra token granting nothing, allowed", e.Provider, append(append([]string{}, entra...), "--entra-tokens-without-grant", ungranted), 0, []string{"VALID"}},
		{"entra clients allowed", e.Provider, append(append([]string{}, entra...), "--provider-client-ids", "caller", v2), 0, []string{"VALID"}},
		{"entra client not allowed", e.Provider, append(append([]string{}, entra...), "--provider-client-ids", "caller", "--entra-tokens-without-grant", ungranted), 1, []string{"INVALID", "not issued to an allowed client"}},
		{"without grant is for entra", k.Provider, append(append([]string{}, keycloak...), "--entra-tokens-without-grant", kcGood), 2, nil},
		{"cognito access token", c.Provider, append(cognito, "--scope", "read:data", access), 0, []string{"VALID"}},
		{"cognito ID token", c.Provider, append(cognito, idToken), 1, []string{"INVALID", "not an access token"}},
		{"keycloak", k.Provider, append(keycloak, kcGood), 0, []string{"VALID"}},
		{"keycloak azp not allowed", k.Provider, append(keycloak, kcRogue), 1, []string{"INVALID", "not issued to an allowed client"}},
		{"provider and issuer", e.Provider, append([]string{"--issuer", e.URL}, append(entra, v2)...), 2, nil},
		{"parameter without provider", e.Provider, []string{"--cognito-region", "eu-west-1", "--issuer", e.URL, "--audience", "a", v2}, 2, nil},
		{"unknown provider", e.Provider, []string{"--provider", "ping", "--audience", "a", v2}, 2, nil},
		{"entra without audience", e.Provider, []string{"--provider", "entra", "--entra-tenants", tenant, v2}, 2, nil},
		{"cognito without clients", c.Provider, []string{"--provider", "cognito", "--cognito-region", "eu-west-1", "--cognito-user-pool", "eu-west-1_Orders", access}, 2, nil},
		{"keycloak without URL", k.Provider, []string{"--provider", "keycloak", "--keycloak-realm", "prod", kcGood}, 2, nil},
		{"okta without URL", k.Provider, []string{"--provider", "okta", "--audience", "api://default", kcGood}, 2, nil},
		{"bad entra version", e.Provider, append(append([]string{}, entra...), "--entra-versions", "3", v2), 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validate(t, tt.client.Client(), "", tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
			// (No checkColumns: the report prints an empty "scopes" or
			// "client" line for tokens without them, as Entra app-only
			// and Keycloak service-account tokens are.)
			for _, tok := range []string{v1, v2, stranger, access, idToken, kcGood, kcRogue} {
				if strings.Contains(r.stdout+r.stderr, tok) {
					t.Fatal("output contains a token")
				}
			}
		})
	}
}

// An allow-list flag given with nothing in it ("", " , ", as an unset
// shell variable expands: --keycloak-azp "$ALLOWED_AZP") must be refused,
// not read as "no allow-list": today the token of any client is VALID.
func TestRedteamEmptyAllowListFlagsRefused(t *testing.T) {
	k := bearertest.NewKeycloak(t, "prod")
	o := bearertest.NewOkta(t)
	kcRogue := k.Token(t, bearertest.KeycloakToken{ClientID: "rogue", Audience: []string{"orders-api"}})
	oktaRogue := o.Token(t, bearertest.OktaToken{AuthServerID: "default", ClientID: "0oa9rogue", Audience: "api://default"})
	for _, tt := range []struct {
		name   string
		client *bearertest.Provider
		args   []string
	}{
		{"keycloak-azp empty", k.Provider, []string{"--provider", "keycloak", "--keycloak-url", k.URL, "--keycloak-realm", "prod", "--audience", "orders-api", "--keycloak-azp", "", kcRogue}},
		{"keycloak-azp commas", k.Provider, []string{"--provider", "keycloak", "--keycloak-url", k.URL, "--keycloak-realm", "prod", "--audience", "orders-api", "--keycloak-azp", " , ", kcRogue}},
		{"okta client ids empty", o.Provider, []string{"--provider", "okta", "--provider-url", o.URL, "--audience", "api://default", "--provider-client-ids", "", oktaRogue}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := validate(t, tt.client.Client(), "", tt.args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2 (an empty allow-list is a usage error)\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// serve refuses an allow-list variable set but empty before it parses
// anything (review of this session's changes).
func TestServeRefusesEmptyAllowListEnvironment(t *testing.T) {
	t.Setenv("BEARERGUARD_KEYCLOAK_AZP", "")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"serve", "--provider", "keycloak", "--provider-url", "https://sso.example.com", "--keycloak-realm", "prod",
		"--audience", "orders-api", "--routes", "/nonexistent"}, nil, &stdout, &stderr, nil)
	if code != 2 || !strings.Contains(stderr.String(), "BEARERGUARD_KEYCLOAK_AZP is set but empty") {
		t.Errorf("exit %d: %q", code, stderr.String())
	}
}
