package providers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/bearerguard/bearerguard/internal/httpfetch"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

// Preset is a provider's configuration for a validator: its issuers, their
// checks and the key sets they are verified with. It owns the key sets'
// background refresh: call Close when done.
type Preset struct {
	name    string
	issuers []string
	opts    []validator.Option
	sets    []*jwks.Set
	once    sync.Once
	err     error
}

// Option configures a preset. Options only record; the constructor checks
// them together.
type Option func(*config)

type config struct {
	baseURL    string
	stsURL     string
	client     *http.Client
	loopback   bool
	jwksOpts   []jwks.Option
	audiences  []string
	parties    []string
	clientIDs  []string
	versions   []int
	kcClient   string
	noGrant    bool
	issuerOpts []validator.IssuerOption
	errs       []error
}

// WithBaseURL replaces the provider's host URL: Cognito's
// https://cognito-idp.{region}.amazonaws.com or Entra ID's
// https://login.microsoftonline.com, for a sovereign cloud (e.g.
// https://login.microsoftonline.us) or a test stand-in. The issuer and
// key URLs are built on it as on the default. Keycloak, Auth0 and Okta
// take their URL as a parameter instead.
func WithBaseURL(u string) Option { return func(c *config) { c.baseURL = strings.TrimRight(u, "/") } }

// WithEntraV1IssuerURL replaces https://sts.windows.net, the host of
// Entra ID v1 issuers, for a sovereign cloud or a test stand-in.
func WithEntraV1IssuerURL(u string) Option {
	return func(c *config) { c.stsURL = strings.TrimRight(u, "/") }
}

// WithHTTPClient sets the HTTP client keys are fetched with (default: the
// jwks package's, with timeouts).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) {
		if hc == nil {
			c.errs = append(c.errs, errors.New("WithHTTPClient: nil client"))
		}
		c.client = hc
	}
}

// WithInsecureLoopbackHTTP allows http:// key URLs on a loopback host
// (a Keycloak on http://localhost:8080 in development). Any other http://
// URL is refused regardless.
func WithInsecureLoopbackHTTP() Option { return func(c *config) { c.loopback = true } }

// WithJWKSOptions passes options to the preset's [jwks.Set] (refresh
// intervals, logger, clock, …), applied after the preset's own.
func WithJWKSOptions(opts ...jwks.Option) Option {
	return func(c *config) { c.jwksOpts = append(c.jwksOpts, opts...) }
}

// WithAudience requires "aud" to name one of audiences, for this
// provider's tokens only: Keycloak (the audience its audience mapper
// adds) and Okta ("api://default" or the server's own). Without it a
// Keycloak preset's tokens are checked against the validator's
// [validator.WithAudience]. Auth0 and Entra take their audience as a
// parameter; Cognito checks clients instead.
func WithAudience(audiences ...string) Option {
	return func(c *config) { c.audiences = given(c.audiences, audiences) }
}

// WithAuthorizedParties requires Keycloak's "azp" (the client the token
// was issued to) to be one of parties.
func WithAuthorizedParties(parties ...string) Option {
	return func(c *config) { c.parties = given(c.parties, parties) }
}

// WithClientIDs requires the client the token was issued to be one of
// ids: Okta's "cid", Entra ID's "azp" (v2) or "appid" (v1). Okta and Entra
// ID only: Cognito takes its clients as a parameter, and Auth0 and
// Keycloak refuse it (Keycloak: [WithAuthorizedParties]).
func WithClientIDs(ids ...string) Option {
	return func(c *config) { c.clientIDs = given(c.clientIDs, ids) }
}

// WithEntraVersions sets the Entra ID token versions accepted: 2 (issuer
// https://login.microsoftonline.com/{tid}/v2.0, the default) and/or 1
// (https://sts.windows.net/{tid}/, what an app whose manifest leaves
// accessTokenAcceptedVersion unset receives).
func WithEntraVersions(versions ...int) Option {
	return func(c *config) { c.versions = append(c.versions, versions...) }
}

// WithEntraTokensWithoutGrant accepts Entra ID tokens that carry neither
// "scp" nor "roles". Entra ID issues such tokens for the API to any client
// of the tenant (or a third-party app a user consented to) that nobody
// granted anything, so the presets refuse them by default
// ([validator.ErrNoGrant], 403); [WithClientIDs] alone does not change
// that. Use this option only when the API authorizes its callers itself
// ([WithClientIDs], or checks of its own such as Microsoft.Identity.Web's
// AllowWebApiToBeAuthorizedByACL). Presets other than Entra ID refuse it.
func WithEntraTokensWithoutGrant() Option { return func(c *config) { c.noGrant = true } }

// WithKeycloakClient reads the roles of client ("resource_access.{client}.roles")
// as roles, next to the realm's ("realm_access.roles").
func WithKeycloakClient(client string) Option { return func(c *config) { c.kcClient = client } }

