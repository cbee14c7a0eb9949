package introspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

var errResponse = errors.New("introspection response is not a JSON object of the RFC 7662 form")

// parseResponse reads an RFC 7662 §2.2 response. It returns (nil, nil) for
// an inactive token: "active" missing, not a JSON boolean, or false. For an
// active token it returns the Token, unchecked; a member of the wrong type
// is an error matching validator.ErrMalformed.
func parseResponse(body []byte) (*validator.Token, error) {
	var members map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&members); err != nil || members == nil || dec.More() {
		return nil, errResponse
	}
	if string(bytes.TrimSpace(members["active"])) != "true" {
		return nil, nil
	}
	var t validator.Token
	var err error
	str := func(name string) string {
		raw, ok := members[name]
		if !ok || err != nil {
			return ""
		}
		var s string
		if e := json.Unmarshal(raw, &s); e != nil {
			err = validator.ErrMalformed
		}
		return s
	}
	date := func(name string) time.Time {
		raw, ok := members[name]
		if !ok || err != nil {
			return time.Time{}
		}
		var f float64
		if e := json.Unmarshal(raw, &f); e != nil || f < 0 || f > 1e11 || math.IsNaN(f) {
			err = validator.ErrMalformed
			return time.Time{}
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9))
	}
	t.Issuer = str("iss")
	t.Subject = str("sub")
	t.ID = str("jti")
	t.ClientID = str("client_id")
	t.Expiry = date("exp")
	t.IssuedAt = date("iat")
	t.NotBefore = date("nbf")
	_ = str("username")
	_ = str("token_type")
	if scope := str("scope"); err == nil && scope != "" {
		if t.Scopes, err = scopes.Parse(scope); err != nil {
			err = validator.ErrMalformed
		}
	}
	if raw, ok := members["aud"]; ok && err == nil {
		var one string
		if json.Unmarshal(raw, &one) == nil {
			t.Audience = []string{one}
		} else if json.Unmarshal(raw, &t.Audience) != nil {
			err = validator.ErrMalformed
		}
	}
	if err != nil {
		return nil, err
	}
	return validator.NewIntrospectedToken(t, body), nil
}
