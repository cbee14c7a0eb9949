package grpcbearer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/bearerguard/bearerguard/adapters/internal/authheader"
	"github.com/bearerguard/bearerguard/adapters/internal/authority"
	"github.com/bearerguard/bearerguard/internal/nilness"
	"github.com/bearerguard/bearerguard/internal/tokenkey"
	"github.com/bearerguard/bearerguard/validator"
)

// PresentationValidator checks a token as a call presented it. [*validator.Validator]
// implements it (and shapes its own challenges, with the DPoP scheme its
// mode asks for).
//
// An Interceptor calls only ValidatePresentation. A type that embeds
// *validator.Validator to add checks of its own must therefore override
// ValidatePresentation: an override of Validate alone is not called.
type PresentationValidator interface {
	ValidatePresentation(ctx context.Context, p validator.Presentation) (*validator.Token, error)
}

// challenger is a validator that shapes its own challenges (RFC 9449
// §7.1). [*validator.Validator] implements it.
type challenger interface {
	Challenge(err error, realm string, scheme validator.Scheme) validator.Challenge
}

// Interceptor authorizes gRPC calls with access tokens: [Interceptor.Unary]
// and [Interceptor.Stream] (or both at once, [Interceptor.ServerOptions]).
// It is safe for concurrent use.
type Interceptor struct {
	v PresentationValidator
	// vv is v when it is exactly a *validator.Validator: a token is then
	// validated into the context node it travels in (see tokenContext).
	// Never found through an interface, so that a type embedding a
	// Validator keeps its own ValidatePresentation.
	vv      *validator.Validator
	ch      challenger // v, when it shapes challenges; else nil
	noDPoP  bool       // v's DPoP mode is DPoPOff: the DPoP scheme is one it does not take
	realm   string
	methods map[string]rule
	def     rule
	baseURL string
	observe Observer
}

// New returns an Interceptor that validates tokens with v. It checks v and
// every option at once and returns all problems together.
func New(v PresentationValidator, opts ...Option) (*Interceptor, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	errs := c.errs
	if nilness.IsNil(v) {
		errs = append([]error{errors.New("nil validator")}, errs...)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("grpcbearer: invalid configuration: %w", errors.Join(errs...))
	}
	i := &Interceptor{v: v, realm: c.realm, methods: c.methods, def: rule{req: c.def}, baseURL: c.baseURL, observe: c.observe}
	i.ch, _ = v.(challenger)
	i.vv, _ = v.(*validator.Validator)
	if m, ok := v.(interface{ DPoPMode() validator.DPoPMode }); ok {
		i.noDPoP = m.DPoPMode() == validator.DPoPOff
	}
	return i, nil
}

// ServerOptions returns the server options that install both interceptors:
// grpc.NewServer(auth.ServerOptions()...). They chain after interceptors
// installed before them.
//
// It panics on an Interceptor not built by [New] (a nil one, whose New
// returned an error): the server would otherwise start and refuse every
// call.
func (i *Interceptor) ServerOptions() []grpc.ServerOption {
	i.mustBeBuilt()
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(i.Unary()), grpc.ChainStreamInterceptor(i.Stream())}
}

