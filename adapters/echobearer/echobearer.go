// Package echobearer protects Echo (v4) routes with OAuth 2.0 bearer
// tokens (RFC 6750). It is a thin layer over [httpbearer.Guard]: the same
// token extraction, the same validation, the same answers.
//
//	guard, _ := httpbearer.New(v, httpbearer.WithRealm("orders"))
//	auth := echobearer.New(guard)
//	api := e.Group("", auth.Authenticate())
//	api.GET("/data", getData, auth.Require(scopes.All("read:data")))
//
// The validated [*validator.Token] is stored in the Echo context ([Token])
// and in the request's context ([validator.FromContext]).
package echobearer

import (
	"errors"

	"github.com/labstack/echo/v4"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// ContextKey is the Echo context key under which the token is stored.
const ContextKey = "bearerguard.token"

// Middleware builds Echo middleware from a Guard.
type Middleware struct{ g *httpbearer.Guard }

// New returns Echo middleware backed by g.
func New(g *httpbearer.Guard) *Middleware { return &Middleware{g: g} }

// Authenticate requires a valid token.
func (m *Middleware) Authenticate() echo.MiddlewareFunc { return m.Require(scopes.Requirement{}) }

// Require requires a valid token carrying the scopes req asks for (403
// insufficient_scope otherwise). After [Middleware.Authenticate] on a group
// it reuses the token already validated (see
// [httpbearer.Guard.Authenticate] for when a token is reused). Refusals are written directly, so
// the answer is exactly RFC 6750's whatever the HTTPErrorHandler.
func (m *Middleware) Require(req scopes.Requirement) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			tok, err := m.g.Authenticate(c.Response(), c.Request())
			if err == nil {
				err = httpbearer.CheckScopes(tok, req)
			}
			if err != nil {
				m.g.Fail(c.Response(), c.Request(), err)
				return nil
			}
			m.store(c, tok)
			return next(c)
		}
	}
}

// Optional lets requests without Bearer credentials through anonymously,
// and validates a token that is present (a bad one is still refused).
func (m *Middleware) Optional() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			tok, err := m.g.Authenticate(c.Response(), c.Request())
			if err != nil {
				if !errors.Is(err, validator.ErrNoToken) {
					m.g.Fail(c.Response(), c.Request(), err)
					return nil
				}
				return next(c)
			}
			m.store(c, tok)
			return next(c)
		}
	}
}

// Token returns the token stored by the middleware.
func Token(c echo.Context) (*validator.Token, bool) {
	tok, ok := c.Get(ContextKey).(*validator.Token)
	return tok, ok && tok != nil
}

func (m *Middleware) store(c echo.Context, tok *validator.Token) {
	c.Set(ContextKey, tok)
	c.SetRequest(m.g.WithToken(c.Request(), tok))
}
