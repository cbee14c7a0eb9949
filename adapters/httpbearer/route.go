package httpbearer

import (
	"fmt"
	"slices"
	"sync"
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

// RouteOptions combines opts into one option, checking them together now:
// it panics, as opts given to [Guard.Require] would when the route is
// built, if they cannot all be met (two [WithStepUp] with no acr value in
// common). Adapters that call [Guard.Authorize] on every request combine
// their route's options with it once, when the route is built, so that a
// bad combination fails at start-up, not on each request; so should code
// of yours that does.
func RouteOptions(opts ...RouteOption) RouteOption {
	rt := routeOf(opts)
	return func(r *route) { r.stepUp = bothStepUps(r.stepUp, rt.stepUp) }
}

// WithStepUp requires the user behind the token to have authenticated as s
// says (RFC 9470): an "acr" among s.ACR, an "auth_time" within s.MaxAge. A
// token that falls short is answered 401 insufficient_user_authentication
// with acr_values and max_age, so the client can obtain a new token after
// stronger or fresher authentication. It panics, as [scopes.All] does on
// a bad scope, if an acr value is empty or not printable ASCII without
// spaces or quotes (the challenge could not carry it), or if s.MaxAge is
// negative: a requirement that would silently require nothing.
//
// Given more than once for a route, every one must be met (a later one
// never replaces an earlier): the acr values all of them accept, the
// shortest max age. It panics when they have no acr value in common, which
// no token could meet.
func WithStepUp(s validator.StepUp) RouteOption {
	for _, a := range s.ACR {
		if !validACR(a) {
			panic(fmt.Sprintf("httpbearer: WithStepUp: acr value %q is not printable ASCII without spaces or quotes", a))
		}
	}
	if s.MaxAge < 0 {
		panic(fmt.Sprintf("httpbearer: WithStepUp: max age %v is negative", s.MaxAge))
	}
	return func(r *route) { r.stepUp = bothStepUps(r.stepUp, s) }
}

// bothStepUps is the step-up that a and b both require: the acr values
// both accept (in a's order), the shorter of their max ages (zero: no
// bound).
func bothStepUps(a, b validator.StepUp) validator.StepUp {
	out := validator.StepUp{ACR: a.ACR, MaxAge: a.MaxAge}
	switch {
	case len(a.ACR) == 0:
		out.ACR = b.ACR
	case len(b.ACR) > 0:
		out.ACR = nil
		for _, v := range a.ACR {
			if slices.Contains(b.ACR, v) && !slices.Contains(out.ACR, v) {
				out.ACR = append(out.ACR, v)
			}
		}
		if len(out.ACR) == 0 {
			panic(fmt.Sprintf("httpbearer: WithStepUp given twice for a route with no acr value in common (%q, %q): no token could meet it", a.ACR, b.ACR))
		}
	}
	if a.MaxAge == 0 || b.MaxAge != 0 && b.MaxAge < a.MaxAge {
		out.MaxAge = b.MaxAge
	}
	return out
}

// validACR reports whether a is an acr value a challenge's acr_values can
// carry: non-empty printable ASCII without space, quote or backslash.
func validACR(a string) bool {
	for i := 0; i < len(a); i++ {
		if c := a[i]; c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return a != ""
}

// stepUpChecker checks a step-up with the validator's clock and leeway.
// [*validator.Validator] implements it.
type stepUpChecker interface {
	CheckStepUp(tok *validator.Token, s validator.StepUp) error
}

// checkRoute checks a valid token against a route's requirement (scopes,
// roles, permissions, claims) and step-up. The requirement first: a token
// that does not meet it is answered 403 insufficient_scope whatever its
// authentication level, and the challenge's scope attribute names the
// scopes the request needs, those the token holds included
// ([scopes.Requirement.NeededBy]; none when the requirement names no
// scope).
func (g *Guard) checkRoute(tok *validator.Token, req scopes.Requirement, rt route) error {
	if missing := req.MissingFrom(tok); missing != nil {
		return &validator.ScopeError{Missing: missing, Scope: req.NeededBy(tok)}
	}
	if len(rt.stepUp.ACR) == 0 && rt.stepUp.MaxAge == 0 {
		return nil
	}
	if c, ok := g.v.(stepUpChecker); ok {
		return c.CheckStepUp(tok, rt.stepUp)
	}
	return rt.stepUp.Check(tok, time.Now(), 0)
}

// declared collects the scopes named by the requirements of the routes a
// Guard protects, for the metadata document's scopes_supported.
type declared struct {
	mu     sync.Mutex
	scopes []string
}

// Declare records that a route requires req, so that [Guard.Scopes] lists
// its scopes. [Guard.Require], [Guard.Middleware] and the Gin and Echo
// adapters' Require call it when a route is built; call it yourself for
// requirements passed to [Guard.Authorize] directly.
func (g *Guard) Declare(req scopes.Requirement) {
	names := req.Scopes() // every scope the requirement names; roles and the like are not scopes
	g.declared.mu.Lock()
	defer g.declared.mu.Unlock()
	for _, s := range names {
		if !slices.Contains(g.declared.scopes, s) {
			g.declared.scopes = append(g.declared.scopes, s)
		}
	}
}

// Scopes lists every scope the Guard's routes require, each once, in the
// order routes were built: the scopes_supported of the resource's RFC 9728
// metadata (resourcemeta.WithScopes(guard.Scopes()...)), built after the
// routes.
func (g *Guard) Scopes() []string {
	g.declared.mu.Lock()
	defer g.declared.mu.Unlock()
	return slices.Clone(g.declared.scopes)
}
