package bearertest

import (
	"net/http"
	"strings"
)

// Auth0 stands in for an Auth0 tenant (or custom) domain, for tests:
// discovery at {URL}/.well-known/openid-configuration and keys at
// {URL}/.well-known/jwks.json, and API access tokens shaped as Auth0
// issues them. Its issuer is {URL}/, with the trailing slash. Point
// providers.Auth0(a.Domain(), …) at it with
// providers.WithHTTPClient(a.Client()).
type Auth0 struct {
	*Provider
}

// Auth0Token describes an Auth0 access token.
type Auth0Token struct {
	// ClientID is the application the token was issued to ("azp"; "sub"
	// is "{ClientID}@clients" for client credentials).
	ClientID string
	// Audience is "aud": one API identifier (a string), or several (an
	// array, e.g. with the /userinfo audience).
	Audience []string
	// Scope is the space-delimited "scope".
	Scope string
	// Permissions go to "permissions" (RBAC), when non-nil.
	Permissions []string
	// Extra adds or overrides claims; nil removes one.
	Extra Claims
}

// NewAuth0 starts a stand-in for an Auth0 domain. It stops when the test
// ends.
func NewAuth0(t T) *Auth0 {
	t.Helper()
	a := &Auth0{}
	a.Provider = newProvider(t, func(p *Provider, mux *http.ServeMux) {
		mux.HandleFunc("GET /.well-known/jwks.json", p.serveKeys)
		mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
			serveJSON(w, map[string]any{
				"issuer":                                a.IssuerURL(),
				"jwks_uri":                              a.URL + "/.well-known/jwks.json",
				"token_endpoint":                        a.URL + "/oauth/token",
				"id_token_signing_alg_values_supported": []string{"HS256", "RS256", "PS256"},
			})
		})
	})
	return a
}

// Domain returns the host (and port) standing for the tenant's domain.
func (a *Auth0) Domain() string { return strings.TrimPrefix(a.URL, "https://") }

// IssuerURL returns the issuer, https://{domain}/.
func (a *Auth0) IssuerURL() string { return a.URL + "/" }

// Token mints a client-credentials access token: "iss", "sub", "aud",
// "iat", "exp", "gty": "client-credentials", "azp", "scope", and
// "permissions" when set.
func (a *Auth0) Token(t T, tok Auth0Token) string {
	t.Helper()
	c := Claims{
		"iss": a.IssuerURL(), "sub": tok.ClientID + "@clients", "aud": audience(tok.Audience),
		"gty": "client-credentials", "azp": tok.ClientID, "scope": tok.Scope, "jti": nil,
	}
	if tok.Permissions != nil {
		c["permissions"] = tok.Permissions
	}
	return a.mint(t, c, tok.Extra)
}
