package providers_test

import (
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/providers"
	"github.com/bearerguard/bearerguard/validator"
)

// TestIssuerOptionsCannotWiden: WithIssuerOptions adds checks; an
// audience or client list where the preset sets its own would widen the
// preset's (an "added" IssuerAudience let a token for another API of the
// same Auth0 tenant in), so the validator refuses it when built, as it
// refuses the same option given twice to any issuer.
func TestIssuerOptionsCannotWiden(t *testing.T) {
	audience := validator.IssuerAudience("https://api.example.com/billing")
	clients := validator.IssuerClientIDs("app-reports")
	check := validator.IssuerClaimValues("tenant", "t1")
	presets := map[string]func(...providers.Option) (*providers.Preset, error){
		"auth0": func(o ...providers.Option) (*providers.Preset, error) {
			return providers.Auth0("login.example.com", []string{"https://api.example.com/orders"}, o...)
		},
		"cognito": func(o ...providers.Option) (*providers.Preset, error) {
			return providers.Cognito("eu-west-1", "eu-west-1_Orders", []string{"app-orders"}, o...)
		},
		"entra": func(o ...providers.Option) (*providers.Preset, error) {
			return providers.Entra(tenant, []string{"api://orders"}, o...)
		},
		"okta": func(o ...providers.Option) (*providers.Preset, error) {
			return providers.Okta("https://example.okta.com", "default", []string{"api://orders"}, o...)
		},
		"keycloak with audiences": func(o ...providers.Option) (*providers.Preset, error) {
			return providers.Keycloak("https://sso.example.com/", "prod", append(o, providers.WithAudience("orders"))...)
		},
		"keycloak": func(o ...providers.Option) (*providers.Preset, error) {
			return providers.Keycloak("https://sso.example.com/", "prod", o...)
		},
	}
	for _, tt := range []struct {
		preset  string
		opt     validator.IssuerOption
		refused bool
	}{
		{"auth0", audience, true},
		{"auth0", check, false},
		{"cognito", clients, true},
		{"cognito", check, false},
		{"entra", audience, true},
		{"okta", audience, true},
		{"keycloak with audiences", audience, true},
		{"keycloak", audience, false}, // the preset sets none: this is the only list
		{"keycloak", check, false},
	} {
		p, err := presets[tt.preset](providers.WithIssuerOptions(tt.opt))
		if err != nil {
			t.Fatalf("%s: %v", tt.preset, err)
		}
		_, err = validator.New(p.Option(), validator.WithAudience("orders"))
		p.Close()
		if refused := err != nil && strings.Contains(err.Error(), "given twice for one issuer"); refused != tt.refused {
			t.Errorf("%s with an issuer option: validator.New error %v, want refused=%v", tt.preset, err, tt.refused)
		}
	}
}

// TestIssuerOptionGivenTwice: a second audience list, client list or
// client id claim for one issuer is refused, not merged or replaced.
func TestIssuerOptionGivenTwice(t *testing.T) {
	keys := validator.NewKeys()
	for _, tt := range []struct {
		name string
		opts []validator.IssuerOption
	}{
		{"IssuerAudience", []validator.IssuerOption{validator.IssuerAudience("a"), validator.IssuerAudience("b")}},
		{"IssuerClientIDs", []validator.IssuerOption{validator.IssuerClientIDs("a"), validator.IssuerClientIDs("b")}},
		{"IssuerClientIDClaim", []validator.IssuerOption{validator.IssuerClientIDClaim("appid"), validator.IssuerClientIDClaim("cid")}},
	} {
		_, err := validator.New(validator.WithIssuer("https://as.example.com", keys, tt.opts...), validator.WithAudience("orders"))
		if err == nil || !strings.Contains(err.Error(), tt.name+" given twice") {
			t.Errorf("%s twice: validator.New error %v", tt.name, err)
		}
		if _, err := validator.New(validator.WithIssuer("https://as.example.com", keys, tt.opts[0]), validator.WithAudience("orders")); err != nil {
			t.Errorf("%s once: %v", tt.name, err)
		}
	}
}
