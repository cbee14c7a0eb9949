package httpbearer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// TokenValidator validates a raw token. [*validator.Validator] implements it.
type TokenValidator interface {
	Validate(ctx context.Context, token string) (*validator.Token, error)
}

// Guard extracts, validates and authorizes bearer tokens for net/http, and
// answers failures per RFC 6750. The Gin and Echo adapters build on it. A
// Guard is safe for concurrent use.
type Guard struct {
	v         TokenValidator
	id        any // identity of v: see validatorIdentity
	ex        extractor
	realm     string
	writeBody func(w http.ResponseWriter, r *http.Request, c validator.Challenge)
	observe   func(r *http.Request, err error, c validator.Challenge)
}

// Option configures a Guard.
type Option func(*Guard) error

// New returns a Guard that validates tokens with v.
func New(v TokenValidator, opts ...Option) (*Guard, error) {
	g := &Guard{v: v, id: validatorIdentity(v), writeBody: WriteJSONError}
	var errs []error
	if v == nil {
		errs = append(errs, errors.New("nil validator"))
	}
	for _, o := range opts {
		if err := o(g); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("httpbearer: invalid configuration: %w", errors.Join(errs...))
	}
	return g, nil
}

// WithRealm sets the realm attribute of every challenge (default: none).
// It must consist of printable ASCII other than '"' and '\'.
func WithRealm(realm string) Option {
	return func(g *Guard) error {
		for i := 0; i < len(realm); i++ {
			if c := realm[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
				return fmt.Errorf("WithRealm: character %q not allowed", c)
			}
		}
		g.realm = realm
		return nil
	}
}

// WithQueryToken also accepts the token in the access_token query
// parameter (RFC 6750 §2.3). Off by default, and best left off: URLs end up
// in logs, browser history and Referer headers, so the token leaks. Without
// this option a query token is answered 400 invalid_request.
func WithQueryToken() Option { return func(g *Guard) error { g.ex.query = true; return nil } }

// WithFormToken also accepts the token in an application/x-www-form-urlencoded
// body parameter access_token (RFC 6750 §2.2), for non-GET requests. Off by
// default. The body is read (at most 64 KiB) and parsed into r.PostForm.
func WithFormToken() Option { return func(g *Guard) error { g.ex.form = true; return nil } }

// WithCookie also accepts the token from the named cookie, for
// browser-facing APIs. Off by default. Cookies are sent by browsers on
// cross-site requests: set them SameSite=Strict, Secure and HttpOnly, and
// protect state-changing routes against CSRF.
func WithCookie(name string) Option {
	return func(g *Guard) error {
		if name == "" {
			return errors.New("WithCookie: empty cookie name")
		}
		g.ex.cookie = name
		return nil
	}
}

// WithErrorBody replaces the JSON error body. The hook is called after the
// status-independent headers (WWW-Authenticate or Retry-After, and
// Cache-Control: no-store) are set and before anything is written; it must
// write the status (c.Status) and the body.
func WithErrorBody(write func(w http.ResponseWriter, r *http.Request, c validator.Challenge)) Option {
	return func(g *Guard) error {
		if write == nil {
			return errors.New("WithErrorBody: nil hook")
		}
		g.writeBody = write
		return nil
	}
}

// WithObserver calls observe for every refused request, with the error
// (for logging and metrics: match it with errors.Is) and the answer sent.
// The error never contains the token.
func WithObserver(observe func(r *http.Request, err error, c validator.Challenge)) Option {
	return func(g *Guard) error {
		if observe == nil {
			return errors.New("WithObserver: nil hook")
		}
		g.observe = observe
		return nil
	}
}

// Authenticate extracts the request's token and validates it. The error
// matches [validator.ErrNoToken] when the request carries no Bearer
// credentials.
//
// A token already in the request's context is reused only when a Guard
// over the same validator put it there ([Guard.WithToken]): then the
// decision would be the same. A token from a guard over another validator
// (another audience, other claim checks), or one stored with
// [validator.NewContext] by any other middleware, is never trusted: this
// Guard validates the request's own token itself.
func (g *Guard) Authenticate(w http.ResponseWriter, r *http.Request) (*validator.Token, error) {
	if b, ok := r.Context().Value(boundKey{}).(*boundToken); ok && b.by == g.id {
		return b.tok, nil
	}
	raw, err := g.ex.extract(w, r)
	if err != nil {
		return nil, err
	}
	return g.v.Validate(r.Context(), raw)
}

