package setup

import (
	"errors"
	"flag"
	"fmt"
	"strconv"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/resourcemeta"
)

// Introspection-only mode and query-string tokens: the flags, their
// checks, and what [Config.Guard] does with them.

// Help texts, shared by the flags and the README's configuration reference.
const (
	introspectionOnlyHelp = "check every token, JWT or opaque, at --introspection-url alone: no key set, no discovery, " +
		"no background fetch, for authorization servers that publish no keys (e.g. Express apps on the npm oauth2-server package); " +
		"--issuer is then optional: answers without iss are taken as its, and answers naming another issuer " +
		"(any issuer, without --issuer) are refused; /readyz waits for no keys " +
		"(env BEARERGUARD_INTROSPECTION_ONLY)"
	allowQueryTokenHelp = "also accept the token in the access_token query parameter (RFC 6750 §2.3), for callers that can send " +
		"no header; off by default and best left off: URLs end up in proxy and access logs, browser history and Referer headers, " +
		"so the token leaks wherever the URL goes. Answers to such requests carry Cache-Control: private, this service never logs " +
		"the token or the query, and a token in both the header and the query is refused (400); without this flag a query token " +
		"is refused (400) (env BEARERGUARD_ALLOW_QUERY_TOKEN)"
)

// boolFlag defines a boolean flag whose default comes from the environment
// variable key; a value there that is not a boolean is an error.
func boolFlag(fs *flag.FlagSet, p *bool, name, key, usage string, getenv func(string) string) error {
	def := false
	var err error
	if v := getenv(key); v != "" {
		if def, err = strconv.ParseBool(v); err != nil {
			err = fmt.Errorf("%s %q is not a boolean", key, v)
		}
	}
	fs.BoolVar(p, name, def, usage)
	return err
}

// introspectionOnlyFlags defines --introspection-only and
// --allow-query-token on fs.
func (c *Config) introspectionOnlyFlags(fs *flag.FlagSet, getenv func(string) string) []error {
	return nonNil(
		boolFlag(fs, &c.IntrospectionOnly, "introspection-only", "BEARERGUARD_INTROSPECTION_ONLY", introspectionOnlyHelp, getenv),
		boolFlag(fs, &c.AllowQueryToken, "allow-query-token", "BEARERGUARD_ALLOW_QUERY_TOKEN", allowQueryTokenHelp, getenv),
	)
}

// checkIntrospectionOnly returns the problems of an introspection-only
// configuration: it needs an introspection endpoint, and has no key set
// for --jwks-url or --rfc9068 to apply to.
func (c *Config) checkIntrospectionOnly() []error {
	if !c.IntrospectionOnly {
		return nil
	}
	var errs []error
	if c.IntrospectionURL == "" {
		errs = append(errs, errors.New("--introspection-only needs --introspection-url, --client-id and --client-secret"))
	}
	if c.JWKSURL != "" {
		errs = append(errs, errors.New("--introspection-only and --jwks-url are exclusive: there is no key set"))
	}
	if c.RFC9068 {
		errs = append(errs, errors.New("--rfc9068 is a check of JWTs verified locally; --introspection-only verifies none"))
	}
	return errs
}

// keySet builds the key set c describes: nil in introspection-only mode,
// where nothing is fetched but introspection answers.
func (c Config) keySet(opts []jwks.Option) (*jwks.Set, error) {
	switch {
	case c.IntrospectionOnly:
		return nil, nil
	case c.JWKSURL != "":
		return jwks.New(c.JWKSURL, opts...)
	default:
		return jwks.Discover(c.Issuer, opts...)
	}
}

// closeKeySet closes keys, if there are any.
func closeKeySet(keys *jwks.Set) {
	if keys != nil {
		keys.Close()
	}
}

// queryTokenOptions maps --allow-query-token to the guard's option.
func (c Config) queryTokenOptions() []httpbearer.Option {
	if !c.AllowQueryToken {
		return nil
	}
	return []httpbearer.Option{httpbearer.WithQueryToken()}
}

// metadataAuthority returns the metadata options that depend on this
// file's flags: authorization_servers (none in introspection-only mode
// without --issuer) and bearer_methods_supported (query too with
// --allow-query-token).
func (c Config) metadataAuthority() []resourcemeta.Option {
	methods := []string{"header"}
	if c.AllowQueryToken {
		methods = append(methods, "query")
	}
	opts := []resourcemeta.Option{resourcemeta.WithBearerMethods(methods...)}
	if c.Issuer != "" {
		opts = append(opts, resourcemeta.WithAuthorizationServers(c.Issuer))
	}
	return opts
}

func nonNil(errs ...error) []error {
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}
