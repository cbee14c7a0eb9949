package bearertest_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/jwks"
)

// getJSON fetches a JSON document from a provider stand-in.
func getJSON(t *testing.T, c *http.Client, url string) map[string]any {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d", url, resp.StatusCode)
	}
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// payload decodes a token's claims, unverified.
func payload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

const tid = "72f988bf-86f1-41af-91ab-2d7cd011db47"

// Each stand-in's discovery names the issuer its tokens carry, and
// jwks.Discover (which requires that equality) finds its keys.
func TestProviderDiscovery(t *testing.T) {
	cognito := bearertest.NewCognito(t, "eu-west-1", "eu-west-1_P")
	entra := bearertest.NewEntra(t)
	kc := bearertest.NewKeycloak(t, "prod")
	auth0 := bearertest.NewAuth0(t)
	okta := bearertest.NewOkta(t)
	tests := []struct {
		name   string
		client *http.Client
		issuer string
		token  string
	}{
		{"cognito", cognito.Client(), cognito.IssuerURL(), cognito.AccessToken(t, "c", "s", nil)},
		{"entra v2", entra.Client(), entra.IssuerURL(2, tid), entra.Token(t, bearertest.EntraToken{Tenant: tid, Audience: "a"})},
		{"keycloak", kc.Client(), kc.IssuerURL(), kc.Token(t, bearertest.KeycloakToken{ClientID: "c"})},
		{"auth0", auth0.Client(), auth0.IssuerURL(), auth0.Token(t, bearertest.Auth0Token{ClientID: "c", Audience: []string{"a"}})},
		{"okta default", okta.Client(), okta.IssuerURL("default"), okta.Token(t, bearertest.OktaToken{AuthServerID: "default", ClientID: "c", Audience: "api://default"})},
		{"okta org", okta.Client(), okta.IssuerURL(""), okta.Token(t, bearertest.OktaToken{ClientID: "c", Audience: "a"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := payload(t, tt.token)["iss"]; got != tt.issuer {
				t.Errorf("token iss = %v, want %q", got, tt.issuer)
			}
			set, err := jwks.Discover(tt.issuer, jwks.WithHTTPClient(tt.client))
			if err != nil {
				t.Fatal(err)
			}
			defer set.Close()
			if err := set.WaitReady(t.Context()); err != nil {
				t.Errorf("Discover(%q): %v", tt.issuer, err)
			}
		})
	}
}

// Entra ID's multi-tenant endpoints publish the issuer template, with
// {tenantid}, and the same keys as every tenant.
func TestEntraCommonEndpoint(t *testing.T) {
	e := bearertest.NewEntra(t)
	for _, tc := range []struct{ path, issuer string }{
		{"/common/v2.0/.well-known/openid-configuration", e.URL + "/{tenantid}/v2.0"},
		{"/organizations/v2.0/.well-known/openid-configuration", e.URL + "/{tenantid}/v2.0"},
		{"/common/.well-known/openid-configuration", e.STSURL() + "/{tenantid}/"},
		{"/" + tid + "/v2.0/.well-known/openid-configuration", e.URL + "/" + tid + "/v2.0"},
		{"/" + tid + "/.well-known/openid-configuration", e.STSURL() + "/" + tid + "/"},
	} {
		doc := getJSON(t, e.Client(), e.URL+tc.path)
		if doc["issuer"] != tc.issuer {
			t.Errorf("%s: issuer %v, want %q", tc.path, doc["issuer"], tc.issuer)
		}
		keys := getJSON(t, e.Client(), doc["jwks_uri"].(string))
		if ks, _ := keys["keys"].([]any); len(ks) == 0 {
			t.Errorf("%s: jwks_uri %v has no keys", tc.path, doc["jwks_uri"])
		}
	}
}

// Tokens carry the claims each provider documents.
func TestProviderTokenShapes(t *testing.T) {
	cognito := bearertest.NewCognito(t, "eu-west-1", "eu-west-1_P")
	entra := bearertest.NewEntra(t)
	kc := bearertest.NewKeycloak(t, "prod")
	auth0 := bearertest.NewAuth0(t)
	okta := bearertest.NewOkta(t)
	tests := []struct {
		name    string
		token   string
		want    map[string]any // claim → value (JSON-decoded)
		without []string
	}{
		{"cognito access", cognito.AccessToken(t, "app", "a/b c", nil),
			map[string]any{"token_use": "access", "client_id": "app", "scope": "a/b c", "sub": "app"}, []string{"aud"}},
		{"cognito id", cognito.IDToken(t, "app", nil),
			map[string]any{"token_use": "id", "aud": "app", "cognito:username": "alice"}, []string{"client_id", "scope"}},
		{"entra v1", entra.Token(t, bearertest.EntraToken{Version: 1, Tenant: tid, Audience: "api://x", AppID: "app", Roles: []string{"R"}}),
			map[string]any{"ver": "1.0", "appid": "app", "tid": tid, "aud": "api://x", "iss": entra.STSURL() + "/" + tid + "/", "roles": []any{"R"}}, []string{"azp", "scp"}},
		{"entra v2", entra.Token(t, bearertest.EntraToken{Tenant: tid, Audience: "cid", AppID: "app", Scp: "a b"}),
			map[string]any{"ver": "2.0", "azp": "app", "azpacr": "1", "scp": "a b"}, []string{"appid", "roles"}},
		{"keycloak", kc.Token(t, bearertest.KeycloakToken{ClientID: "c", Audience: []string{"api"}, RealmRoles: []string{"r"}, ClientRoles: map[string][]string{"api": {"admin"}}}),
			map[string]any{"azp": "c", "aud": "api", "typ": "Bearer", "realm_access": map[string]any{"roles": []any{"r"}},
				"resource_access": map[string]any{"api": map[string]any{"roles": []any{"admin"}}}}, nil},
		{"auth0", auth0.Token(t, bearertest.Auth0Token{ClientID: "c", Audience: []string{"a", "b"}, Permissions: []string{"p"}}),
			map[string]any{"sub": "c@clients", "gty": "client-credentials", "aud": []any{"a", "b"}, "permissions": []any{"p"}}, []string{"client_id"}},
		{"okta", okta.Token(t, bearertest.OktaToken{AuthServerID: "default", ClientID: "c", Audience: "api://default", Scopes: []string{"x"}}),
			map[string]any{"cid": "c", "scp": []any{"x"}, "ver": float64(1)}, []string{"client_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := payload(t, tt.token)
			for k, want := range tt.want {
				got, _ := json.Marshal(c[k])
				w, _ := json.Marshal(want)
				if string(got) != string(w) {
					t.Errorf("%s = %s, want %s", k, got, w)
				}
			}
			for _, k := range tt.without {
				if _, ok := c[k]; ok {
					t.Errorf("has %s = %v", k, c[k])
				}
			}
			if _, ok := c["exp"]; !ok {
				t.Error("no exp")
			}
		})
	}
}
