// Package setup is the configuration shared by the example services (and
// the load test in bench/load):
// flags with environment fallbacks, and the validator they describe.
package setup

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/internal/httpfetch"
	"github.com/bearerguard/bearerguard/internal/secretfile"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/redisstore"
	"github.com/bearerguard/bearerguard/validator"
)

// Config is an example service's configuration.
type Config struct {
	// Addr is the address the service listens on (--addr).
	Addr string
	// Issuer is the trusted issuer's identifier (--issuer).
	Issuer string
	// Audience is this API's audience, which tokens must name (--audience).
	Audience string
	// JWKSURL is the issuer's key set; "" means discovery from Issuer.
	JWKSURL string
	// Leeway is the clock skew allowed (--leeway).
	Leeway time.Duration
	// RFC9068 enforces the JWT access-token profile (--rfc9068).
	RFC9068 bool
	// InsecureHTTP allows http:// URLs to loopback issuers (--insecure-http).
	InsecureHTTP bool
	// IssuerCA is a PEM file of CA certificates trusted, beside the
	// system's, for the issuer's discovery, JWKS and introspection (a
	// private CA, or a local issuer such as `bearerguard dev-issuer`'s).
	IssuerCA     string
	issuerClient *http.Client // trusting IssuerCA, once Parse has read it
	// IntrospectionURL is the RFC 7662 endpoint for opaque tokens, asked
	// with client_secret_basic as ClientID and ClientSecret.
	IntrospectionURL string
	// ClientID is this API's client id at the introspection endpoint.
	ClientID string
	// ClientSecret is its secret there (never printed).
	ClientSecret string
	// IntrospectionCacheTTL bounds the reuse of an active introspection
	// answer (revocation is seen at most this late); 0 means no reuse.
	IntrospectionCacheTTL time.Duration
	// JWKSRefreshInterval is the key set's background refresh interval,
	// the longest a key the issuer removed is still trusted (0: the jwks
	// default, 15 min).
	JWKSRefreshInterval time.Duration
	// JWKSMaxStaleness refuses every token (503) once the key set could not
	// be refreshed for this long (0: serve the last good keys without
	// bound, the jwks default): for issuers that revoke keys after a
	// compromise.
	JWKSMaxStaleness time.Duration
	// IntrospectionAudienceOptional accepts introspection answers that
	// carry no "aud" (a present, wrong one is still refused; JWTs must
	// still name the audience).
	IntrospectionAudienceOptional bool
	// IntrospectionTokenTypeRequired refuses every introspection answer
	// that carries no "token_type"; by default only answers whose audience
	// is not checked need one (node-oidc-provider and Spring Authorization
	// Server answer refresh tokens with neither).
	IntrospectionTokenTypeRequired bool
	// IntrospectionTokenTypeOptional accepts answers without "token_type"
	// even when their audience is not checked, for servers that introspect
	// access tokens only and send neither (Django OAuth Toolkit).
	IntrospectionTokenTypeOptional bool
	// IntrospectionOnly checks every token, JWT-shaped or not, by
	// introspection alone: no key set, no discovery, no background fetch.
	// Issuer is then optional (see introspection_only.go).
	IntrospectionOnly bool
	// AllowQueryToken also accepts the token in the access_token query
	// parameter (RFC 6750 §2.3); answers then carry Cache-Control: private.
	AllowQueryToken bool
	// Provider selects an identity-provider preset instead of Issuer
	// (see provider.go).
	Provider ProviderSettings

	// DPoP is how DPoP-bound tokens (RFC 9449) are accepted.
	DPoP validator.DPoPMode
	// PublicURL is the URL clients address the service by, for DPoP
	// proofs behind a proxy; "" builds it from the request.
	PublicURL string
	// DPoPNonce requires server-issued DPoP nonces, made with
	// DPoPNonceKey (random per process when empty: give every replica
	// the same key).
	DPoPNonce bool
	// DPoPNonceKey is that key, 32 bytes or more (never printed).
	DPoPNonceKey []byte

	// RedisURL, when set, shares the introspection cache and the DPoP
	// replay store with every replica through Redis (redis://, rediss://
	// or unix://).
	RedisURL string
	// RedisTimeout bounds each Redis call; 0 means
	// redisstore.DefaultTimeout. It has no flag: it is for tests and for
	// programs that embed the examples.
	RedisTimeout time.Duration
	// RedisEncryptionKeys encrypt and authenticate the introspection
	// answers kept in Redis (redisstore.WithEncryption; the first
	// encrypts). Without them, anyone who can write to that Redis can put
	// an "active" answer there for a token of their choosing: Parse
	// refuses --redis-url with --introspection-url unless they are given
	// or RedisUnencrypted says to accept that.
	RedisEncryptionKeys []redisstore.EncryptionKey
	// RedisUnencrypted accepts a Redis without encryption keys
	// (--redis-unencrypted): whoever can write to it can make any token
	// string valid.
	RedisUnencrypted bool
	// RedisPrefix starts every Redis key (redisstore.WithPrefix); "" is
	// the store's default. Services sharing a Redis that must not share
	// answers use prefixes of their own.
	RedisPrefix string
	// RedisCA is a PEM file of CA certificates trusted, beside the
	// system's, for a rediss:// RedisURL.
	RedisCA    string
	redisRoots *x509.CertPool // RedisCA's, once Parse has read it

	// TLSCert and TLSKey serve HTTPS; ClientCA (PEM) also asks clients for
	// certificates, for certificate-bound tokens (RFC 8705).
	TLSCert, TLSKey, ClientCA string

	// Resource is the canonical URI of the service (RFC 9728, RFC 8707):
	// when set, the service serves its protected resource metadata
	// ([Config.Metadata]) at [Config.MetadataURL], and every challenge
	// carries resource_metadata. Parse defaults it to the audience when
	// that is an absolute https URL (http on loopback), and the audience to
	// it.
	Resource string

	// MetricsAddr, when set, is the address of a second, plain-HTTP
	// listener serving the service's metrics in the Prometheus format at
	// GET /metrics (see [Prometheus]).
	MetricsAddr string
	// StartupTimeout is how long the service waits at start for its key
	// sets (and introspection client) to be ready. A discovery document that
	// names another issuer ends the service then (exit 1); an issuer that is
	// merely unreachable only delays readiness: the service serves, with
	// GET /readyz at 503 until the keys load. 0 does not wait.
	StartupTimeout time.Duration

	// MeterProvider records the metrics of the key set, introspection
	// client and validator that [Config.Guard] builds; nil means the global
	// provider (a no-op unless the program set one). The services set it
	// with --metrics-addr.
	MeterProvider metric.MeterProvider
	// Readiness, when not nil, is told about the key set and introspection
	// client that [Config.Guard] builds, for GET /readyz and the startup
	// wait. The services set it; a program embedding an example's handler
	// can too.
	Readiness *Readiness
	// GuardOptions are added to the options [Config.Guard] gives the
	// guard, after them: `bearerguard serve` adds the forwarded client
	// certificate header here.
	GuardOptions []httpbearer.Option
}

