package validator

import (
	"context"
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

// stringOf returns b as a string without copying. b must never be written
// afterwards: only slices this package allocated and then only reads pass.
func stringOf(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

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
	// encoding/base64 skips CR and LF even in Strict mode, and RFC 7515 §2
	// allows no line breaks: refused, so that one token has one spelling
	// (a cache, a deny list or a rate limit keyed by it cannot be dodged).
	if strings.ContainsAny(token, "\r\n") {
		return "", "", "", ErrMalformed
	}
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
	case algEdDSA, algEd25519:
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

// looksLikeJWS reports whether token has the shape of a compact JWS: three
// segments whose first decodes to something that starts as a JSON object.
func looksLikeJWS(token string) bool {
	h, _, _, err := splitCompact(token)
	if err != nil || len(h) < 4 {
		return false
	}
	var buf [3]byte
	n, err := b64.Decode(buf[:], bytesOf(h[:4]))
	return err == nil && n > 0 && buf[0] == '{'
}

// verifySigned verifies a compact JWS made by a trusted party other than a
// token issuer, such as a signed introspection response (RFC 9701): the
// header "typ" must equal typ (case-insensitively, "application/" prefix
// optional), "alg" must be one of [DefaultAlgorithms], and keys must yield
// a key that verifies the signature. It returns the payload. Errors match
// [ErrInvalidToken] classes, or [ErrUnavailable] when the keys cannot be
// had. The introspect package reaches it through internal/introspection.
func verifySigned(ctx context.Context, jws string, keys KeySource, typ string) ([]byte, error) {
	var allowed algSet
	for _, a := range DefaultAlgorithms {
		if id := parseAlg(string(a)); id != algUnknown && !hmacAlgs.has(id) {
			allowed |= 1 << id
		}
	}
	hseg, pseg, sseg, err := splitCompact(jws)
	if err != nil {
		return nil, err
	}
	hjson, ok := decodeSegment(hseg, nil)
	if !ok {
		return nil, ErrMalformed
	}
	h, err := parseHeader(hjson, allowed)
	if err != nil {
		return nil, err
	}
	t := strings.TrimPrefix(strings.ToLower(h.typ), "application/")
	if t != strings.ToLower(strings.TrimPrefix(typ, "application/")) {
		return nil, ErrType
	}
	payload, ok := decodeSegment(pseg, nil)
	if !ok {
		return nil, ErrMalformed
	}
	sig, ok := decodeSegment(sseg, nil)
	if !ok || len(sig) == 0 {
		return nil, ErrSignature
	}
	key, err := keys.Key(ctx, h.kid, algNames[h.alg])
	if err != nil {
		return nil, keyError(err)
	}
	if key == nil || !key.algs.has(h.alg) {
		return nil, ErrAlgorithm
	}
	if !verifySignature(h.alg, key, nil, jws[:len(hseg)+1+len(pseg)], sig) {
		return nil, ErrSignature
	}
	return payload, nil
}
