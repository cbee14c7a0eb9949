package validator_test

import (
	"testing"

	"github.com/bearerguard/bearerguard/validator"
)

// A proof's typ is a media type: "application/dpop+jwt" is "dpop+jwt"
// (RFC 7515 §4.1.9), in any case, as for an access token's at+jwt;
// anything else is refused.
func TestDPoPProofTypMediaType(t *testing.T) {
	loadKeys(t)
	key := newProofKey(t)
	tok := bound(key.thumbprint())
	v := newValidator(t)
	for _, tt := range []struct {
		typ  string
		want bool
	}{
		{"dpop+jwt", true},
		{"DPoP+JWT", true},
		{"application/dpop+jwt", true},
		{"Application/DPoP+JWT", true},
		{"application/", false},
		{"application/jwt", false},
		{"text/dpop+jwt", false},
		{"JWT", false},
	} {
		p := key.proof("GET", apiURL, tok, map[string]any{"typ": tt.typ}, nil)
		_, err := v.ValidatePresentation(t.Context(), validator.Presentation{Scheme: validator.SchemeDPoP, Token: tok, Proof: p, Method: "GET", URL: apiURL})
		if (err == nil) != tt.want {
			t.Errorf("typ %q: %v, want accepted %v", tt.typ, err, tt.want)
		}
	}
}
