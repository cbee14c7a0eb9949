package httpbearer

import (
	"time"

	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// RouteOption adds a requirement to one route, beyond its scopes.
type RouteOption func(*route)

// route is what a route requires besides scopes.
type route struct {
	stepUp validator.StepUp
}

func routeOf(opts []RouteOption) route {
	var rt route
	for _, o := range opts {
		o(&rt)
	}
	return rt
}

// WithStepUp requires the user behind the token to have authenticated as s
// says (RFC 9470): an "acr" among s.ACR, an "auth_time" within s.MaxAge. A
// token that falls short is answered 401 insufficient_user_authentication
// with acr_values and max_age, so the client can obtain a new token after
// stronger or fresher authentication.
func WithStepUp(s validator.StepUp) RouteOption {
	return func(r *route) { r.stepUp = s }
}

// stepUpChecker checks a step-up with the validator's clock and leeway.
// [*validator.Validator] implements it.
type stepUpChecker interface {
	CheckStepUp(tok *validator.Token, s validator.StepUp) error
}

// checkRoute checks a valid token against a route's scopes and step-up.
// Scopes first: a token without the scope is answered 403 whatever its
// authentication level.
func (g *Guard) checkRoute(tok *validator.Token, req scopes.Requirement, rt route) error {
	if missing := req.Missing(tok.Scopes); missing != nil {
		return &validator.ScopeError{Missing: missing}
	}
	if len(rt.stepUp.ACR) == 0 && rt.stepUp.MaxAge == 0 {
		return nil
	}
	if c, ok := g.v.(stepUpChecker); ok {
		return c.CheckStepUp(tok, rt.stepUp)
	}
	return rt.stepUp.Check(tok, time.Now(), 0)
}
