package forwardauth_test

import (
	"net/http"
	"os"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/validator"
)

const audience = "orders"

// testRules is the route file most tests decide with.
const testRules = `
default: deny
identity:
  claims:
    X-Auth-Tenant: tenant
routes:
  - name: health
    path: /healthz
    open: true
  - name: admin
    path: /orders/admin/
    deny: true
  - name: read
    methods: [GET]
    path: /orders/{id}
    scopes: [orders:read]
  - name: write
    methods: [POST, PUT]
    path: /orders/
    scopes: [orders:write]
  - name: reports
    host: reports.example.com
    path: /
    any_scopes: [reports:read, admin]
`

// fixture is an issuer, a validator over its keys, a Guard and a Decider.
type fixture struct {
	iss *bearertest.Issuer
	v   *validator.Validator
	g   *httpbearer.Guard
	d   *forwardauth.Decider
}

func newFixture(t testing.TB, rules string, opts ...forwardauth.Option) *fixture {
	t.Helper()
	iss := bearertest.NewIssuer(t)
	return newFixtureFor(t, iss, rules, opts...)
}

func newFixtureFor(t testing.TB, iss *bearertest.Issuer, rules string, opts ...forwardauth.Option) *fixture {
	t.Helper()
	return newFixtureWith(t, iss, rules, nil, opts...)
}

// newFixtureWith is newFixtureFor with options for the validator too.
func newFixtureWith(t testing.TB, iss *bearertest.Issuer, rules string, vopts []validator.Option, opts ...forwardauth.Option) *fixture {
	t.Helper()
	keys, err := iss.NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = keys.Close() })
	v, err := validator.New(append([]validator.Option{validator.WithIssuer(iss.URL, keys), validator.WithAudience(audience)}, vopts...)...)
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpbearer.New(v, httpbearer.WithRealm(audience))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := forwardauth.ParseRules([]byte(rules))
	if err != nil {
		t.Fatal(err)
	}
	d, err := forwardauth.New(g, rs, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{iss: iss, v: v, g: g, d: d}
}

func (f *fixture) token(t testing.TB, scope string, extra ...any) string {
	t.Helper()
	c := bearertest.Claims{"aud": audience, "scope": scope, "sub": "user-1", "client_id": "app-1"}
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i].(string)] = extra[i+1]
	}
	return f.iss.Mint(t, c)
}

func bearer(tok string) http.Header {
	if tok == "" {
		return http.Header{}
	}
	return http.Header{"Authorization": {"Bearer " + tok}}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
