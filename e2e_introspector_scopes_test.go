package bearerguard_test

import (
	"context"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// narrowing is an Introspector of the caller's own around introspect.Client
// that drops a scope it does not want this API to honour (say, one the
// authorization server grants for another resource). WithScopeClaim adds
// the configured claims' scopes to what an Introspector returns; it must not
// read "scope" and "scp" again over it (found by the review of SECURITY.md
// 134's fix).
type narrowing struct{ inner validator.Introspector }

func (n narrowing) Introspect(ctx context.Context, token string) (*validator.Token, error) {
	tok, err := n.inner.Introspect(ctx, token)
	if err != nil || tok == nil {
		return tok, err
	}
	var keep []string
	for _, s := range tok.Scopes.List() {
		if s != "admin" {
			keep = append(keep, s)
		}
	}
	tok.Scopes, _ = scopes.FromList(keep)
	return tok, nil
}

func TestIntrospectorScopesKeptWithScopeClaim(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "api", Secret: "api-secret"})
	ic, err := introspect.New(iss.IntrospectionURL(), introspect.ClientSecretBasic("api", "api-secret"), introspect.WithHTTPClient(iss.Client()))
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	opaque := iss.Opaque(t, bearertest.Claims{"aud": "orders", "scope": "read admin"})
	for _, withClaim := range []bool{false, true} {
		opts := []validator.Option{validator.WithIntrospection(iss.URL, narrowing{ic}), validator.WithAudience("orders")}
		if withClaim {
			opts = append(opts, validator.WithScopeClaim("permissions"))
		}
		v, err := validator.New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := v.Validate(context.Background(), opaque)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Scopes.Has("admin") {
			t.Errorf("WithScopeClaim=%v: the Introspector returned scopes without admin; the validator granted %v", withClaim, tok.Scopes.List())
		}
	}
}