// Format prints the configuration's addresses and names, for every verb:
// never the client secret, the Redis URL or the keys it holds, and its
// URLs without user info or query values.
func (c Config) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "setup.Config{Addr: %q, Issuer: %q, Audience: %q, JWKSURL: %q, IntrospectionURL: %q, ClientID: %q, secrets not shown}",
		c.Addr, c.Issuer, c.Audience, httpfetch.Redact(c.JWKSURL), httpfetch.Redact(c.IntrospectionURL), c.ClientID)
}

// MarshalJSON is what LogValue gives, never a secret.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"addr": c.Addr, "issuer": c.Issuer, "audience": c.Audience,
		"jwks_url": httpfetch.Redact(c.JWKSURL), "introspection_url": httpfetch.Redact(c.IntrospectionURL), "client_id": c.ClientID})
}

// LogValue is what Format prints, for slog's handlers (the JSON one would
// otherwise print every exported field).
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("addr", c.Addr), slog.String("issuer", c.Issuer), slog.String("audience", c.Audience),
		slog.String("jwks_url", httpfetch.Redact(c.JWKSURL)), slog.String("introspection_url", httpfetch.Redact(c.IntrospectionURL)), slog.String("client_id", c.ClientID))
}

// DefaultStartupTimeout is the default of --startup-timeout.
const DefaultStartupTimeout = 10 * time.Second

