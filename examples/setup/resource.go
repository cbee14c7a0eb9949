package setup

import (
	"fmt"

	"github.com/bearerguard/bearerguard/internal/httpfetch"
	"github.com/bearerguard/bearerguard/resourcemeta"
	"github.com/bearerguard/bearerguard/validator"
)

// resolveResource gives --resource and --audience their defaults from
// each other: the resource is the audience when the audience is an
// absolute https URL (http on loopback), which is how RFC 8707 resource
// indicators and MCP clients name a resource; the audience is the resource
// when only the resource is given. An audience that is not a URL ("orders")
// leaves the resource unset: no metadata document, no resource_metadata.
func (c *Config) resolveResource() error {
	if c.Audience == "" {
		c.Audience = c.Resource
	}
	if c.Resource == "" {
		if c.Audience != "" {
			if _, err := resourcemeta.WellKnownURL(c.Audience); err == nil {
				c.Resource = c.Audience
			}
		}
		return nil
	}
	if _, err := resourcemeta.WellKnownURL(c.Resource); err != nil {
		return fmt.Errorf("--resource %q is not an absolute https URL (http on loopback) without a fragment, in canonical form: %w", httpfetch.Redact(c.Resource), err)
	}
	return nil
}

// MetadataURL returns the URL of the service's protected resource metadata
// (RFC 9728 §3.1: the well-known path inserted before the resource's
// path), or "" when c.Resource is empty or not a valid resource URI.
func (c Config) MetadataURL() string {
	u, err := resourcemeta.WellKnownURL(c.Resource)
	if err != nil {
		return ""
	}
	return u
}

// Metadata returns the service's protected resource metadata document
// (RFC 9728), or nil when c.Resource is empty: resource c.Resource,
// authorization_servers the issuer (none without one, with
// --introspection-only), bearer_methods_supported header (and query with
// --allow-query-token), the
// DPoP policy of the validator [Config.Guard] builds (its algorithms are
// [validator.DefaultAlgorithms]; dpop_bound_access_tokens_required with
// --dpop required; nothing with --dpop off),
// tls_client_certificate_bound_access_tokens with --client-ca, and what
// opts add (the service's scopes_supported). Serve it at Path().
func (c Config) Metadata(opts ...resourcemeta.Option) (*resourcemeta.Document, error) {
	if c.Resource == "" {
		return nil, nil
	}
	base := c.metadataAuthority() // authorization_servers, bearer_methods_supported
	if c.DPoP != validator.DPoPOff {
		base = append(base, resourcemeta.WithDPoP(validator.DefaultAlgorithms, c.DPoP == validator.DPoPRequired))
	}
	if c.ClientCA != "" {
		base = append(base, resourcemeta.WithCertificateBoundTokens())
	}
	return resourcemeta.New(c.Resource, append(base, opts...)...)
}
