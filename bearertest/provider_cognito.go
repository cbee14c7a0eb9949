package bearertest

import (
	"net/http"
	"time"
)

// Cognito stands in for an Amazon Cognito user pool, for tests: the pool's
// discovery document and JWK Set at {URL}/{pool}/.well-known/…, and
// access and ID tokens shaped as Cognito documents them. Point the
// providers.Cognito preset at it with providers.WithBaseURL(c.URL) and
// providers.WithHTTPClient(c.Client()).
type Cognito struct {
	*Provider
	// Region and UserPoolID are the pool's, as given to NewCognito: its
	// issuer is the provider's URL followed by "/" and the pool's id.
	Region, UserPoolID string
}

// NewCognito starts a stand-in for the user pool userPoolID
// ("{region}_{id}") of region. It stops when the test ends.
func NewCognito(t T, region, userPoolID string) *Cognito {
	t.Helper()
	c := &Cognito{Region: region, UserPoolID: userPoolID}
	c.Provider = newProvider(t, func(p *Provider, mux *http.ServeMux) {
		mux.HandleFunc("GET /"+userPoolID+"/.well-known/jwks.json", p.serveKeys)
		mux.HandleFunc("GET /"+userPoolID+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
			serveJSON(w, map[string]any{
				"issuer":                                c.IssuerURL(),
				"jwks_uri":                              c.IssuerURL() + "/.well-known/jwks.json",
				"token_endpoint":                        "https://example.auth." + region + ".amazoncognito.com/oauth2/token",
				"response_types_supported":              []string{"code", "token"},
				"subject_types_supported":               []string{"public"},
				"id_token_signing_alg_values_supported": []string{"RS256"},
			})
		})
	})
	return c
}

// IssuerURL returns the pool's issuer: {URL}/{pool}, standing for
// https://cognito-idp.{region}.amazonaws.com/{pool}.
func (c *Cognito) IssuerURL() string { return c.URL + "/" + c.UserPoolID }

// AccessToken mints a client-credentials access token of app client
// clientID with the space-delimited scope: "token_use": "access",
// "client_id", "scope", "sub" (the client), "version": 2, and no "aud",
// as Cognito issues them. extra adds or overrides claims ("cognito:groups"
// for a user's groups, nil to remove one).
func (c *Cognito) AccessToken(t T, clientID, scope string, extra Claims) string {
	t.Helper()
	return c.mint(t, Claims{
		"iss": c.IssuerURL(), "sub": clientID, "client_id": clientID, "token_use": "access",
		"scope": scope, "auth_time": time.Now().Unix(), "version": 2, "jti": randomUUID(),
	}, extra)
}

// IDToken mints an ID token for a user of app client clientID: "token_use":
// "id", "aud" the client, "cognito:username", "email", and no
// "client_id" or "scope". Signed with the same keys as access tokens, it
// must be refused where an access token is required.
func (c *Cognito) IDToken(t T, clientID string, extra Claims) string {
	t.Helper()
	return c.mint(t, Claims{
		"iss": c.IssuerURL(), "sub": randomUUID(), "aud": clientID, "token_use": "id",
		"cognito:username": "alice", "email": "alice@example.com", "email_verified": true,
		"auth_time": time.Now().Unix(), "origin_jti": randomUUID(), "jti": randomUUID(),
	}, extra)
}
