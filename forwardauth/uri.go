package forwardauth

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// MaxURILength bounds the original request URI a gateway forwards.
const MaxURILength = 8 << 10

// ErrOriginalRequest is matched (errors.Is) by the error for a forwarded
// request whose method, URI or host cannot be used: it is refused with
// 400, never matched against the routes as something else.
var ErrOriginalRequest = errors.New("forwardauth: unusable original request")

// ErrAmbiguousPath is matched (errors.Is) by the error for a request
// refused because its path, as an upstream that ignores case or a
// trailing slash reads it, matches a route that decides otherwise than
// the route it matched ([UpstreamFile]); it matches [ErrOriginalRequest]
// too. The error is an [*AmbiguousPathError].
var ErrAmbiguousPath = errors.New("forwardauth: the path matches another route in another spelling")

// AmbiguousPathError names the two routes of a path refused with
// [ErrAmbiguousPath].
type AmbiguousPathError struct {
	// Route is the route the path matched as written.
	Route string
	// Other is the route it matched in another spelling ("default" for
	// the default, which the escapes as sent can reach).
	Other string
	// Spelling says which: "in another case", "with its escapes
	// undecoded", "with a trailing slash", "without its trailing slash",
	// "without its format suffix", or one of these in another case.
	Spelling string
}

// Error names both routes, and the setting that says the upstream never
// reads the path so; it does not repeat the path.
func (e *AmbiguousPathError) Error() string {
	setting := "upstream.case_sensitive"
	switch {
	case strings.Contains(e.Spelling, "format") && strings.Contains(e.Spelling, "case"):
		setting = "upstream.case_sensitive or upstream.no_format_suffix"
	case strings.Contains(e.Spelling, "format"):
		setting = "upstream.no_format_suffix"
	case strings.Contains(e.Spelling, "escapes") && strings.Contains(e.Spelling, "slash"):
		setting = "upstream.decoded_path or upstream.strict_slash"
	case strings.Contains(e.Spelling, "escapes"):
		setting = "upstream.decoded_path"
	case strings.Contains(e.Spelling, "slash") && !strings.Contains(e.Spelling, "case"):
		setting = "upstream.strict_slash"
	case strings.Contains(e.Spelling, "slash"):
		setting = "upstream.case_sensitive or upstream.strict_slash"
	}
	return fmt.Sprintf("%v: matched route %q, and route %q %s (set %s in the route file if the upstream never routes so)",
		ErrAmbiguousPath, e.Route, e.Other, e.Spelling, setting)
}

// Is reports whether target is [ErrAmbiguousPath] or [ErrOriginalRequest].
func (e *AmbiguousPathError) Is(target error) bool {
	return target == ErrAmbiguousPath || target == ErrOriginalRequest
}

// parseOriginalURI splits the origin-form request target a gateway
// forwarded ("/orders/7?x=1") into its escaped path and raw query. It
// refuses, rather than guesses at, every path that an upstream could read
// as another path than the one matched: not starting with '/', dot
// segments (also escaped), empty segments ("//"), escaped '/', '\', '?' or
// '#', a raw '\', ';' (path parameters, which some servers strip), a raw
// '#' anywhere (in the query too), bad escapes,
// bytes outside printable ASCII, and a segment escaped twice ("%2561",
// which decodes to an escape). The work is linear in the length,
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
	if decoded != seg && hasEscape(decoded) {
		// Escaped twice ("%252e%252e", "%252f", "%2561dmin"): an upstream,
		// or a gateway that proxies a decoded variable (nginx's $uri),
		// decodes once more, and finds a dot segment, a '/', or a route's
		// literal ("admin") that the route matched here never saw.
		// Refused, whatever the second decoding spells: no client needs
		// an escaped escape in a path.
		return ErrOriginalRequest
	}
	return nil
}

// hasEscape reports whether s holds a well-formed percent-encoding: a
// '%' that a second decoding would decode.
func hasEscape(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '%' && ishex(s[i+1]) && ishex(s[i+2]) {
			return true
		}
	}
	return false
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
