package grpcbearer

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/bearerguard/bearerguard/adapters/internal/authheader"
	"github.com/bearerguard/bearerguard/internal/httpfetch"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// Well-known services, for [WithOpen]. None is open unless listed.
const (
	// HealthService is the gRPC health checking service (grpc.health.v1).
	HealthService = "/grpc.health.v1.Health/"
	// ReflectionService is the gRPC server reflection service (v1).
	ReflectionService = "/grpc.reflection.v1.ServerReflection/"
	// ReflectionServiceV1Alpha is the older reflection service, which
	// grpcurl and other clients still try first.
	ReflectionServiceV1Alpha = "/grpc.reflection.v1alpha.ServerReflection/"
)

// Option configures an [Interceptor]. Options are recorded, then checked
// together by [New].
type Option func(*config)

type config struct {
	realm   string
	methods map[string]rule
	def     scopes.Requirement
	defSet  bool
	baseURL string
	observe Observer
	errs    []error
}

// Observer sees every refused call: its full method name, the error (for
// logs: it never holds token material) and the answer the client gets.
type Observer func(ctx context.Context, fullMethod string, err error, c validator.Challenge)

// rule is what one method or service requires.
type rule struct {
	open bool
	req  scopes.Requirement
}

// WithRealm sets the realm of every challenge. As httpbearer.WithRealm,
// it refuses a character a quoted challenge parameter cannot carry as it
// is (a quote, a backslash, a control or non-ASCII byte).
func WithRealm(realm string) Option {
	return func(c *config) {
		if err := authheader.CheckRealm(realm); err != nil {
			c.errs = append(c.errs, err)
			return
		}
		c.realm = realm
	}
}

// WithMethods sets what each method or service requires: scopes, or roles
// and permissions as the issuer's role claims give them
// (validator.IssuerRoleClaims, the providers' presets). Keys are
// full method names ("/pkg.Service/Method") or services ("/pkg.Service/");
// a method's own entry wins over its service's. The zero Requirement
// requires any valid token. A name given twice, here or to [WithOpen], is
// a configuration error, and so is one that is not printable ASCII
// without spaces: every name protoc generates is, and a name with a
// no-break or zero-width space would match no call. A hand-written
// service named otherwise gets [WithDefault]'s requirement.
func WithMethods(m map[string]scopes.Requirement) Option {
	return func(c *config) {
		for name, req := range m {
			c.add(name, rule{req: req})
		}
	}
}

// WithOpen serves the named methods or services ("/pkg.Service/Method",
// "/pkg.Service/") without a token: their metadata is not looked at and
// their context carries no token. List [HealthService] for load balancers'
// health checks, and the reflection services only if clients may list the
// API without a token.
func WithOpen(names ...string) Option {
	return func(c *config) {
		for _, name := range names {
			c.add(name, rule{open: true})
		}
	}
}

// WithDefault sets what a method listed neither by [WithMethods] nor by
// [WithOpen] requires. Without it: any valid token. Given twice, it is a
// configuration error: a second would silently replace the first.
func WithDefault(req scopes.Requirement) Option {
	return func(c *config) {
		if c.defSet {
			c.errs = append(c.errs, errors.New("WithDefault given twice"))
		}
		c.def, c.defSet = req, true
	}
}

// WithBaseURL sets the URL clients address the server by, for the "htu" of
// DPoP proofs: "https://api.example.com" makes the htu of
// /pkg.Service/Method "https://api.example.com/pkg.Service/Method" (a path
// in the base URL is kept as a prefix). Set it wherever DPoP is accepted.
// Without it the htu is built from the connection (https with TLS, else
// http) and the call's :authority, which the client writes: a call whose
// :authority is not a plain host[:port] has no htu (its proofs are
// refused), but any plain host is taken as given, so a proof made for the
// same method at another server that accepts the same tokens is accepted
// here too.
func WithBaseURL(u string) Option {
	return func(c *config) {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.User != nil ||
			p.RawQuery != "" || p.ForceQuery || p.Fragment != "" {
			c.errs = append(c.errs, fmt.Errorf("base URL %q is not an absolute http(s) URL without user info, query or fragment", httpfetch.Redact(u)))
			return
		}
		c.baseURL = strings.TrimSuffix(p.String(), "/")
	}
}

// WithObserver calls fn for every refused call, one without a token
// included, for logs and metrics. A panic in fn is recovered and dropped
// (grpc-go recovers none); the refusal is still answered.
func WithObserver(fn Observer) Option { return func(c *config) { c.observe = fn } }

// add records one table entry, or the reason it cannot be one.
func (c *config) add(name string, r rule) {
	if !validName(name) {
		c.errs = append(c.errs, fmt.Errorf("%q is neither a full method name (/pkg.Service/Method) nor a service (/pkg.Service/)", name))
		return
	}
	if c.methods == nil {
		c.methods = make(map[string]rule)
	}
	if _, dup := c.methods[name]; dup {
		c.errs = append(c.errs, fmt.Errorf("%q is listed more than once", name))
		return
	}
	c.methods[name] = r
}

// validName accepts "/service/method" and "/service/": a leading slash, a
// non-empty service, one more slash, and a method without slashes, all of
// printable ASCII without spaces. A name with anything else (a no-break
// or zero-width space, a control character, bytes that are not ASCII) is
// one no call has, so the method meant would get the default.
func validName(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	service, method, ok := strings.Cut(strings.TrimPrefix(name, "/"), "/")
	return strings.HasPrefix(name, "/") && ok && service != "" && !strings.ContainsAny(method, "/")
}
