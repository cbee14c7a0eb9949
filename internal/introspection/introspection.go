// Package introspection lets the introspect package parse RFC 7662 answers
// with the validator's strict JSON reader, without a public export that
// would exist only for that: the validator package registers its parsers
// here when it is initialised (introspect imports validator, so they are
// always registered before use).
package introspection

import (
	"context"
	"time"
)

// parseResponse holds a func([]byte) (T, error) registered by the
// validator, with T its token type; it is generic so that this package
// need not import the validator.
var parseResponse any

// RegisterResponseParser records the validator's parser of RFC 7662
// response bodies. It returns the token of an active answer, the zero T
// for an inactive one, or an error.
func RegisterResponseParser[T any](parse func(body []byte) (T, error)) { parseResponse = parse }

// ParseResponse parses an RFC 7662 response body with the registered
// parser.
func ParseResponse[T any](body []byte) (T, error) {
	return parseResponse.(func([]byte) (T, error))(body)
}

// SignedResponse is the payload of an RFC 9701 signed introspection
// response.
type SignedResponse struct {
	Issuer   string
	Audience []string
	// IssuedAt and Expiry are the response JWT's "iat" and "exp"; zero
	// when absent.
	IssuedAt, Expiry time.Time
	// Introspection is the raw "token_introspection" object.
	Introspection []byte
}

// ParseSigned parses the payload of an RFC 9701 response with the
// validator's strict reader. The validator sets it when initialised.
var ParseSigned func(payload []byte) (SignedResponse, error)

// verifySigned holds the validator's verifier of signed responses, a
// func(ctx, jws string, keys K, typ string) ([]byte, error) with K the
// validator's key source type.
var verifySigned any

// RegisterVerifier records the validator's verifier of compact JWS made by
// a trusted party other than a token issuer.
func RegisterVerifier[K any](verify func(ctx context.Context, jws string, keys K, typ string) ([]byte, error)) {
	verifySigned = verify
}

// VerifySigned verifies jws, whose header "typ" must be typ, with keys, and
// returns its payload.
func VerifySigned[K any](ctx context.Context, jws string, keys K, typ string) ([]byte, error) {
	return verifySigned.(func(context.Context, string, K, string) ([]byte, error))(ctx, jws, keys, typ)
}
