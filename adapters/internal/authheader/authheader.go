// Package authheader parses the credentials of an Authorization header
// value: the grammar of RFC 6750 §2.1 (Bearer) and RFC 9449 §7.1 (DPoP),
// one b64token after the scheme. The HTTP and gRPC adapters share it, so a
// header is read the same way whatever the transport.
package authheader

import (
	"fmt"
	"strings"

	"github.com/bearerguard/bearerguard/validator"
)

// Parse parses an Authorization value of the given scheme (lower case;
// matched in any case) whose credentials are one b64token. matched is
// false, with no error, for another scheme ("Basic …", "BearerX …"):
// RFC 6750 §3.1 answers that with a bare challenge. For the scheme itself
// it enforces the grammar: the scheme, 1*SP, one b64token, nothing after
// it; anything else ("Bearer" alone, a tab, bad characters, trailing text)
// is [validator.ErrMalformedHeader]. Spaces and tabs around the value are
// not part of it (RFC 9110 §5.5): Go's HTTP/1.1 server and Envoy drop
// them, while HTTP/2 and gRPC deliver them, and every transport must read
// one header alike.
func Parse(v, scheme string) (token string, matched bool, err error) {
	v = strings.Trim(v, " \t")
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", false, nil
	}
	rest := v[len(scheme):]
	if rest == "" {
		return "", true, validator.ErrMalformedHeader // "Bearer" alone
	}
	if rest[0] != ' ' {
		if isTokenChar(rest[0]) {
			return "", false, nil // another scheme, e.g. "BearerX"
		}
		return "", true, validator.ErrMalformedHeader
	}
	rest = strings.TrimLeft(rest, " ")
	if !IsB64Token(rest) {
		return "", true, validator.ErrMalformedHeader
	}
	return rest, true, nil
}

// IsB64Token reports whether s is a b64token (RFC 6750 §2.1):
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func IsB64Token(s string) bool {
	i := 0
	// Eight bytes a step, one branch per step: a token may be kilobytes
	// long, and this runs on every request.
	for ; len(s)-i >= 8; i += 8 {
		w := s[i : i+8]
		if b64Chars[w[0]]&b64Chars[w[1]]&b64Chars[w[2]]&b64Chars[w[3]]&
			b64Chars[w[4]]&b64Chars[w[5]]&b64Chars[w[6]]&b64Chars[w[7]] == 0 {
			break
		}
	}
	for i < len(s) && b64Chars[s[i]] != 0 {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(s) && s[i] == '=' {
		i++
	}
	return i == len(s)
}

// b64Chars is 1 for the b64token characters before the padding, 0 for
// every other byte.
var b64Chars = func() (t [256]uint8) {
	for c := range 256 {
		if isB64Char(byte(c)) {
			t[c] = 1
		}
	}
	return t
}()

func isB64Char(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
}

// isTokenChar reports an RFC 7230 tchar, for telling "BearerX" (another
// scheme) from "Bearer\t…" (a broken Bearer header).
func isTokenChar(c byte) bool {
	return isB64Char(c) && c != '/' || strings.IndexByte("!#$%&'*^`|", c) >= 0
}

// Proof returns the DPoP proof among a request's DPoP field values, ""
// when there is none. ok is false when there is more than one (RFC 9449
// §4.3 allows exactly one): two field lines, or one line holding a list,
// as a proxy that combines field lines writes them (RFC 9110 §5.3, with
// ","; a compact JWS never holds a ',').
func Proof(vals []string) (proof string, ok bool) {
	switch {
	case len(vals) == 0:
		return "", true
	case len(vals) > 1 || strings.IndexByte(vals[0], ',') >= 0:
		return "", false
	}
	return strings.Trim(vals[0], " \t"), true // as Parse: the spaces around are not the value's
}

// CheckRealm reports a realm that a challenge's quoted realm parameter
// cannot carry as it is: a quote, a backslash, a control or non-ASCII
// byte. Every adapter refuses such a realm when it is built rather than
// write it otherwise.
func CheckRealm(realm string) error {
	for i := 0; i < len(realm); i++ {
		if ch := realm[i]; ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\' {
			return fmt.Errorf("WithRealm: character %q not allowed", ch)
		}
	}
	return nil
}
