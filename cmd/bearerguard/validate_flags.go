package main

import (
	"flag"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// validateFlags are validate's flags: the API whose decision is explained.
type validateFlags struct {
	issuer, jwksURL, audience, scope string
	introURL, clientID, clientSecret string
	leeway, timeout                  time.Duration
	rfc9068, insecure                bool
}

func (f *validateFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.issuer, "issuer", "", "trusted issuer; its keys are found by discovery unless --jwks-url is set")
	fs.StringVar(&f.jwksURL, "jwks-url", "", "JWKS URL of the issuer")
	fs.StringVar(&f.audience, "audience", "", "this API's audience (required)")
	fs.StringVar(&f.scope, "scope", "", "scopes the route requires, space-separated (all of them)")
	fs.StringVar(&f.introURL, "introspection-url", "", "RFC 7662 endpoint for opaque tokens")
	fs.StringVar(&f.clientID, "client-id", "", "client id for introspection")
	fs.StringVar(&f.clientSecret, "client-secret", os.Getenv("BEARERGUARD_CLIENT_SECRET"), "client secret for introspection (default $BEARERGUARD_CLIENT_SECRET)")
	fs.DurationVar(&f.leeway, "leeway", validator.DefaultLeeway, "clock skew allowed")
	fs.BoolVar(&f.rfc9068, "rfc9068", false, "enforce the RFC 9068 profile")
	fs.BoolVar(&f.insecure, "insecure-http", false, "allow http:// URLs on loopback hosts")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "overall time limit")
}

// problems returns every problem with the command line at once, so that
// one run shows everything to fix, and the route's scope requirement.
func (f *validateFlags) problems(nargs int) (scopes.Requirement, []string) {
	var problems []string
	if nargs != 1 {
		problems = append(problems, "want exactly one TOKEN argument (or - for standard input)")
	}
	if f.issuer == "" && f.jwksURL == "" && f.introURL == "" {
		problems = append(problems, "need --issuer, --jwks-url or --introspection-url")
	}
	if f.jwksURL != "" && f.issuer == "" {
		problems = append(problems, "--jwks-url needs --issuer (the iss the tokens carry)")
	}
	if f.audience == "" {
		problems = append(problems, "--audience is required")
	}
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
	return need, problems
}

// build builds the key set, the introspection client and the
// validator the flags describe. The key set is nil without --issuer. On
// failure it reports every problem and closes what it built; otherwise
// the caller calls closeAll.
func (f *validateFlags) build(client *http.Client) (v *validator.Validator, keys *jwks.Set, closeAll func(), problems []error) {
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
	if len(problems) > 0 {
		closeAll()
		return nil, nil, nil, problems
	}
	opts = append(opts, validator.WithAudience(f.audience), validator.WithLeeway(f.leeway))
	if f.rfc9068 {
		opts = append(opts, validator.WithRFC9068())
	}
	v, err := validator.New(opts...)
	if err != nil {
		closeAll()
		return nil, nil, nil, []error{err}
	}
	return v, keys, closeAll, nil
}
