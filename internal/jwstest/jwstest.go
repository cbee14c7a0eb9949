// Package jwstest builds compact JWS tokens for tests, exactly as written.
//
// The header and claims are given as raw JSON strings and are encoded byte
// for byte, so a test can make what a JSON library would not: duplicate
// members, escaped member names, wrong types, trailing data, invalid UTF-8.
// Signers cover every algorithm the library accepts (RSA PKCS #1 v1.5,
// RSA-PSS, ECDSA with a fixed-size R||S signature, Ed25519 and HMAC) plus
// the wrong shapes an attacker sends (a DER-encoded ECDSA signature, fixed
// bytes), and a few helpers damage a finished token.
//
// The package is independent of the code under test: it uses the standard
// library alone and never imports this module's validator or jwks packages
// or any JOSE library, so a bug there cannot hide in both the token and its
// check.
package jwstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha256" // crypto.SHA256 for signers
	_ "crypto/sha512" // crypto.SHA384 and crypto.SHA512 for signers
	"encoding/base64"
	"encoding/json"
	"maps"
	"strings"
)

var b64 = base64.RawURLEncoding

// Encode is base64url without padding, the encoding of JWS segments and of
// the binary members of a JWK.
func Encode(b []byte) string { return b64.EncodeToString(b) }

// JSON marshals v and panics if it cannot; for claims and JWKs built from
// maps.
func JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Claims returns base with overrides as JSON: an override replaces or adds
// a member, and a nil override removes one. base is left as it is.
func Claims(base, overrides map[string]any) string {
	c := maps.Clone(base)
	for k, v := range overrides {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return JSON(c)
}

// A Signer returns the signature of a JWS signing input
// (BASE64URL(header) "." BASE64URL(claims)). Signers panic on failure.
type Signer func(signingInput []byte) []byte

// Token returns the compact JWS of header and claims, both used as given,
// signed by sign.
func Token(header, claims string, sign Signer) string {
	in := Encode([]byte(header)) + "." + Encode([]byte(claims))
	return in + "." + Encode(sign([]byte(in)))
}

func digest(h crypto.Hash, in []byte) []byte {
	w := h.New()
	w.Write(in)
	return w.Sum(nil)
}

func must(sig []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return sig
}

// RS signs with RSASSA-PKCS1-v1_5 over hash h (RS256: crypto.SHA256).
func RS(key *rsa.PrivateKey, h crypto.Hash) Signer {
	return func(in []byte) []byte { return must(rsa.SignPKCS1v15(rand.Reader, key, h, digest(h, in))) }
}

// PS signs with RSASSA-PSS over hash h, salt as long as the hash (PS256:
// crypto.SHA256).
func PS(key *rsa.PrivateKey, h crypto.Hash) Signer {
	return func(in []byte) []byte {
		return must(rsa.SignPSS(rand.Reader, key, h, digest(h, in), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}))
	}
}

// ES signs with ECDSA over hash h, as JWS wants it: R and S each padded to
// the curve's size and concatenated (ES256: crypto.SHA256 on P-256).
func ES(key *ecdsa.PrivateKey, h crypto.Hash) Signer {
	return func(in []byte) []byte {
		r, s, err := ecdsa.Sign(rand.Reader, key, digest(h, in))
		if err != nil {
			panic(err)
		}
		size := (key.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out
	}
}

// ESASN1 signs with ECDSA over hash h but encodes the signature in ASN.1
// DER, as X.509 does and JWS does not: a valid signature in the wrong shape.
func ESASN1(key *ecdsa.PrivateKey, h crypto.Hash) Signer {
	return func(in []byte) []byte { return must(ecdsa.SignASN1(rand.Reader, key, digest(h, in))) }
}

// EdDSA signs with Ed25519.
func EdDSA(key ed25519.PrivateKey) Signer {
	return func(in []byte) []byte { return ed25519.Sign(key, in) }
}

// HS computes an HMAC with hash h keyed with secret (HS256: crypto.SHA256).
func HS(secret []byte, h crypto.Hash) Signer {
	return func(in []byte) []byte {
		m := hmac.New(h.New, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

// Fixed returns sig whatever the input: nil for an empty signature (alg
// "none"), zeros, or any other chosen bytes.
func Fixed(sig []byte) Signer { return func([]byte) []byte { return sig } }

// SwapClaims replaces the claims of tok with claims, keeping its header and
// signature.
func SwapClaims(tok, claims string) string {
	p := strings.Split(tok, ".")
	p[1] = Encode([]byte(claims))
	return strings.Join(p, ".")
}

// StripSignature empties the signature of tok, keeping its final dot.
func StripSignature(tok string) string {
	return tok[:strings.LastIndexByte(tok, '.')+1]
}

// TruncateSignature drops the last n bytes of tok's decoded signature.
func TruncateSignature(tok string, n int) string {
	i := strings.LastIndexByte(tok, '.')
	sig, err := b64.DecodeString(tok[i+1:])
	if err != nil {
		panic(err)
	}
	return tok[:i+1] + Encode(sig[:len(sig)-n])
}

// Pad adds base64 padding ("=") to every segment of tok that would have it
// in padded base64url; JWS forbids it.
func Pad(tok string) string {
	p := strings.Split(tok, ".")
	for i := range p {
		if r := len(p[i]) % 4; r != 0 {
			p[i] += strings.Repeat("=", 4-r)
		}
	}
	return strings.Join(p, ".")
}
