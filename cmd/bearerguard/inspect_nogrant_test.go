package main

import (
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
)

// The inspect page for tokens the Entra preset refuses: one that grants
// nothing fails the policy row (granting nothing is decided last, so every
// other row is checked); an expired one, or a DPoP-bound one sent as
// Bearer, fails on its own row, not as granting nothing.
func TestInspectNoGrantRows(t *testing.T) {
	const tenant, apiClient = "72f988bf-86f1-41af-91ab-2d7cd011db47", "6e74172b-be56-4843-9ff4-e66a39bb12e3"
	e := bearertest.NewEntra(t)
	p := startInspect(t, e.Client(), "--provider", "entra", "--entra-tenants", tenant, "--audience", apiClient, "--provider-url", e.URL)
	now := time.Now()
	for _, c := range []struct {
		name     string
		extra    bearertest.Claims
		failRow  string
		passRows []string
	}{
		{"grants nothing", nil, rowPolicy, []string{rowSignature, rowBinding}},
		{"dpop-bound, sent as Bearer", bearertest.Claims{"cnf": map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}, rowBinding, []string{rowSignature, rowPolicy}},
		{"expired", bearertest.Claims{"iat": now.Add(-3 * time.Hour).Unix(), "nbf": now.Add(-3 * time.Hour).Unix(), "exp": now.Add(-2 * time.Hour).Unix()}, rowExpiry, []string{rowSignature}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok := e.Token(t, bearertest.EntraToken{Tenant: tenant, Audience: apiClient, AppID: "stranger", Extra: c.extra})
			rep, raw := p.inspect(map[string]any{"token": tok, "leeway": "30s"})
			if rep.Decision != "invalid" {
				t.Fatalf("decision %q, want invalid\n%s", rep.Decision, raw)
			}
			var failed []string
			for _, r := range rep.Checks {
				if r.Verdict == verdictFail {
					failed = append(failed, r.ID)
				}
			}
			if len(failed) != 1 || failed[0] != c.failRow {
				t.Errorf("failed rows %v, want only %s\n%s", failed, c.failRow, raw)
			}
			for _, id := range c.passRows {
				if r, ok := checkByID(rep, id); !ok || r.Verdict != verdictPass {
					t.Errorf("row %s: %+v, want pass\n%s", id, r, raw)
				}
			}
			if c.failRow == rowPolicy {
				if r, _ := checkByID(rep, rowPolicy); !strings.Contains(r.Reason, "grants no scope, role or permission") {
					t.Errorf("policy row says %q", r.Reason)
				}
			}
		})
	}
}
