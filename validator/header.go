package validator

import "strings"

// header holds the JOSE header members the validator reads.
type header struct {
	alg algID
	kid string
	typ string
}

// parseHeader reads a JOSE header with the strict reader: "alg" must be
// present and in allowed; "kid" at most [MaxKeyIDLen]; extensions and JWE
// members are refused. Keys named in the header (jku, x5u, jwk, x5c) are
// never read. The "typ" is returned for the caller to check.
func parseHeader(b []byte, allowed algSet) (header, error) {
	var h header
	var r objectReader
	if err := r.init(b); err != nil {
		return h, ErrMalformed
	}
	sawAlg := false
	for {
		name, val, ok, err := r.next()
		if err != nil {
			return h, ErrMalformed
		}
		if !ok {
			break
		}
		switch string(name) {
		case "alg":
			s, err := jsonString(val)
			if err != nil {
				return h, ErrMalformed
			}
			sawAlg = true
			h.alg = parseAlg(s)
		case "kid":
			s, err := jsonString(val)
			if err != nil {
				return h, ErrMalformed
			}
			h.kid = s
		case "typ":
			s, err := jsonString(val)
			if err != nil {
				return h, ErrMalformed
			}
			h.typ = s
		case "cty":
			s, err := jsonString(val)
			if err != nil {
				return h, ErrMalformed
			}
			if strings.EqualFold(s, "JWT") || strings.EqualFold(s, "application/jwt") {
				return h, ErrUnsupported // nested JWT
			}
		case "crit", "b64", "enc", "zip":
			// Extensions we do not implement (RFC 7515 §4.1.11: a
			// recipient MUST reject crit it does not understand; RFC 7797
			// b64) and JWE members.
			return h, ErrUnsupported
		}
		// jku, x5u, jwk, x5c and x5t are never used to find or build a
		// key: keys come only from the issuer's configured key source.
	}
	if !sawAlg || !allowed.has(h.alg) {
		return h, ErrAlgorithm
	}
	if len(h.kid) > MaxKeyIDLen {
		return h, ErrUnknownKey
	}
	return h, nil
}

// typeAllowed: absent, "JWT" or "at+jwt" (RFC 9068 §2.1), with or without
// the "application/" prefix, compared case-insensitively (RFC 7515
// §4.1.9). In RFC 9068 mode only "at+jwt".
func (v *Validator) typeAllowed(typ string) bool {
	t := typ
	if len(t) > len("application/") && strings.EqualFold(t[:len("application/")], "application/") {
		t = t[len("application/"):]
	}
	if strings.EqualFold(t, "at+jwt") {
		return true
	}
	if v.rfc9068 {
		return false
	}
	return typ == "" || strings.EqualFold(t, "JWT")
}
