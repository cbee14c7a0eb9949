// Package tokenkey holds the context key under which a validated token
// travels in a request's context. [validator.NewContext] stores under it
// and [validator.FromContext] reads it; an adapter whose own context node
// carries the token answers it directly, which saves the request a
// context.WithValue node.
package tokenkey

// Key is the context key of a request's validated *validator.Token.
type Key struct{}
