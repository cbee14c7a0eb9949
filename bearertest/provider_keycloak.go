package bearertest

import "net/http"

// Keycloak stands in for a Keycloak realm, for tests: discovery at
// {URL}/realms/{realm}/.well-known/openid-configuration and keys at
// {URL}/realms/{realm}/protocol/openid-connect/certs, and access tokens
// shaped as Keycloak issues them. Point providers.Keycloak(k.URL, realm,
// …) at it with providers.WithHTTPClient(k.Client()).
type Keycloak struct {
	*Provider
	// Realm is the realm's name, as given: the issuer is the provider's
	// URL followed by "/realms/" and the realm.
	Realm string
}

// KeycloakToken describes a Keycloak access token.
type KeycloakToken struct {
	// ClientID is the client the token was issued to ("azp", and
	// "client_id" for a service account).
	ClientID string
	// Audience is "aud" (Keycloak adds "account", or what an audience
	// mapper adds).
	Audience []string
	// RealmRoles go to "realm_access.roles".
	RealmRoles []string
	// ClientRoles go to "resource_access.{client}.roles".
	ClientRoles map[string][]string
	// Scope is the space-delimited "scope".
	Scope string
	// Extra adds or overrides claims; nil removes one.
	Extra Claims
}

// NewKeycloak starts a stand-in for realm. It stops when the test ends.
func NewKeycloak(t T, realm string) *Keycloak {
	t.Helper()
	k := &Keycloak{Realm: realm}
	k.Provider = newProvider(t, func(p *Provider, mux *http.ServeMux) {
		mux.HandleFunc("GET /realms/"+realm+"/protocol/openid-connect/certs", p.serveKeys)
		mux.HandleFunc("GET /realms/"+realm+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
			serveJSON(w, map[string]any{
				"issuer":                                k.IssuerURL(),
				"jwks_uri":                              k.IssuerURL() + "/protocol/openid-connect/certs",
				"token_endpoint":                        k.IssuerURL() + "/protocol/openid-connect/token",
				"introspection_endpoint":                k.IssuerURL() + "/protocol/openid-connect/token/introspect",
				"id_token_signing_alg_values_supported": []string{"RS256", "ES256", "PS256"},
			})
		})
	})
	return k
}

// IssuerURL returns the realm's issuer, {URL}/realms/{realm}.
func (k *Keycloak) IssuerURL() string { return k.URL + "/realms/" + k.Realm }

// Token mints a service-account access token: "iss", "aud", "sub",
// "typ": "Bearer", "azp", "acr", "realm_access", "resource_access",
// "scope", "client_id", "preferred_username", "clientHost".
func (k *Keycloak) Token(t T, tok KeycloakToken) string {
	t.Helper()
	ra := map[string]any{}
	for client, roles := range tok.ClientRoles {
		ra[client] = map[string]any{"roles": roles}
	}
	realmRoles := tok.RealmRoles
	if realmRoles == nil {
		realmRoles = []string{"offline_access", "uma_authorization", "default-roles-" + k.Realm}
	}
	c := Claims{
		"iss": k.IssuerURL(), "aud": audience(tok.Audience), "sub": randomUUID(), "typ": "Bearer",
		"azp": tok.ClientID, "client_id": tok.ClientID, "acr": "1", "jti": randomUUID(),
		"realm_access": map[string]any{"roles": realmRoles}, "resource_access": ra,
		"scope": tok.Scope, "preferred_username": "service-account-" + tok.ClientID, "clientHost": "127.0.0.1",
		"email_verified": false,
	}
	return k.mint(t, c, tok.Extra)
}
