package httpbearer

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"github.com/bearerguard/bearerguard/internal/tokenkey"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// boundKey is the context key of the token a Guard validated. It is
// internal: no code outside this module can make a Guard skip its own
// checks (forward auth uses it only to hide a binding, tokenkey.Hide).
type boundKey = tokenkey.Bound

// boundContext carries a validated token and the identity of the validator
// that decided it. It answers both boundKey (with itself) and the key of
// [validator.FromContext] (with the token), so binding a token to its
// request costs this one node and no context.WithValue.
type boundContext struct {
	context.Context
	tok     *validator.Token
	by      reuseKey
	decided decided          // what route checks read of tok, as validated
	reused  bool             // tok came from an outer Guard's binding
	scheme  validator.Scheme // how tok was presented: a refusal's challenge names it
}

// decided is what a Guard's route checks read of a token (a
// requirement's scopes, roles and permissions, a step-up's ACR and
// auth_time; claims are unexported, so nobody writes them), as the
// validator gave it. A binding keeps it, so that an inner Guard that
// reuses the token checks its route against what was validated, not
// against what handlers between the two Guards wrote to the token.
type decided struct {
	scopes, roles, perms scopes.Set
	acr                  string
	authTime             time.Time
}

func decidedOf(t *validator.Token) decided {
	return decided{scopes: t.Scopes, roles: t.Roles, perms: t.Permissions, acr: t.ACR, authTime: t.AuthTime}
}

// restored returns a copy of t with what was decided put back.
func (d *decided) restored(t *validator.Token) *validator.Token {
	c := *t
	c.Scopes, c.Roles, c.Permissions, c.ACR, c.AuthTime = d.scopes, d.roles, d.perms, d.acr, d.authTime
	return &c
}

// boundToken is a boundContext with its token inside it: a Guard over a
// *validator.Validator validates into own, so that the token and its
// binding are one allocation.
type boundToken struct {
	boundContext
	own validator.Token
}

// newBoundToken returns a boundToken of g's whose token is its own, for a
// validation to fill; its Context is set when it is bound.
func (g *Guard) newBoundToken() *boundToken {
	b := &boundToken{}
	b.tok, b.by = &b.own, g.id
	return b
}

// String names the node without its token or what was decided: a
// context printed in a log must not print the token's claims.
func (c *boundContext) String() string {
	return fmt.Sprint(c.Context) + ".WithValue(bearerguard token)"
}

// Value answers boundKey with the binding itself, the token key with the
// token, and everything else from the parent.
func (c *boundContext) Value(key any) any {
	switch key {
	case boundKey{}:
		return c
	case tokenkey.Key{}:
		return c.tok
	}
	return c.Context.Value(key)
}

// bound returns, when a Guard over the same validator and presentation
// settings as g bound a token to ctx (see reuseKey), a new binding of that
// token for g (what was decided goes with it).
func (g *Guard) bound(ctx context.Context) (*boundContext, bool) {
	b, ok := ctx.Value(boundKey{}).(*boundContext)
	if !ok || b.tok == nil || b.by != g.id {
		return nil, false
	}
	return &boundContext{tok: b.tok, by: g.id, decided: b.decided, reused: true, scheme: b.scheme}, true
}

// withToken returns a shallow copy of r whose context carries tok: for the
// handler ([validator.FromContext]), and for inner Guards over the same
// validator, which reuse it instead of validating again. b, when not nil,
// is the binding that tok already lives in (see boundToken).
func (g *Guard) withToken(r *http.Request, tok *validator.Token, b *boundContext, scheme validator.Scheme) *http.Request {
	if b == nil {
		b = &boundContext{tok: tok, by: g.id, decided: decidedOf(tok), scheme: scheme}
	}
	b.Context = r.Context()
	return r.WithContext(b)
}

// anonymous returns a shallow copy of r whose context carries no token:
// [validator.FromContext] finds none, not even one that other middleware
// stored with [validator.NewContext], and no inner Guard finds a binding.
func anonymous(r *http.Request) *http.Request {
	return r.WithContext(&boundContext{Context: r.Context()})
}

// reuseKey is what two Guards compare before one reuses a token the
// other validated: the validator, and every setting that decides which
// presentations of a token a Guard accepts. A Guard that takes tokens from
// a query, form or cookie where the other does not, trusts another
// certificate header or other proxies, or checks DPoP proofs against
// another public URL, would not have decided the same way.
type reuseKey struct {
	v            any // see validatorIdentity
	presentation string
}

// presentationPolicy describes the settings of c that decide which
// presentations of a token a Guard accepts, for reuseKey.
func presentationPolicy(c config) string {
	u := ""
	if c.publicURL != nil {
		u = c.publicURL.String()
	}
	certs := ""
	if c.certs != nil {
		certs = fmt.Sprintf("%s|%d|%v", c.certs.name, c.certs.format, c.certs.proxies)
	}
	return fmt.Sprintf("query=%t form=%t cookie=%q url=%q certs=%q", c.ex.query, c.ex.form, c.ex.cookie, u, certs)
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
