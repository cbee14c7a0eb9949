package validator_test

import (
	"testing"

	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// BenchmarkIssuerPolicy: an Entra-shaped token through a validator of four
// issuers with their own checks (tid bound to the issuer, own audience,
// roles from "/roles"), then a route requirement of a scope or a role;
// uncached and cached, and the Keycloak shape with two role paths.
func BenchmarkIssuerPolicy(b *testing.B) {
	loadKeys(b)
	for _, tc := range []struct {
		name  string
		token string
		need  scopes.Requirement
	}{
		{"entra", entraToken(tenantA, map[string]any{"roles": []string{"Data.Read", "Data.Write"}}),
			scopes.AnyOf(scopes.Scope("read:data"), scopes.Role("Data.Read"))},
		{"keycloak", kcToken(map[string]any{"realm_access": map[string]any{"roles": []string{"a", "b"}},
			"resource_access": map[string]any{"orders-api": map[string]any{"roles": []string{"admin"}}}}),
			scopes.AllOf(scopes.Role("admin"))},
		{"keycloak/claim-term", kcToken(map[string]any{"tier": "gold"}), scopes.AllOf(scopes.Claim("/tier", "gold"))},
	} {
		for _, cached := range []bool{false, true} {
			name := tc.name + "/uncached"
			if cached {
				name = tc.name + "/cached"
			}
			b.Run(name, func(b *testing.B) {
				v := policyValidator(b)
				if !cached {
					v = policyValidator(b, validator.WithoutTokenCache())
				}
				ctx := b.Context()
				for range 2 { // admitted on the second sighting
					if _, err := v.Validate(ctx, tc.token); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				for b.Loop() {
					tok, err := v.Validate(ctx, tc.token)
					if err != nil || !tc.need.SatisfiedBy(tok) {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
