package providers

import (
	"fmt"
	"strings"
)

// Config names a provider and its parameters, for programs that choose
// the provider at run time (from flags or the environment): [New] calls
// the provider's constructor with the parameters it takes, and refuses
// parameters it does not take rather than ignore them.
type Config struct {
	// Name is "cognito", "entra", "keycloak", "auth0" or "okta".
	Name string
	// Audiences: Entra ID (app ID URI and/or client id), Auth0 (API
	// identifier), Okta (e.g. api://default); Keycloak's, optional.
	Audiences []string
	// ClientIDs: Cognito's allowed app clients ("client_id", required);
	// Okta's ("cid") or Entra ID's ("azp" v2, "appid" v1) allowed
	// clients, optional.
	ClientIDs []string
	// Region and UserPoolID: Cognito.
	Region, UserPoolID string
	// Tenants: Entra ID; one tenant is a single-tenant application,
	// several a multi-tenant one accepting those tenants.
	Tenants []string
	// MultiTenant makes a single tenant in Tenants a multi-tenant
	// configuration (keys from the common endpoint).
	MultiTenant bool
	// URL: Keycloak's base URL, or Okta's org URL; for Cognito and Entra
	// ID it replaces the provider's host ([WithBaseURL]: sovereign clouds,
	// test stand-ins).
	URL string
	// V1IssuerURL and Versions: Entra ID ([WithEntraV1IssuerURL],
	// [WithEntraVersions]).
	V1IssuerURL string
	Versions    []int
	// TokensWithoutGrant: Entra ID, accept tokens with neither "scp" nor
	// "roles" ([WithEntraTokensWithoutGrant]).
	TokensWithoutGrant bool
	// Realm, Client and AuthorizedParties: Keycloak.
	Realm, Client     string
	AuthorizedParties []string
	// Domain: Auth0 (tenant or custom domain).
	Domain string
	// AuthServerID: Okta ("default", a custom server's id, or "" for the
	// org server).
	AuthServerID string
}

// Names lists the providers [New] knows.
func Names() []string { return []string{"cognito", "entra", "keycloak", "auth0", "okta"} }

// New builds the preset c describes; opts are passed on (base URLs, HTTP
// client, Entra versions, …).
func New(c Config, opts ...Option) (*Preset, error) {
	var unused []string
	notTaken := func(ok bool, name string) {
		if ok {
			unused = append(unused, name)
		}
	}
	switch c.Name {
	case "cognito":
		notTaken(c.Audiences != nil, "audiences")
	case "entra":
	case "keycloak":
		notTaken(c.ClientIDs != nil, "client ids")
	case "auth0", "okta":
	default:
		return nil, fmt.Errorf("providers: unknown provider %q (want one of %s)", c.Name, strings.Join(Names(), ", "))
	}
	notTaken(c.Name != "cognito" && (c.Region != "" || c.UserPoolID != ""), "region and user pool")
	notTaken(c.Name != "entra" && (c.Tenants != nil || c.MultiTenant), "tenants")
	notTaken(c.Name == "auth0" && c.URL != "", "URL")
	notTaken(c.Name != "entra" && (c.V1IssuerURL != "" || c.Versions != nil), "v1 issuer URL and versions")
	notTaken(c.Name != "entra" && c.TokensWithoutGrant, "tokens without grant")
	notTaken(c.Name != "keycloak" && (c.Realm != "" || c.Client != "" || c.AuthorizedParties != nil), "realm, client and authorized parties")
	notTaken(c.Name != "auth0" && c.Domain != "", "domain")
	notTaken(c.Name != "okta" && c.AuthServerID != "", "authorization server")
	notTaken(c.Name == "auth0" && c.ClientIDs != nil, "client ids")
	if unused != nil {
		return nil, fmt.Errorf("providers: %s does not take %s", c.Name, strings.Join(unused, ", "))
	}
	if c.URL != "" && (c.Name == "cognito" || c.Name == "entra") {
		opts = append(opts, WithBaseURL(c.URL))
	}
	switch c.Name {
	case "cognito":
		return Cognito(c.Region, c.UserPoolID, c.ClientIDs, opts...)
	case "entra":
		if c.V1IssuerURL != "" {
			opts = append(opts, WithEntraV1IssuerURL(c.V1IssuerURL))
		}
		if c.Versions != nil {
			opts = append(opts, WithEntraVersions(c.Versions...))
		}
		if c.ClientIDs != nil {
			opts = append(opts, WithClientIDs(c.ClientIDs...))
		}
		if c.TokensWithoutGrant {
			opts = append(opts, WithEntraTokensWithoutGrant())
		}
		if len(c.Tenants) == 1 && !c.MultiTenant {
			return Entra(c.Tenants[0], c.Audiences, opts...)
		}
		return EntraMultiTenant(c.Tenants, c.Audiences, opts...)
	case "keycloak":
		if c.Client != "" {
			opts = append(opts, WithKeycloakClient(c.Client))
		}
		if c.AuthorizedParties != nil {
			opts = append(opts, WithAuthorizedParties(c.AuthorizedParties...))
		}
		if c.Audiences != nil {
			opts = append(opts, WithAudience(c.Audiences...))
		}
		return Keycloak(c.URL, c.Realm, opts...)
	case "auth0":
		return Auth0(c.Domain, c.Audiences, opts...)
	default: // okta
		if c.ClientIDs != nil {
			opts = append(opts, WithClientIDs(c.ClientIDs...))
		}
		return Okta(c.URL, c.AuthServerID, c.Audiences, opts...)
	}
}

// OwnAudience reports whether the provider checks an audience (or, for
// Cognito, clients) of its own, so that no validator-wide audience is
// needed for its tokens.
func (c Config) OwnAudience() bool {
	switch c.Name {
	case "cognito", "entra", "auth0", "okta":
		return true
	case "keycloak":
		return len(c.Audiences) > 0 // an empty list is refused by New
	}
	return false
}

// SplitList splits a comma-separated list, trimming spaces and dropping
// empty items; nil for an empty string. For flag and environment values.
func SplitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
