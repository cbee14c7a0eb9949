package validator

import (
	"context"

	"github.com/bearerguard/bearerguard/internal/tokenkey"
)

// NewContext returns a copy of ctx that carries tok.
func NewContext(ctx context.Context, tok *Token) context.Context {
	return context.WithValue(ctx, tokenkey.Key{}, tok)
}

// FromContext returns the token stored by [NewContext], as every adapter
// does for an authenticated request.
func FromContext(ctx context.Context) (*Token, bool) {
	tok, ok := ctx.Value(tokenkey.Key{}).(*Token)
	return tok, ok && tok != nil
}
