package validator_test

// Regression tests for disagreements found by FuzzDifferentialClaims:
// correctly signed tokens that bearerguard accepts but reads differently
// from encoding/json and from its own documented guarantees (SECURITY.md
// "What the library guarantees", item 4), and one refusal of a real
// issuer's tokens.

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"testing"

	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

func diffClaims(extra string) string {
	return fmt.Sprintf(`{"iss":%q,"aud":%q,"exp":%d,"sub":"alice","client_id":"app"%s}`,
		testIssuer, testAud, testNow.Unix()+300, extra)
}

// TestDifferentialLoneSurrogate: SECURITY.md promises that lone surrogates
// are refused, and unescape refuses them so that "two different escapes
// never decode to the same replacement character". Values the validator
// does not decode itself escape that check: Claim and Decode then read
// "\ud800" and "\udbff" (and the literal U+FFFD) as the same string.
func TestDifferentialLoneSurrogate(t *testing.T) {
	v := newValidator(t, validator.WithoutTokenCache())
	for _, tc := range []struct{ name, extra string }{
		{"high surrogate in a custom claim", `,"tenant":"\ud800"`},
		{"low surrogate in a custom claim", `,"tenant":"\udc00"`},
		{"swapped pair", `,"tenant":"\udc00\ud800"`},
		{"in an array", `,"groups":["\ud800"]`},
		{"in a nested member name", `,"ext":{"\ud800":"x"}`},
		{"in a nested value", `,"ext":{"org":"\udbff"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := v.Validate(context.Background(), rs256(diffClaims(tc.extra)))
			if !errors.Is(err, validator.ErrMalformed) {
				var got map[string]any
				if tok != nil {
					_ = tok.Decode(&got)
				}
				t.Fatalf("Validate: err %v, want ErrMalformed; Decode reads %q", err, got)
			}
		})
	}
}

// TestDifferentialNestedDuplicate: duplicate member names are refused at
// the top level only. Inside a claim's object they are accepted; Claim and
// Decode (encoding/json) then keep the last, while the package's own path
// reader (roles, permissions, Grants on claim paths) errors on them: two
// readers of one accepted token disagree.
func TestDifferentialNestedDuplicate(t *testing.T) {
	v := newValidator(t, validator.WithoutTokenCache())
	for _, tc := range []struct{ name, extra, path, last string }{
		{"custom object", `,"org":{"role":"user","role":"admin"}`, "/org/role", "admin"},
		{"escaped duplicate", `,"org":{"role":"user","r\u006fle":"admin"}`, "/org/role", "admin"},
		{"keycloak realm_access", `,"realm_access":{"roles":["user"],"roles":["admin"]}`, "/realm_access/roles", "admin"},
		{"object in an array", `,"orgs":[{"id":"a","id":"b"}]`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := v.Validate(context.Background(), rs256(diffClaims(tc.extra)))
			if !errors.Is(err, validator.ErrMalformed) {
				var got map[string]any
				grants := false
				if tok != nil {
					_ = tok.Decode(&got)
					if tc.path != "" {
						grants = tok.Grants(scopes.Claim(tc.path, tc.last))
					}
				}
				t.Fatalf("Validate: err %v, want ErrMalformed; Decode reads %v; Grants(Claim(%q, %q)) = %v",
					err, got, tc.path, tc.last, grants)
			}
		})
	}
}

// TestDifferentialNumberRange: a number beyond float64 in a claim the
// validator does not read is accepted, but the token's own accessors
// cannot read it: Claim reports a present claim as absent and Decode
// fails, for every claim. encoding/json and jwx refuse the same claims.
func TestDifferentialNumberRange(t *testing.T) {
	v := newValidator(t, validator.WithoutTokenCache())
	for _, tc := range []struct{ name, extra, claim string }{
		{"1e400", `,"level":1e400`, "level"},
		{"-1e400", `,"level":-1e400`, "level"},
		{"in an object", `,"ext":{"n":1e999}`, "ext"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := v.Validate(context.Background(), rs256(diffClaims(tc.extra)))
			if !errors.Is(err, validator.ErrMalformed) {
				var m map[string]any
				var derr error
				present := false
				if tok != nil {
					_, present = tok.Claim(tc.claim)
					derr = tok.Decode(&m)
				}
				t.Fatalf("Validate: err %v, want ErrMalformed; Claim(%q) present=%v, Decode: %v", err, tc.claim, present, derr)
			}
		})
	}
}

// TestDifferentialDecodeCaseFold: member names are compared exactly (after
// unescaping) by the Token's fields and Claim, but Decode is encoding/json,
// which matches struct fields case-insensitively (with Unicode folding:
// "\u017f" is 's', "\u212a" is 'k') and keeps the last match. A token with
// two names equal under that folding, or a top-level name that folds to a
// claim the Token reads without being it, would make a struct decoded from
// an accepted token disagree with the Token's own fields: it is refused.
func TestDifferentialDecodeCaseFold(t *testing.T) {
	v := newValidator(t, validator.WithoutTokenCache(), validator.WithScopeClaim("permissions"))
	base := fmt.Sprintf(`"iss":%q,"aud":%q,"exp":%d`, testIssuer, testAud, testNow.Unix()+300)
	for _, tc := range []struct{ name, claims string }{
		{"SUB after sub", `{` + base + `,"sub":"alice","SUB":"admin"}`},
		{"long s", `{` + base + `,"sub":"alice","\u017fub":"admin"}`},
		{"Exp after exp", `{` + base + `,"Exp":9999999999}`},
		{"AUD after aud", `{` + base + `,"AUD":"other"}`},
		{"CLIENT_ID after client_id", `{` + base + `,"client_id":"app","CLIENT_ID":"admin-app"}`},
		{"SUB without sub", `{` + base + `,"SUB":"admin"}`},
		{"Scope without scope", `{` + base + `,"Scope":"admin"}`},
		{"a configured scope claim in capitals", `{` + base + `,"PERMISSIONS":["admin"]}`},
		{"custom claims equal under folding", `{` + base + `,"tenant":"a","Tenant":"b"}`},
		{"nested names equal under folding", `{` + base + `,"org":{"role":"user","Role":"admin"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := v.Validate(context.Background(), rs256(tc.claims))
			if !errors.Is(err, validator.ErrMalformed) {
				var m map[string]any
				if tok != nil {
					_ = tok.Decode(&m)
				}
				t.Fatalf("Validate: err %v, want ErrMalformed; Decode reads %v", err, m)
			}
		})
	}
	// A custom claim in capitals alone is the issuer's to name.
	if _, err := v.Validate(context.Background(), rs256(`{`+base+`,"Tenant":"b","org":{"Role":"x"}}`)); err != nil {
		t.Errorf("custom claims in capitals: %v", err)
	}
}

// TestDifferentialClientIDEmpty: ClientID is documented as "client_id",
// else "azp", else "cid"; a present but empty "client_id" falls through
// to "azp" (and "cid"), another claim naming possibly another party.
func TestDifferentialClientIDEmpty(t *testing.T) {
	v := newValidator(t, validator.WithoutTokenCache())
	claims := fmt.Sprintf(`{"iss":%q,"aud":%q,"exp":%d,"client_id":"","azp":"admin-console","cid":"x"}`,
		testIssuer, testAud, testNow.Unix()+300)
	tok, err := v.Validate(context.Background(), rs256(claims))
	if err != nil {
		t.Fatal(err)
	}
	if tok.ClientID != "" {
		t.Fatalf(`"client_id":"" gives ClientID %q`, tok.ClientID)
	}
}

// TestDifferentialScopeArray: Spring Authorization Server (Spring Security
// 7 JwtGenerator: claimsBuilder.claim("scope", authorizedScopes), a
// Set<String>) issues "scope" as a JSON array. bearerguard refuses every
// such token as malformed, and WithScopeClaim("scope") cannot change it.
// Wrongly strict rather than permissive.
func TestDifferentialScopeArray(t *testing.T) {
	v := newValidator(t, validator.WithoutTokenCache(), validator.WithScopeClaim("scope"))
	claims := fmt.Sprintf(`{"iss":%q,"sub":"user","aud":[%q],"nbf":%d,"scope":["read","write"],"exp":%d,"iat":%d,"jti":"5f4e"}`,
		testIssuer, testAud, testNow.Unix()-10, testNow.Unix()+300, testNow.Unix()-10)
	tok, err := v.Validate(context.Background(), jwstest.Token(`{"kid":"rsa-1","alg":"RS256"}`, claims, rs256Signer()))
	if err != nil {
		t.Fatalf("Spring Authorization Server token refused: %v", err)
	}
	if !tok.Scopes.Has("read") || !tok.Scopes.Has("write") {
		t.Fatalf("scopes %v", tok.Scopes.List())
	}
}

func rs256Signer() jwstest.Signer { return jwstest.RS(rsaKey, crypto.SHA256) }
