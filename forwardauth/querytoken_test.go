package forwardauth_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/validator"
)

// A second token in the query that the Guard does not read but an upstream
// does (Rails and Rack split pairs at ';' too, where net/url drops the
// pair; PHP reads '.', ' ', '[' in a name as '_') is refused with 400, as
// a second token net/url reads is, by the Guard, so that every door
// answers alike: the upstream would get the header token's identity next
// to a token nothing checked (red-team of forward auth; SECURITY.md 143).
func TestHiddenQueryTokenRefused(t *testing.T) {
	f := newFixture(t, testRules)
	read := f.token(t, "orders:read")
	for _, tt := range []struct {
		query string
		want  int
	}{
		{"x=1;access_token=T2", http.StatusBadRequest},
		{"access_token=T2;x=1", http.StatusBadRequest},
		{"x=1&y=2;access%5Ftoken=T2", http.StatusBadRequest},
		{"access.token=T2", http.StatusBadRequest},
		{"access+token=T2", http.StatusBadRequest},
		{"access%20token=T2", http.StatusBadRequest},
		{"access[token=T2", http.StatusBadRequest},
		{"access%5Btoken=T2", http.StatusBadRequest},
		{"access%80token=T2", http.StatusBadRequest},
		{"ACCESS_TOKEN=T2", http.StatusBadRequest},        // ASP.NET Core: any case
		{"%20access_token=T2", http.StatusBadRequest},     // PHP drops leading spaces
		{"access_token%00x=T2", http.StatusBadRequest},    // PHP: a C string
		{"access_token[]=T2", http.StatusBadRequest},      // an array: PHP, Rack, qs
		{"access_token%5B0%5D=T2", http.StatusBadRequest}, // review of the fix
		{"access_token=T2", http.StatusBadRequest},        // read by the Guard: a second token
		{"x=1", http.StatusOK},
		{"q=a;b", http.StatusOK},
		{"accessXtoken=1&token=2&access=3", http.StatusOK},
		{"access__token=1", http.StatusOK},
		{"note=access.token", http.StatusOK}, // a value, not a name
	} {
		t.Run(tt.query, func(t *testing.T) {
			dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/orders/7?" + tt.query, Header: bearer(read)})
			if dec.Status != tt.want {
				t.Fatalf("status %d (%v), want %d", dec.Status, dec.Err, tt.want)
			}
			if tt.want == http.StatusBadRequest && (!errors.Is(dec.Err, validator.ErrInvalidRequest) || !strings.Contains(dec.Header.Get("WWW-Authenticate"), `error="invalid_request"`)) {
				t.Errorf("error %v, challenge %q: want the Guard's invalid_request, as every door answers", dec.Err, dec.Header.Get("WWW-Authenticate"))
			}
		})
	}
}
