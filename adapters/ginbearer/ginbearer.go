// Package ginbearer protects Gin routes with OAuth 2.0 bearer tokens
// (RFC 6750). It is a thin layer over [httpbearer.Guard]: the same token
// extraction, the same validation, the same answers.
//
//	guard, err := httpbearer.New(v, httpbearer.WithRealm("orders")) // check err
//	auth, err := ginbearer.New(guard)                                // check err
//	api := r.Group("/", auth.Authenticate())
//	api.GET("/data", auth.Require(scopes.All("read:data")), getData)
//
// The validated [*validator.Token] is stored in the Gin context ([Token])
// and in the request's context ([validator.FromContext]).
//
// With [httpbearer.WithQueryToken] the token is in the URL: Gin's own
// gin.Logger and gin.Recovery write the request's URL (query included) to
// their output, so give them a configuration that leaves the query out
// (gin.LoggerWithConfig with a Formatter that logs only the path, and a
// recovery handler of your own, as examples/gin has).
package ginbearer

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// ContextKey is the Gin context key under which the token is stored.
const ContextKey = "bearerguard.token"

// Middleware builds Gin handlers from a Guard.
type Middleware struct{ g *httpbearer.Guard }

// New returns Gin middleware backed by g. A nil Guard, or a zero one
// httpbearer.New did not build, is an error here, not a panic on the first
// request.
func New(g *httpbearer.Guard) (*Middleware, error) {
	if g.Validator() == nil {
		return nil, errors.New("ginbearer: nil guard, or one httpbearer.New did not build")
	}
	return &Middleware{g: g}, nil
}

// Authenticate requires a valid token.
func (m *Middleware) Authenticate() gin.HandlerFunc { return m.Require(scopes.Requirement{}) }

// Require requires a valid token carrying the scopes req asks for (403
// insufficient_scope otherwise), and what opts add (such as
// [httpbearer.WithStepUp]). After [Middleware.Authenticate] on a group
// it reuses the token already validated (see
// [httpbearer.Guard.Authenticate] for when a token is reused). Like
// [httpbearer.Guard.Require], it panics when the route is built if opts
// cannot all be met.
func (m *Middleware) Require(req scopes.Requirement, opts ...httpbearer.RouteOption) gin.HandlerFunc {
	m.g.Declare(req)
	rt := httpbearer.RouteOptions(opts...) // options that cannot all be met panic here, not on a request
	return func(c *gin.Context) {
		r, tok, ok := m.g.Authorize(c.Writer, c.Request, req, rt)
		m.next(c, r, tok, ok)
	}
}

// Optional lets requests without Bearer credentials through anonymously,
// and validates a token that is present (a bad one is still refused).
func (m *Middleware) Optional() gin.HandlerFunc {
	return func(c *gin.Context) {
		r, tok, ok := m.g.AuthorizeOptional(c.Writer, c.Request)
		m.next(c, r, tok, ok)
	}
}

// next stores the outcome of the Guard's decision and goes on, or stops
// the chain when the Guard has answered.
func (m *Middleware) next(c *gin.Context, r *http.Request, tok *validator.Token, ok bool) {
	if !ok {
		c.Abort()
		return
	}
	// An anonymous decision clears what an outer guard (over another
	// validator) stored: this guard's handler must find no token.
	c.Set(ContextKey, tok)
	c.Request = r
	c.Next()
}

// Token returns the token stored by the middleware.
func Token(c *gin.Context) (*validator.Token, bool) {
	v, ok := c.Get(ContextKey)
	if !ok {
		return nil, false
	}
	tok, ok := v.(*validator.Token)
	return tok, ok && tok != nil
}