// WithIssuerOptions adds checks of your own to the preset's issuers, e.g.
// [validator.IssuerClaimValues] for a claim your tenant adds; every check
// of the preset still holds. An option that would widen one instead, an
// audience list ([validator.IssuerAudience]) or client list
// ([validator.IssuerClientIDs]) where the preset sets its own, is refused
// when the validator is built: give the preset the audiences or clients.
// Role and permission claims ([validator.IssuerRoleClaims]) are read next
// to the preset's.
func WithIssuerOptions(opts ...validator.IssuerOption) Option {
	return func(c *config) { c.issuerOpts = append(c.issuerOpts, opts...) }
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o == nil {
			c.errs = append(c.errs, errors.New("nil Option"))
			continue
		}
		o(&c)
	}
	return c
}

// keySet starts the preset's key set for jwksURL.
func (c *config) keySet(jwksURL string) (*jwks.Set, error) {
	var opts []jwks.Option
	if c.client != nil {
		opts = append(opts, jwks.WithHTTPClient(c.client))
	}
	if c.loopback {
		opts = append(opts, jwks.WithInsecureLoopbackHTTP())
	}
	return jwks.New(jwksURL, append(opts, c.jwksOpts...)...)
}

// build checks the recorded problems, then starts the key set.
func (c *config) build(name, jwksURL string, issuers []string, issuerOpts func(keys validator.KeySource) []validator.Option) (*Preset, error) {
	if len(c.errs) > 0 {
		return nil, fmt.Errorf("providers: %s: %w", name, errors.Join(c.errs...))
	}
	set, err := c.keySet(jwksURL)
	if err != nil {
		return nil, fmt.Errorf("providers: %s: %w", name, err)
	}
	return &Preset{name: name, issuers: issuers, opts: issuerOpts(set), sets: []*jwks.Set{set}}, nil
}

// Option returns the validator option that trusts the preset's issuers,
// with their checks. Pass it to [validator.New] with any other option.
func (p *Preset) Option() validator.Option { return validator.Options(p.opts...) }

// Name returns the provider's name: "cognito", "entra", "keycloak",
// "auth0" or "okta".
func (p *Preset) Name() string { return p.name }

// Issuers returns the issuer identifiers the preset trusts (one per
// allowed tenant and version for Entra ID).
func (p *Preset) Issuers() []string { return slices.Clone(p.issuers) }

// KeySets returns the key sets the preset owns, for readiness checks
// ([jwks.Set.WaitReady]). Close them with [Preset.Close], not directly.
func (p *Preset) KeySets() []*jwks.Set { return slices.Clone(p.sets) }

// Close stops the key sets' background refresh and waits for it. Calling
// it again does nothing.
func (p *Preset) Close() error {
	p.once.Do(func() {
		var errs []error
		for _, s := range p.sets {
			errs = append(errs, s.Close())
		}
		p.err = errors.Join(errs...)
	})
	return p.err
}

// checkURL requires an absolute http(s) URL without query or fragment;
// the key set enforces https (or loopback http when allowed).
func checkURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%s %q is not an http(s) URL without query, fragment or user", what, httpfetch.Redact(raw))
	}
	return nil
}

// checkName requires a non-empty identifier made of letters, digits and
// the given punctuation, so that it can be put in a URL path as it is.
func checkName(what, s, punct string) error {
	if s == "" || len(s) > 255 {
		return fmt.Errorf("%s %q: empty or too long", what, s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(punct, c) >= 0) {
			return fmt.Errorf("%s %q: character %q not allowed", what, s, c)
		}
	}
	return nil
}

// given appends list to to and records that the option was given, even
// with no values: an allow-list given empty (a configuration list found
// empty, "WithClientIDs(cfg.Clients...)") is an error, never "no
// allow-list".
func given(to, list []string) []string {
	if to == nil {
		to = []string{}
	}
	return append(to, list...)
}

func nonEmpty(what string, list []string) error {
	if len(list) == 0 || slices.Contains(list, "") {
		return fmt.Errorf("%s: none given, or an empty one", what)
	}
	return nil
}

// only records an error for each option set that the provider name does
// not take, so that no option is silently ignored.
func (c *config) only(name string, notTaken ...string) {
	set := map[string]bool{
		"audience":  c.audiences != nil,
		"parties":   c.parties != nil,
		"clientIDs": c.clientIDs != nil,
		"versions":  c.versions != nil,
		"kcClient":  c.kcClient != "",
		"noGrant":   c.noGrant,
		"sts":       c.stsURL != "",
		"base":      c.baseURL != "",
	}
	names := map[string]string{
		"audience": "WithAudience", "parties": "WithAuthorizedParties", "clientIDs": "WithClientIDs",
		"versions": "WithEntraVersions", "kcClient": "WithKeycloakClient", "noGrant": "WithEntraTokensWithoutGrant", "sts": "WithEntraV1IssuerURL", "base": "WithBaseURL",
	}
	for _, n := range notTaken {
		if set[n] {
			c.errs = append(c.errs, fmt.Errorf("%s does not take %s", name, names[n]))
		}
	}
}
