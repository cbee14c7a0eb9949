package main

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/internal/secretfile"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// validateFlags are validate's flags: the API whose decision is explained.
type validateFlags struct {
	issuer, jwksURL, audience, scope string
	introURL, clientID, clientSecret string
	// clientSecretFile and nonceKeyFile hold those secrets;
	// secretProblems is what went wrong reading them (fromEnvironment).
	clientSecretFile, nonceKeyFile string
	secretProblems                 []string
	leeway, timeout                time.Duration
	rfc9068, insecure              bool
	issuerCA                       string

	// How the request presented the token (RFC 9449, RFC 8705), and the
	// API's DPoP policy.
	dpopProof, method, reqURL string
	dpopMode                  string
	nonceKey                  string
	clientCertFile            string

	// provider: --provider and its preset's parameters (provider_flags.go).
	provider providerFlags

	// given: the flags set on the command line (filled after parsing).
	given map[string]bool
	// Set by problems: what the values above parse to.
	mode  validator.DPoPMode
	nonce []byte
	cert  *x509.Certificate
}

func (f *validateFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.issuer, "issuer", "", "trusted issuer; its keys are found by discovery unless --jwks-url is set")
	fs.StringVar(&f.jwksURL, "jwks-url", "", "JWKS URL of the issuer")
	fs.StringVar(&f.audience, "audience", "", "this API's audience (required)")
	fs.StringVar(&f.scope, "scope", "", "scopes the route requires, space-separated (all of them)")
	fs.StringVar(&f.introURL, "introspection-url", "", "RFC 7662 endpoint for opaque tokens")
	fs.StringVar(&f.clientID, "client-id", "", "client id for introspection")
	// Secrets fall back to the environment after parsing, not as flag
	// defaults, so that --help never prints them.
	fs.StringVar(&f.clientSecret, "client-secret", "", "client secret for introspection; prefer --client-secret-file or the environment, since every user of the machine can read a flag (default $BEARERGUARD_CLIENT_SECRET)")
	fs.StringVar(&f.clientSecretFile, "client-secret-file", "", "read the client secret from this file (a mounted secret), without its trailing line breaks (default $BEARERGUARD_CLIENT_SECRET_FILE)")
	fs.DurationVar(&f.leeway, "leeway", validator.DefaultLeeway, "clock skew allowed (at most 1h)")
	fs.BoolVar(&f.rfc9068, "rfc9068", false, "enforce the RFC 9068 profile")
	fs.BoolVar(&f.insecure, "insecure-http", false, "allow http:// URLs on loopback hosts")
	fs.StringVar(&f.issuerCA, "issuer-ca", "", "PEM file of CA certificates to trust, beside the system's, for the issuer's discovery, JWKS and introspection (a private CA, or bearerguard dev-issuer's) (default $BEARERGUARD_ISSUER_CA)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "overall time limit")
	fs.StringVar(&f.dpopProof, "dpop-proof", "", "the request's DPoP proof (RFC 9449): the token is checked as sent with \"Authorization: DPoP\" and this proof; without it, as Bearer")
	fs.StringVar(&f.method, "method", "GET", "with --dpop-proof: the request's method")
	fs.StringVar(&f.reqURL, "url", "", "with --dpop-proof: the URL the request was sent to, as the client addressed it (the API's public URL)")
	fs.StringVar(&f.dpopMode, "dpop", validator.DPoPAllowed.String(), "the API's DPoP policy: off, allowed or required")
	fs.StringVar(&f.nonceKey, "dpop-nonce-key", "", "the API's DPoP nonce key, standard base64 of 32+ bytes: the API requires server nonces; prefer --dpop-nonce-key-file or the environment, since every user of the machine can read a flag (default $BEARERGUARD_DPOP_NONCE_KEY)")
	fs.StringVar(&f.nonceKeyFile, "dpop-nonce-key-file", "", "read the DPoP nonce key from this file (a mounted secret), without its trailing line breaks (default $BEARERGUARD_DPOP_NONCE_KEY_FILE)")
	fs.StringVar(&f.clientCertFile, "client-cert", "", "PEM file of the TLS client certificate the request came with, for certificate-bound tokens (RFC 8705)")
	f.provider.register(fs)
}

