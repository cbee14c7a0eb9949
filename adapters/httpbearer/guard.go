package httpbearer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/bearerguard/bearerguard/adapters/internal/authheader"
	"github.com/bearerguard/bearerguard/internal/nilness"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// TokenValidator validates a raw token. [*validator.Validator] implements it.
type TokenValidator interface {
	Validate(ctx context.Context, token string) (*validator.Token, error)
}

// PresentationValidator is a TokenValidator that also checks what a token
// is bound to: a DPoP proof (RFC 9449) or a client certificate (RFC 8705).
// [*validator.Validator] implements it; a Guard over one gives it every
// request's scheme, DPoP proof, method, URL and client certificate. A Guard
// over a plain TokenValidator refuses the DPoP scheme.
//
// A Guard over a PresentationValidator calls only ValidatePresentation. A
// type that embeds *validator.Validator to add checks of its own must
// therefore override ValidatePresentation (and Validate, for other
// callers): an override of Validate alone is not called by a Guard, which
// finds the promoted ValidatePresentation.
type PresentationValidator interface {
	TokenValidator
	ValidatePresentation(ctx context.Context, p validator.Presentation) (*validator.Token, error)
}

// challenger is a validator that shapes its own challenges (the DPoP
// scheme's, RFC 9449 §7.1). [*validator.Validator] implements it.
type challenger interface {
	Challenge(err error, realm string, scheme validator.Scheme) validator.Challenge
}

// Guard extracts, validates and authorizes bearer tokens for net/http, and
// answers failures per RFC 6750. The Gin and Echo adapters are thin
// wrappers over [Guard.Authorize] and [Guard.AuthorizeOptional]. A Guard is
// safe for concurrent use.
type Guard struct {
	v  TokenValidator
	pv PresentationValidator // v, when it checks bindings; else nil
	ch challenger            // v, when it shapes challenges; else nil
	// vv is v when it is exactly a *validator.Validator: a token is then
	// validated into the binding it travels in (see boundToken). Never
	// found through an interface: a type that embeds a Validator and
	// overrides ValidatePresentation must have its override called.
	vv        *validator.Validator
	id        reuseKey // who may reuse this Guard's tokens: see reuseKey
	ex        extractor
	realm     string
	publicURL *url.URL          // WithPublicURL, or nil
	certs     *certHeaderConfig // WithClientCertHeader, or nil
	metadata  string            // WithResourceMetadata, or ""
	declared  declared          // scopes of the routes built, for Scopes
	writeBody func(w http.ResponseWriter, r *http.Request, c validator.Challenge)
	observe   func(r *http.Request, err error, c validator.Challenge)
	// answers are the answers to the validator's own reasons that carry
	// nothing of the request (no token, a malformed one, an unknown
	// issuer, …), per scheme, built once in New when they depend on the
	// configuration alone (no validator of the caller's own shapes
	// them); else nil. What an unauthenticated flood gets.
	answers map[answerKey]*validator.Challenge
}

// answerKey names a prebuilt answer: a reason and the request's scheme.
type answerKey struct {
	err    *validator.Error // a concrete type: any error of a caller's own may not be comparable
	scheme validator.Scheme
}

// fixedReasons are the reasons whose answer depends on the configuration
// alone: sentinel values, carrying no scope, nonce, step-up or retry hint.
var fixedReasons = []*validator.Error{
	validator.ErrNoToken, validator.ErrMalformedHeader, validator.ErrMalformedCredentials,
	validator.ErrMultipleTokens, validator.ErrMethodNotAllowed, validator.ErrMalformed, validator.ErrTooLarge,
	validator.ErrIssuer, validator.ErrAlgorithm, validator.ErrType, validator.ErrUnsupported,
	validator.ErrUnknownKey, validator.ErrSignature, validator.ErrExpired, validator.ErrNotYetValid,
	validator.ErrAudience, validator.ErrInactive, validator.ErrDPoPNotAccepted, validator.ErrBearerNotAllowed,
	validator.ErrBoundToken, validator.ErrProofMissing, validator.ErrProofMalformed, validator.ErrProofSignature,
	validator.ErrProofTime, validator.ErrProofMismatch, validator.ErrProofReplayed,
}

