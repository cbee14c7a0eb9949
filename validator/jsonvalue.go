package validator

// Decoding of raw values the strict reader (json.go) validated.

import (
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

func unhex(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

func hex4(b []byte) rune {
	return unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3])
}

// unescape decodes the body of a string scanString validated. Lone
// surrogates are an error: two different escapes must never decode to the
// same replacement character.
func unescape(s []byte) ([]byte, error) { return appendUnescaped(make([]byte, 0, len(s)), s) }

// appendUnescaped is unescape appending to out (which, with len(s) spare
// capacity, is never grown: unescaping never lengthens).
func appendUnescaped(out, s []byte) ([]byte, error) {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch s[i+1] {
		case '"', '\\', '/':
			out = append(out, s[i+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(s[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				if r >= 0xdc00 || i+6 > len(s) || s[i] != '\\' || s[i+1] != 'u' {
					return nil, errJSON
				}
				r = utf16.DecodeRune(r, hex4(s[i+2:]))
				if r == utf8.RuneError {
					return nil, errJSON
				}
				i += 6
			}
			out = utf8.AppendRune(out, r)
			continue
		}
		i += 2
	}
	return out, nil
}

// jsonString decodes a raw value that must be a JSON string, into a new
// string.
func jsonString(v []byte) (string, error) { return decodeString(v, false) }

// jsonStringView is jsonString for values inside a buffer that is never
// written again (a token's decoded claims, kept as long as the Token): an
// unescaped string is returned as a view of v instead of a copy.
func jsonStringView(v []byte) (string, error) { return decodeString(v, true) }

func decodeString(v []byte, view bool) (string, error) {
	if len(v) < 2 || v[0] != '"' {
		return "", errJSON
	}
	body := v[1 : len(v)-1]
	for _, c := range body {
		if c == '\\' {
			u, err := unescape(body)
			if err != nil {
				return "", err
			}
			return string(u), nil
		}
	}
	if view && len(body) > 0 {
		return unsafe.String(&body[0], len(body)), nil
	}
	return string(body), nil
}

// jsonStrings decodes a raw value that must be a JSON string or an array of
// JSON strings (no nesting, no other types).
func jsonStrings(v []byte) ([]string, error) { return decodeStrings(v, false, nil) }

// jsonStringsView is jsonStrings with the strings as views of v, under the
// same condition as [jsonStringView]. The list is built in buf's spare
// capacity while it fits (the room beside a Token in a tokenBlock), so a
// short one costs no allocation of its own; it is returned with no spare
// capacity.
func jsonStringsView(v []byte, buf []string) ([]string, error) { return decodeStrings(v, true, buf) }

func decodeStrings(v []byte, view bool, buf []string) ([]string, error) {
	if len(v) > 0 && v[0] == '"' {
		s, err := decodeString(v, view)
		if err != nil {
			return nil, err
		}
		return append(buf[:0], s)[:1:1], nil
	}
	if len(v) < 2 || v[0] != '[' {
		return nil, errJSON
	}
	out := buf[:0]
	i := skipWS(v, 1)
	if v[i] == ']' {
		return []string{}, nil
	}
	for {
		if v[i] != '"' {
			return nil, errJSON
		}
		end, _, err := scanString(v, i)
		if err != nil {
			return nil, err
		}
		s, err := decodeString(v[i:end], view)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		i = skipWS(v, end)
		if v[i] == ']' {
			return out[:len(out):len(out)], nil
		}
		if v[i] != ',' {
			return nil, errJSON
		}
		i = skipWS(v, i+1)
	}
}

// maxNumericDate bounds NumericDate values (year 5138): far enough for any
// real token, small enough that conversions never overflow.
const maxNumericDate = 1e11

// jsonNumericDate decodes a raw value that must be a non-negative JSON
// number (RFC 7519 §2 NumericDate; fractions allowed). A string, even of
// digits, is an error, and so is a number beyond float64. A date past
// maxNumericDate reads as maxNumericDate: RFC 7519 sets no bound, and some
// issuers write 253402300799 (the last second of 9999) for "never"; an
// "exp" that far is as good as none, and an "nbf", "iat" or "auth_time"
// that far is still in the future.
func jsonNumericDate(v []byte) (time.Time, error) {
	if len(v) == 0 || (v[0] != '-' && !isDigit(v[0])) {
		return time.Time{}, errJSON
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || math.IsNaN(f) || f < 0 {
		return time.Time{}, errJSON
	}
	f = min(f, maxNumericDate)
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}
