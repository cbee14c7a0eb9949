package providers

import (
	"strings"

	"github.com/bearerguard/bearerguard/validator"
)

// Okta configures access tokens of an Okta authorization server:
//
//   - with authServerID set ("default", or a custom server's id), issuer
//     {orgURL}/oauth2/{authServerID}, keys from {issuer}/v1/keys: the
//     servers whose tokens are meant for your APIs;
//   - with authServerID "", the org authorization server: issuer {orgURL},
//     keys from {orgURL}/oauth2/v1/keys (Okta documents its tokens as
//     meant for Okta's own APIs; accept them only if you know why);
//   - "aud" must name one of audiences ("api://default" for the default
//     server);
//   - with [WithClientIDs], "cid" (the client the token was issued to)
//     must be one of them ([validator.ErrClaimValue]);
//   - "scp" (an array) gives scopes.
//
// orgURL is the org's URL, e.g. https://example.okta.com. Options:
// [WithClientIDs], [WithHTTPClient], [WithJWKSOptions],
// [WithIssuerOptions].
func Okta(orgURL, authServerID string, audiences []string, opts ...Option) (*Preset, error) {
	c := newConfig(opts)
	c.only("Okta", "audience", "parties", "versions", "kcClient", "sts", "base", "noGrant")
	orgURL = strings.TrimRight(orgURL, "/")
	if err := checkURL("org URL", orgURL); err != nil {
		c.errs = append(c.errs, err)
	}
	if authServerID != "" {
		if err := checkName("authorization server id", authServerID, "-_"); err != nil {
			c.errs = append(c.errs, err)
		}
	}
	if err := nonEmpty("audiences", audiences); err != nil {
		c.errs = append(c.errs, err)
	}
	if c.clientIDs != nil {
		if err := nonEmpty("WithClientIDs", c.clientIDs); err != nil {
			c.errs = append(c.errs, err)
		}
	}
	issuer, keysURL := orgURL, orgURL+"/oauth2/v1/keys"
	if authServerID != "" {
		issuer = orgURL + "/oauth2/" + authServerID
		keysURL = issuer + "/v1/keys"
	}
	return c.build("okta", keysURL, []string{issuer}, func(keys validator.KeySource) []validator.Option {
		// Okta's access tokens always carry "cid"; its ID tokens (same
		// keys, "aud" the client) never do.
		io := []validator.IssuerOption{validator.IssuerAudience(audiences...), validator.IssuerAccessTokenClaimPresent("cid")}
		if c.clientIDs != nil {
			io = append(io, validator.IssuerClaimValues("cid", c.clientIDs...))
		}
		return []validator.Option{validator.WithIssuer(issuer, keys, append(io, c.issuerOpts...)...)}
	})
}
