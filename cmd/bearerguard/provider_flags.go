package main

import (
	"flag"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/providers"
)

// providerFlags are validate's --provider and the parameters of each
// identity-provider preset (package providers).
type providerFlags struct {
	name                         string
	clientIDs, tenants, versions string
	region, userPool             string
	realm, kcClient, parties     string
	domain, authServer           string
	baseURL, stsURL              string
	multiTenant, withoutGrant    bool
	cfg                          providers.Config // what the flags parse to
}

func (p *providerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.name, "provider", "", "identity-provider preset: "+strings.Join(providers.Names(), ", ")+
		"; its parameters below replace --issuer, --jwks-url and --introspection-url, and --audience takes a comma-separated list")
	fs.StringVar(&p.clientIDs, "provider-client-ids", "", "cognito: app clients allowed (client_id, required, comma-separated); okta: clients allowed (cid); entra: clients allowed (azp, v1 appid)")
	fs.StringVar(&p.region, "cognito-region", "", "cognito: the user pool's AWS region, e.g. eu-west-1")
	fs.StringVar(&p.userPool, "cognito-user-pool", "", "cognito: the user pool id, e.g. eu-west-1_AbCdEf123")
	fs.StringVar(&p.tenants, "entra-tenants", "", "entra: tenant id (GUID), or several comma-separated for a multi-tenant app that accepts those tenants")
	fs.BoolVar(&p.multiTenant, "entra-multi-tenant", false, "entra: multi-tenant (keys from the common endpoint) even with one tenant in --entra-tenants")
	fs.BoolVar(&p.withoutGrant, "entra-tokens-without-grant", false, "entra: accept tokens with neither scp nor roles (Entra ID issues them to any client of the tenant; refused by default)")
	fs.StringVar(&p.versions, "entra-versions", "2", "entra: token versions accepted, 1 (sts.windows.net issuer) and/or 2, comma-separated")
	fs.StringVar(&p.baseURL, "keycloak-url", "", "keycloak: the server's URL, the same as --provider-url")
	fs.StringVar(&p.realm, "keycloak-realm", "", "keycloak: the realm")
	fs.StringVar(&p.kcClient, "keycloak-client", "", "keycloak: read resource_access.<client>.roles as roles too")
	fs.StringVar(&p.parties, "keycloak-azp", "", "keycloak: clients allowed in azp, comma-separated")
	fs.StringVar(&p.domain, "auth0-domain", "", "auth0: the tenant's domain or custom domain, e.g. example.eu.auth0.com")
	fs.StringVar(&p.authServer, "okta-auth-server", "default", "okta: the authorization server id; empty for the org server")
	fs.StringVar(&p.baseURL, "provider-url", "", "keycloak: the server's URL (https://sso.example.com); okta: the org URL (https://example.okta.com); cognito and entra: replaces the provider's host (sovereign clouds, test stand-ins)")
	fs.StringVar(&p.stsURL, "entra-v1-issuer-url", "", "entra: replaces https://sts.windows.net, the host of v1 issuers")
}

// problems checks the preset's flags against the rest of the command
// line, and parses them into p.cfg.
func (p *providerFlags) problems(f *validateFlags) []string {
	if p.name == "" {
		var stray []string
		for _, n := range []string{"provider-client-ids", "cognito-region", "cognito-user-pool", "entra-tenants", "entra-multi-tenant",
			"entra-tokens-without-grant", "entra-versions", "keycloak-url", "keycloak-realm", "keycloak-client", "keycloak-azp", "auth0-domain", "okta-auth-server",
			"provider-url", "entra-v1-issuer-url"} {
			if f.given[n] {
				stray = append(stray, "--"+n)
			}
		}
		if stray != nil {
			return []string{strings.Join(stray, ", ") + " need --provider"}
		}
		return nil
	}
	var problems []string
	for _, n := range []string{"issuer", "jwks-url", "introspection-url"} {
		if f.given[n] {
			problems = append(problems, "--provider and --"+n+" are exclusive: the preset names its issuer and keys")
		}
	}
	c := providers.Config{
		Name: p.name, Audiences: providers.SplitList(f.audience), ClientIDs: providers.SplitList(p.clientIDs),
		Region: p.region, UserPoolID: p.userPool, Tenants: providers.SplitList(p.tenants), MultiTenant: p.multiTenant,
		TokensWithoutGrant: p.withoutGrant,
		Realm:              p.realm, Client: p.kcClient, AuthorizedParties: providers.SplitList(p.parties), Domain: p.domain,
		URL: p.baseURL, V1IssuerURL: p.stsURL,
	}
	if p.name == "okta" {
		c.AuthServerID = p.authServer
	}
	// A list given with nothing in it ("", " , ": an unset shell
	// variable) is refused: an allow-list given empty must not read as "no
	// allow-list".
	for _, l := range []struct {
		flag string
		list []string
	}{{"provider-client-ids", c.ClientIDs}, {"keycloak-azp", c.AuthorizedParties}, {"entra-tenants", c.Tenants}, {"audience", c.Audiences}} {
		if f.given[l.flag] && l.list == nil {
			problems = append(problems, "--"+l.flag+" is an empty list: give at least one value, or leave it out")
		}
	}
	if p.name != "okta" && f.given["okta-auth-server"] {
		problems = append(problems, "--okta-auth-server is for --provider okta")
	}
	if p.name != "entra" && (f.given["entra-versions"] || p.stsURL != "" || p.withoutGrant) {
		problems = append(problems, "--entra-versions, --entra-v1-issuer-url and --entra-tokens-without-grant are for --provider entra")
	}
	if (p.name == "keycloak" || p.name == "okta") && p.baseURL == "" {
		problems = append(problems, "--provider "+p.name+" needs --provider-url")
	}
	if p.name == "entra" {
		for _, s := range providers.SplitList(p.versions) {
			n, err := strconv.Atoi(s)
			if err != nil {
				problems = append(problems, fmt.Sprintf("--entra-versions %q: want 1 and/or 2", p.versions))
				break
			}
			c.Versions = append(c.Versions, n)
		}
	}
	if c.Audiences == nil && c.OwnAudience() && p.name != "cognito" {
		problems = append(problems, "--provider "+p.name+" needs --audience")
	}
	p.cfg = c
	return problems
}

// preset builds the preset the flags describe, nil without --provider.
func (p *providerFlags) preset(client *http.Client, insecure bool) (*providers.Preset, error) {
	if p.name == "" {
		return nil, nil
	}
	opts := []providers.Option{providers.WithJWKSOptions(jwks.WithLogger(discardLogger()))}
	if client != nil {
		opts = append(opts, providers.WithHTTPClient(client))
	}
	if insecure {
		opts = append(opts, providers.WithInsecureLoopbackHTTP())
	}
	return providers.New(p.cfg, opts...)
}
