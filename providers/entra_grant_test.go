package providers_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/providers"
	"github.com/bearerguard/bearerguard/validator"
)

// Entra ID issues a client-credentials token for an API to any client of
// the tenant (a third-party multi-tenant app a user consented to
// included); one nobody granted anything carries neither "roles" nor
// "scp". The presets refuse it (as Microsoft.Identity.Web does, IDW10201),
// unless WithEntraTokensWithoutGrant; WithClientIDs narrows the callers.
func TestEntraRefusesTokensGrantingNothing(t *testing.T) {
	const (
		tenant    = "72f988bf-86f1-41af-91ab-2d7cd011db47"
		apiClient = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
		stranger  = "0b5e7e3f-0000-4000-8000-00000000dead"
		caller    = "1c0ffee0-0000-4000-8000-000000000001"
	)
	e := bearertest.NewEntra(t)
	build := func(t *testing.T, multi bool, opts ...providers.Option) *validator.Validator {
		t.Helper()
		opts = append([]providers.Option{providers.WithEntraVersions(1, 2), providers.WithBaseURL(e.URL),
			providers.WithEntraV1IssuerURL(e.STSURL()), providers.WithHTTPClient(e.Client())}, opts...)
		auds := []string{"api://orders", apiClient}
		var p *providers.Preset
		var err error
		if multi {
			p, err = providers.EntraMultiTenant([]string{tenant}, auds, opts...)
		} else {
			p, err = providers.Entra(tenant, auds, opts...)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close() })
		v, err := validator.New(p.Option())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	token := func(ver int, app string, roles []string, scp string) string {
		aud := apiClient
		if ver == 1 {
			aud = "api://orders"
		}
		return e.Token(t, bearertest.EntraToken{Version: ver, Tenant: tenant, Audience: aud, AppID: app, Roles: roles, Scp: scp})
	}
	for _, multi := range []bool{false, true} {
		for _, ver := range []int{1, 2} {
			cases := []struct {
				name  string
				opts  []providers.Option
				token string
				want  error // nil: accepted
			}{
				{"no roles, no scp", nil, token(ver, stranger, nil, ""), validator.ErrNoGrant},
				{"empty roles, empty scp", nil, token(ver, stranger, []string{}, ""), validator.ErrNoGrant},
				{"a role", nil, token(ver, caller, []string{"Data.Read"}, ""), nil},
				{"a scope", nil, token(ver, caller, nil, "read:data"), nil},
				{"no grant, allowed", []providers.Option{providers.WithEntraTokensWithoutGrant()}, token(ver, stranger, nil, ""), nil},
				{"client allowed", []providers.Option{providers.WithClientIDs(caller)}, token(ver, caller, []string{"Data.Read"}, ""), nil},
				{"client not allowed", []providers.Option{providers.WithClientIDs(caller)}, token(ver, stranger, []string{"Data.Read"}, ""), validator.ErrClaimValue},
				{"client not allowed, no grant allowed", []providers.Option{providers.WithClientIDs(caller), providers.WithEntraTokensWithoutGrant()}, token(ver, stranger, nil, ""), validator.ErrClaimValue},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					v := build(t, multi, c.opts...)
					tok, err := v.Validate(t.Context(), c.token)
					if c.want == nil {
						if err != nil {
							t.Fatalf("multi-tenant %v, v%d: %v", multi, ver, err)
						}
						return
					}
					if !errors.Is(err, c.want) {
						t.Fatalf("multi-tenant %v, v%d: err = %v (token %+v), want %v", multi, ver, err, tok, c.want)
					}
					if errors.Is(err, validator.ErrNoGrant) {
						if ch := validator.ChallengeFor(err, ""); ch.Status != http.StatusForbidden || ch.Code != "insufficient_scope" {
							t.Errorf("answered %d %q, want 403 insufficient_scope", ch.Status, ch.Code)
						}
					}
				})
			}
		}
	}
}

func TestEntraOptionsOnlyForEntra(t *testing.T) {
	if _, err := providers.Okta("https://example.okta.com", "default", []string{"api://default"}, providers.WithEntraTokensWithoutGrant()); err == nil {
		t.Error("Okta took WithEntraTokensWithoutGrant")
	}
	if _, err := providers.New(providers.Config{Name: "auth0", Domain: "example.auth0.com", Audiences: []string{"orders"}, TokensWithoutGrant: true}); err == nil {
		t.Error("auth0 took TokensWithoutGrant")
	}
	if _, err := providers.Entra("72f988bf-86f1-41af-91ab-2d7cd011db47", []string{"api://orders"}, providers.WithClientIDs()); err == nil {
		t.Error("Entra took an empty WithClientIDs")
	}
}

// Granting nothing is decided last: an expired token, or a DPoP-bound one
// sent as Bearer, is answered as such (401), not as granting nothing
// (403).
func TestEntraNoGrantDecidedLast(t *testing.T) {
	const (
		tenant    = "72f988bf-86f1-41af-91ab-2d7cd011db47"
		apiClient = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
	)
	e := bearertest.NewEntra(t)
	p, err := providers.Entra(tenant, []string{apiClient}, providers.WithBaseURL(e.URL), providers.WithHTTPClient(e.Client()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	v, err := validator.New(p.Option(), validator.WithDPoP(validator.DPoPAllowed))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	expired := e.Token(t, bearertest.EntraToken{Tenant: tenant, Audience: apiClient, AppID: "stranger",
		Extra: bearertest.Claims{"iat": now.Add(-3 * time.Hour).Unix(), "nbf": now.Add(-3 * time.Hour).Unix(), "exp": now.Add(-2 * time.Hour).Unix()}})
	bound := e.Token(t, bearertest.EntraToken{Tenant: tenant, Audience: apiClient, AppID: "stranger",
		Extra: bearertest.Claims{"cnf": map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}})
	plain := e.Token(t, bearertest.EntraToken{Tenant: tenant, Audience: apiClient, AppID: "stranger"})
	for _, c := range []struct {
		name  string
		token string
		want  error
	}{
		{"expired", expired, validator.ErrExpired},
		{"DPoP-bound, sent as Bearer", bound, validator.ErrBoundToken},
		{"valid otherwise", plain, validator.ErrNoGrant},
	} {
		// Three times: the second sighting enters the validated-token
		// cache, the third is answered from it.
		for range 3 {
			_, err := v.ValidatePresentation(t.Context(), validator.Presentation{Scheme: validator.SchemeBearer, Token: c.token, Method: "GET"})
			if !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
		}
	}
}