// New returns a Guard that validates tokens with v. It checks v and every
// option at once and returns all problems together.
func New(v TokenValidator, opts ...Option) (*Guard, error) {
	c := config{writeBody: WriteJSONError}
	for _, o := range opts {
		o(&c)
	}
	errs := c.errs
	if nilness.IsNil(v) {
		errs = append([]error{errors.New("nil validator")}, errs...)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("httpbearer: invalid configuration: %w", errors.Join(errs...))
	}
	g := &Guard{v: v, id: reuseKey{v: validatorIdentity(v), presentation: presentationPolicy(c)}, ex: c.ex, realm: c.realm, writeBody: c.writeBody, observe: c.observe,
		publicURL: c.publicURL, certs: c.certs, metadata: c.metadata}
	g.pv, _ = v.(PresentationValidator)
	g.ch, _ = v.(challenger)
	g.vv, _ = v.(*validator.Validator)
	g.ex.noDPoP = !takesDPoP(v)
	if g.ch == nil || g.vv != nil {
		g.answers = make(map[answerKey]*validator.Challenge, 2*len(fixedReasons))
		for _, err := range fixedReasons {
			for _, scheme := range []validator.Scheme{validator.SchemeBearer, validator.SchemeDPoP} {
				c := g.challenge(err, scheme)
				g.answers[answerKey{err, scheme}] = &c
			}
		}
	}
	return g, nil
}

// takesDPoP reports whether v may accept the DPoP scheme: it checks
// presentations, and its DPoP mode, when it tells one, is not off.
func takesDPoP(v TokenValidator) bool {
	if _, ok := v.(PresentationValidator); !ok {
		return false
	}
	m, ok := v.(interface{ DPoPMode() validator.DPoPMode })
	return !ok || m.DPoPMode() != validator.DPoPOff
}

// Authenticate extracts the request's token and validates it, without
// answering the request. The error matches [validator.ErrNoToken] when the
// request carries no Bearer credentials.
//
// A token already in the request's context is reused only when a Guard
// over the same validator, taking tokens the same ways, put it there: then
// the decision would be the same. A token from a guard over another
// validator (another audience, other claim checks), or from one that
// takes tokens where this one does not (a query, form or cookie token, a
// client certificate header or its proxies, another public URL for DPoP
// proofs), or one stored with [validator.NewContext] by any other
// middleware, is never trusted: this Guard validates the request's own
// token itself. A Guard that reuses a token checks its route against
// the token as it was validated, and Authenticate returns it so (a copy):
// what handlers between the two Guards wrote to it (its Scopes, say) does
// not count. A request built in process for other credentials (a
// sub-request carrying another caller's headers) must not take its
// context from a request a Guard accepted: the inner Guard would reuse
// that token and never read the sub-request's own.
func (g *Guard) Authenticate(w http.ResponseWriter, r *http.Request) (*validator.Token, error) {
	tok, b, _, err := g.authenticate(w, r)
	if err == nil && b != nil && b.reused {
		tok = b.decided.restored(tok) // as validated, for the caller's own checks too
	}
	return tok, err
}

// authenticate is Authenticate that also says which scheme the request
// used, for the challenge, and returns the binding the token already
// lives in, if any (see boundToken).
func (g *Guard) authenticate(w http.ResponseWriter, r *http.Request) (*validator.Token, *boundContext, validator.Scheme, error) {
	if b, ok := g.bound(r.Context()); ok {
		return b.tok, b, b.scheme, nil
	}
	raw, scheme, err := g.ex.extract(w, r)
	if err != nil {
		return nil, nil, scheme, err
	}
	if g.pv == nil {
		if scheme == validator.SchemeDPoP {
			return nil, nil, scheme, validator.ErrDPoPNotAccepted
		}
		tok, err := g.v.Validate(r.Context(), raw)
		return tok, nil, scheme, err
	}
	p := validator.Presentation{Scheme: scheme, Token: raw, Method: r.Method}
	if scheme == validator.SchemeDPoP {
		// A Bearer request's DPoP headers are ignored: a DPoP-bound token
		// sent as Bearer is refused whatever they hold.
		var one bool
		if p.Proof, one = authheader.Proof(r.Header.Values("DPoP")); !one {
			return nil, nil, scheme, validator.ErrProofMissing // exactly one (RFC 9449 §4.3)
		}
		p.URL = g.requestURL(r)
	}
	if p.ClientCert, err = g.clientCert(r); err != nil {
		return nil, nil, scheme, err
	}
	if g.vv != nil {
		b := g.newBoundToken()
		if err := g.vv.ValidatePresentationInto(r.Context(), p, &b.own); err != nil {
			return nil, nil, scheme, err
		}
		b.decided = decidedOf(&b.own)
		b.scheme = scheme
		return b.tok, &b.boundContext, scheme, nil
	}
	tok, err := g.pv.ValidatePresentation(r.Context(), p)
	return tok, nil, scheme, err
}

// Authorize is the whole decision for one request: it requires a valid
// token carrying the scopes req asks for. On success it returns the
// request to pass on, whose context carries the token
// ([validator.FromContext]), and ok true. Otherwise it has answered the
// request (401, 403 insufficient_scope with the missing scopes, 400 or
// 503, per RFC 6750) and ok is false: the caller must stop. opts are
// combined on every call; combine them once with [RouteOptions] when the
// route is built, so that options that cannot all be met panic then and
// not on a request.
func (g *Guard) Authorize(w http.ResponseWriter, r *http.Request, req scopes.Requirement, opts ...RouteOption) (out *http.Request, tok *validator.Token, ok bool) {
	return g.authorize(w, r, req, routeOf(opts), false)
}

