package main

import (
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
)

// TestInspectFarExp: the validator reads an "exp" past 1e11 (an issuer's
// "never", 253402300799) as year 5138 and accepts the token (SECURITY.md
// 107); the debugger read it as no exp and failed the row beside a
// "valid" decision.
func TestInspectFarExp(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	p := startInspect(t, iss.Client(), "--issuer", iss.URL, "--audience", "orders")
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders", "exp": 253402300799})
	rep, _ := p.inspect(map[string]any{"token": tok, "audience": "orders", "leeway": "1m"})
	row, _ := checkByID(rep, rowExpiry)
	t.Logf("decision %q; expiry row %q: %q", rep.Decision, row.Verdict, row.Reason)
	if rep.Decision != "valid" || row.Verdict == verdictFail {
		t.Errorf("the token is valid, yet the expiry row fails: %q", row.Reason)
	}
	for _, c := range rep.Claims {
		if c.Name == "exp" {
			t.Logf("exp claim row: %+v", c)
		}
	}
}

// TestInspectFarNbf: an "nbf" past 1e11 is read by the validator as year
// 5138 (not valid yet, refused); the page's nbf row said the token had
// none.
func TestInspectFarNbf(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	p := startInspect(t, iss.Client(), "--issuer", iss.URL, "--audience", "orders")
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders", "nbf": 1e12})
	rep, _ := p.inspect(map[string]any{"token": tok, "audience": "orders", "leeway": "1m"})
	row, _ := checkByID(rep, rowNotBefore)
	t.Logf("decision %q (%s); nbf row %q: %q", rep.Decision, rep.Summary, row.Verdict, row.Reason)
	if rep.Decision != "invalid" || row.Verdict != verdictFail {
		t.Errorf("refused as not yet valid, yet the nbf row says %q: %q", row.Verdict, row.Reason)
	}
}
