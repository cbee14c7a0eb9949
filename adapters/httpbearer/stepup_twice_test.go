package httpbearer_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// TestStepUpGivenTwice: a second WithStepUp on a route adds to the first
// (it replaced it: a route asking for MFA and then a recent login served
// a password-only token), and the challenge names what both require.
func TestStepUpGivenTwice(t *testing.T) {
	iss, g := stepUpGuard(t)
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mfa, pwd, otp := "urn:example:mfa", "urn:example:pwd", "urn:example:otp"
	now := time.Now()
	const both = `Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:example:mfa", max_age="300", DPoP algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"`
	routes := map[string][]httpbearer.RouteOption{
		"acr, then max age": {httpbearer.WithStepUp(validator.StepUp{ACR: []string{mfa}}), httpbearer.WithStepUp(validator.StepUp{MaxAge: 5 * time.Minute})},
		"max age, then acr": {httpbearer.WithStepUp(validator.StepUp{MaxAge: 5 * time.Minute}), httpbearer.WithStepUp(validator.StepUp{ACR: []string{mfa}})},
		"lists and ages meet": {httpbearer.WithStepUp(validator.StepUp{ACR: []string{otp, mfa}, MaxAge: time.Hour}),
			httpbearer.WithStepUp(validator.StepUp{ACR: []string{mfa, pwd}, MaxAge: 5 * time.Minute})},
	}
	for name, opts := range routes {
		srv := httptest.NewServer(g.Require(scopes.All("admin"), ok, opts...))
		for _, tt := range []struct {
			what   string
			claims bearertest.Claims
			status int
		}{
			{"mfa, recent", bearertest.Claims{"acr": mfa, "auth_time": now.Unix()}, http.StatusNoContent},
			{"password only, recent", bearertest.Claims{"acr": pwd, "auth_time": now.Unix()}, http.StatusUnauthorized},
			{"otp, recent (one list only)", bearertest.Claims{"acr": otp, "auth_time": now.Unix()}, http.StatusUnauthorized},
			{"mfa, ten minutes ago", bearertest.Claims{"acr": mfa, "auth_time": now.Add(-10 * time.Minute).Unix()}, http.StatusUnauthorized},
		} {
			tt.claims["aud"], tt.claims["scope"] = "api", "admin"
			req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL, nil)
			req.Header.Set("Authorization", "Bearer "+iss.Mint(t, tt.claims))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("%s: %s: %d, want %d", name, tt.what, resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("WWW-Authenticate"); tt.status == http.StatusUnauthorized && got != both {
				t.Errorf("%s: %s: challenge\n%s\nwant\n%s", name, tt.what, got, both)
			}
		}
		srv.Close()
	}

	contract.StepUpsPanicWhenBuilt(t, func(g *httpbearer.Guard, opts ...httpbearer.RouteOption) { g.Require(scopes.All("admin"), ok, opts...) })
}

// stepUpGuard is a Guard of a test issuer's tokens for the audience "api".
func stepUpGuard(t *testing.T) (*bearertest.Issuer, *httpbearer.Guard) {
	t.Helper()
	iss := bearertest.NewIssuer(t)
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience("api"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	return iss, g
}

// TestRouteOptions: options combined with RouteOptions check each other
// when combined (two step-ups with no acr value in common panicked on
// every request through Authorize, which the Gin, Echo and MCP adapters
// call per request), and the combined option requires what they did.
func TestRouteOptions(t *testing.T) {
	iss, g := stepUpGuard(t)
	mfa, pwd, otp := "urn:example:mfa", "urn:example:pwd", "urn:example:otp"
	t.Run("no acr in common panics when combined", func(t *testing.T) {
		contract.StepUpsPanicWhenBuilt(t, func(_ *httpbearer.Guard, opts ...httpbearer.RouteOption) { httpbearer.RouteOptions(opts...) })
	})

	combined := httpbearer.RouteOptions(httpbearer.WithStepUp(validator.StepUp{ACR: []string{otp, mfa}, MaxAge: time.Hour}),
		httpbearer.WithStepUp(validator.StepUp{ACR: []string{mfa, pwd}, MaxAge: 5 * time.Minute}))
	now := time.Now()
	for _, tt := range []struct {
		what   string
		opts   []httpbearer.RouteOption
		claims bearertest.Claims
		status int
	}{
		{"combined: mfa, recent", []httpbearer.RouteOption{combined}, bearertest.Claims{"acr": mfa, "auth_time": now.Unix()}, http.StatusNoContent},
		{"combined: otp (one list only)", []httpbearer.RouteOption{combined}, bearertest.Claims{"acr": otp, "auth_time": now.Unix()}, http.StatusUnauthorized},
		{"combined: mfa, ten minutes ago", []httpbearer.RouteOption{combined}, bearertest.Claims{"acr": mfa, "auth_time": now.Add(-10 * time.Minute).Unix()}, http.StatusUnauthorized},
		{"none", nil, bearertest.Claims{"acr": pwd, "auth_time": now.Add(-10 * time.Hour).Unix()}, http.StatusNoContent},
		{"combined, then a max age", []httpbearer.RouteOption{combined, httpbearer.WithStepUp(validator.StepUp{MaxAge: time.Minute})},
			bearertest.Claims{"acr": mfa, "auth_time": now.Add(-2 * time.Minute).Unix()}, http.StatusUnauthorized},
		{"combined, then a max age: met", []httpbearer.RouteOption{combined, httpbearer.WithStepUp(validator.StepUp{MaxAge: time.Minute})},
			bearertest.Claims{"acr": mfa, "auth_time": now.Unix()}, http.StatusNoContent},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, _, ok := g.Authorize(w, r, scopes.All("admin"), tt.opts...); ok {
				w.WriteHeader(http.StatusNoContent)
			}
		}))
		tt.claims["aud"], tt.claims["scope"] = "api", "admin"
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+iss.Mint(t, tt.claims))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		srv.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d", tt.what, resp.StatusCode, tt.status)
		}
	}
}