// AuthorizeOptional is [Guard.Authorize] for routes open to anonymous
// callers: a request without any Bearer credentials passes with a nil
// token, and its context carries none ([validator.FromContext] finds
// none, even one other middleware stored); a token that is present must
// be valid.
func (g *Guard) AuthorizeOptional(w http.ResponseWriter, r *http.Request) (out *http.Request, tok *validator.Token, ok bool) {
	return g.authorize(w, r, scopes.Requirement{}, route{}, true)
}

func (g *Guard) authorize(w http.ResponseWriter, r *http.Request, req scopes.Requirement, rt route, optional bool) (*http.Request, *validator.Token, bool) {
	tok, b, scheme, err := g.authenticate(w, r)
	if optional && errors.Is(err, validator.ErrNoToken) {
		return anonymous(r), nil, true
	}
	if err == nil {
		check := tok
		if b != nil && b.reused {
			// Decide on what was validated, not on what handlers since
			// wrote to the token.
			check = b.decided.restored(tok)
		}
		err = g.checkRoute(check, req, rt)
	}
	if err != nil {
		g.fail(w, r, err, scheme)
		return nil, nil, false
	}
	return g.withToken(r, tok, b, scheme), tok, true
}

// The handler-building methods below (Middleware, OptionalMiddleware,
// Handler, Require, Optional) panic on a Guard [New] did not build (a nil
// one, whose New returned an error): at start-up, not on a request.

// Middleware returns middleware in the shape chi and most routers take:
// it requires a valid token carrying the scopes req asks for (the zero
// Requirement: any valid token), and what opts add.
func (g *Guard) Middleware(req scopes.Requirement, opts ...RouteOption) func(http.Handler) http.Handler {
	g.mustBeBuilt()
	return func(next http.Handler) http.Handler { return g.Require(req, next, opts...) }
}

// OptionalMiddleware returns [Guard.Optional] in the shape chi and most
// routers take.
func (g *Guard) OptionalMiddleware() func(http.Handler) http.Handler {
	g.mustBeBuilt()
	return g.Optional
}

// Handler requires a valid token for every request to next, and stores it
// in the request's context ([validator.FromContext]).
func (g *Guard) Handler(next http.Handler) http.Handler {
	return g.Require(scopes.Requirement{}, next)
}

// Require requires a valid token carrying the scopes req asks for; a token
// without them is answered 403 insufficient_scope with the missing scopes.
// opts add per-route requirements, such as [WithStepUp].
func (g *Guard) Require(req scopes.Requirement, next http.Handler, opts ...RouteOption) http.Handler {
	g.mustBeBuilt()
	g.Declare(req)
	rt := routeOf(opts)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r, _, ok := g.authorize(w, r, req, rt, false); ok {
			next.ServeHTTP(w, r)
		}
	})
}

// Optional lets requests without any Bearer credentials through
// anonymously (no token in the context, not even one other middleware
// stored with [validator.NewContext]), but validates a token that is
// present: a bad token is still refused.
func (g *Guard) Optional(next http.Handler) http.Handler {
	g.mustBeBuilt()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r, _, ok := g.AuthorizeOptional(w, r); ok {
			next.ServeHTTP(w, r)
		}
	})
}

// ReadsFormBody reports whether g looks for a token in a form body
// ([WithFormToken]): for packages that decide on a request without its
// body (forward auth), to refuse a Guard whose decision would then miss a
// second token.
func (g *Guard) ReadsFormBody() bool { return g != nil && g.ex.form }

// Validator returns the validator g checks tokens with, or nil for a
// Guard [New] did not build (a nil or zero one): for packages that build
// on a Guard, to refuse one that could only panic.
func (g *Guard) Validator() TokenValidator {
	if g == nil {
		return nil
	}
	return g.v
}

// PublicURL returns the URL given to [WithPublicURL], or "" without it:
// for packages that name the URL a request addressed as g does for a DPoP
// proof's "htu" (forward auth's internal token).
func (g *Guard) PublicURL() string {
	if g == nil || g.publicURL == nil {
		return ""
	}
	return g.publicURL.String()
}

// mustBeBuilt panics when g was not built by [New] (a nil *Guard, whose
// New returned an error that was dropped, or a zero Guard): at start-up,
// where the handlers are built, rather than on every request.
func (g *Guard) mustBeBuilt() {
	if g == nil || g.v == nil {
		panic("httpbearer: a Guard not built by New (check New's error)")
	}
}
