package validator

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzParseProof feeds arbitrary proofs to the proof checks: no panic, and
// nothing but a verified proof with a thumbprint is ever accepted.
func FuzzParseProof(f *testing.F) {
	enc := base64.RawURLEncoding.EncodeToString
	for _, seed := range []string{
		"",
		"a.b.c",
		enc([]byte(`{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}}`)) + "." + enc([]byte(`{"jti":"1","htm":"GET","htu":"https://a/b","iat":1,"ath":"x"}`)) + ".AAAA",
		enc([]byte(`{"typ":"dpop+jwt","alg":"RS256","jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}}`)) + ".e30.AA",
		enc([]byte(`{"typ":"dpop+jwt","alg":"EdDSA","jwk":{"kty":"OKP","crv":"Ed25519","x":"`+enc(make([]byte, 32))+`"}}`)) + ".e30." + enc(make([]byte, 64)),
	} {
		f.Add(seed)
	}
	v, err := New(WithIssuerSecret("https://i/", make([]byte, 32)), WithoutAudienceCheck())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, proof string) {
		jkt, _, err := v.verifyProof(proof, "GET", "https://a/b", "tok", "")
		if err == nil && jkt == "" {
			t.Fatalf("accepted %q without a thumbprint", proof)
		}
	})
}

// FuzzNormalizeHTU: normalization never panics and is idempotent, so two
// spellings of one URI always compare equal; a request URL it accepts
// normalizes as a proof's htu does, and one with dot segments is refused.
func FuzzNormalizeHTU(f *testing.F) {
	for _, s := range []string{"https://a.example/b", "HTTP://A:80/./b/../c?q#f", "https://[::1]:443/%7e", "https://a/%zz", "//a/b", "https://a:b@c/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := normalizeHTU(s)
		if !ok {
			return
		}
		if n2, ok2 := normalizeHTU(n); !ok2 || n2 != n {
			t.Fatalf("normalizeHTU(%q) = %q, but normalizeHTU(%q) = %q, %v", s, n, n, n2, ok2)
		}
		if r, ok := normalizeRequestURL(s); ok && r != n {
			t.Fatalf("normalizeRequestURL(%q) = %q, normalizeHTU %q", s, r, n)
		}
		if _, ok := normalizeRequestURL(s + "/../x"); ok && !strings.ContainsAny(s, "?#") {
			t.Fatalf("normalizeRequestURL accepts %q", s+"/../x")
		}
	})
}