// Parse reads flags from args, falling back to the environment (getenv)
// for every flag not given. It returns flag.ErrHelp after printing usage
// for -h/--help.
func Parse(name string, args []string, getenv func(string) string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	var c Config
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Addr, "addr", env("ADDR", ":8080"), "listen address (env ADDR)")
	fs.StringVar(&c.Issuer, "issuer", env("BEARERGUARD_ISSUER", ""), "trusted issuer URL, exactly as in the tokens' iss (env BEARERGUARD_ISSUER)")
	fs.StringVar(&c.Audience, "audience", env("BEARERGUARD_AUDIENCE", ""), "this API's audience (env BEARERGUARD_AUDIENCE)")
	c.Resource = env("BEARERGUARD_RESOURCE", "")
	fs.Var(urlFlag{&c.Resource}, "resource", "canonical URI of this resource (https, or http on loopback), for RFC 9728 metadata and resource_metadata in challenges; default: the audience, if it is such a URL (env BEARERGUARD_RESOURCE)")
	c.JWKSURL = env("BEARERGUARD_JWKS_URL", "")
	fs.Var(urlFlag{&c.JWKSURL}, "jwks-url", "JWKS URL; default: discovery from the issuer (env BEARERGUARD_JWKS_URL)")
	leeway := fs.String("leeway", env("BEARERGUARD_LEEWAY", validator.DefaultLeeway.String()), "clock skew allowed for exp/nbf/iat (env BEARERGUARD_LEEWAY)")
	var errs []error
	rfc9068Env, err := strconv.ParseBool(env("BEARERGUARD_RFC9068", "false"))
	if err != nil {
		errs = append(errs, fmt.Errorf("BEARERGUARD_RFC9068 %q is not a boolean", getenv("BEARERGUARD_RFC9068")))
	}
	fs.BoolVar(&c.RFC9068, "rfc9068", rfc9068Env, "enforce the RFC 9068 JWT access token profile (env BEARERGUARD_RFC9068)")
	c.IntrospectionURL = env("BEARERGUARD_INTROSPECTION_URL", "")
	fs.Var(urlFlag{&c.IntrospectionURL}, "introspection-url", "RFC 7662 endpoint for opaque tokens (env BEARERGUARD_INTROSPECTION_URL)")
	fs.StringVar(&c.ClientID, "client-id", env("BEARERGUARD_CLIENT_ID", ""), "this API's client id at the introspection endpoint (env BEARERGUARD_CLIENT_ID)")
	c.ClientSecret = env("BEARERGUARD_CLIENT_SECRET", "")
	fs.Var(secretfile.Flag{P: &c.ClientSecret}, "client-secret", "its client secret; prefer --client-secret-file or the environment (env BEARERGUARD_CLIENT_SECRET)")
	jwksRefresh := fs.String("jwks-refresh-interval", env("BEARERGUARD_JWKS_REFRESH_INTERVAL", ""), "background refresh of the key set, the longest a key the issuer removed is still trusted (default 15m; at least 1m) (env BEARERGUARD_JWKS_REFRESH_INTERVAL)")
	jwksStale := fs.String("jwks-max-staleness", env("BEARERGUARD_JWKS_MAX_STALENESS", ""), "refuse every token (503) once the key set could not be refreshed for this long, longer than the refresh interval (default: serve the last good keys without bound) (env BEARERGUARD_JWKS_MAX_STALENESS)")
	cacheTTL := fs.String("introspection-cache-ttl", env("BEARERGUARD_INTROSPECTION_CACHE_TTL", introspect.DefaultMaxTTL.String()), "longest reuse of an active introspection answer, so a revoked token is accepted at most this long (default 60 s); 0 sees revocation at once (env BEARERGUARD_INTROSPECTION_CACHE_TTL)")
	audOptEnv, err := strconv.ParseBool(env("BEARERGUARD_INTROSPECTION_AUDIENCE_OPTIONAL", "false"))
	if err != nil {
		errs = append(errs, fmt.Errorf("BEARERGUARD_INTROSPECTION_AUDIENCE_OPTIONAL %q is not a boolean", getenv("BEARERGUARD_INTROSPECTION_AUDIENCE_OPTIONAL")))
	}
	fs.BoolVar(&c.IntrospectionAudienceOptional, "introspection-audience-optional", audOptEnv, "accept introspection answers without aud, for authorization servers that never send one; a wrong aud is still refused, JWTs still need one (env BEARERGUARD_INTROSPECTION_AUDIENCE_OPTIONAL)")
	typeReqEnv, err := strconv.ParseBool(env("BEARERGUARD_INTROSPECTION_TOKEN_TYPE_REQUIRED", "false"))
	if err != nil {
		errs = append(errs, fmt.Errorf("BEARERGUARD_INTROSPECTION_TOKEN_TYPE_REQUIRED %q is not a boolean", getenv("BEARERGUARD_INTROSPECTION_TOKEN_TYPE_REQUIRED")))
	}
	fs.BoolVar(&c.IntrospectionTokenTypeRequired, "introspection-token-type-required", typeReqEnv, "refuse every introspection answer without token_type (by default only answers without a checked aud need one) (env BEARERGUARD_INTROSPECTION_TOKEN_TYPE_REQUIRED)")
	typeOptEnv, err := strconv.ParseBool(env("BEARERGUARD_INTROSPECTION_TOKEN_TYPE_OPTIONAL", "false"))
	if err != nil {
		errs = append(errs, fmt.Errorf("BEARERGUARD_INTROSPECTION_TOKEN_TYPE_OPTIONAL %q is not a boolean", getenv("BEARERGUARD_INTROSPECTION_TOKEN_TYPE_OPTIONAL")))
	}
	fs.BoolVar(&c.IntrospectionTokenTypeOptional, "introspection-token-type-optional", typeOptEnv, "accept introspection answers with neither aud nor token_type, for servers that introspect access tokens only (Django OAuth Toolkit); with one that answers about refresh tokens too, a stolen refresh token would pass (env BEARERGUARD_INTROSPECTION_TOKEN_TYPE_OPTIONAL)")
	dpopMode := fs.String("dpop", env("BEARERGUARD_DPOP", validator.DPoPAllowed.String()), "DPoP-bound tokens (RFC 9449): off, allowed or required (env BEARERGUARD_DPOP)")
	c.PublicURL = env("BEARERGUARD_PUBLIC_URL", "")
	fs.Var(urlFlag{&c.PublicURL}, "public-url", "the URL clients address this service by, for DPoP proofs behind a proxy (env BEARERGUARD_PUBLIC_URL)")
	nonceEnv, err := strconv.ParseBool(env("BEARERGUARD_DPOP_NONCE", "false"))
	if err != nil {
		errs = append(errs, fmt.Errorf("BEARERGUARD_DPOP_NONCE %q is not a boolean", getenv("BEARERGUARD_DPOP_NONCE")))
	}
	fs.BoolVar(&c.DPoPNonce, "dpop-nonce", nonceEnv, "require server-issued DPoP nonces; set BEARERGUARD_DPOP_NONCE_KEY (32+ bytes, base64) alike on every replica (env BEARERGUARD_DPOP_NONCE)")
	c.RedisURL = env("BEARERGUARD_REDIS_URL", "")
	fs.Var(secretfile.Flag{P: &c.RedisURL}, "redis-url", "share introspection answers and DPoP replay state with every replica through this Redis (redis://, rediss:// or unix://); prefer the environment when the URL holds a password (env BEARERGUARD_REDIS_URL)")
	redisKeys := new(string)
	*redisKeys = env("BEARERGUARD_REDIS_ENCRYPTION_KEYS", "")
	fs.Var(secretfile.Flag{P: redisKeys}, "redis-encryption-keys", "encrypt and authenticate the introspection answers kept in Redis: id:key[,id:key…], each key standard base64 of 16, 24 or 32 bytes, the same on every replica; the first encrypts, all decrypt (for rotation); required with --redis-url and --introspection-url unless --redis-unencrypted; give it in the environment (env BEARERGUARD_REDIS_ENCRYPTION_KEYS)")
	redisPlainEnv, err := strconv.ParseBool(env("BEARERGUARD_REDIS_UNENCRYPTED", "false"))
	if err != nil {
		errs = append(errs, fmt.Errorf("BEARERGUARD_REDIS_UNENCRYPTED %q is not a boolean", getenv("BEARERGUARD_REDIS_UNENCRYPTED")))
	}
	fs.BoolVar(&c.RedisUnencrypted, "redis-unencrypted", redisPlainEnv, "keep introspection answers in Redis unencrypted and unauthenticated: whoever can write to that Redis can then make any token string valid (env BEARERGUARD_REDIS_UNENCRYPTED)")
	fs.StringVar(&c.RedisCA, "redis-ca", env("BEARERGUARD_REDIS_CA", ""), "PEM file of CA certificates to trust, beside the system's, for a rediss:// Redis (env BEARERGUARD_REDIS_CA)")
	fs.StringVar(&c.RedisPrefix, "redis-prefix", env("BEARERGUARD_REDIS_PREFIX", ""), "prefix of every Redis key (default \"bearerguard:\"); services that share a Redis but must not share answers each use their own (env BEARERGUARD_REDIS_PREFIX)")
	fs.StringVar(&c.TLSCert, "tls-cert", env("BEARERGUARD_TLS_CERT", ""), "serve HTTPS with this certificate (PEM file) (env BEARERGUARD_TLS_CERT)")
	c.TLSKey = env("BEARERGUARD_TLS_KEY", "")
	fs.Var(secretfile.Flag{P: &c.TLSKey}, "tls-key", "and this private key (PEM file) (env BEARERGUARD_TLS_KEY)")
	fs.StringVar(&c.ClientCA, "client-ca", env("BEARERGUARD_CLIENT_CA", ""), "ask clients for TLS certificates issued by these CAs (PEM file), for certificate-bound tokens (env BEARERGUARD_CLIENT_CA)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env("BEARERGUARD_METRICS_ADDR", ""), "serve Prometheus metrics at GET /metrics on this address, a listener of its own in plain HTTP (keep it internal); default: off (env BEARERGUARD_METRICS_ADDR)")
	startup := fs.String("startup-timeout", env("BEARERGUARD_STARTUP_TIMEOUT", DefaultStartupTimeout.String()), "how long to wait at start for the issuer's keys: exit 1 if its discovery names another issuer; if it is only unreachable, serve with /readyz at 503 until the keys load; 0 does not wait (env BEARERGUARD_STARTUP_TIMEOUT)")
	fs.BoolVar(&c.InsecureHTTP, "insecure-http", false, "allow plain http:// issuer, JWKS and introspection URLs on loopback hosts, for local development")
	fs.StringVar(&c.IssuerCA, "issuer-ca", env("BEARERGUARD_ISSUER_CA", ""), "PEM file of CA certificates to trust, beside the system's, for the issuer's discovery, JWKS and introspection (a private CA, or bearerguard dev-issuer's) (env BEARERGUARD_ISSUER_CA)")
	nonceKey := getenv("BEARERGUARD_DPOP_NONCE_KEY")
	secretFiles := []*secretFile{
		{flag: "client-secret", value: &c.ClientSecret},
		{flag: "redis-url", value: &c.RedisURL},
		{flag: "redis-encryption-keys", value: redisKeys},
		{flag: "dpop-nonce-key", value: &nonceKey, given: "BEARERGUARD_DPOP_NONCE_KEY"},
	}
	for _, sf := range secretFiles {
		sf.register(fs, env)
	}
	errs = append(errs, c.introspectionOnlyFlags(fs, getenv)...)
	errs = append(errs, c.providerFlags(fs, getenv)...)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: %s [flags]\n\n%s\nFlags:\n", name, serves(name))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, sf := range secretFiles {
		if err := sf.resolve(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.IssuerCA != "" {
		if c.issuerClient, err = IssuerClient(c.IssuerCA, c.InsecureHTTP); err != nil {
			errs = append(errs, fmt.Errorf("--issuer-ca: %w", err))
		}
	}
	if c.Leeway, err = time.ParseDuration(*leeway); err != nil || c.Leeway < 0 {
		errs = append(errs, fmt.Errorf("--leeway %q is not a non-negative duration", *leeway))
	}
	if c.StartupTimeout, err = time.ParseDuration(*startup); err != nil || c.StartupTimeout < 0 {
		errs = append(errs, fmt.Errorf("--startup-timeout %q is not a non-negative duration", *startup))
	}
	if c.Issuer == "" && !c.IntrospectionOnly && c.Provider.Name == "" {
		errs = append(errs, errors.New("--issuer (or BEARERGUARD_ISSUER) is required"))
	}
	errs = append(errs, c.checkIntrospectionOnly()...)
	if err := c.resolveResource(); err != nil {
		errs = append(errs, err)
	}
	if c.Audience == "" && c.Provider.Name == "" {
		errs = append(errs, errors.New("--audience (or BEARERGUARD_AUDIENCE) is required"))
	}
	errs = append(errs, c.checkProvider()...)
	for _, d := range []struct {
		flag, val string
		dst       *time.Duration
	}{{"jwks-refresh-interval", *jwksRefresh, &c.JWKSRefreshInterval}, {"jwks-max-staleness", *jwksStale, &c.JWKSMaxStaleness}} {
		if d.val == "" {
			continue
		}
		if *d.dst, err = time.ParseDuration(d.val); err != nil || *d.dst <= 0 {
			errs = append(errs, fmt.Errorf("--%s %q is not a positive duration", d.flag, d.val))
		}
	}
	if refresh := c.jwksRefreshInterval(); c.JWKSMaxStaleness > 0 && c.JWKSMaxStaleness <= refresh {
		errs = append(errs, fmt.Errorf("--jwks-max-staleness %v is not longer than the key set's refresh interval (%v): the keys would go stale between two refreshes", c.JWKSMaxStaleness, refresh))
	}
	if c.IntrospectionCacheTTL, err = time.ParseDuration(*cacheTTL); err != nil || c.IntrospectionCacheTTL < 0 {
		errs = append(errs, fmt.Errorf("--introspection-cache-ttl %q is not a non-negative duration", *cacheTTL))
	}
	if c.IntrospectionURL != "" && (c.ClientID == "" || c.ClientSecret == "") {
		errs = append(errs, errors.New("--introspection-url needs --client-id and --client-secret"))
	}
	if c.DPoP, err = validator.ParseDPoPMode(*dpopMode); err != nil {
		errs = append(errs, fmt.Errorf("--dpop %q is not off, allowed or required", *dpopMode))
	}
	if nonceKey != "" {
		if c.DPoPNonceKey, err = base64.StdEncoding.DecodeString(nonceKey); err != nil || len(c.DPoPNonceKey) < 32 {
			errs = append(errs, errors.New("BEARERGUARD_DPOP_NONCE_KEY (or --dpop-nonce-key-file) must be at least 32 bytes, in standard base64"))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	if c.ClientCA != "" && c.TLSCert == "" {
		errs = append(errs, errors.New("--client-ca needs --tls-cert and --tls-key"))
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
			errs = append(errs, errors.New("--redis-url (or BEARERGUARD_REDIS_URL) must be a redis://, rediss:// or unix:// URL")) // never echoed: it may hold a password
		}
	}
	if c.RedisCA != "" {
		if u, err := url.Parse(c.RedisURL); err == nil && u.Scheme != "rediss" {
			errs = append(errs, errors.New("--redis-ca needs a rediss:// --redis-url"))
		} else if c.redisRoots, err = readRoots(c.RedisCA); err != nil {
			errs = append(errs, fmt.Errorf("--redis-ca: %w", err))
		}
	}
	if *redisKeys != "" {
		if c.RedisEncryptionKeys, err = parseEncryptionKeys(*redisKeys); err != nil {
			errs = append(errs, err)
		}
	}
	switch {
	case c.RedisURL == "" && (*redisKeys != "" || c.RedisPrefix != "" || c.RedisUnencrypted || c.RedisCA != ""):
		errs = append(errs, errors.New("--redis-encryption-keys, --redis-prefix, --redis-ca and --redis-unencrypted need --redis-url"))
	case c.RedisURL != "" && c.IntrospectionURL != "" && *redisKeys == "" && !c.RedisUnencrypted:
		errs = append(errs, errors.New("--redis-url with --introspection-url needs --redis-encryption-keys: anyone who can write to that Redis could otherwise make any token string valid (or say --redis-unencrypted to accept that)"))
	case *redisKeys != "" && c.RedisUnencrypted:
		errs = append(errs, errors.New("--redis-encryption-keys and --redis-unencrypted contradict each other"))
	}
	if c.IntrospectionAudienceOptional && c.IntrospectionURL == "" {
		errs = append(errs, errors.New("--introspection-audience-optional needs --introspection-url"))
	}
	if (c.IntrospectionTokenTypeRequired || c.IntrospectionTokenTypeOptional) && c.IntrospectionURL == "" {
		errs = append(errs, errors.New("--introspection-token-type-required and --introspection-token-type-optional need --introspection-url"))
	}
	if c.IntrospectionTokenTypeRequired && c.IntrospectionTokenTypeOptional {
		errs = append(errs, errors.New("--introspection-token-type-required and --introspection-token-type-optional contradict each other"))
	}
	return c, errors.Join(errs...)
}

// Guard builds the key set (none with --introspection-only), validator and
// guard c describes. client, if not nil, is used for discovery, JWKS
// fetches and introspection (tests pass one that trusts their issuer). The
// returned function releases the key set, and the Redis store when there
// is one. Their metrics go to c.MeterProvider, and c.Readiness, when set,
// learns of the key set and introspection client.
func (c Config) Guard(client *http.Client) (*httpbearer.Guard, func(), error) {
	client = c.HTTPClient(client)
	var opts []jwks.Option
	if client != nil {
		opts = append(opts, jwks.WithHTTPClient(client))
	}
	if c.InsecureHTTP {
		opts = append(opts, jwks.WithInsecureLoopbackHTTP())
	}
	if c.MeterProvider != nil {
		opts = append(opts, jwks.WithMeterProvider(c.MeterProvider))
	}
	if c.JWKSRefreshInterval > 0 {
		opts = append(opts, jwks.WithRefreshInterval(c.JWKSRefreshInterval))
	}
	if c.JWKSMaxStaleness > 0 {
		opts = append(opts, jwks.WithMaxStaleness(c.JWKSMaxStaleness))
	}
	keys, preset, err := c.keySetOrPreset(opts) // nil with --introspection-only; the preset's with --provider
	if err != nil {
		return nil, nil, err
	}
	closeAll := func() { closeKeySet(keys) }
	var shared *redisstore.Store
	var introspection *introspect.Client
	if c.RedisURL != "" {
		var ropts []redisstore.Option
		if c.RedisTimeout > 0 {
			ropts = append(ropts, redisstore.WithTimeout(c.RedisTimeout))
		}
		if len(c.RedisEncryptionKeys) > 0 {
			ropts = append(ropts, redisstore.WithEncryption(c.RedisEncryptionKeys...))
		}
		if c.RedisPrefix != "" {
			ropts = append(ropts, redisstore.WithPrefix(c.RedisPrefix))
		}
		if roots := c.redisRoots; c.RedisCA != "" {
			if roots == nil {
				if roots, err = readRoots(c.RedisCA); err != nil {
					closeAll()
					return nil, nil, fmt.Errorf("--redis-ca: %w", err)
				}
			}
			ropts = append(ropts, redisstore.WithTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
		}
		if shared, err = redisstore.Open(c.RedisURL, ropts...); err != nil {
			closeAll()
			return nil, nil, err
		}
		closeAll = func() { shared.Close(); closeKeySet(keys) }
		if host, plain := plaintextRemote(c.RedisURL); plain {
			slog.Warn("Redis over plain redis:// to a host that is not loopback: whoever is on the network path can read the shared state and change it (the DPoP replay markers are not encrypted); use rediss://", "redis_host", host)
		}
	}
	vopts := []validator.Option{
		c.audienceOption(),
		validator.WithLeeway(c.Leeway),
	}
	if keys != nil {
		vopts = append(vopts, c.issuerOption(keys, preset))
	}
	if c.MeterProvider != nil {
		vopts = append(vopts, validator.WithMeterProvider(c.MeterProvider))
	}
	if c.RFC9068 {
		vopts = append(vopts, validator.WithRFC9068())
	}
	vopts = append(vopts, validator.WithDPoP(c.DPoP))
	if shared != nil {
		vopts = append(vopts, validator.WithDPoPReplayStore(shared.ReplayStore()))
	}
	if c.DPoPNonce {
		key := c.DPoPNonceKey
		if len(key) == 0 {
			slog.Warn("--dpop-nonce without BEARERGUARD_DPOP_NONCE_KEY: nonces are made with a key of this process only, so another replica refuses them (the client then retries with its nonce); give every replica the same key")
			key = make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				closeAll()
				return nil, nil, err
			}
		}
		vopts = append(vopts, validator.WithDPoPNonces(key, 0))
	}
	if c.IntrospectionURL != "" {
		iopts := []introspect.Option{introspect.WithMaxTTL(c.IntrospectionCacheTTL)}
		if client != nil {
			iopts = append(iopts, introspect.WithHTTPClient(client))
		}
		if c.InsecureHTTP {
			iopts = append(iopts, introspect.WithInsecureLoopbackHTTP())
		}
		if shared != nil {
			iopts = append(iopts, introspect.WithCache(shared.Cache()))
		}
		if c.MeterProvider != nil {
			iopts = append(iopts, introspect.WithMeterProvider(c.MeterProvider))
		}
		ic, err := introspect.New(c.IntrospectionURL, introspect.ClientSecretBasic(c.ClientID, c.ClientSecret), iopts...)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		closeRest := closeAll
		closeAll = func() { ic.Close(); closeRest() }
		introspection = ic
		vopts = append(vopts, validator.WithIntrospection(c.Issuer, ic))
		if c.IntrospectionAudienceOptional {
			vopts = append(vopts, validator.WithIntrospectionAudienceOptional())
		}
		if c.IntrospectionTokenTypeRequired {
			vopts = append(vopts, validator.WithIntrospectionTokenTypeRequired())
		}
		if c.IntrospectionTokenTypeOptional {
			vopts = append(vopts, validator.WithIntrospectionTokenTypeOptional())
		}
	}
	v, err := validator.New(vopts...)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	gopts := []httpbearer.Option{httpbearer.WithRealm(c.Audience)}
	if c.PublicURL != "" {
		gopts = append(gopts, httpbearer.WithPublicURL(c.PublicURL))
	}
	if c.Resource != "" {
		gopts = append(gopts, httpbearer.WithResourceMetadata(c.MetadataURL()))
	}
	gopts = append(gopts, c.queryTokenOptions()...)
	gopts = append(gopts, c.GuardOptions...)
	g, err := httpbearer.New(v, gopts...)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	if c.Readiness != nil {
		if keys != nil {
			c.Readiness.Track("keys", keys.Ready, keys.WaitReady)
			c.Readiness.TrackRefresh("keys", keys.Refresh)
		}
		if introspection != nil {
			c.Readiness.Track("introspection", introspection.Ready, introspection.WaitReady)
		}
	}
	return g, closeAll, nil
}

// HealthBody is the answer of every example's open route, GET /healthz:
// encoded once, so the open route costs no encoding per request.
var HealthBody = []byte(`{"status":"ok"}` + "\n")

// DataReply is the body of GET and POST /data.
type DataReply struct {
	// Subject is the token's "sub".
	Subject string `json:"subject"`
	// ClientID is the client the token was issued to.
	ClientID string `json:"client_id"`
	// Scopes are the token's scopes ([] when none).
	Scopes []string `json:"scopes"`
	// Stored says a POST was accepted.
	Stored bool `json:"stored,omitempty"`
}

// Reply describes tok for /data.
func Reply(tok *validator.Token) DataReply {
	scopes := tok.Scopes.List()
	if scopes == nil {
		scopes = []string{}
	}
	return DataReply{Subject: tok.Subject, ClientID: tok.ClientID, Scopes: scopes}
}

// serves is what the example called name serves, for its --help.
func serves(name string) string {
	switch name {
	case "grpc":
		return "A gRPC service protected by bearerguard's interceptors. Methods:\n" +
			"  bearerguard.example.v1.Data/Get    requires scope read:data\n" +
			"  bearerguard.example.v1.Data/Put    requires scope write:data\n" +
			"  bearerguard.example.v1.Data/Watch  requires scope read:data (server streaming)\n" +
			"  grpc.health.v1.Health              open\n" +
			"--public-url is the base URL of DPoP proofs' htu (set it to accept DPoP); --resource is not used.\n" +
			"--metrics-addr, --redis-url, --provider and --introspection-only are not supported yet.\n"
	case "mcp":
		return "A Model Context Protocol server protected by bearerguard. Routes:\n" +
			"  POST/GET/DELETE /mcp  the MCP endpoint: every request needs a token for the resource\n" +
			"                        (tools: read_data requires scope read:data, write_data write:data)\n" +
			"  GET  /healthz         open: the process is up\n" +
			"  GET  /readyz          open: 200 once the keys have loaded, 503 before\n" +
			"  GET  the resource's RFC 9728 metadata at its well-known path, open\n" +
			"--resource (or an https --audience) is required: the canonical URI of the MCP endpoint.\n" +
			"With --metrics-addr, GET /metrics there (Prometheus).\n"
	}
	return "An API protected by bearerguard. Routes:\n" +
		"  GET  /healthz  open: the process is up\n  GET  /readyz   open: 200 once the keys have loaded, 503 before\n" +
		"  GET  /data     requires scope read:data\n  POST /data     requires scope write:data\n" +
		"and with --metrics-addr, GET /metrics there (Prometheus).\n"
}

// HTTPClient returns the client for the issuer's discovery, JWKS and
// introspection: client when not nil (tests pass one), else one that also
// trusts [Config.IssuerCA] when it is set, else nil (each package's own
// default client).
func (c Config) HTTPClient(client *http.Client) *http.Client {
	if client != nil {
		return client
	}
	return c.issuerClient
}

// IssuerClient returns a client for an issuer's discovery, JWKS and
// introspection that trusts the CA certificates of the PEM file caFile
// beside the system's, with the libraries' own timeouts and redirect
// policy (https only, plain http to loopback with allowLoopbackHTTP).
func IssuerClient(caFile string, allowLoopbackHTTP bool) (*http.Client, error) {
	roots, err := readRoots(caFile)
	if err != nil {
		return nil, err
	}
	hc := httpfetch.NewClient(allowLoopbackHTTP)
	hc.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return hc, nil
}

// readRoots returns the system's roots and the CA certificates of the PEM
// file name.
func readRoots(name string) (*x509.CertPool, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	n := 0
	for rest := b; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate", name)
	}
	return pool, nil
}

// parseEncryptionKeys reads --redis-encryption-keys: id:key pairs, comma
// separated, each key standard base64 of 16, 24 or 32 bytes. Errors never
// show a key.
func parseEncryptionKeys(s string) ([]redisstore.EncryptionKey, error) {
	var keys []redisstore.EncryptionKey
	seen := map[string]bool{}
	for i, part := range strings.Split(s, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || id == "" || len(id) > 64 {
			return nil, fmt.Errorf("--redis-encryption-keys: entry %d is not id:key (an id of 1 to 64 bytes)", i+1)
		}
		if seen[id] {
			return nil, fmt.Errorf("--redis-encryption-keys: id %q given twice", id)
		}
		seen[id] = true
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			key, err = base64.RawStdEncoding.DecodeString(b64)
		}
		if err != nil || (len(key) != 16 && len(key) != 24 && len(key) != 32) {
			return nil, fmt.Errorf("--redis-encryption-keys: the key of entry %d is not standard base64 of 16, 24 or 32 bytes", i+1)
		}
		keys = append(keys, redisstore.EncryptionKey{ID: id, Key: key})
	}
	return keys, nil
}

