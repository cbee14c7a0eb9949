package validator

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"math/big"
	"strings"
	"unsafe"
)

// b64 is base64url without padding, strict: '=' padding, the standard
// alphabet's '+' and '/', and non-zero trailing bits are all refused
// (RFC 7515 §2 and Appendix C).
var b64 = base64.RawURLEncoding.Strict()

// bytesOf views s as a byte slice without copying. The result must only be
// read.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// decodeSegment decodes a base64url segment into buf if it fits, else into
// a new slice.
func decodeSegment(seg string, buf []byte) ([]byte, bool) {
	n := b64.DecodedLen(len(seg))
	if n > len(buf) {
		buf = make([]byte, n)
	}
	n, err := b64.Decode(buf[:n], bytesOf(seg))
	if err != nil {
		return nil, false
	}
	return buf[:n], true
}

// splitCompact splits a compact serialization into its three segments. It
// reports ErrUnsupported for JWE (five segments) and JSON serialization,
// ErrMalformed for anything else that is not three segments.
func splitCompact(token string) (header, payload, sig string, err error) {
	i := strings.IndexByte(token, '.')
	if i < 0 {
		if strings.HasPrefix(token, "{") {
			return "", "", "", ErrUnsupported
		}
		return "", "", "", ErrMalformed
	}
	j := strings.IndexByte(token[i+1:], '.')
	if j < 0 {
		return "", "", "", ErrMalformed
	}
	j += i + 1
	if rest := token[j+1:]; strings.IndexByte(rest, '.') >= 0 {
		if strings.Count(rest, ".") == 2 {
			return "", "", "", ErrUnsupported // JWE compact: five segments
		}
		return "", "", "", ErrMalformed
	}
	header, payload, sig = token[:i], token[i+1:j], token[j+1:]
	if header == "" || payload == "" {
		return "", "", "", ErrMalformed
	}
	return header, payload, sig, nil
}

// verifySignature checks sig over signingInput with key (asymmetric) or
// secret (HMAC). The caller has checked that the key allows alg.
func verifySignature(alg algID, key *Key, secret []byte, signingInput string, sig []byte) bool {
	in := bytesOf(signingInput)
	switch alg {
	case algHS256, algHS384, algHS512:
		var h func() hash.Hash
		switch alg {
		case algHS256:
			h = sha256.New
		case algHS384:
			h = sha512.New384
		default:
			h = sha512.New
		}
		mac := hmac.New(h, secret)
		mac.Write(in)
		return hmac.Equal(mac.Sum(nil), sig)
	case algEdDSA:
		pub, ok := key.public.(ed25519.PublicKey)
		return ok && len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, in, sig)
	}
	var digestBuf [64]byte
	digest := digestOf(alg, in, &digestBuf)
	switch alg {
	case algRS256, algRS384, algRS512:
		pub, ok := key.public.(*rsa.PublicKey)
		return ok && rsa.VerifyPKCS1v15(pub, alg.hash(), digest, sig) == nil
	case algPS256, algPS384, algPS512:
		pub, ok := key.public.(*rsa.PublicKey)
		// RFC 7518 §3.5: the salt is as long as the hash output.
		return ok && rsa.VerifyPSS(pub, alg.hash(), digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	case algES256, algES384, algES512:
		pub, ok := key.public.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		// RFC 7518 §3.4: R and S, each as long as the curve order, concatenated.
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		// ecdsa.Verify refuses r or s outside [1, N-1], so an all-zero
		// signature (CVE-2022-21449) never verifies.
		return ecdsa.Verify(pub, digest, r, s)
	}
	return false
}

func digestOf(alg algID, in []byte, buf *[64]byte) []byte {
	switch alg {
	case algRS256, algPS256, algES256:
		d := sha256.Sum256(in)
		copy(buf[:], d[:])
		return buf[:32]
	case algRS384, algPS384, algES384:
		d := sha512.Sum384(in)
		copy(buf[:], d[:])
		return buf[:48]
	default:
		d := sha512.Sum512(in)
		copy(buf[:], d[:])
		return buf[:64]
	}
}