// WithToken returns a shallow copy of r whose context carries tok: for the
// handler ([validator.FromContext]), and for inner Guards over the same
// validator, which reuse it instead of validating again. Adapters call it
// after a successful [Guard.Authenticate]; tok must come from there.
func (g *Guard) WithToken(r *http.Request, tok *validator.Token) *http.Request {
	ctx := context.WithValue(r.Context(), boundKey{}, &boundToken{tok: tok, by: g.id})
	return r.WithContext(validator.NewContext(ctx, tok))
}

// boundKey is the context key of the token a Guard validated. It is
// unexported: no other code can make a Guard skip its own checks.
type boundKey struct{}

// boundToken is a validated token and the identity of the validator that
// decided it.
type boundToken struct {
	tok *validator.Token
	by  any
}

// validatorIdentity returns what two Guards compare to know they share a
// validator: the validator itself when it is a pointer (a
// *validator.Validator), else a value unique to this Guard, so that a
// token is reused only by the Guard that validated it.
func validatorIdentity(v TokenValidator) any {
	if v != nil && reflect.TypeOf(v).Kind() == reflect.Pointer {
		return v
	}
	return new(byte)
}

// Handler requires a valid token for every request to next, and stores it
// in the request's context ([validator.FromContext]).
func (g *Guard) Handler(next http.Handler) http.Handler {
	return g.Require(scopes.Requirement{}, next)
}

// Require requires a valid token carrying the scopes req asks for; a token
// without them is answered 403 insufficient_scope with the missing scopes.
func (g *Guard) Require(req scopes.Requirement, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := g.Authenticate(w, r)
		if err == nil {
			err = CheckScopes(tok, req)
		}
		if err != nil {
			g.Fail(w, r, err)
			return
		}
		next.ServeHTTP(w, g.WithToken(r, tok))
	})
}

// Optional lets requests without any Bearer credentials through
// anonymously (no token in the context), but validates a token that is
// present: a bad token is still refused.
func (g *Guard) Optional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := g.Authenticate(w, r)
		switch {
		case errors.Is(err, validator.ErrNoToken):
			next.ServeHTTP(w, r)
		case err != nil:
			g.Fail(w, r, err)
		default:
			next.ServeHTTP(w, g.WithToken(r, tok))
		}
	})
}

// CheckScopes returns a [*validator.ScopeError] if tok lacks scopes req
// asks for, else nil.
func CheckScopes(tok *validator.Token, req scopes.Requirement) error {
	if missing := req.Missing(tok.Scopes); missing != nil {
		return &validator.ScopeError{Missing: missing}
	}
	return nil
}

// Fail answers a refused request from the single mapping table
// ([validator.ChallengeFor]): status, WWW-Authenticate (or Retry-After),
// Cache-Control: no-store, and the error body.
func (g *Guard) Fail(w http.ResponseWriter, r *http.Request, err error) {
	c := validator.ChallengeFor(err, g.realm)
	c.Apply(w.Header())
	if g.observe != nil {
		g.observe(r, err, c)
	}
	g.writeBody(w, r, c)
}

// errorBody is the default JSON body of a refusal.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
	Scope       string `json:"scope,omitempty"`
}

// WriteJSONError writes c's status and a JSON body
// {"error": …, "error_description": …}. It is the default body writer.
func WriteJSONError(w http.ResponseWriter, _ *http.Request, c validator.Challenge) {
	body := errorBody{Error: c.Code, Description: c.Description, Scope: c.Scope}
	switch {
	case body.Error != "":
	case c.Status == http.StatusUnauthorized:
		body.Error = "unauthorized"
		body.Description = "An access token is required"
	case c.Status == http.StatusServiceUnavailable:
		body.Error = "temporarily_unavailable"
	default:
		body.Error = strings.ToLower(strings.ReplaceAll(http.StatusText(c.Status), " ", "_"))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(c.Status)
	_ = json.NewEncoder(w).Encode(body)
}
