// Package tokenkey holds the context keys under which a validated token
// travels in a request's context. [validator.NewContext] stores under Key
// and [validator.FromContext] reads it; an adapter whose own context node
// carries the token answers it directly, which saves the request a
// context.WithValue node. An httpbearer Guard's binding, which inner
// Guards reuse, answers Bound.
package tokenkey

import "context"

// Key is the context key of a request's validated *validator.Token.
type Key struct{}

// Bound is the context key of an httpbearer Guard's binding: the token it
// validated for a request, which an inner Guard over the same validator
// reuses instead of reading the request's credentials again.
type Bound struct{}

// Hide returns a context that answers Key and Bound with nothing, and
// everything else as ctx: for a decision on another request than the one
// ctx came with (forward auth's original request), which must read that
// request's own credentials, never reuse the token bound to ctx.
func Hide(ctx context.Context) context.Context { return hidden{ctx} }

type hidden struct{ context.Context }

func (h hidden) Value(key any) any {
	switch key {
	case Key{}, Bound{}:
		return nil
	}
	return h.Context.Value(key)
}
