package introspect

import (
	"errors"

	"github.com/bearerguard/bearerguard/internal/introspection"
	"github.com/bearerguard/bearerguard/validator"
)

var errResponse = errors.New("introspection response is not a JSON object of the RFC 7662 form")

// parseResponse reads an RFC 7662 §2.2 response with the validator's strict
// reader (one claims parser for JWTs and introspection answers: duplicate
// members refused, the same number, date and "aud" rules). It returns
// (nil, nil) for an inactive token: "active" missing, not the JSON literal
// true, or false. For an active token it returns the Token, whose claims
// the validator still checks. A member of the wrong type is an error
// matching [validator.ErrMalformed]; an answer about a refresh or ID token
// ("token_type") one matching [validator.ErrType]; a body that is not one
// well-formed JSON object is errResponse.
func parseResponse(body []byte) (*validator.Token, error) {
	tok, err := introspection.ParseResponse[*validator.Token](body)
	if err != nil {
		if _, ok := errors.AsType[*validator.Error](err); ok {
			return nil, err
		}
		return nil, errResponse
	}
	return tok, nil
}
