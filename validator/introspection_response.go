package validator

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/bearerguard/bearerguard/internal/introspection"
)

func init() {
	introspection.RegisterResponseParser(parseIntrospection)
	introspection.ParseSigned = parseSignedIntrospection
	introspection.RegisterVerifier(verifySigned)
}

// errIntrospectionResponse reports an answer that is not one JSON object:
// a fault of the server, not a verdict on the token.
// It is deliberately not an [*Error], so the introspect package answers it
// as unavailable.
var errIntrospectionResponse = errors.New("introspection response is not a single well-formed JSON object")

// refreshTokenTypes are "token_type" (or Keycloak "typ") values that name
// something other than an access token (RFC 7662 §2.2 lets the server say;
// Keycloak says "Refresh", "Offline" or "ID"), compared
// case-insensitively.
var refreshTokenTypes = []string{
	"refresh_token", "refresh", "offline",
	"urn:ietf:params:oauth:token-type:refresh_token",
	"id", "id_token", "urn:ietf:params:oauth:token-type:id_token",
}

// parseIntrospection reads an RFC 7662 §2.2 response with the same strict
// reader and the same claim decoding as a JWT's claims. A body that is not
// one JSON object in UTF-8 (trailing data, another value, broken grammar
// or encoding) is the server's fault (errIntrospectionResponse); a
// well-formed object that the claim rules refuse (duplicate members after
// unescaping, a name folding to one read, a lone surrogate, a number past
// float64, a registered member of the wrong type) is [ErrMalformed], as
// the same claims in a JWT are. It returns nil for an inactive token
// ("active" missing or anything but the JSON literal true), and [ErrType]
// for an answer about a refresh or ID token.
func parseIntrospection(body []byte) (*Token, error) {
	// One copy, first: the token's claims and every field decoded from
	// them point into it, never into the caller's body.
	claims := string(body)
	body = bytesOf(claims)
	var spans claimSpans
	if err := (*Validator)(nil).scanClaims(body, &spans); err != nil {
		if isJSONObject(body) {
			// A well-formed object whose claims the rules refuse (a
			// duplicate nested member, a name folding to one read, a lone
			// surrogate, a number past float64): the token's claims are
			// what is wrong, as they would be in a JWT, not the server.
			return nil, ErrMalformed
		}
		return nil, errIntrospectionResponse
	}
	if string(spans.active) != "true" {
		return nil, nil
	}
	if err := spans.kind(); err != nil {
		return nil, err
	}
	if iss, err := jsonStringView(spans.iss); spans.iss != nil && err == nil && iss == "" {
		// Present and empty: not the answer without "iss" that counts as
		// the introspection issuer's, and no trusted issuer's name.
		return nil, ErrIssuer
	}
	tok := &Token{Source: SourceIntrospection, claims: claims}
	if err := decodeClaims(&spans, tok, nil, nil); err != nil {
		return nil, err
	}
	if err := spans.bindingSaid(tok); err != nil {
		return nil, err
	}
	return tok, nil
}

// isJSONObject reports whether b is one JSON object in UTF-8 (RFC 8259),
// by the grammar alone, which allows what the claim rules refuse.
func isJSONObject(b []byte) bool {
	return utf8.Valid(b) && json.Valid(b) && bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{"))
}

// refusedType reports whether a "token_type" or "typ" value names a
// refresh or ID token.
func refusedType(t string) bool {
	for _, refused := range refreshTokenTypes {
		if strings.EqualFold(t, refused) {
			return true
		}
	}
	return false
}

// parseSignedIntrospection reads the payload of an RFC 9701 response:
// "iss", "aud" and the "token_introspection" object, with the strict
// reader.
func parseSignedIntrospection(payload []byte) (introspection.SignedResponse, error) {
	var out introspection.SignedResponse
	var r objectReader
	if err := r.init(payload); err != nil {
		return out, errIntrospectionResponse
	}
	for {
		name, val, ok, err := r.next()
		if err != nil {
			return out, errIntrospectionResponse
		}
		if !ok {
			break
		}
		switch string(name) {
		case "iss":
			out.Issuer, err = jsonString(val)
		case "aud":
			out.Audience, err = jsonStrings(val)
		case "iat":
			out.IssuedAt, err = jsonNumericDate(val)
		case "exp":
			out.Expiry, err = jsonNumericDate(val)
		case "token_introspection":
			if len(val) == 0 || val[0] != '{' {
				err = errJSON
			}
			out.Introspection = val
		}
		if err != nil {
			return out, errIntrospectionResponse
		}
	}
	if out.Introspection == nil {
		return out, errors.New("signed introspection response has no token_introspection object")
	}
	return out, nil
}
