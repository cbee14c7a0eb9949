package forwardauth

import (
	"errors"
	"net/url"
	"strings"
)

// MaxURILength bounds the original request URI a gateway forwards.
const MaxURILength = 8 << 10

// ErrOriginalRequest is matched (errors.Is) by the error for a forwarded
// request whose method, URI or host cannot be used: it is refused with
// 400, never matched against the routes as something else.
var ErrOriginalRequest = errors.New("forwardauth: unusable original request")

// parseOriginalURI splits the origin-form request target a gateway
// forwarded ("/orders/7?x=1") into its escaped path and raw query. It
// refuses, rather than guesses at, every path that an upstream could read
// as another path than the one matched: not starting with '/', dot
// segments (also escaped), empty segments ("//"), escaped '/', '\', '?' or
// '#', a raw '\', ';' (path parameters, which some servers strip), a raw
// '#' anywhere (in the query too), bad escapes,
// and bytes outside printable ASCII; a segment escaped twice is checked
// again once decoded twice. The work is linear in the length,
// which is bounded by [MaxURILength].
func parseOriginalURI(s string) (escapedPath, rawQuery string, err error) {
	if s == "" || len(s) > MaxURILength || s[0] != '/' {
		return "", "", ErrOriginalRequest
	}
	if strings.IndexByte(s, '#') >= 0 {
		// A request target has no fragment, and upstreams disagree about a
		// raw '#': nginx passes it on, and a Go upstream reads what
		// follows it in the query as more parameters (an access_token
		// never looked at here). Refused, path or query.
		return "", "", ErrOriginalRequest
	}
	p, q, _ := strings.Cut(s, "?")
	for i := 0; i < len(q); i++ {
		if q[i] <= 0x20 || q[i] >= 0x7f {
			return "", "", ErrOriginalRequest
		}
	}
	if err := checkPath(p); err != nil {
		return "", "", err
	}
	return p, q, nil
}

// checkPath checks an escaped absolute path, segment by segment.
func checkPath(p string) error {
	if p == "/" {
		return nil
	}
	rest := p[1:]
	for {
		seg, more, found := strings.Cut(rest, "/")
		if seg == "" && found {
			return ErrOriginalRequest // "//"
		}
		if err := checkSegment(seg); err != nil {
			return err
		}
		if !found {
			return nil
		}
		rest = more
	}
}

func checkSegment(seg string) error {
	decoded := seg
	if strings.IndexByte(seg, '%') >= 0 {
		var err error
		if decoded, err = url.PathUnescape(seg); err != nil {
			return ErrOriginalRequest
		}
	}
	for i := 0; i < len(seg); i++ {
		if c := seg[i]; c <= 0x20 || c >= 0x7f || c == '\\' || c == ';' {
			return ErrOriginalRequest
		}
	}
	if unsafeDecoded(decoded) {
		return ErrOriginalRequest
	}
	if decoded != seg && strings.IndexByte(decoded, '%') >= 0 {
		// Escaped twice ("%252e%252e", "%252f"): an upstream, or a gateway
		// rewrite through a decoded variable, that decodes once more must
		// not find what is refused above. (Once more only: the work stays
		// linear.)
		if twice, err := url.PathUnescape(decoded); err == nil && unsafeDecoded(twice) {
			return ErrOriginalRequest
		}
	}
	return nil
}

// unsafeDecoded reports whether a decoded segment is a dot segment or
// holds a control, DEL, '/', '\', ';', '?' or '#' (a hop that decodes the
// path and parses it again ends the path at an escaped '?' or '#').
func unsafeDecoded(decoded string) bool {
	for i := 0; i < len(decoded); i++ {
		if c := decoded[i]; c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == ';' || c == '?' || c == '#' {
			return true
		}
	}
	return decoded == "." || decoded == ".."
}

// unescapedPath returns the decoded form of a path checkPath accepted.
func unescapedPath(p string) string {
	if strings.IndexByte(p, '%') < 0 {
		return p
	}
	u, err := url.PathUnescape(p)
	if err != nil {
		return p
	}
	return u
}
