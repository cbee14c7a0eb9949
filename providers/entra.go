package providers

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bearerguard/bearerguard/validator"
)

// Entra ID hosts.
const (
	entraLogin = "https://login.microsoftonline.com"
	entraSTS   = "https://sts.windows.net"
)

// Entra configures Microsoft Entra ID access tokens for a single-tenant
// application of tenant tenantID (a GUID):
//
//   - issuer https://login.microsoftonline.com/{tenantID}/v2.0 (v2 tokens,
//     the default) and/or https://sts.windows.net/{tenantID}/ (v1 tokens;
//     [WithEntraVersions]); "tid" must equal tenantID;
//   - keys from https://login.microsoftonline.com/{tenantID}/discovery/v2.0/keys;
//   - "aud" must be one of audiences: the app ID URI ("api://…", what v1
//     tokens carry) and/or the application (client) id (what v2 tokens
//     carry);
//   - "azp" (v2) or "appid" (v1), the calling client, must be present:
//     an ID token (same keys, issuer and "tid", "aud" the client id of the
//     app signing in) carries neither and is refused as the wrong type
//     ([validator.ErrType]);
//   - "scp" (space-delimited, delegated permissions) gives scopes and
//     "roles" (application permissions, what client-credentials tokens
//     carry) gives roles; the calling client ([validator.Token.ClientID])
//     is "azp" (v2) or "appid" (v1);
//   - a token with neither "scp" nor "roles" is refused
//     ([validator.ErrNoGrant], 403): Entra ID issues one for the API to
//     any client of the tenant that nobody granted anything
//     ([WithEntraTokensWithoutGrant] accepts them);
//   - with [WithClientIDs], the calling client must be one of those.
//
// Options: [WithEntraVersions], [WithClientIDs],
// [WithEntraTokensWithoutGrant], [WithBaseURL], [WithEntraV1IssuerURL],
// [WithHTTPClient], [WithJWKSOptions], [WithIssuerOptions].
func Entra(tenantID string, audiences []string, opts ...Option) (*Preset, error) {
	c := newConfig(opts)
	if !isGUID(tenantID) {
		c.errs = append(c.errs, fmt.Errorf("tenant id %q is not a GUID", tenantID))
	}
	return entra(c, []string{tenantID}, tenantID, audiences)
}

// EntraMultiTenant configures Microsoft Entra ID access tokens for a
// multi-tenant application that accepts callers from the tenants listed
// (GUIDs) and no other: each tenant's issuer is the issuer template of the
// common endpoint's discovery document
// (https://login.microsoftonline.com/{tenantid}/v2.0, or
// https://sts.windows.net/{tenantid}/ for v1) with {tenantid} replaced by
// that tenant, and "tid" must equal it ([validator.WithTenantIssuers]).
// Keys come from the common endpoint
// (https://login.microsoftonline.com/common/discovery/v2.0/keys). A token
// from a tenant not listed is refused as from an untrusted issuer. The
// other checks are those of [Entra].
func EntraMultiTenant(tenants []string, audiences []string, opts ...Option) (*Preset, error) {
	c := newConfig(opts)
	if len(tenants) == 0 {
		c.errs = append(c.errs, errors.New("no tenant allowed"))
	}
	for _, t := range tenants {
		if !isGUID(t) {
			c.errs = append(c.errs, fmt.Errorf("tenant id %q is not a GUID", t))
		}
	}
	return entra(c, tenants, "common", audiences)
}

func entra(c config, tenants []string, keysTenant string, audiences []string) (*Preset, error) {
	// "tid" and the issuers carry tenant ids in lower case.
	tenants = slices.Clone(tenants)
	for i, t := range tenants {
		tenants[i] = strings.ToLower(t)
	}
	c.only("Entra", "audience", "parties", "kcClient")
	if err := nonEmpty("audiences", audiences); err != nil {
		c.errs = append(c.errs, err)
	}
	if c.clientIDs != nil {
		if err := nonEmpty("WithClientIDs", c.clientIDs); err != nil {
			c.errs = append(c.errs, err)
		}
	}
	login, sts := entraLogin, entraSTS
	if c.baseURL != "" {
		login = c.baseURL
		if err := checkURL("base URL", login); err != nil {
			c.errs = append(c.errs, err)
		}
	}
	if c.stsURL != "" {
		sts = c.stsURL
		if err := checkURL("v1 issuer URL", sts); err != nil {
			c.errs = append(c.errs, err)
		}
	}
	versions := c.versions
	if versions == nil {
		versions = []int{2}
	}
	// Each version's issuer template, and the claim its access tokens
	// carry and ID tokens (same keys, issuer and "tid") never do.
	var templates, callers []string
	for _, v := range versions {
		tmpl, caller := "", ""
		switch v {
		case 1:
			tmpl, caller = sts+"/"+validator.TenantPlaceholder+"/", "appid"
		case 2:
			tmpl, caller = login+"/"+validator.TenantPlaceholder+"/v2.0", "azp"
		default:
			c.errs = append(c.errs, fmt.Errorf("WithEntraVersions: %d is not 1 or 2", v))
			continue
		}
		if !slices.Contains(templates, tmpl) {
			templates, callers = append(templates, tmpl), append(callers, caller)
		}
	}
	var issuers []string
	for _, tmpl := range templates {
		for _, t := range tenants {
			issuers = append(issuers, expand(tmpl, t))
		}
	}
	return c.build("entra", login+"/"+keysTenant+"/discovery/v2.0/keys", issuers, func(keys validator.KeySource) []validator.Option {
		io := []validator.IssuerOption{
			validator.IssuerAudience(audiences...),
			validator.IssuerRoleClaims("/roles"),
			validator.IssuerClientIDClaim("appid"), // v1; v2 tokens have "azp"
		}
		if !c.noGrant {
			// Entra ID issues a token for the API to any client of the
			// tenant, granted or not: one without "scp" or "roles" was
			// granted nothing (Microsoft.Identity.Web refuses it too).
			io = append(io, validator.IssuerRequireGrant())
		}
		io = append(io, c.issuerOpts...)
		var out []validator.Option
		for i, tmpl := range templates {
			own := append(slices.Clone(io), validator.IssuerAccessTokenClaimPresent(callers[i]))
			if c.clientIDs != nil {
				own = append(own, validator.IssuerClaimValues(callers[i], c.clientIDs...))
			}
			out = append(out, validator.WithTenantIssuers(tmpl, tenants, keys, own...))
		}
		return out
	})
}

func expand(tmpl, tenant string) string {
	for i := 0; i+len(validator.TenantPlaceholder) <= len(tmpl); i++ {
		if tmpl[i:i+len(validator.TenantPlaceholder)] == validator.TenantPlaceholder {
			return tmpl[:i] + tenant + tmpl[i+len(validator.TenantPlaceholder):]
		}
	}
	return tmpl
}

// isGUID reports whether s has the 8-4-4-4-12 hexadecimal form of an
// Entra tenant id.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
