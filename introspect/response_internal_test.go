package introspect

import (
	"errors"
	"testing"

	"github.com/bearerguard/bearerguard/validator"
)

// FuzzParseResponse: any body parses without panicking; active only for a
// JSON boolean true; errors are of the expected kinds.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		`{"active":true}`, `{"active":false}`, `{"active":"true"}`, `{}`, `[]`, `null`,
		`{"active":true,"scope":"a b","aud":["x","y"],"exp":1.5,"sub":"s","client_id":"c","ext":{"a":[1]}}`,
		`{"active":true,"exp":"1"}`, `{"active":true,"aud":{"x":1}}`, `{"active":true}{"active":false}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := parseResponse(body)
		if err != nil {
			if tok != nil || !(errors.Is(err, errResponse) || errors.Is(err, validator.ErrMalformed)) {
				t.Fatalf("parseResponse(%q) = %v, %v", body, tok, err)
			}
			return
		}
		if tok != nil && tok.Source != validator.SourceIntrospection {
			t.Fatalf("active token without its source: %+v", tok)
		}
	})
}
