package providers

import (
	"fmt"
	"strings"

	"github.com/bearerguard/bearerguard/validator"
)

// Keycloak configures access tokens of a Keycloak realm:
//
//   - issuer {baseURL}/realms/{realm} (baseURL as the server is reached,
//     e.g. https://sso.example.com, or https://sso.example.com/auth before
//     Keycloak 17), keys from {issuer}/protocol/openid-connect/certs;
//   - the "typ" claim must be "Bearer" (or "DPoP", for a DPoP-bound
//     token): an ID token ("typ": "ID") of the realm, signed with the same
//     keys, is refused as the wrong type ([validator.ErrType]);
//   - "realm_access.roles" gives roles, and with [WithKeycloakClient] so
//     does "resource_access.{client}.roles";
//   - with [WithAuthorizedParties], "azp" (the client the token was
//     issued to) must be one of them ([validator.ErrClaimValue]);
//   - with [WithAudience], "aud" must name one of those audiences (add an
//     audience mapper in Keycloak); without it, the validator's
//     [validator.WithAudience] applies;
//   - "scope" gives scopes.
//
// Options: [WithAudience], [WithAuthorizedParties], [WithKeycloakClient],
// [WithHTTPClient], [WithInsecureLoopbackHTTP], [WithJWKSOptions],
// [WithIssuerOptions].
func Keycloak(baseURL, realm string, opts ...Option) (*Preset, error) {
	c := newConfig(opts)
	c.only("Keycloak", "clientIDs", "versions", "sts", "base", "noGrant")
	baseURL = strings.TrimRight(baseURL, "/")
	if err := checkURL("base URL", baseURL); err != nil {
		c.errs = append(c.errs, err)
	}
	if err := checkName("realm", realm, "-_."); err != nil {
		c.errs = append(c.errs, err)
	} else if strings.Trim(realm, ".") == "" {
		c.errs = append(c.errs, fmt.Errorf("realm %q is a path segment of dots", realm))
	}
	if c.audiences != nil {
		if err := nonEmpty("WithAudience", c.audiences); err != nil {
			c.errs = append(c.errs, err)
		}
	}
	if c.parties != nil {
		if err := nonEmpty("WithAuthorizedParties", c.parties); err != nil {
			c.errs = append(c.errs, err)
		}
	}
	paths := []string{"/realm_access/roles"}
	if c.kcClient != "" {
		paths = append(paths, "/resource_access/"+pointerEscape(c.kcClient)+"/roles")
	}
	issuer := baseURL + "/realms/" + realm
	return c.build("keycloak", issuer+"/protocol/openid-connect/certs", []string{issuer}, func(keys validator.KeySource) []validator.Option {
		io := []validator.IssuerOption{
			// Keycloak signs ID tokens ("typ": "ID") with the realm keys
			// that sign access tokens: "Bearer", or "DPoP" when bound.
			validator.IssuerAccessTokenClaim("typ", "Bearer", "DPoP"),
			validator.IssuerRoleClaims(paths...),
		}
		if c.audiences != nil {
			io = append(io, validator.IssuerAudience(c.audiences...))
		}
		if c.parties != nil {
			io = append(io, validator.IssuerClaimValues("azp", c.parties...))
		}
		return []validator.Option{validator.WithIssuer(issuer, keys, append(io, c.issuerOpts...)...)}
	})
}

// pointerEscape escapes a claim name for an RFC 6901 JSON Pointer.
func pointerEscape(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}
