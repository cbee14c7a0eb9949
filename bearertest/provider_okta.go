package bearertest

import "net/http"

// Okta stands in for an Okta org and its authorization servers, for
// tests: for a custom server {URL}/oauth2/{id}, discovery at
// {URL}/oauth2/{id}/.well-known/oauth-authorization-server (and
// openid-configuration) and keys at {URL}/oauth2/{id}/v1/keys; for the
// org server, {URL}/.well-known/… and {URL}/oauth2/v1/keys. It mints
// access tokens shaped as Okta issues them. Point providers.Okta(o.URL,
// id, …) at it with providers.WithHTTPClient(o.Client()).
type Okta struct {
	*Provider
}

// OktaToken describes an Okta access token.
type OktaToken struct {
	// AuthServerID is the custom authorization server ("default", …), or
	// "" for the org server.
	AuthServerID string
	// ClientID is the client the token was issued to ("cid", and "sub"
	// for client credentials).
	ClientID string
	// Audience is "aud" ("api://default" for the default server).
	Audience string
	// Scopes go to "scp", an array.
	Scopes []string
	// Extra adds or overrides claims; nil removes one.
	Extra Claims
}

// NewOkta starts a stand-in for an Okta org. It stops when the test ends.
func NewOkta(t T) *Okta {
	t.Helper()
	o := &Okta{}
	o.Provider = newProvider(t, func(p *Provider, mux *http.ServeMux) {
		mux.HandleFunc("GET /oauth2/v1/keys", p.serveKeys)
		mux.HandleFunc("GET /oauth2/{server}/v1/keys", p.serveKeys)
		meta := func(w http.ResponseWriter, r *http.Request) {
			iss := o.IssuerURL(r.PathValue("server"))
			keys := iss + "/v1/keys"
			if r.PathValue("server") == "" {
				keys = o.URL + "/oauth2/v1/keys"
			}
			serveJSON(w, map[string]any{
				"issuer": iss, "jwks_uri": keys, "token_endpoint": iss + "/v1/token",
				"introspection_endpoint": iss + "/v1/introspect",
			})
		}
		for _, doc := range []string{"oauth-authorization-server", "openid-configuration"} {
			mux.HandleFunc("GET /.well-known/"+doc, meta)
			mux.HandleFunc("GET /oauth2/{server}/.well-known/"+doc, meta)
		}
	})
	return o
}

// IssuerURL returns the issuer of authorization server id: {URL}/oauth2/{id},
// or {URL} for "" (the org server).
func (o *Okta) IssuerURL(id string) string {
	if id == "" {
		return o.URL
	}
	return o.URL + "/oauth2/" + id
}

// Token mints a client-credentials access token: "ver": 1, "jti"
// ("AT.…"), "iss", "aud", "iat", "exp", "cid", "scp" (an array) and "sub"
// (the client).
func (o *Okta) Token(t T, tok OktaToken) string {
	t.Helper()
	c := Claims{
		"ver": 1, "jti": "AT." + randomID(), "iss": o.IssuerURL(tok.AuthServerID), "aud": tok.Audience,
		"cid": tok.ClientID, "sub": tok.ClientID,
	}
	if tok.Scopes != nil {
		c["scp"] = tok.Scopes
	}
	return o.mint(t, c, tok.Extra)
}
