package validator

import (
	"errors"
	"strings"

	"github.com/bearerguard/bearerguard/internal/introspection"
)

func init() {
	introspection.RegisterResponseParser(parseIntrospection)
	introspection.ParseSigned = parseSignedIntrospection
	introspection.RegisterVerifier(verifySigned)
}

// errIntrospectionResponse reports an answer that is not a well-formed
// RFC 7662 JSON object: a fault of the server, not a verdict on the token.
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
// reader and the same claim decoding as a JWT's claims: duplicate members
// (after unescaping), invalid UTF-8 or trailing data make the answer
// unusable; registered members of the wrong type are [ErrMalformed]. It
// returns nil for an inactive token ("active" missing or anything but the
// JSON literal true), and [ErrType] for an answer about a refresh or ID
// token.
func parseIntrospection(body []byte) (*Token, error) {
	// One copy, first: the token's claims and every field decoded from
	// them point into it, never into the caller's body.
	claims := string(body)
	body = bytesOf(claims)
	var spans claimSpans
	if err := (*Validator)(nil).scanClaims(body, &spans); err != nil {
		return nil, errIntrospectionResponse
	}
	if string(spans.active) != "true" {
		return nil, nil
	}
	var tt string
	if spans.tokenType != nil {
		var err error
		if tt, err = jsonString(spans.tokenType); err != nil {
			return nil, ErrMalformed
		}
		if refusedType(tt) {
			return nil, ErrType
		}
	}
	if err := checkTokenKind(body); err != nil {
		return nil, err
	}
	tok := &Token{Source: SourceIntrospection, claims: claims}
	if err := decodeClaims(&spans, tok, nil, nil); err != nil {
		return nil, err
	}
	if strings.EqualFold(tt, "DPoP") && tok.Confirmation.JKT == "" {
		// RFC 9449 §6.2: the server says the token is DPoP-bound but names
		// no key; accepting it as a bearer token would be the downgrade
		// §7.2 forbids.
		return nil, ErrUnsupportedBinding
	}
	return tok, nil
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

// checkTokenKind refuses an answer about a refresh or ID token that says
// so outside "token_type": Ory Hydra (and fosite) introspect refresh
// tokens whatever the hint, and answer "token_type": "Bearer" with
// "token_use": "refresh_token"; Amazon Cognito's "token_use" is "access"
// or "id"; Keycloak's answers carry the token's "typ" ("Bearer",
// "Refresh", "Offline", "ID"). A "token_use" other than an access token's
// is refused, as is a "typ" naming a refresh or ID token; a "typ" of
// another type is not this package's to read.
func checkTokenKind(body []byte) error {
	use, ok, err := lookupClaim(body, []string{"token_use"})
	if err != nil {
		return errIntrospectionResponse
	}
	if ok {
		u, err := jsonString(use)
		if err != nil {
			return ErrMalformed
		}
		if !strings.EqualFold(u, "access_token") && !strings.EqualFold(u, "access") {
			return ErrType
		}
	}
	typ, ok, err := lookupClaim(body, []string{"typ"})
	if err != nil {
		return errIntrospectionResponse
	}
	if ok {
		if t, err := jsonString(typ); err == nil && refusedType(t) {
			return ErrType
		}
	}
	return nil
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
