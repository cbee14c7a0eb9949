package setup

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/providers"
	"github.com/bearerguard/bearerguard/validator"
)

// Identity-provider presets (package providers): --provider
// (BEARERGUARD_PROVIDER) and each preset's parameters as flags with
// environment fallbacks, their checks, and what [Config.Guard] does with
// them.

// ProviderSettings selects an identity-provider preset and its parameters.
// With a Name, the preset replaces --issuer and --jwks-url: it names its
// issuers, their checks and its keys, and Audience may be a
// comma-separated list (an Entra app ID URI and client id).
type ProviderSettings struct {
	providers.Config

	versions string // --entra-versions as given
}

// listFlag is a comma-separated list flag.
type listFlag struct{ p *[]string }

func (l listFlag) String() string {
	if l.p == nil {
		return ""
	}
	return strings.Join(*l.p, ",")
}

// Set refuses a list with nothing in it ("", " , ": an unset shell
// variable): an allow-list given empty must not read as "no allow-list".
func (l listFlag) Set(s string) error {
	if *l.p = providers.SplitList(s); *l.p == nil {
		return errEmptyList
	}
	return nil
}

var errEmptyList = errors.New("an empty list: give at least one value, or leave the flag out")

// allowListEnv are the environment variables of the presets' allow-lists.
var allowListEnv = []string{"BEARERGUARD_PROVIDER_CLIENT_IDS", "BEARERGUARD_KEYCLOAK_AZP"}

// EmptyAllowLists reports an allow-list variable of the presets
// (BEARERGUARD_PROVIDER_CLIENT_IDS, BEARERGUARD_KEYCLOAK_AZP) that is set
// but empty, as an unset shell or compose variable leaves it
// (BEARERGUARD_KEYCLOAK_AZP=${AZP}): [Parse], whose getenv cannot tell
// empty from unset, would read it as no allow-list at all. The services
// call it with os.LookupEnv before Parse, and exit 2 on an error.
func EmptyAllowLists(lookup func(string) (string, bool)) error {
	var errs []error
	for _, key := range allowListEnv {
		if v, ok := lookup(key); ok && providers.SplitList(v) == nil {
			errs = append(errs, fmt.Errorf("%s is set but empty: give at least one value, or unset it", key))
		}
	}
	return errors.Join(errs...)
}

