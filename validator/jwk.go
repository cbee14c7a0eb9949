package validator

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/big"
)

// Parsing of a public JWK carried in a DPoP proof (RFC 9449 §4.2), and its
// RFC 7638 thumbprint. This is the one place a key comes from a request:
// it only ever verifies the proof that carries it, and the token must be
// bound to its thumbprint; it never verifies an access token.

// maxProofRSABits bounds the RSA keys a proof may carry, so that an
// attacker cannot make us verify with a huge modulus.
const maxProofRSABits = 4096

var errJWK = errors.New("bad proof key")

// proofKey is a parsed proof key and its thumbprint.
type proofKey struct {
	key        *Key
	thumbprint string // base64url(SHA-256(canonical JWK)), RFC 7638
}

// parseProofJWK reads the "jwk" header member of a proof: a public RSA, EC
// (P-256, P-384, P-521) or OKP (Ed25519) key. A JWK with a private member
// is refused: a client that sends its private key has no key to prove.
func parseProofJWK(raw []byte) (proofKey, error) {
	var r objectReader
	if err := r.init(raw); err != nil {
		return proofKey{}, errJWK
	}
	var kty, crv, x, y, n, e string
	for {
		name, val, ok, err := r.next()
		if err != nil {
			return proofKey{}, errJWK
		}
		if !ok {
			break
		}
		var dst *string
		switch string(name) {
		case "kty":
			dst = &kty
		case "crv":
			dst = &crv
		case "x":
			dst = &x
		case "y":
			dst = &y
		case "n":
			dst = &n
		case "e":
			dst = &e
		case "d", "p", "q", "dp", "dq", "qi", "oth", "k":
			return proofKey{}, errJWK // private or symmetric key material
		default:
			continue
		}
		if *dst, err = jsonString(val); err != nil {
			return proofKey{}, errJWK
		}
	}
	var pub any
	var canonical string
	switch kty {
	case "EC":
		curve, size := ecCurve(crv)
		if curve == nil {
			return proofKey{}, errJWK
		}
		xb, okx := decodeFixed(x, size)
		yb, oky := decodeFixed(y, size)
		if !okx || !oky {
			return proofKey{}, errJWK
		}
		point := append(append([]byte{4}, xb...), yb...)
		k, err := ecdsa.ParseUncompressedPublicKey(curve, point) // refuses points off the curve
		if err != nil {
			return proofKey{}, errJWK
		}
		pub = k
		canonical = `{"crv":"` + crv + `","kty":"EC","x":"` + x + `","y":"` + y + `"}`
	case "RSA":
		nb, okn := decodeB64(n)
		eb, oke := decodeB64(e)
		if !okn || !oke || len(nb) == 0 || nb[0] == 0 || len(eb) == 0 || len(eb) > 4 || eb[0] == 0 {
			return proofKey{}, errJWK // leading zeros would give one key two thumbprints
		}
		mod := new(big.Int).SetBytes(nb)
		exp := new(big.Int).SetBytes(eb)
		if mod.BitLen() > maxProofRSABits || !exp.IsInt64() || exp.Int64() < 3 || exp.Int64() > 1<<31-1 || exp.Bit(0) == 0 {
			return proofKey{}, errJWK
		}
		pub = &rsa.PublicKey{N: mod, E: int(exp.Int64())}
		canonical = `{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`
	case "OKP":
		if crv != "Ed25519" {
			return proofKey{}, errJWK
		}
		xb, ok := decodeFixed(x, ed25519.PublicKeySize)
		if !ok || weakEd25519(xb) {
			return proofKey{}, errJWK
		}
		pub = ed25519.PublicKey(xb)
		canonical = `{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`
	default:
		return proofKey{}, errJWK
	}
	key, err := NewKey("", pub, "")
	if err != nil {
		return proofKey{}, errJWK
	}
	sum := sha256.Sum256([]byte(canonical))
	return proofKey{key: key, thumbprint: b64.EncodeToString(sum[:])}, nil
}

func ecCurve(crv string) (elliptic.Curve, int) {
	switch crv {
	case "P-256":
		return elliptic.P256(), 32
	case "P-384":
		return elliptic.P384(), 48
	case "P-521":
		return elliptic.P521(), 66
	}
	return nil, 0
}

// decodeB64 decodes strict base64url (no padding, canonical), so that a
// value has exactly one encoding and the thumbprint is well defined.
func decodeB64(s string) ([]byte, bool) {
	b, err := b64.DecodeString(s)
	return b, err == nil
}

func decodeFixed(s string, size int) ([]byte, bool) {
	b, ok := decodeB64(s)
	return b, ok && len(b) == size
}

// ed25519SmallOrder are the encodings, sign bit cleared, of the eight
// points of small order on edwards25519 (the identity, the point of order
// 2, two of order 4 and four of order 8 share these five values).
var ed25519SmallOrder = [...][32]byte{
	{},
	{0x01},
	{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
		0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
	{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
		0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
}

// weakEd25519 reports whether k, an Ed25519 public key, is a point of
// small order, for which anyone can make a signature verify without a
// private key (crypto/ed25519 accepts them, as RFC 8032 allows), or a
// non-canonical encoding (y ≥ 2^255-19), which would give one key two
// thumbprints. A DPoP proof key must be neither.
func weakEd25519(k []byte) bool {
	var c [32]byte
	copy(c[:], k)
	c[31] &= 0x7f // the sign of x
	for _, w := range ed25519SmallOrder {
		if c == w {
			return true
		}
	}
	// y ≥ p = 2^255 - 19: 0x7f, then thirty 0xff, then at least 0xed, in
	// little-endian order.
	if c[31] != 0x7f || c[0] < 0xed {
		return false
	}
	for _, b := range c[1:31] {
		if b != 0xff {
			return false
		}
	}
	return true
}
