package contract

import (
	"net/http"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/validator"
)

// OuterTokenUnderOptional sets up what an Optional inner guard must not
// pass on: an outer guard (audience "public", which also reads the
// "session" cookie) and an inner one (audience "admin", headers only), and
// a request whose cookie holds a token for "public". The outer guard
// accepts it; the inner one finds no credentials of its own and lets the
// request through as anonymous, so the inner route's handler must find no
// token through the adapter's own accessor either (SECURITY.md finding 26).
func OuterTokenUnderOptional(t *testing.T) (outer, inner *httpbearer.Guard, req *http.Request) {
	t.Helper()
	iss := bearertest.NewIssuer(t)
	newGuard := func(aud string, opts ...httpbearer.Option) *httpbearer.Guard {
		v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience(aud))
		if err != nil {
			t.Fatal(err)
		}
		return guard(t, v, opts...)
	}
	outer, inner = newGuard("public", httpbearer.WithCookie("session")), newGuard("admin")
	req, err := http.NewRequest("GET", "/admin/whoami", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "session", Value: iss.Mint(t, bearertest.Claims{"aud": "public", "sub": "site-user"})})
	return outer, inner, req
}
