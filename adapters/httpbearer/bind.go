package httpbearer

import (
	"context"
	"net/http"
	"reflect"

	"github.com/bearerguard/bearerguard/validator"
)

// boundKey is the context key of the token a Guard validated. It is
// unexported: no other code can make a Guard skip its own checks.
type boundKey struct{}

// boundContext carries a validated token and the identity of the validator
// that decided it. It is its own value under boundKey, so binding a token
// costs one allocation besides [validator.NewContext].
type boundContext struct {
	context.Context
	tok *validator.Token
	by  any
}

// Value answers boundKey with the binding itself, and everything else
// from the parent.
func (c *boundContext) Value(key any) any {
	if key == (boundKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// bound returns the token in ctx that a Guard over the same validator as g
// stored, if any.
func (g *Guard) bound(ctx context.Context) (*validator.Token, bool) {
	b, ok := ctx.Value(boundKey{}).(*boundContext)
	if !ok || b.by != g.id {
		return nil, false
	}
	return b.tok, true
}

// withToken returns a shallow copy of r whose context carries tok: for the
// handler ([validator.FromContext]), and for inner Guards over the same
// validator, which reuse it instead of validating again.
func (g *Guard) withToken(r *http.Request, tok *validator.Token) *http.Request {
	ctx := &boundContext{Context: validator.NewContext(r.Context(), tok), tok: tok, by: g.id}
	return r.WithContext(ctx)
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
