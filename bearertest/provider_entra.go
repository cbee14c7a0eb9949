package bearertest

import (
	"net/http"
	"strings"
)

// Entra stands in for Microsoft Entra ID, for tests: the v2 and v1
// discovery documents and keys of any tenant at the paths Entra ID uses
// ({URL}/{tenant}/v2.0/.well-known/openid-configuration,
// {URL}/{tenant}/discovery/v2.0/keys, and their v1 forms), including the
// multi-tenant "common" and "organizations" endpoints, whose issuer is the
// template with {tenantid}. It mints v1 and v2 access tokens shaped as
// Entra ID documents them. v1 issuers live at [Entra.STSURL], standing for
// https://sts.windows.net. Point providers.Entra or
// providers.EntraMultiTenant at it with providers.WithBaseURL(e.URL),
// providers.WithEntraV1IssuerURL(e.STSURL()) and
// providers.WithHTTPClient(e.Client()).
type Entra struct {
	*Provider
}

// EntraToken describes an Entra ID access token.
type EntraToken struct {
	// Version is 1 (issuer {STSURL}/{tid}/, "appid", "ver": "1.0") or 2
	// (issuer {URL}/{tid}/v2.0, "azp", "ver": "2.0"); 0 means 2.
	Version int
	// Tenant is the tenant id, in "tid" and the issuer.
	Tenant string
	// Audience is "aud": the app ID URI (v1) or client id (v2) of the API.
	Audience string
	// AppID is the calling client's application id.
	AppID string
	// Roles are application permissions ("roles"), what the
	// client-credentials grant gets.
	Roles []string
	// Scp is the space-delimited delegated permissions ("scp"), for a
	// token obtained on behalf of a user. A token with neither Roles nor
	// Scp is refused by the Entra ID presets (validator.ErrNoGrant)
	// unless providers.WithEntraTokensWithoutGrant.
	Scp string
	// Extra adds or overrides claims; nil removes one.
	Extra Claims
}

// NewEntra starts a stand-in for Entra ID. It stops when the test ends.
func NewEntra(t T) *Entra {
	t.Helper()
	e := &Entra{}
	e.Provider = newProvider(t, func(p *Provider, mux *http.ServeMux) {
		mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", p.serveKeys)
		mux.HandleFunc("GET /{tenant}/discovery/keys", p.serveKeys)
		mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
			tenant := r.PathValue("tenant")
			serveJSON(w, map[string]any{
				"issuer":                                e.issuer(2, entraIssuerTenant(tenant)),
				"jwks_uri":                              e.URL + "/" + tenant + "/discovery/v2.0/keys",
				"token_endpoint":                        e.URL + "/" + tenant + "/oauth2/v2.0/token",
				"id_token_signing_alg_values_supported": []string{"RS256"},
				"tenant_region_scope":                   "EU",
			})
		})
		mux.HandleFunc("GET /{tenant}/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
			tenant := r.PathValue("tenant")
			serveJSON(w, map[string]any{
				"issuer":                                e.issuer(1, entraIssuerTenant(tenant)),
				"jwks_uri":                              e.URL + "/" + tenant + "/discovery/keys",
				"token_endpoint":                        e.URL + "/" + tenant + "/oauth2/token",
				"id_token_signing_alg_values_supported": []string{"RS256"},
			})
		})
	})
	return e
}

// entraIssuerTenant: the multi-tenant endpoints answer with the issuer
// template, whose tenant is "{tenantid}".
func entraIssuerTenant(tenant string) string {
	switch strings.ToLower(tenant) {
	case "common", "organizations", "consumers":
		return "{tenantid}"
	}
	return tenant
}

// STSURL stands for https://sts.windows.net, the host of v1 issuers.
func (e *Entra) STSURL() string { return e.URL + "/sts" }

func (e *Entra) issuer(version int, tenant string) string {
	if version == 1 {
		return e.STSURL() + "/" + tenant + "/"
	}
	return e.URL + "/" + tenant + "/v2.0"
}

// IssuerURL returns the issuer of a token of version (1 or 2) from tenant.
func (e *Entra) IssuerURL(version int, tenant string) string { return e.issuer(version, tenant) }

// Token mints an access token as Entra ID issues it: "aud", "iss", "iat",
// "nbf", "exp", "aio", "idp" (the issuer, for app-only tokens), "oid" and
// "sub" (the client's service principal), "rh", "tid", "uti", "ver", then
// "appid" and "appidacr" (v1) or "azp" and "azpacr" (v2), "roles" and
// "scp" when set.
func (e *Entra) Token(t T, tok EntraToken) string {
	t.Helper()
	v := tok.Version
	if v == 0 {
		v = 2
	}
	iss := e.issuer(v, tok.Tenant)
	oid := randomUUID()
	c := Claims{
		"iss": iss, "aud": tok.Audience, "tid": tok.Tenant, "oid": oid, "sub": oid, "idp": iss,
		"aio": "E2ZgYJg" + randomID(), "rh": "0.AAAA" + randomID() + ".", "uti": randomID(),
		"nbf": e.Keys.clock().Unix(), "jti": nil,
	}
	if v == 1 {
		c["ver"], c["appid"], c["appidacr"] = "1.0", tok.AppID, "1"
	} else {
		c["ver"], c["azp"], c["azpacr"] = "2.0", tok.AppID, "1"
	}
	if tok.Roles != nil {
		c["roles"] = tok.Roles
	}
	if tok.Scp != "" {
		c["scp"] = tok.Scp
	}
	return e.mint(t, c, tok.Extra)
}
