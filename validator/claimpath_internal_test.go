package validator

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/bearerguard/bearerguard/scopes"
)

// oracleHas is claimHas by encoding/json: the value at path is want, or an
// array holding want.
func oracleHas(doc []byte, path []string, want string) bool {
	var cur any
	if json.Unmarshal(doc, &cur) != nil {
		return false
	}
	for _, seg := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[seg]; !ok {
			return false
		}
	}
	switch v := cur.(type) {
	case string:
		return v == want
	case []any:
		return slices.Contains(v, any(want))
	}
	return false
}

// scanned runs the pre-signature scan the claims of a token go through,
// reporting whether they would reach the post-signature code at all.
func scanned(b []byte) bool {
	var s claimSpans
	return (*Validator)(nil).scanClaims(b, &s) == nil
}

// FuzzClaimPath feeds claims a signed token could carry and claim paths a
// configuration could name to the post-signature readers of roles,
// permissions and claim terms: they never panic, and agree with
// encoding/json on every document without duplicate members.
func FuzzClaimPath(f *testing.F) {
	for _, s := range [][2]string{
		{`{"roles":["a","b"]}`, "/roles"},
		{`{"realm_access":{"roles":["admin"]}}`, "/realm_access/roles"},
		{`{"resource_access":{"api":{"roles":["x",1,{"y":2}]}}}`, "/resource_access/api/roles"},
		{`{"a/b":{"~":"v"}}`, "/a~1b/~0"},
		{`{"t":"gold"}`, "/t"},
		{`{"t":["go\u006cd"]}`, "/t"},
		{`{"a":{"a":1,"a":2}}`, "/a/a"},
		{`{"a":[[["v"]]]}`, "/a"},
	} {
		f.Add([]byte(s[0]), s[1], "v")
	}
	f.Fuzz(func(t *testing.T, doc []byte, path, want string) {
		segs, err := scopes.ParseClaimPath(path)
		if err != nil || !scanned(doc) || !scopes.ValidName(want) {
			return
		}
		term := scopes.Claim(path, want)
		got := claimHas(doc, term)
		_, _, lookupErr := lookupClaim(doc, segs)
		if lookupErr != nil {
			if got {
				t.Fatalf("claimHas(%q, %q) true on a document with a duplicate member", doc, path)
			}
			return
		}
		if want2 := oracleHas(doc, segs, want); got != want2 {
			t.Fatalf("claimHas(%q, %q, %q) = %v, encoding/json says %v", doc, path, want, got, want2)
		}
		set, err := namesAt(doc, [][]string{segs})
		if err == nil {
			for _, n := range set.List() {
				if !scopes.ValidName(n) {
					t.Fatalf("namesAt(%q, %q) kept invalid name %q", doc, path, n)
				}
			}
		}
	})
}
