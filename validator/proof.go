package validator

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"time"
)

// MaxProofSize bounds a DPoP proof, in bytes: a proof carries one public key
// (an RSA-4096 JWK is under 1 KiB) and a few short claims.
const MaxProofSize = 4 << 10

// maxJTILen bounds a proof's "jti".
const maxJTILen = 256

// proofClaims are the members of a DPoP proof the checks read.
type proofClaims struct {
	jti, htm, htu, ath, nonce string
	iat                       time.Time
	hasNonce                  bool
}

// verifyProof checks a DPoP proof (RFC 9449 §4.3) for a request with method
// and the normalized URI htu, carrying token, and returns the proof key's
// thumbprint and its "jti". It checks the form ("typ" dpop+jwt, an allowed
// asymmetric "alg", a public "jwk" that fits it), the signature with that
// key, "htm", "htu", "ath" and "iat". The nonce and replay checks come
// after, in [Validator.checkProof]. When wantJKT is set, a proof key with
// another thumbprint is refused before its signature is checked: a
// stranger's key (an RSA-4096 one with a huge exponent, say) costs no
// verification.
func (v *Validator) verifyProof(proof, method, htu, token, wantJKT string) (string, proofClaims, error) {
	var pc proofClaims
	if len(proof) > MaxProofSize {
		return "", pc, ErrProofMalformed
	}
	hseg, pseg, sseg, err := splitCompact(proof)
	if err != nil {
		return "", pc, ErrProofMalformed
	}
	var hbuf [MaxProofSize]byte
	hjson, ok := decodeSegment(hseg, hbuf[:])
	if !ok {
		return "", pc, ErrProofMalformed
	}
	alg, jwk, err := parseProofHeader(hjson, v.dpop.algs)
	if err != nil {
		return "", pc, err
	}
	pk, err := parseProofJWK(jwk)
	if err != nil || !pk.key.algs.has(alg) {
		return "", pc, ErrProofMalformed
	}
	if wantJKT != "" && subtle.ConstantTimeCompare([]byte(pk.thumbprint), []byte(wantJKT)) != 1 {
		return "", pc, ErrBindingMismatch
	}
	var pbuf [1024]byte
	payload, ok := decodeSegment(pseg, pbuf[:])
	if !ok {
		return "", pc, ErrProofMalformed
	}
	var sbuf [1024]byte
	sig, ok := decodeSegment(sseg, sbuf[:])
	if !ok || len(sig) == 0 {
		return "", pc, ErrProofMalformed
	}
	if !verifySignature(alg, pk.key, nil, proof[:len(hseg)+1+len(pseg)], sig) {
		return "", pc, ErrProofSignature
	}
	if pc, err = parseProofClaims(payload); err != nil {
		return "", pc, err
	}
	if pc.htm != method {
		return "", pc, ErrProofMismatch
	}
	if got, ok := normalizeHTU(pc.htu); !ok || got != htu {
		return "", pc, ErrProofMismatch
	}
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare([]byte(pc.ath), []byte(b64.EncodeToString(sum[:]))) != 1 {
		return "", pc, ErrProofMismatch
	}
	// Old by at most the window (and the leeway); ahead by at most the
	// leeway, the clocks' skew: a proof dated further ahead would be
	// remembered against replay for longer (up to three minutes), which
	// let one client fill a bounded store sooner.
	now := v.now()
	if pc.iat.Before(now.Add(-(v.dpop.window + v.leeway))) || pc.iat.After(now.Add(v.leeway)) {
		return "", pc, ErrProofTime
	}
	return pk.thumbprint, pc, nil
}

// parseProofHeader reads a proof's JOSE header: "typ" must be dpop+jwt,
// "alg" one of allowed, "jwk" present. Extensions ("crit", "b64") and JWE
// members are refused; "kid", "jku", "x5u", "x5c" are ignored: the key is
// the "jwk".
func parseProofHeader(b []byte, allowed algSet) (algID, []byte, error) {
	var r objectReader
	if err := r.init(b); err != nil {
		return 0, nil, ErrProofMalformed
	}
	var alg algID
	var typ string
	var jwk []byte
	for {
		name, val, ok, err := r.next()
		if err != nil {
			return 0, nil, ErrProofMalformed
		}
		if !ok {
			break
		}
		switch string(name) {
		case "alg":
			s, err := jsonString(val)
			if err != nil {
				return 0, nil, ErrProofMalformed
			}
			alg = parseAlg(s)
		case "typ":
			if typ, err = jsonString(val); err != nil {
				return 0, nil, ErrProofMalformed
			}
		case "jwk":
			if len(val) == 0 || val[0] != '{' {
				return 0, nil, ErrProofMalformed
			}
			jwk = val
		case "crit", "b64", "enc", "zip", "cty":
			return 0, nil, ErrProofMalformed
		}
	}
	// "dpop+jwt", case-insensitively, with or without the "application/"
	// prefix (RFC 7515 §4.1.9: the same media type).
	if len(typ) > len("application/") && strings.EqualFold(typ[:len("application/")], "application/") {
		typ = typ[len("application/"):]
	}
	if !strings.EqualFold(typ, "dpop+jwt") || !allowed.has(alg) || jwk == nil {
		return 0, nil, ErrProofMalformed
	}
	return alg, jwk, nil
}

// parseProofClaims reads a proof's claims with the strict reader: "jti",
// "htm", "htu" and "ath" non-empty strings, "iat" a NumericDate, "nonce" a
// string when present.
func parseProofClaims(b []byte) (proofClaims, error) {
	var pc proofClaims
	var r objectReader
	if err := r.init(b); err != nil {
		return pc, ErrProofMalformed
	}
	var hasIat bool
	for {
		name, val, ok, err := r.next()
		if err != nil {
			return pc, ErrProofMalformed
		}
		if !ok {
			break
		}
		switch string(name) {
		case "jti":
			pc.jti, err = jsonString(val)
		case "htm":
			pc.htm, err = jsonString(val)
		case "htu":
			pc.htu, err = jsonString(val)
		case "ath":
			pc.ath, err = jsonString(val)
		case "nonce":
			pc.nonce, err = jsonString(val)
			pc.hasNonce = true
		case "iat":
			pc.iat, err = jsonNumericDate(val)
			hasIat = true
		}
		if err != nil {
			return pc, ErrProofMalformed
		}
	}
	if pc.jti == "" || len(pc.jti) > maxJTILen || pc.htm == "" || pc.htu == "" || pc.ath == "" || !hasIat {
		return pc, ErrProofMalformed
	}
	return pc, nil
}
