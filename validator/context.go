package validator

import "context"

type contextKey struct{}

// NewContext returns a copy of ctx that carries tok.
func NewContext(ctx context.Context, tok *Token) context.Context {
	return context.WithValue(ctx, contextKey{}, tok)
}

// FromContext returns the token stored by [NewContext], as every adapter
// does for an authenticated request.
func FromContext(ctx context.Context) (*Token, bool) {
	tok, ok := ctx.Value(contextKey{}).(*Token)
	return tok, ok && tok != nil
}
