package main

import (
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
)

// A JWT refused for its claims' token kind (Keycloak "typ": "ID", Cognito
// "token_use": "id") is refused AFTER its signature held (claimSpans.kind,
// SECURITY.md 134). The inspect page must say so: the signature row passes,
// and the type row names the claim, not the header's "typ".
func TestInspectClaimKindRows(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	p := startInspect(t, iss.Client(), "--issuer", iss.URL, "--audience", "orders")
	for name, extra := range map[string]bearertest.Claims{
		`typ "ID"`:       {"aud": "orders", "typ": "ID"},
		`token_use "id"`: {"aud": "orders", "token_use": "id"},
	} {
		t.Run(name, func(t *testing.T) {
			tok := iss.Mint(t, extra, bearertest.WithHeader("typ", "at+jwt"))
			rep, raw := p.inspect(map[string]any{"token": tok, "audience": "orders", "leeway": "30s"})
			if rep.Decision != "invalid" {
				t.Fatalf("decision %q, want invalid\n%s", rep.Decision, raw)
			}
			if r, _ := checkByID(rep, rowSignature); r.Verdict != verdictPass {
				t.Errorf("signature row %+v: the signature was verified (kind() runs after it)", r)
			}
			if r, _ := checkByID(rep, rowType); r.Verdict != verdictFail || !strings.Contains(r.Reason, name) {
				t.Errorf("type row %+v: want a failure naming the claim (%s), not the header's typ", r, name)
			}
		})
	}
}