// providerFlags defines --provider and the presets' parameters on fs, with
// defaults from the environment.
func (c *Config) providerFlags(fs *flag.FlagSet, getenv func(string) string) []error {
	p := &c.Provider
	str := func(dst *string, name, key, usage string) {
		fs.StringVar(dst, name, getenv(key), usage+" (env "+key+")")
	}
	urlStr := func(dst *string, name, key, usage string) {
		*dst = getenv(key)
		fs.Var(urlFlag{dst}, name, usage+" (env "+key+")")
	}
	var errs []error
	list := func(dst *[]string, name, key, usage string) {
		if v := getenv(key); v != "" {
			if err := (listFlag{dst}).Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", key, err))
			}
		}
		fs.Var(listFlag{dst}, name, usage+", comma-separated (env "+key+")")
	}
	str(&p.Name, "provider", "BEARERGUARD_PROVIDER", "identity-provider preset: "+strings.Join(providers.Names(), ", ")+
		"; it replaces --issuer and --jwks-url, and --audience takes a comma-separated list")
	list(&p.ClientIDs, "provider-client-ids", "BEARERGUARD_PROVIDER_CLIENT_IDS", "cognito: app clients allowed (client_id, required); okta: clients allowed (cid); entra: clients allowed (azp, v1 appid)")
	str(&p.Region, "cognito-region", "BEARERGUARD_COGNITO_REGION", "cognito: the user pool's AWS region")
	str(&p.UserPoolID, "cognito-user-pool", "BEARERGUARD_COGNITO_USER_POOL", "cognito: the user pool id, {region}_{id}")
	list(&p.Tenants, "entra-tenants", "BEARERGUARD_ENTRA_TENANTS", "entra: the tenant id (GUID), or the tenants a multi-tenant app accepts")
	if err := boolFlag(fs, &p.MultiTenant, "entra-multi-tenant", "BEARERGUARD_ENTRA_MULTI_TENANT",
		"entra: multi-tenant (keys from the common endpoint) even with one tenant (env BEARERGUARD_ENTRA_MULTI_TENANT)", getenv); err != nil {
		errs = append(errs, err)
	}
	if err := boolFlag(fs, &p.TokensWithoutGrant, "entra-tokens-without-grant", "BEARERGUARD_ENTRA_TOKENS_WITHOUT_GRANT",
		"entra: accept tokens with neither scp nor roles (Entra ID issues them to any client of the tenant; refused by default) (env BEARERGUARD_ENTRA_TOKENS_WITHOUT_GRANT)", getenv); err != nil {
		errs = append(errs, err)
	}
	fs.StringVar(&p.versions, "entra-versions", envOr(getenv, "BEARERGUARD_ENTRA_VERSIONS", "2"), "entra: token versions accepted, 1 and/or 2, comma-separated (env BEARERGUARD_ENTRA_VERSIONS)")
	str(&p.Realm, "keycloak-realm", "BEARERGUARD_KEYCLOAK_REALM", "keycloak: the realm")
	str(&p.Client, "keycloak-client", "BEARERGUARD_KEYCLOAK_CLIENT", "keycloak: also read resource_access.<client>.roles as roles")
	list(&p.AuthorizedParties, "keycloak-azp", "BEARERGUARD_KEYCLOAK_AZP", "keycloak: clients allowed in azp")
	str(&p.Domain, "auth0-domain", "BEARERGUARD_AUTH0_DOMAIN", "auth0: the tenant's domain or custom domain")
	fs.StringVar(&p.AuthServerID, "okta-auth-server", envOr(getenv, "BEARERGUARD_OKTA_AUTH_SERVER", "default"), "okta: the authorization server id, \"\" for the org server (env BEARERGUARD_OKTA_AUTH_SERVER)")
	urlStr(&p.URL, "provider-url", "BEARERGUARD_PROVIDER_URL", "keycloak: the server's URL; okta: the org URL; cognito and entra: replaces the provider's host (sovereign clouds, test stand-ins)")
	urlStr(&p.V1IssuerURL, "entra-v1-issuer-url", "BEARERGUARD_ENTRA_V1_ISSUER_URL", "entra: replaces https://sts.windows.net, the host of v1 issuers")
	return errs
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// checkProvider returns the problems of a preset configuration, and
// completes it: the audience list, the URL, parameters of other
// providers left at their defaults.
func (c *Config) checkProvider() []error {
	p := &c.Provider
	var errs []error
	p.Versions = nil
	if p.Name == "" {
		return nil
	}
	if p.Name == "entra" {
		for _, s := range providers.SplitList(p.versions) {
			n, err := strconv.Atoi(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("--entra-versions %q: want 1 and/or 2", p.versions))
				break
			}
			p.Versions = append(p.Versions, n)
		}
	}
	if c.Issuer != "" || c.JWKSURL != "" || c.IntrospectionOnly {
		errs = append(errs, errors.New("--provider and --issuer, --jwks-url or --introspection-only are exclusive: the preset names its issuers and keys"))
	}
	if c.IntrospectionURL != "" {
		errs = append(errs, errors.New("--provider and --introspection-url are exclusive"))
	}
	p.Audiences = providers.SplitList(c.Audience)
	if p.Name != "okta" {
		p.AuthServerID = "" // its default names Okta's default server
	}
	if p.Name != "entra" && (p.V1IssuerURL != "" || p.versions != "2" || p.TokensWithoutGrant) {
		errs = append(errs, errors.New("--entra-versions, --entra-v1-issuer-url and --entra-tokens-without-grant are for --provider entra"))
	}
	if p.Audiences == nil && p.OwnAudience() && p.Name != "cognito" {
		errs = append(errs, fmt.Errorf("--provider %s needs --audience", p.Name))
	}
	return errs
}

// keySetOrPreset builds the key set c describes, or with --provider the
// preset, whose key set it returns as keys: the validator then trusts the
// preset's issuers (see issuerOption), and closing keys ends the preset's
// background work.
func (c Config) keySetOrPreset(opts []jwks.Option) (*jwks.Set, *providers.Preset, error) {
	if c.Provider.Name == "" {
		keys, err := c.keySet(opts)
		return keys, nil, err
	}
	p, err := providers.New(c.Provider.Config, providers.WithJWKSOptions(opts...))
	if err != nil {
		return nil, nil, err
	}
	return p.KeySets()[0], p, nil
}

// issuerOption trusts the preset's issuers with their checks, or c.Issuer
// with keys.
func (c Config) issuerOption(keys *jwks.Set, preset *providers.Preset) validator.Option {
	if preset != nil {
		return preset.Option()
	}
	return validator.WithIssuer(c.Issuer, keys)
}

// audienceOption is the validator-wide audience: none with --provider,
// whose preset checks its own.
func (c Config) audienceOption() validator.Option {
	if c.Provider.Name != "" {
		return validator.Options()
	}
	return validator.WithAudience(c.Audience)
}
