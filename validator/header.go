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
	h, _, err := readHeader(b, allowed, false)
	return h, err
}

// parseUnsignedHeader is parseHeader for a header whose signature is not
// checked yet: the strict reader's lax pass (see objectReader.lax), which
// allocates nothing and costs one pass over the bytes however the names
// are made. recheck says it left name checks: the caller runs parseHeader
// over the same bytes once the signature holds.
func parseUnsignedHeader(b []byte, allowed algSet) (h header, recheck bool, err error) {
	return readHeader(b, allowed, true)
}

// readHeader reads the header, in a lax pass if lax, and reports whether
// that pass left name checks.
func readHeader(b []byte, allowed algSet, lax bool) (h header, recheck bool, err error) {
	var r objectReader
	if err := r.init(b); err != nil {
		return h, false, ErrMalformed
	}
	var buf [64]byte // for escaped names, in a lax pass
	r.lax = lax
	sawAlg := false
	for {
		name, val, ok, err := r.nextInto(&buf)
		if err != nil {
			return h, false, ErrMalformed
		}
		if !ok {
			break
		}
		switch string(name) {
		case "alg":
			s, err := jsonString(val)
			if err != nil {
				return h, false, ErrMalformed
			}
			sawAlg = true
			h.alg = parseAlg(s)
		case "kid":
			s, err := jsonString(val)
			if err != nil {
				return h, false, ErrMalformed
			}
			h.kid = s
		case "typ":
			s, err := jsonString(val)
			if err != nil {
				return h, false, ErrMalformed
			}
			h.typ = s
		case "cty":
			s, err := jsonString(val)
			if err != nil {
				return h, false, ErrMalformed
			}
			if strings.EqualFold(s, "JWT") || strings.EqualFold(s, "application/jwt") {
				return h, false, ErrUnsupported // nested JWT
			}
		case "crit", "b64", "enc", "zip":
			// Extensions we do not implement (RFC 7515 §4.1.11: a
			// recipient MUST reject crit it does not understand; RFC 7797
			// b64) and JWE members.
			return h, false, ErrUnsupported
		case "jku", "x5u", "x5t", "x5t#S256":
			// Never used to find or build a key (keys come only from the
			// issuer's configured key source), but of their own type, as
			// RFC 7515 §4.1 says and the peers check: a token another
			// component parses again must not be refused there alone.
			if _, err := jsonString(val); err != nil {
				return h, false, ErrMalformed
			}
		case "jwk":
			if len(val) == 0 || val[0] != '{' {
				return h, false, ErrMalformed
			}
		case "x5c":
			if len(val) == 0 || val[0] != '[' {
				return h, false, ErrMalformed
			}
		}
	}
	if !sawAlg || !allowed.has(h.alg) {
		return h, false, ErrAlgorithm
	}
	if len(h.kid) > MaxKeyIDLen {
		return h, false, ErrUnknownKey
	}
	return h, r.deferred, nil
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
