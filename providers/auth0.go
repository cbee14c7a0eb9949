package providers

import (
	"fmt"
	"net/url"

	"github.com/bearerguard/bearerguard/validator"
)

// Auth0 configures Auth0 access tokens for an API:
//
//   - issuer https://{domain}/ (with the trailing slash Auth0 writes),
//     where domain is the tenant's domain ("example.eu.auth0.com") or a
//     custom domain ("login.example.com"): whichever the tokens' "iss"
//     names; keys from https://{domain}/.well-known/jwks.json;
//   - "aud" (a string, or an array when the token is also for /userinfo)
//     must name one of audiences, the API identifier;
//   - "scope" gives scopes and "permissions" (RBAC, when "Add Permissions
//     in the Access Token" is on) gives permissions.
//
// Options: [WithHTTPClient], [WithJWKSOptions], [WithIssuerOptions].
func Auth0(domain string, audiences []string, opts ...Option) (*Preset, error) {
	c := newConfig(opts)
	c.only("Auth0", "audience", "parties", "clientIDs", "versions", "kcClient", "sts", "base", "noGrant")
	if u, err := url.Parse("https://" + domain + "/"); err != nil || u.Host != domain || u.Hostname() == "" {
		c.errs = append(c.errs, fmt.Errorf("domain %q is not a host name", domain))
	}
	if err := nonEmpty("audiences", audiences); err != nil {
		c.errs = append(c.errs, err)
	}
	issuer := "https://" + domain + "/"
	return c.build("auth0", issuer+".well-known/jwks.json", []string{issuer}, func(keys validator.KeySource) []validator.Option {
		io := append([]validator.IssuerOption{
			validator.IssuerAudience(audiences...),
			validator.IssuerPermissionClaims("/permissions"),
		}, c.issuerOpts...)
		return []validator.Option{validator.WithIssuer(issuer, keys, io...)}
	})
}
