package providers

import (
	"fmt"
	"strings"

	"github.com/bearerguard/bearerguard/validator"
)

// Cognito configures Amazon Cognito user pool access tokens:
//
//   - issuer https://cognito-idp.{region}.amazonaws.com/{userPoolID}, keys
//     from {issuer}/.well-known/jwks.json;
//   - "token_use" must be "access": an ID token of the same pool, signed
//     with the same keys, is refused as the wrong type
//     ([validator.ErrType]);
//   - Cognito access tokens carry no "aud": "client_id" must be one of
//     clientIDs (the pool's app clients allowed to call this API) instead,
//     for this issuer only ([validator.ErrAudience]);
//   - "scope" (space-delimited) gives scopes, "cognito:groups" gives roles.
//
// userPoolID has the form {region}_{id}. Options: [WithBaseURL],
// [WithHTTPClient], [WithInsecureLoopbackHTTP], [WithJWKSOptions],
// [WithIssuerOptions].
func Cognito(region, userPoolID string, clientIDs []string, opts ...Option) (*Preset, error) {
	c := newConfig(opts)
	c.only("Cognito", "audience", "parties", "clientIDs", "versions", "kcClient", "sts", "noGrant")
	if err := checkName("region", region, "-"); err != nil {
		c.errs = append(c.errs, err)
	}
	if err := checkName("user pool id", userPoolID, "_-"); err != nil {
		c.errs = append(c.errs, err)
	} else if !strings.HasPrefix(userPoolID, region+"_") {
		c.errs = append(c.errs, fmt.Errorf("user pool id %q is not in region %q", userPoolID, region))
	}
	if err := nonEmpty("client ids", clientIDs); err != nil {
		c.errs = append(c.errs, err)
	}
	base := c.baseURL
	if base == "" {
		base = "https://cognito-idp." + region + ".amazonaws.com"
	} else if err := checkURL("base URL", base); err != nil {
		c.errs = append(c.errs, err)
	}
	issuer := base + "/" + userPoolID
	return c.build("cognito", issuer+"/.well-known/jwks.json", []string{issuer}, func(keys validator.KeySource) []validator.Option {
		io := append([]validator.IssuerOption{
			validator.IssuerClientIDs(clientIDs...),
			validator.IssuerAccessTokenClaim("token_use", "access"),
			validator.IssuerRoleClaims("/cognito:groups"),
		}, c.issuerOpts...)
		return []validator.Option{validator.WithIssuer(issuer, keys, io...)}
	})
}