// fromEnvironment fills the secrets not given as flags from the
// environment.
func (f *validateFlags) fromEnvironment(getenv func(string) string) {
	if f.issuerCA == "" {
		f.issuerCA = getenv("BEARERGUARD_ISSUER_CA")
	}
	if f.clientSecret == "" {
		f.clientSecret = getenv("BEARERGUARD_CLIENT_SECRET")
	}
	if f.clientSecretFile == "" {
		f.clientSecretFile = getenv("BEARERGUARD_CLIENT_SECRET_FILE")
	}
	if err := secretfile.Fill(&f.clientSecret, f.clientSecretFile, "--client-secret", "--client-secret-file"); err != nil {
		f.secretProblems = append(f.secretProblems, err.Error()) // names neither the path nor the contents
	}
	if f.nonceKey == "" {
		f.nonceKey = getenv("BEARERGUARD_DPOP_NONCE_KEY")
	}
	if f.nonceKeyFile == "" {
		f.nonceKeyFile = getenv("BEARERGUARD_DPOP_NONCE_KEY_FILE")
	}
	if err := secretfile.Fill(&f.nonceKey, f.nonceKeyFile, "--dpop-nonce-key", "--dpop-nonce-key-file"); err != nil {
		f.secretProblems = append(f.secretProblems, err.Error())
	}
}

// problems returns every problem with the command line at once, so that
// one run shows everything to fix, and the route's scope requirement.
func (f *validateFlags) problems(nargs int) (scopes.Requirement, []string) {
	var problems []string
	if nargs != 1 {
		problems = append(problems, "want exactly one TOKEN argument (or - for standard input)")
	}
	if f.issuer == "" && f.jwksURL == "" && f.introURL == "" && f.provider.name == "" {
		problems = append(problems, "need --issuer, --jwks-url or --introspection-url")
	}
	if f.jwksURL != "" && f.issuer == "" {
		problems = append(problems, "--jwks-url needs --issuer (the iss the tokens carry)")
	}
	if f.audience == "" && f.provider.name == "" {
		problems = append(problems, "--audience is required")
	}
	problems = append(problems, f.provider.problems(f)...)
	problems = append(problems, f.secretProblems...)
	if f.introURL != "" {
		var missing []string
		if f.clientID == "" {
			missing = append(missing, "--client-id")
		}
		if f.clientSecret == "" {
			missing = append(missing, "--client-secret")
		}
		if len(missing) > 0 {
			problems = append(problems, "--introspection-url needs "+strings.Join(missing, " and "))
		}
	}
	need, err := parseRequirement(f.scope)
	if err != nil {
		problems = append(problems, err.Error())
	}
	return need, append(problems, f.presentationProblems()...)
}

// presentationProblems checks the flags that describe how the request
// presented the token, and parses them.
func (f *validateFlags) presentationProblems() []string {
	var problems []string
	if f.dpopProof != "" {
		if f.reqURL == "" {
			problems = append(problems, "--dpop-proof needs --url (the URL the request was sent to)")
		}
	} else {
		var alone []string
		for _, name := range []string{"method", "url"} {
			if f.given[name] {
				alone = append(alone, "--"+name)
			}
		}
		if len(alone) > 0 {
			problems = append(problems, strings.Join(alone, " and ")+" describe the request a DPoP proof is for: give --dpop-proof too")
		}
	}
	if f.given["method"] && !isMethod(f.method) {
		problems = append(problems, fmt.Sprintf("--method %q is not an HTTP method", f.method))
	}
	if f.reqURL != "" {
		if u, err := url.Parse(f.reqURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("--url %q is not an absolute http or https URL", f.reqURL))
		}
	}
	var err error
	if f.mode, err = validator.ParseDPoPMode(f.dpopMode); err != nil {
		problems = append(problems, fmt.Sprintf("--dpop %q is not off, allowed or required", f.dpopMode))
	}
	if f.nonceKey != "" {
		// The key is a secret: never echoed.
		if f.nonce, err = base64.StdEncoding.DecodeString(f.nonceKey); err != nil || len(f.nonce) < 32 {
			problems = append(problems, "--dpop-nonce-key (or its file or environment variable) must be at least 32 bytes, in standard base64")
		}
	}
	if f.clientCertFile != "" {
		if f.cert, err = readCertificate(f.clientCertFile); err != nil {
			problems = append(problems, "--client-cert: "+err.Error())
		}
	}
	return problems
}

