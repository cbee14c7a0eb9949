// Package echobearer protects Echo (v4) routes with OAuth 2.0 bearer
// tokens (RFC 6750). It is a thin layer over [httpbearer.Guard]: the same
// token extraction, the same validation, the same answers.
//
//	guard, err := httpbearer.New(v, httpbearer.WithRealm("orders")) // check err
//	auth, err := echobearer.New(guard)                               // check err
//	api := e.Group("", auth.Authenticate())
//	api.GET("/data", getData, auth.Require(scopes.All("read:data")))
//
// The validated [*validator.Token] is stored in the Echo context ([Token])
// and in the request's context ([validator.FromContext]).
package echobearer

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// ContextKey is the Echo context key under which the token is stored.
const ContextKey = "bearerguard.token"

// Middleware builds Echo middleware from a Guard.
type Middleware struct{ g *httpbearer.Guard }

// New returns Echo middleware backed by g. A nil Guard, or a zero one
// httpbearer.New did not build, is an error here, not a panic on the first
// request.
func New(g *httpbearer.Guard) (*Middleware, error) {
	if g.Validator() == nil {
		return nil, errors.New("echobearer: nil guard, or one httpbearer.New did not build")
	}
	return &Middleware{g: g}, nil
}

// Authenticate requires a valid token.
func (m *Middleware) Authenticate() echo.MiddlewareFunc { return m.Require(scopes.Requirement{}) }

// Require requires a valid token carrying the scopes req asks for (403
// insufficient_scope otherwise), and what opts add (such as
// [httpbearer.WithStepUp]). After [Middleware.Authenticate] on a group
// it reuses the token already validated (see
// [httpbearer.Guard.Authenticate] for when a token is reused). Like
// [httpbearer.Guard.Require], it panics when the route is built if opts
// cannot all be met. Refusals are
// written directly, so the answer is exactly RFC 6750's whatever the
// HTTPErrorHandler.
func (m *Middleware) Require(req scopes.Requirement, opts ...httpbearer.RouteOption) echo.MiddlewareFunc {
	m.g.Declare(req)
	rt := httpbearer.RouteOptions(opts...) // options that cannot all be met panic here, not on a request
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r, tok, ok := m.g.Authorize(c.Response(), c.Request(), req, rt)
			return m.next(c, next, r, tok, ok)
		}
	}
}

// Optional lets requests without Bearer credentials through anonymously,
// and validates a token that is present (a bad one is still refused).
func (m *Middleware) Optional() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r, tok, ok := m.g.AuthorizeOptional(c.Response(), c.Request())
			return m.next(c, next, r, tok, ok)
		}
	}
}

// next stores the outcome of the Guard's decision and calls the next
// handler, or stops when the Guard has answered.
func (m *Middleware) next(c echo.Context, next echo.HandlerFunc, r *http.Request, tok *validator.Token, ok bool) error {
	if !ok {
		return nil
	}
	// An anonymous decision clears what an outer guard (over another
	// validator) stored: this guard's handler must find no token.
	c.Set(ContextKey, tok)
	c.SetRequest(r)
	return next(c)
}

// Token returns the token stored by the middleware.
func Token(c echo.Context) (*validator.Token, bool) {
	tok, ok := c.Get(ContextKey).(*validator.Token)
	return tok, ok && tok != nil
}
