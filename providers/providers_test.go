package providers_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/providers"
	"github.com/bearerguard/bearerguard/validator"
)

const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"

func TestIssuersAndDefaults(t *testing.T) {
	tests := []struct {
		name  string
		build func() (*providers.Preset, error)
		want  []string
	}{
		{"cognito", func() (*providers.Preset, error) {
			return providers.Cognito("us-east-1", "us-east-1_AbC123", []string{"client"})
		}, []string{"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123"}},
		{"entra v2", func() (*providers.Preset, error) { return providers.Entra(tenant, []string{"api://orders"}) },
			[]string{"https://login.microsoftonline.com/" + tenant + "/v2.0"}},
		{"entra v1 and v2, upper-case tenant", func() (*providers.Preset, error) {
			return providers.Entra(strings.ToUpper(tenant), []string{"api://orders"}, providers.WithEntraVersions(1, 2))
		}, []string{"https://sts.windows.net/" + tenant + "/", "https://login.microsoftonline.com/" + tenant + "/v2.0"}},
		{"entra sovereign cloud", func() (*providers.Preset, error) {
			return providers.Entra(tenant, []string{"api://orders"}, providers.WithBaseURL("https://login.microsoftonline.us/"))
		}, []string{"https://login.microsoftonline.us/" + tenant + "/v2.0"}},
		{"keycloak", func() (*providers.Preset, error) { return providers.Keycloak("https://sso.example.com/", "prod") },
			[]string{"https://sso.example.com/realms/prod"}},
		{"auth0 custom domain", func() (*providers.Preset, error) {
			return providers.Auth0("login.example.com", []string{"https://api"})
		},
			[]string{"https://login.example.com/"}},
		{"okta default server", func() (*providers.Preset, error) {
			return providers.Okta("https://example.okta.com", "default", []string{"api://default"})
		}, []string{"https://example.okta.com/oauth2/default"}},
		{"okta org server", func() (*providers.Preset, error) {
			return providers.Okta("https://example.okta.com/", "", []string{"api://default"})
		}, []string{"https://example.okta.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.build()
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Issuers(); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("Issuers() = %q, want %q", got, tt.want)
			}
			if err := p.Close(); err != nil {
				t.Errorf("Close() = %v", err)
			}
			if err := p.Close(); err != nil {
				t.Errorf("second Close() = %v", err)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func() (*providers.Preset, error)
		want  string
	}{
		{"cognito pool of another region", func() (*providers.Preset, error) {
			return providers.Cognito("us-east-1", "eu-west-1_abc", []string{"c"})
		}, "not in region"},
		{"cognito no client", func() (*providers.Preset, error) { return providers.Cognito("us-east-1", "us-east-1_abc", nil) }, "client ids"},
		{"cognito pool with a slash", func() (*providers.Preset, error) {
			return providers.Cognito("us-east-1", "us-east-1_a/../b", []string{"c"})
		}, "not allowed"},
		{"cognito takes no audience", func() (*providers.Preset, error) {
			return providers.Cognito("us-east-1", "us-east-1_abc", []string{"c"}, providers.WithAudience("x"))
		}, "WithAudience"},
		{"cognito http base", func() (*providers.Preset, error) {
			return providers.Cognito("us-east-1", "us-east-1_abc", []string{"c"}, providers.WithBaseURL("http://cognito.example.com"))
		}, "https"},
		{"entra tenant not a GUID", func() (*providers.Preset, error) { return providers.Entra("contoso.com", []string{"a"}) }, "GUID"},
		{"entra no audience", func() (*providers.Preset, error) { return providers.Entra(tenant, nil) }, "audiences"},
		{"entra version 3", func() (*providers.Preset, error) {
			return providers.Entra(tenant, []string{"a"}, providers.WithEntraVersions(3))
		}, "not 1 or 2"},
		{"entra multi-tenant without tenants", func() (*providers.Preset, error) { return providers.EntraMultiTenant(nil, []string{"a"}) }, "no tenant"},
		{"keycloak realm with a slash", func() (*providers.Preset, error) { return providers.Keycloak("https://sso", "a/b") }, "realm"},
		{"keycloak realm of dots", func() (*providers.Preset, error) { return providers.Keycloak("https://sso", "..") }, "dots"},
		{"keycloak http", func() (*providers.Preset, error) { return providers.Keycloak("http://sso.example.com", "r") }, "https"},
		{"keycloak empty party", func() (*providers.Preset, error) {
			return providers.Keycloak("https://sso", "r", providers.WithAuthorizedParties(""))
		}, "WithAuthorizedParties"},
		{"auth0 domain with a path", func() (*providers.Preset, error) { return providers.Auth0("example.auth0.com/x", []string{"a"}) }, "host name"},
		{"auth0 URL for a domain", func() (*providers.Preset, error) { return providers.Auth0("https://example.auth0.com", []string{"a"}) }, "host name"},
		{"okta no audience", func() (*providers.Preset, error) { return providers.Okta("https://x.okta.com", "default", nil) }, "audiences"},
		{"okta takes no parties", func() (*providers.Preset, error) {
			return providers.Okta("https://x.okta.com", "default", []string{"a"}, providers.WithAuthorizedParties("p"))
		}, "WithAuthorizedParties"},
		{"nil option", func() (*providers.Preset, error) { return providers.Auth0("x.auth0.com", []string{"a"}, nil) }, "nil Option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.build()
			if err == nil {
				_ = p.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
		})
	}
}

// http:// is allowed to a loopback host only with WithInsecureLoopbackHTTP.
func TestLoopbackHTTP(t *testing.T) {
	if _, err := providers.Keycloak("http://127.0.0.1:8080", "dev"); err == nil {
		t.Error("http Keycloak accepted without WithInsecureLoopbackHTTP")
	}
	p, err := providers.Keycloak("http://127.0.0.1:8080", "dev", providers.WithInsecureLoopbackHTTP())
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Close()
}

// A preset composes with other options, and its key set is the one
// tokens are checked with: a token of the stand-in is accepted once the
// keys load, and KeySets reports them ready.
func TestPresetComposes(t *testing.T) {
	a := bearertest.NewAuth0(t)
	p, err := providers.Auth0(a.Domain(), []string{"orders"}, providers.WithHTTPClient(a.Client()))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	v, err := validator.New(p.Option(), validator.WithRFC9068())
	if err != nil {
		t.Fatal(err)
	}
	tok := a.Token(t, bearertest.Auth0Token{ClientID: "c", Audience: []string{"orders"}, Scope: "read:data"})
	// WithRFC9068 wants typ at+jwt, which Auth0 writes only when asked.
	if _, err := v.Validate(t.Context(), tok); !errors.Is(err, validator.ErrType) {
		t.Errorf("Validate() under WithRFC9068 = %v, want ErrType", err)
	}
	v, err = validator.New(p.Option())
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Validate(t.Context(), tok)
	if err != nil || got.Subject != "c@clients" || got.ClientID != "c" {
		t.Fatalf("Validate() = %+v, %v", got, err)
	}
	if sets := p.KeySets(); len(sets) != 1 || sets[0].WaitReady(t.Context()) != nil {
		t.Errorf("KeySets() = %v, not ready", sets)
	}
}

func TestNewFromConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     providers.Config
		issuers []string
		err     string
	}{
		{"cognito", providers.Config{Name: "cognito", Region: "eu-west-1", UserPoolID: "eu-west-1_x", ClientIDs: []string{"c"}},
			[]string{"https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_x"}, ""},
		{"entra one tenant", providers.Config{Name: "entra", Tenants: []string{tenant}, Audiences: []string{"a"}},
			[]string{"https://login.microsoftonline.com/" + tenant + "/v2.0"}, ""},
		{"keycloak", providers.Config{Name: "keycloak", URL: "https://sso", Realm: "r", Client: "api", AuthorizedParties: []string{"p"}},
			[]string{"https://sso/realms/r"}, ""},
		{"auth0", providers.Config{Name: "auth0", Domain: "x.auth0.com", Audiences: []string{"a"}}, []string{"https://x.auth0.com/"}, ""},
		{"okta", providers.Config{Name: "okta", URL: "https://x.okta.com", AuthServerID: "default", Audiences: []string{"a"}, ClientIDs: []string{"c"}},
			[]string{"https://x.okta.com/oauth2/default"}, ""},
		{"entra v1 and v2 on another host", providers.Config{Name: "entra", Tenants: []string{tenant}, Audiences: []string{"a"},
			URL: "https://login.example.us", V1IssuerURL: "https://sts.example.us", Versions: []int{1, 2}},
			[]string{"https://sts.example.us/" + tenant + "/", "https://login.example.us/" + tenant + "/v2.0"}, ""},
		{"cognito on another host", providers.Config{Name: "cognito", Region: "eu-west-1", UserPoolID: "eu-west-1_x", ClientIDs: []string{"c"}, URL: "https://idp.example.com"},
			[]string{"https://idp.example.com/eu-west-1_x"}, ""},
		{"unknown", providers.Config{Name: "ping"}, nil, "unknown provider"},
		{"okta with versions", providers.Config{Name: "okta", URL: "https://x.okta.com", Audiences: []string{"a"}, Versions: []int{1}}, nil, "does not take v1 issuer URL and versions"},
		{"auth0 with a URL", providers.Config{Name: "auth0", Domain: "x.auth0.com", Audiences: []string{"a"}, URL: "https://x"}, nil, "does not take URL"},
		{"cognito audience", providers.Config{Name: "cognito", Region: "eu-west-1", UserPoolID: "eu-west-1_x", ClientIDs: []string{"c"}, Audiences: []string{"a"}}, nil, "does not take audiences"},
		{"auth0 with a realm", providers.Config{Name: "auth0", Domain: "x.auth0.com", Audiences: []string{"a"}, Realm: "r"}, nil, "does not take realm"},
		{"okta with tenants", providers.Config{Name: "okta", URL: "https://x.okta.com", Audiences: []string{"a"}, Tenants: []string{tenant}}, nil, "does not take tenants"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := providers.New(tt.cfg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("New() = %v, want an error with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if got := p.Issuers(); strings.Join(got, " ") != strings.Join(tt.issuers, " ") || p.Name() != tt.cfg.Name {
				t.Errorf("New() = %s %q, want %q", p.Name(), got, tt.issuers)
			}
		})
	}
	if got := providers.SplitList(" a, ,b ,"); strings.Join(got, "|") != "a|b" {
		t.Errorf("SplitList = %q", got)
	}
}