// urlFlag is a flag holding a URL, whose default (taken from the
// environment) the usage text shows without user info or query values: a
// signed URL's signature or an API key in a query is a credential.
type urlFlag struct{ p *string }

func (f urlFlag) String() string {
	if f.p == nil {
		return ""
	}
	return httpfetch.Redact(*f.p)
}

func (f urlFlag) Set(v string) error { *f.p = v; return nil }

// secretFile is a --NAME-file flag (env BEARERGUARD_NAME_FILE): the value
// of the secret NAME read from a file, as Kubernetes and Docker mount
// secrets, so that it is neither in the process list nor in the
// environment.
type secretFile struct {
	flag  string  // the secret's own flag, without the dashes
	value *string // where the secret goes
	given string  // how the secret is given otherwise; default --flag
	path  string
}

func (s *secretFile) envName() string {
	return "BEARERGUARD_" + strings.ToUpper(strings.ReplaceAll(s.flag, "-", "_")) + "_FILE"
}

func (s *secretFile) register(fs *flag.FlagSet, env func(key, def string) string) {
	// No default shown: a secret given here by mistake, in place of its
	// file's path, must not be printed by the usage text either.
	s.path = env(s.envName(), "")
	fs.Var(secretfile.Flag{P: &s.path}, s.flag+"-file",
		fmt.Sprintf("read the %s from this file (a mounted secret), without its trailing line breaks (env %s)", strings.ReplaceAll(s.flag, "-", " "), s.envName()))
}

// resolve reads the file, if one was named. Its errors name the flag and
// the path, never what the file holds.
func (s *secretFile) resolve() error {
	given := s.given
	if given == "" {
		given = "--" + s.flag
	}
	return secretfile.Fill(s.value, s.path, given, "--"+s.flag+"-file")
}

// plaintextRemote reports whether a --redis-url is plain redis:// to a
// host that is not loopback, and names the host (never the password).
func plaintextRemote(redisURL string) (host string, plain bool) {
	u, err := url.Parse(redisURL)
	if err != nil || u.Scheme != "redis" {
		return "", false
	}
	host = u.Hostname()
	return host, host != "" && !httpfetch.IsLoopback(host) // no host: go-redis dials localhost
}

// jwksRefreshInterval is the key set's background refresh interval as the
// jwks package will use it: --jwks-refresh-interval, or its default,
// within jwks's bounds.
func (c *Config) jwksRefreshInterval() time.Duration {
	d := c.JWKSRefreshInterval
	if d <= 0 {
		d = jwks.DefaultRefreshInterval
	}
	return min(max(d, jwks.MinRefreshInterval), jwks.MaxRefreshInterval)
}