// readCertificate reads the first certificate of a PEM file.
func readCertificate(name string) (*x509.Certificate, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, fmt.Errorf("no PEM certificate in %s", name)
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

// isMethod reports whether m is an HTTP method token (RFC 9110 §9.1).
func isMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if !isTokenChar(m[i]) {
			return false
		}
	}
	return true
}

// isTokenChar reports an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// build builds the key set, the introspection client and the validators
// the flags describe: v, the API's, and probe, the same but with DPoP
// allowed and no nonces, to check the token itself when v refused it for
// its scheme before looking at it. Both record the tokens they verify in
// rec. The key set is nil without --issuer. On failure it reports every
// problem and closes what it built; otherwise the caller calls closeAll.
// httpClient returns client when not nil (tests pass one), else one that
// trusts --issuer-ca when it is given, else nil (the libraries' own).
func (f *validateFlags) httpClient(client *http.Client) (*http.Client, error) {
	if client != nil || f.issuerCA == "" {
		return client, nil
	}
	c, err := setup.IssuerClient(f.issuerCA, f.insecure)
	if err != nil {
		return nil, fmt.Errorf("--issuer-ca: %w", err)
	}
	return c, nil
}

func (f *validateFlags) build(client *http.Client, rec *tokenRecorder) (v, probe *validator.Validator, keys *jwks.Set, closeAll func(), problems []error) {
	var closers []func()
	closeAll = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	var opts []validator.Option
	if f.issuer != "" {
		jopts := []jwks.Option{jwks.WithLogger(discardLogger())}
		if client != nil {
			jopts = append(jopts, jwks.WithHTTPClient(client))
		}
		if f.insecure {
			jopts = append(jopts, jwks.WithInsecureLoopbackHTTP())
		}
		var err error
		if f.jwksURL != "" {
			keys, err = jwks.New(f.jwksURL, jopts...)
		} else {
			keys, err = jwks.Discover(f.issuer, jopts...)
		}
		if err != nil {
			problems = append(problems, err)
		} else {
			closers = append(closers, func() { keys.Close() })
			opts = append(opts, validator.WithIssuer(f.issuer, keys))
		}
	}
	if f.introURL != "" {
		iopts := []introspect.Option{introspect.WithLogger(discardLogger())}
		if client != nil {
			iopts = append(iopts, introspect.WithHTTPClient(client))
		}
		if f.insecure {
			iopts = append(iopts, introspect.WithInsecureLoopbackHTTP())
		}
		ic, err := introspect.New(f.introURL, introspect.ClientSecretBasic(f.clientID, f.clientSecret), iopts...)
		if err != nil {
			problems = append(problems, err)
		} else {
			closers = append(closers, func() { ic.Close() })
			opts = append(opts, validator.WithIntrospection(f.issuer, ic))
		}
	}
	if p, err := f.provider.preset(client, f.insecure); err != nil {
		problems = append(problems, err)
	} else if p != nil { // the preset names its issuers, their checks and keys
		closers = append(closers, func() { p.Close() })
		opts, keys = append(opts, p.Option()), p.KeySets()[0]
	}
	if len(problems) > 0 {
		closeAll()
		return nil, nil, nil, nil, problems
	}
	if f.provider.name == "" {
		opts = append(opts, validator.WithAudience(f.audience))
	}
	opts = append(opts, validator.WithLeeway(f.leeway), rec.option())
	if f.rfc9068 {
		opts = append(opts, validator.WithRFC9068())
	}
	api := append(slices.Clone(opts), validator.WithDPoP(f.mode))
	if f.nonce != nil {
		api = append(api, validator.WithDPoPNonces(f.nonce, 0))
	}
	v, err := validator.New(api...)
	if err == nil {
		probe, err = validator.New(append(opts, validator.WithDPoP(validator.DPoPAllowed))...)
	}
	if err != nil {
		closeAll()
		return nil, nil, nil, nil, []error{err}
	}
	return v, probe, keys, closeAll, nil
}

// tokenRecorder records the last token a validator verified. Its claim
// check runs after every built-in check of the token itself (signature,
// issuer, audience, times, type) and before any check of how the token
// was presented (its binding, the DPoP proof), so it sees a token exactly
// when the token itself is good, even when the request is refused.
type tokenRecorder struct{ tok *validator.Token }

func (r *tokenRecorder) option() validator.Option {
	return validator.WithClaimCheck(func(_ context.Context, tok *validator.Token) error {
		r.tok = tok
		return nil
	})
}
