// Package providers configures a validator for the identity providers
// most client-credentials tokens come from: Amazon Cognito, Microsoft
// Entra ID, Keycloak, Auth0 and Okta. Each bends the JWT access-token
// shape its own way; a preset encodes what the provider documents, so
// nobody has to discover it or turn checks off.
//
// A constructor ([Cognito], [Entra], [EntraMultiTenant], [Keycloak],
// [Auth0], [Okta]) returns a [*Preset]: its [Preset.Option] trusts the
// provider's issuer (or issuers) with keys from the provider's JWK Set
// and adds that issuer's own checks, composable with every other
// validator option, other presets included:
//
//	entra, err := providers.Entra(tenantID, []string{"api://orders"})
//	…
//	defer entra.Close()
//	v, err := validator.New(entra.Option(), validator.WithLeeway(10*time.Second))
//
// # What a preset checks
//
// Every check of a preset applies to its issuer's tokens only
// ([validator.IssuerOption]): a preset never changes how another issuer's
// tokens are checked, and a token's unverified "iss" selects both its keys
// and its checks. As with any issuer, only "iss" is decoded before the
// signature holds; the preset's checks run after it.
//
//  1. Cognito: issuer https://cognito-idp.{region}.amazonaws.com/{pool};
//     "token_use" MUST be "access" (an ID token is refused as the wrong
//     type); Cognito access tokens carry no "aud", so "client_id" MUST be
//     one of the allowed app clients instead (this preset only); groups
//     ("cognito:groups") are roles.
//  2. Entra ID: v2 issuer https://login.microsoftonline.com/{tid}/v2.0
//     and, if enabled, v1 https://sts.windows.net/{tid}/; single-tenant,
//     or multi-tenant with an allowed-tenants list, where each tenant's
//     issuer is the template with {tenantid} replaced and "tid" MUST equal
//     that tenant; keys from the tenant's (or, multi-tenant, the common)
//     keys endpoint; "aud" MUST be one of the given app ID URIs or client
//     ids; "azp" (v2) or "appid" (v1) MUST be present, so an ID token of
//     the same issuer is refused as the wrong type; "scp" gives scopes and
//     "roles" (application permissions, what
//     the client-credentials grant gets) gives roles; a token with neither
//     "scp" nor "roles" is refused ([validator.ErrNoGrant], 403) unless
//     [WithEntraTokensWithoutGrant]; with [WithClientIDs], "azp" (v2) or
//     "appid" (v1) MUST be one of those clients.
//  3. Keycloak: issuer {base}/realms/{realm}; "typ" MUST be "Bearer" (or
//     "DPoP"), so an ID token ("typ": "ID") is refused as the wrong type;
//     "realm_access.roles" and,
//     for a named client, "resource_access.{client}.roles" give roles;
//     "azp" MUST be an allowed party when parties are given.
//  4. Auth0: issuer https://{domain}/ (custom domains too); "aud" (a
//     string or an array) MUST name the API identifier; "permissions"
//     (RBAC) gives permissions.
//  5. Okta: a custom authorization server {org}/oauth2/{id} (or the org
//     server {org}); "aud" MUST name the audience; "scp" (an array) gives
//     scopes; "cid" MUST be present (Okta's ID tokens, signed with the
//     same keys, carry none) and an allowed client when clients are given.
//
// Routes then require scopes, roles, permissions or claim values with one
// language ([scopes.AnyOf], [scopes.Role], [scopes.Permission], …).
//
// These providers write "typ": "JWT" (or nothing), not "at+jwt", and
// Cognito access tokens have no "aud": [validator.WithRFC9068] refuses
// their tokens, so do not combine it with a preset.
//
// # Background work
//
// A Preset owns the [jwks.Set] it fetches keys with, whose background
// refresh starts at once: call [Preset.Close] when done (it is safe to
// call twice). Remote URLs MUST be https; [WithInsecureLoopbackHTTP]
// allows http to a loopback host for development. Tests point a preset at
// a loopback stand-in (package bearertest) with [WithBaseURL] or the
// provider's URL parameter and [WithHTTPClient]; production defaults are
// unchanged by anything a test does not set.
package providers
