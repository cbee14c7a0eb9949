package validator_test

import (
	"context"
	"crypto"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/validator"
)

func TestIssuerRequireGrant(t *testing.T) {
	loadKeys(t)
	keys := validator.NewKeys(mustKey(t, "rsa-1", &rsaKey.PublicKey, validator.RS256))
	token := func(claims map[string]any) string {
		claims["aud"] = testAud
		return jwstest.Token(`{"alg":"RS256","kid":"rsa-1"}`, claimsAt(testIssuer, claims), jwstest.RS(rsaKey, crypto.SHA256))
	}
	for _, c := range []struct {
		name    string
		require bool
		claims  map[string]any
		want    error
	}{
		{"nothing", true, map[string]any{}, validator.ErrNoGrant},
		{"empty scope, empty roles", true, map[string]any{"scope": "", "roles": []string{}, "permissions": []string{}}, validator.ErrNoGrant},
		{"a scope", true, map[string]any{"scope": "read:data"}, nil},
		{"an scp", true, map[string]any{"scp": []string{"read:data"}}, nil},
		{"a role", true, map[string]any{"roles": []string{"Data.Read"}}, nil},
		{"a permission", true, map[string]any{"permissions": []string{"read:data"}}, nil},
		{"nothing, not required", false, map[string]any{}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := []validator.IssuerOption{validator.IssuerRoleClaims("/roles"), validator.IssuerPermissionClaims("/permissions")}
			if c.require {
				opts = append(opts, validator.IssuerRequireGrant())
			}
			v, err := validator.New(validator.WithIssuer(testIssuer, keys, opts...), validator.WithAudience(testAud),
				validator.WithClock(func() time.Time { return testNow }))
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Validate(t.Context(), token(c.claims))
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if c.want != nil {
				ch := validator.ChallengeFor(err, "api")
				if ch.Status != http.StatusForbidden || ch.Code != "insufficient_scope" || ch.Scope != "" {
					t.Errorf("answered %d %q scope %q, want 403 insufficient_scope without a scope", ch.Status, ch.Code, ch.Scope)
				}
			}
		})
	}
}

// An introspection issuer one trailing slash away from a configured issuer
// would silently drop that issuer's checks (client allow-list, grant,
// audience) from answers that carry no "iss": New refuses it.
func TestIntrospectionIssuerSlashMismatchRefused(t *testing.T) {
	loadKeys(t)
	keys := validator.NewKeys(mustKey(t, "rsa-1", &rsaKey.PublicKey, validator.RS256))
	ic := introspectorFunc(func(context.Context, string) (*validator.Token, error) { return nil, validator.ErrInactive })
	for _, c := range []struct {
		issuer, introspection string
		ok                    bool
	}{
		{"https://as.example", "https://as.example/", false},
		{"https://as.example/", "https://as.example", false},
		{"https://as.example/", "https://as.example/", true},
		{"https://as.example/", "https://other.example/", true},
	} {
		_, err := validator.New(validator.WithIssuer(c.issuer, keys, validator.IssuerClientIDs("web-app")),
			validator.WithIntrospection(c.introspection, ic), validator.WithoutAudienceCheck())
		if (err == nil) != c.ok {
			t.Errorf("WithIssuer(%q) and WithIntrospection(%q): %v, want ok %v", c.issuer, c.introspection, err, c.ok)
		}
	}
}

type introspectorFunc func(context.Context, string) (*validator.Token, error)

func (f introspectorFunc) Introspect(ctx context.Context, tok string) (*validator.Token, error) {
	return f(ctx, tok)
}