// Unary returns the unary server interceptor: a refused call never reaches
// its handler. It panics on an Interceptor not built by [New], as
// [Interceptor.ServerOptions] does.
func (i *Interceptor) Unary() grpc.UnaryServerInterceptor {
	i.mustBeBuilt()
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := i.Authorize(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// Stream returns the stream server interceptor: a refused stream is ended
// before its handler runs, so before any message is received or sent. It
// panics on an Interceptor not built by [New], as
// [Interceptor.ServerOptions] does.
func (i *Interceptor) Stream() grpc.StreamServerInterceptor {
	i.mustBeBuilt()
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := i.Authorize(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		if ctx == ss.Context() {
			return handler(srv, ss) // an open method, its context unchanged
		}
		return handler(srv, &tokenStream{ServerStream: ss, ctx: ctx})
	}
}

// tokenStream is a server stream whose context carries the token.
type tokenStream struct {
	grpc.ServerStream
	ctx context.Context
}

// Context returns the stream's context with the token.
func (s *tokenStream) Context() context.Context { return s.ctx }

// Authorize is the whole decision for one call to fullMethod, for your own
// interceptors: it returns ctx for the handler, carrying the token
// ([validator.FromContext]) unless the method is open. Otherwise it returns
// a status error (see the package documentation for the codes) after
// setting the call's trailers, and the caller must stop. An Interceptor
// not built by New refuses every call with Unavailable, and so does a
// validation that panics (a claim check or a key source of yours).
func (i *Interceptor) Authorize(ctx context.Context, fullMethod string) (context.Context, error) {
	if i == nil || i.v == nil {
		return nil, errNotBuilt // fails closed: grpc-go does not recover a panic
	}
	r := i.rule(fullMethod)
	if r.open {
		if _, planted := validator.FromContext(ctx); planted {
			// Another interceptor's token (validator.NewContext): an open
			// method's handler sees none, as documented.
			return validator.NewContext(ctx, nil), nil
		}
		return ctx, nil
	}
	p, err := i.presentation(ctx, fullMethod)
	var tok *validator.Token
	var tc *tokenContext
	if err == nil {
		if i.vv != nil {
			tc = &tokenContext{Context: ctx}
		}
		tok, err = i.validate(ctx, p, tc)
	}
	if err == nil {
		if missing := r.req.MissingFrom(tok); missing != nil {
			err = &validator.ScopeError{Missing: missing, Scope: r.req.NeededBy(tok)}
		}
	}
	if err != nil {
		return nil, i.refuse(ctx, fullMethod, err, p.Scheme)
	}
	if tc != nil {
		return tc, nil
	}
	return validator.NewContext(ctx, tok), nil
}

// tokenContext is a call's context with its validated token inside it: it
// answers the key of [validator.FromContext] with the token, so that the
// token and the node that carries it are one allocation.
type tokenContext struct {
	context.Context
	tok validator.Token
}

// String names the node without its token: a context printed in a log
// must not print the token's claims.
func (c *tokenContext) String() string {
	return fmt.Sprint(c.Context) + ".WithValue(bearerguard token)"
}

// Value answers the token key with the call's token and everything else
// from the parent.
func (c *tokenContext) Value(key any) any {
	if key == (tokenkey.Key{}) {
		return &c.tok
	}
	return c.Context.Value(key)
}

// rule returns what fullMethod requires: its own entry, its service's, or
// the default.
func (i *Interceptor) rule(fullMethod string) rule {
	if r, ok := i.methods[fullMethod]; ok {
		return r
	}
	if slash := strings.LastIndexByte(fullMethod, '/'); slash > 0 {
		if r, ok := i.methods[fullMethod[:slash+1]]; ok {
			return r
		}
	}
	return i.def
}

// presentation reads the call's token as presented, and the proof, client
// certificate and URL that go with it. Its Scheme is the one the call used,
// for the challenge, also when it returns an error.
func (i *Interceptor) presentation(ctx context.Context, fullMethod string) (validator.Presentation, error) {
	vals := metadata.ValueFromIncomingContext(ctx, "authorization")
	p := validator.Presentation{Scheme: validator.SchemeBearer, Method: "POST"}
	switch {
	case len(vals) == 0:
		return p, validator.ErrNoToken
	case len(vals) > 1:
		return p, validator.ErrMultipleTokens
	}
	var ok bool
	var err error
	if p.Token, ok, err = authheader.Parse(vals[0], "bearer"); err != nil {
		return p, err
	} else if !ok {
		if i.noDPoP {
			return p, validator.ErrNoToken // DPoP off: a scheme like any other it does not take
		}
		if p.Token, ok, err = authheader.Parse(vals[0], "dpop"); err != nil {
			p.Scheme = validator.SchemeDPoP // the scheme the call used, for its challenge
			return p, err
		} else if !ok {
			return p, validator.ErrNoToken // another scheme: a bare challenge
		}
		p.Scheme = validator.SchemeDPoP
	}
	pr, _ := peer.FromContext(ctx)
	var overTLS bool
	overTLS, p.ClientCert = connTLS(pr)
	if p.Scheme == validator.SchemeDPoP {
		// A proof beside a Bearer token is never looked at (the validator
		// ignores it), so it is read only for the DPoP scheme.
		var one bool
		if p.Proof, one = authheader.Proof(metadata.ValueFromIncomingContext(ctx, "dpop")); !one {
			return p, validator.ErrProofMissing // exactly one (RFC 9449 §4.3)
		}
		p.URL = i.callURL(ctx, overTLS, fullMethod)
	}
	return p, nil
}

// callURL is the URI a DPoP proof's "htu" must name: the base URL and the
// full method, or else the connection's scheme, the :authority and the
// full method. It is "" (no proof can match) when either part could make
// the URL name another resource: the :authority is the client's to write,
// and one such as "host/pkg.S/Other?" would otherwise leave a URL that the
// htu comparison reads as http://host/pkg.S/Other.
func (i *Interceptor) callURL(ctx context.Context, overTLS bool, fullMethod string) string {
	if !plainMethod(fullMethod) {
		return ""
	}
	if i.baseURL != "" {
		return i.baseURL + fullMethod
	}
	auth := metadata.ValueFromIncomingContext(ctx, ":authority")
	if len(auth) != 1 || !authority.Plain(auth[0]) {
		return ""
	}
	scheme := "http"
	if overTLS {
		scheme = "https"
	}
	return scheme + "://" + auth[0] + fullMethod
}

// plainMethod reports whether m is a gRPC full method name and nothing
// that a URL reads otherwise: "/service/method", each part of letters,
// digits, '_', '-' and '.', neither part a dot segment.
func plainMethod(m string) bool {
	if len(m) < 4 || m[0] != '/' {
		return false
	}
	svc, method, ok := strings.Cut(m[1:], "/")
	return ok && plainName(svc) && plainName(method)
}

func plainName(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// connTLS reports whether the call's connection is TLS, and its client
// certificate if it has one.
func connTLS(pr *peer.Peer) (overTLS bool, cert *x509.Certificate) {
	if pr == nil {
		return false, nil
	}
	var state *tls.ConnectionState
	switch ti := pr.AuthInfo.(type) {
	case credentials.TLSInfo:
		state = &ti.State
	case *credentials.TLSInfo:
		state = &ti.State
	default:
		return false, nil
	}
	if len(state.PeerCertificates) > 0 {
		cert = state.PeerCertificates[0]
	}
	return true, cert
}

// errNotBuilt refuses every call of an Interceptor not built by New.
var errNotBuilt = status.Error(codes.Unavailable, "grpcbearer: the interceptor was not built by New")

// mustBeBuilt panics when i was not built by [New]: a nil *Interceptor
// (New returned an error that was dropped) or a zero one.
func (i *Interceptor) mustBeBuilt() {
	if i == nil || i.v == nil {
		panic("grpcbearer: an Interceptor not built by New (check New's error)")
	}
}

// validate runs the validator, into tc's token when tc is not nil. A
// panic in it (a claim check or a key source of the application's) is an
// unavailable error, never the end of the process: grpc-go recovers no
// panic in a handler.
func (i *Interceptor) validate(ctx context.Context, p validator.Presentation, tc *tokenContext) (tok *validator.Token, err error) {
	completed := false
	defer func() {
		if !completed {
			recover() // nil too for panic(nil) under GODEBUG=panicnil=1: completed says it
			tok, err = nil, errPanicked
		}
	}()
	if tc != nil {
		if err = i.vv.ValidatePresentationInto(ctx, p, &tc.tok); err == nil {
			tok = &tc.tok
		}
	} else {
		tok, err = i.v.ValidatePresentation(ctx, p)
	}
	completed = true
	return tok, err
}

// errPanicked refuses a call whose validation panicked.
var errPanicked = &validator.UnavailableError{Reason: validator.ErrUnavailable, Err: errors.New("grpcbearer: the validation panicked")}
