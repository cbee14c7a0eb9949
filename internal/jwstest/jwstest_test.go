package jwstest_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"go/parser"
	"go/token"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/internal/jwstest"
)

// split returns the signing input and the decoded signature of tok, and
// checks that its header and claims are the given strings byte for byte.
func split(t *testing.T, tok, header, claims string) ([]byte, []byte) {
	t.Helper()
	p := strings.Split(tok, ".")
	if len(p) != 3 {
		t.Fatalf("%d segments in %q", len(p), tok)
	}
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil {
			t.Fatalf("segment %q: %v", s, err)
		}
		return b
	}
	if h, c := dec(p[0]), dec(p[1]); string(h) != header || string(c) != claims {
		t.Fatalf("decoded %q %q, want %q %q", h, c, header, claims)
	}
	return []byte(p[0] + "." + p[1]), dec(p[2])
}

func TestSigners(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	secret := []byte("0123456789abcdef0123456789abcdef")
	sum := func(h crypto.Hash, in []byte) []byte { w := h.New(); w.Write(in); return w.Sum(nil) }
	rs := func(sig []byte, size int) (*big.Int, *big.Int) {
		if len(sig) != 2*size {
			return big.NewInt(0), big.NewInt(0)
		}
		return new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
	}
	tests := []struct {
		name   string
		sign   jwstest.Signer
		verify func(in, sig []byte) bool
	}{
		{"RS256", jwstest.RS(rsaKey, crypto.SHA256), func(in, sig []byte) bool {
			return rsa.VerifyPKCS1v15(&rsaKey.PublicKey, crypto.SHA256, sum(crypto.SHA256, in), sig) == nil
		}},
		{"RS512", jwstest.RS(rsaKey, crypto.SHA512), func(in, sig []byte) bool {
			return rsa.VerifyPKCS1v15(&rsaKey.PublicKey, crypto.SHA512, sum(crypto.SHA512, in), sig) == nil
		}},
		{"PS384", jwstest.PS(rsaKey, crypto.SHA384), func(in, sig []byte) bool {
			return rsa.VerifyPSS(&rsaKey.PublicKey, crypto.SHA384, sum(crypto.SHA384, in), sig, &rsa.PSSOptions{SaltLength: sha512.Size384}) == nil
		}},
		{"ES256", jwstest.ES(p256, crypto.SHA256), func(in, sig []byte) bool {
			r, s := rs(sig, 32)
			return ecdsa.Verify(&p256.PublicKey, sum(crypto.SHA256, in), r, s)
		}},
		{"ES384", jwstest.ES(p384, crypto.SHA384), func(in, sig []byte) bool {
			r, s := rs(sig, 48)
			return ecdsa.Verify(&p384.PublicKey, sum(crypto.SHA384, in), r, s)
		}},
		{"ES256 in DER", jwstest.ESASN1(p256, crypto.SHA256), func(in, sig []byte) bool {
			return sig[0] == 0x30 && ecdsa.VerifyASN1(&p256.PublicKey, sum(crypto.SHA256, in), sig)
		}},
		{"EdDSA", jwstest.EdDSA(edKey), func(in, sig []byte) bool { return ed25519.Verify(edPub, in, sig) }},
		{"HS256", jwstest.HS(secret, crypto.SHA256), func(in, sig []byte) bool {
			m := hmac.New(sha256.New, secret)
			m.Write(in)
			return hmac.Equal(m.Sum(nil), sig)
		}},
		{"Fixed", jwstest.Fixed([]byte{1, 2, 3}), func(_, sig []byte) bool { return string(sig) == "\x01\x02\x03" }},
		{"Fixed nil", jwstest.Fixed(nil), func(_, sig []byte) bool { return len(sig) == 0 }},
	}
	// Written as given: a duplicate member, an escaped name, invalid UTF-8.
	const header, claims = `{"alg":"X","alg":"Y","\u006bid":1}`, "{\"sub\":\"\xff\"}x"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, sig := split(t, jwstest.Token(header, claims, tt.sign), header, claims)
			if !tt.verify(in, sig) {
				t.Errorf("signature %x does not verify", sig)
			}
		})
	}
}

func TestMalformations(t *testing.T) {
	tok := jwstest.Token(`{"alg":"HS256"}`, `{"a":1}`, jwstest.Fixed([]byte("0123456789")))
	h, c, _ := strings.Cut(tok, ".")
	c, s, _ := strings.Cut(c, ".")
	base := map[string]any{"a": 1, "b": 2}
	tests := []struct{ name, got, want string }{
		{"SwapClaims", jwstest.SwapClaims(tok, `{"a":2}`), h + "." + jwstest.Encode([]byte(`{"a":2}`)) + "." + s},
		{"StripSignature", jwstest.StripSignature(tok), h + "." + c + "."},
		{"TruncateSignature", jwstest.TruncateSignature(tok, 4), h + "." + c + "." + jwstest.Encode([]byte("012345"))},
		{"Pad", jwstest.Pad("a.ab.abc.abcd"), "a===.ab==.abc=.abcd"},
		{"JSON", jwstest.JSON(map[string]any{"b": []int{1}, "a": "x"}), `{"a":"x","b":[1]}`},
		{"Claims", jwstest.Claims(base, map[string]any{"a": nil, "c": 3, "b": "y"}), `{"b":"y","c":3}`},
		{"Claims leaves base", jwstest.JSON(base), `{"a":1,"b":2}`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

// TestStandardLibraryOnly keeps the encoder independent of the code under
// test: a bug in this module or a JOSE library must not be in both the
// token and its check.
func TestStandardLibraryOnly(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "jwstest.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
			t.Errorf("jwstest imports %s: the standard library only", path)
		}
	}
}
