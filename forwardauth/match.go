package forwardauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pattern is a net/http.ServeMux path pattern, as segments: the same
// parse as ServeMux's, so that a route matches exactly the paths a
// ServeMux holding only that pattern would route to it (tested against
// ServeMux itself).
type pattern struct {
	str  string
	segs []segment
}

// segment is a literal (unescaped; "/" stands for {$}), a single
// wildcard, or a multi wildcard (last; from {name...} or a trailing
// slash).
type segment struct {
	s     string
	raw   string // a literal as the pattern spells it, escapes and all
	wild  bool
	multi bool
}

// spelling is how an upstream could read a request's path: in any case,
// and with the escapes of a segment compared as sent, undecoded.
type spelling uint8

const (
	anyCase       spelling = 1 << iota
	asSent                 // a segment with an escape compares as sent with the literal as written (Express)
	asSentDecoded          // a segment with an escape compares as sent with the decoded literal (Echo, chi)
)

// maxPatternLength bounds a path pattern.
const maxPatternLength = 1024

// parsePattern parses a ServeMux path pattern (no method, no host).
func parsePattern(s string) (pattern, error) {
	switch {
	case s == "":
		return pattern{}, errors.New("empty path")
	case len(s) > maxPatternLength:
		return pattern{}, fmt.Errorf("longer than %d bytes", maxPatternLength)
	case s[0] != '/':
		return pattern{}, fmt.Errorf("%q does not start with '/' (method and host have fields of their own)", s)
	case !printable(s) || strings.ContainsAny(s, " ?#\\"):
		return pattern{}, fmt.Errorf("%q has a space, '?', '#', '\\' or a character outside printable ASCII", s)
	}
	if clean := path.Clean(s); clean != s && clean+"/" != s {
		return pattern{}, fmt.Errorf("%q is not a clean path: it could never match", s)
	}
	p := pattern{str: s}
	seen := map[string]bool{}
	rest := s
	for len(rest) > 0 {
		rest = rest[1:]
		if rest == "" {
			p.segs = append(p.segs, segment{wild: true, multi: true})
			break
		}
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			i = len(rest)
		}
		var seg string
		seg, rest = rest[:i], rest[i:]
		if !strings.Contains(seg, "{") {
			if strings.Contains(seg, "}") {
				return pattern{}, fmt.Errorf("%q: '}' outside a wildcard", s)
			}
			u, err := url.PathUnescape(seg)
			if err != nil || strings.ContainsAny(u, "/\\") || u == "." || u == ".." {
				return pattern{}, fmt.Errorf("%q: segment %q is badly escaped, or an escaped '/', '\\' or dot segment", s, seg)
			}
			p.segs = append(p.segs, segment{s: u, raw: seg})
			continue
		}
		if seg[0] != '{' || seg[len(seg)-1] != '}' {
			return pattern{}, fmt.Errorf("%q: a wildcard must be a whole segment", s)
		}
		name := seg[1 : len(seg)-1]
		if name == "$" {
			if rest != "" {
				return pattern{}, fmt.Errorf("%q: {$} not at the end", s)
			}
			p.segs = append(p.segs, segment{s: "/"})
			break
		}
		name, multi := strings.CutSuffix(name, "...")
		if multi && rest != "" {
			return pattern{}, fmt.Errorf("%q: {%s...} not at the end", s, name)
		}
		if !isWildcardName(name) {
			return pattern{}, fmt.Errorf("%q: bad wildcard name %q", s, name)
		}
		if seen[name] {
			return pattern{}, fmt.Errorf("%q: wildcard %q twice", s, name)
		}
		seen[name] = true
		p.segs = append(p.segs, segment{s: name, wild: true, multi: multi})
	}
	if err := servemuxAccepts(s); err != nil {
		return pattern{}, err
	}
	return p, nil
}

// servemuxAccepts checks that net/http.ServeMux takes s as a pattern too,
// so the route file's syntax is exactly ServeMux's.
func servemuxAccepts(s string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%q is not a ServeMux pattern: %v", s, r)
		}
	}()
	http.NewServeMux().Handle(s, http.NotFoundHandler())
	return nil
}

func isWildcardName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !unicode.IsLetter(c) && c != '_' && (i == 0 || !unicode.IsDigit(c)) {
			return false
		}
	}
	return true
}

// match reports whether the clean, escaped path p (one parseOriginalURI
// accepted) matches, as ServeMux's routing tree decides for a lone pattern: literal
// segments compare with the unescaped request segment, a single wildcard
// takes one segment but never a trailing slash, a multi wildcard takes
// the rest (at least "/"), {$} only the trailing slash.
func (pt *pattern) match(p string) bool { return pt.matchAs(p, 0) }

// matchFold is match, with literal segments compared in any case (foldKey)
// when fold is set: the routing of an upstream that ignores case.
func (pt *pattern) matchFold(p string, fold bool) bool { return pt.matchAs(p, caseIf(fold)) }

func caseIf(fold bool) spelling {
	if fold {
		return anyCase
	}
	return 0
}

// matchAs is match for p spelt as sp says: with anyCase, literal segments
// compare in any case (foldKey), the routing of an upstream that ignores
// case; with asSent, a segment holding an escape compares with the
// literal as the pattern spells it, undecoded, as Express, and Echo and
// chi (for a path Go would escape otherwise), route it.
func (pt *pattern) matchAs(p string, sp spelling) bool {
	fold := sp&anyCase != 0
	segs := pt.segs
	for {
		if len(segs) == 0 {
			return p == ""
		}
		if p == "" {
			return false
		}
		sg := segs[0]
		if sg.multi {
			return true
		}
		seg, rest := firstSegment(p)
		switch {
		case sg.wild:
			if segmentIs(seg, "/") {
				return false
			}
		case sp&asSent != 0 && strings.IndexByte(seg, '%') >= 0:
			if same, _ := equalAnyCase(seg, sg.raw, false); seg != sg.raw && !(fold && same) {
				return false
			}
		case sp&asSentDecoded != 0 && strings.IndexByte(seg, '%') >= 0:
			if seg != sg.s {
				return false
			}
		case !segmentFold(seg, sg.s, fold):
			return false
		}
		segs, p = segs[1:], rest
	}
}

// firstSegment splits off the first segment of p (which begins with
// '/'), still escaped, as ServeMux does before unescaping it; "/" alone is
// the segment "/".
func firstSegment(p string) (seg, rest string) {
	if p == "/" {
		return "/", ""
	}
	p = p[1:]
	i := strings.IndexByte(p, '/')
	if i < 0 {
		i = len(p)
	}
	return p[:i], p[i:]
}

// segmentIs reports whether the escaped segment seg, unescaped as
// ServeMux does (url.PathUnescape; as it is when badly escaped), is lit.
// It decodes as it compares, without allocating, and stops at the first
// difference: the comparison costs at most the literal's length. Finding
// the segment and whether it holds an escape (IndexByte, vectorized) is
// the only work per route that grows with the request, so a decision
// costs routes × path length at worst, once per reading of the path (a
// few), never more (a segment decoded whole once per route would cost
// routes × 8 KiB and an allocation each).
func segmentIs(seg, lit string) bool { return segmentFold(seg, lit, false) }

// segmentFold is segmentIs, comparing in any case when fold is set (see
// foldKey).
func segmentFold(seg, lit string, fold bool) bool {
	if fold {
		return segmentAnyCase(seg, lit)
	}
	if strings.IndexByte(seg, '%') < 0 {
		return seg == lit
	}
	j := 0
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c == '%' {
			if i+2 >= len(seg) || !ishex(seg[i+1]) || !ishex(seg[i+2]) {
				return seg == lit // badly escaped: ServeMux compares it as it is
			}
			c = unhex(seg[i+1])<<4 | unhex(seg[i+2])
			i += 2
		}
		if j >= len(lit) || lit[j] != c {
			// A bad escape further on would make the whole segment
			// compare as it is.
			return seg == lit && !validEscapes(seg)
		}
		j++
	}
	return j == len(lit)
}

// segmentAnyCase is segmentIs comparing letters by foldKey, with the same
// bound: it stops at the first difference.
func segmentAnyCase(seg, lit string) bool {
	if strings.IndexByte(seg, '%') < 0 {
		same, _ := equalAnyCase(seg, lit, false)
		return same
	}
	same, bad := equalAnyCase(seg, lit, true)
	if same {
		return true
	}
	// Badly escaped (here or, past the first difference, further on):
	// ServeMux compares the segment as it is.
	asIs, _ := equalAnyCase(seg, lit, false)
	return asIs && (bad || !validEscapes(seg))
}

// equalAnyCase reports whether s, percent-decoded when decode is set, and
// lit are the same runes by foldKey (bytes that are no valid UTF-8
// compare as they are). bad reports an invalid escape met before the
// first difference.
func equalAnyCase(s, lit string, decode bool) (same, bad bool) {
	i, j := 0, 0
	for i < len(s) && j < len(lit) {
		if c, l := s[i], lit[j]; c < utf8.RuneSelf && l < utf8.RuneSelf && (!decode || c != '%') {
			if lower(c) != lower(l) {
				return false, false
			}
			i, j = i+1, j+1
			continue
		}
		r, valid, next, ok := runeAt(s, i, decode)
		if !ok {
			return false, true
		}
		l, lvalid, lnext, _ := runeAt(lit, j, false)
		if valid != lvalid || valid && foldKey(r) != foldKey(l) || !valid && r != l {
			return false, false
		}
		i, j = next, lnext
	}
	return i == len(s) && j == len(lit), false
}

// runeAt decodes the rune that starts at s[i] (percent-decoding each of
// its bytes when decode is set) and returns it and where the next one
// starts. A byte that starts no valid UTF-8 sequence is returned alone,
// as its value, with valid false. ok is false at an invalid escape.
func runeAt(s string, i int, decode bool) (r rune, valid bool, next int, ok bool) {
	byteAt := func(k int) (byte, int, bool) {
		if !decode || s[k] != '%' {
			return s[k], k + 1, true
		}
		if k+2 >= len(s) || !ishex(s[k+1]) || !ishex(s[k+2]) {
			return 0, k, false
		}
		return unhex(s[k+1])<<4 | unhex(s[k+2]), k + 3, true
	}
	c, next, ok := byteAt(i)
	if !ok || c < utf8.RuneSelf {
		return rune(c), true, next, ok
	}
	var buf [utf8.UTFMax]byte
	var ends [utf8.UTFMax]int
	buf[0], ends[0] = c, next
	n := 1
	for n < utf8.UTFMax && ends[n-1] < len(s) && !utf8.FullRune(buf[:n]) {
		b, e, ok := byteAt(ends[n-1])
		if !ok {
			break // the rune ends here; the escape is met as the next one
		}
		buf[n], ends[n] = b, e
		n++
	}
	r, size := utf8.DecodeRune(buf[:n])
	if r == utf8.RuneError && size <= 1 {
		return rune(c), false, next, true
	}
	return r, true, ends[size-1], true
}

// foldKey is what a router comparing paths in any case by Unicode's simple
// case mappings reads r as: the lower case of its upper case. So "ı"
// (U+0131) and "İ" (U+0130) are "i", "ſ" (U+017F) is "s", the Kelvin sign
// is "k" and "É" is "é", as Java's equalsIgnoreCase and .NET's
// OrdinalIgnoreCase take them, and every set of letters strings.EqualFold
// takes as one is one (tested over every rune).
func foldKey(r rune) rune {
	if r < utf8.RuneSelf {
		return rune(lower(byte(r)))
	}
	return unicode.ToLower(unicode.ToUpper(r))
}

// lower is c in lower case, if it is an ASCII letter.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func validEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// matchesAs reports whether r matches a request for method, host (lower
// case, no port) and the clean escaped path p spelt as sp says.
func (r *Route) matchesAs(method, host, p string, sp spelling) bool {
	if r.host != "" && r.host != host {
		return false
	}
	if len(r.methods) > 0 {
		found := false
		for _, m := range r.methods {
			if m == method {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return r.pattern.matchAs(p, sp)
}

// Match returns the route that decides a request: the first route, in
// file order, whose host, methods and path all match, or the default.
// path is the request's escaped path (the front ends refuse, before
// matching, every path that is not clean: dot segments, "//", escaped '/');
// host may carry a port.
func (rs *Rules) Match(method, host, path string) *Route {
	h, _ := normalizeHost(host)
	return rs.match(method, h, path, false)
}

// match is Match for a normalized host, comparing path literals in any
// case when fold is set.
func (rs *Rules) match(method, host, path string, fold bool) *Route {
	return rs.matchAs(method, host, path, caseIf(fold))
}

// matchAs is match for the path spelt as sp says.
func (rs *Rules) matchAs(method, host, path string, sp spelling) *Route {
	n := strings.Count(path, "/")
	for i := range rs.routes {
		if rs.routes[i].pattern.fits(n) && rs.routes[i].matchesAs(method, host, path, sp) {
			return &rs.routes[i]
		}
	}
	return &rs.fallback
}

// otherSpelling returns the name of a route of the file, deciding
// otherwise than route, that an upstream reading the escaped path p more
// loosely than ServeMux could serve it by, and how (empty when there is
// none). The readings:
//
//   - in another case, by foldKey (unless the file says the upstream routes
//     case-sensitively): any route matching p so but not as written;
//   - with its escapes as sent (unless the file says the upstream routes
//     the decoded path), as Express matches a path (a segment with an escape
//     compares with the literal as the pattern spells it, in any case unless
//     case-sensitive), and as Echo and chi route a path that Go escapes
//     otherwise than sent (no escaped segment is any literal): the route the
//     upstream then takes, the default included, and any route matching so
//     but not as written;
//   - with a trailing slash added or taken away (unless the file says the
//     upstream's slashes are strict), also in another case: any route
//     matching so but not p as written. A route that matches both is one
//     the upstream serves p by only if route itself does not: a catch-all
//     after specific routes is no other reading of them.
//
// Such an upstream could serve the handler that route protects (a
// handler spelled as its pattern) to a request decided by route: the
// caller refuses the request.
func (rs *Rules) otherSpelling(method, host, p string, route *Route) (other, how string) {
	up := rs.upstream
	if up.CaseSensitive && up.StrictSlash && up.DecodedPath && up.NoFormatSuffix {
		return "", ""
	}
	anyCaseIf := caseIf(!up.CaseSensitive)
	if anyCaseIf != 0 {
		if r := rs.otherReading(method, host, p, p, anyCase, route, servedByRoute); r != nil {
			return r.name, "in another case"
		}
	}
	if !up.DecodedPath && strings.IndexByte(p, '%') >= 0 {
		if r := rs.otherReading(method, host, p, p, asSent|anyCaseIf, route, servedIfMatchedOrDefault); r != nil {
			return r.name, "with its escapes undecoded"
		}
		if !goEscapes(p) {
			if r := rs.otherReading(method, host, p, p, asSentDecoded, route, servedIfMatchedOrDefault); r != nil {
				return r.name, "with its escapes undecoded"
			}
		}
	}
	if !up.NoFormatSuffix {
		// Rails serves /orders/admin.json (and /orders/admin.json/) by the
		// handler of /orders/admin, Spring's suffix patterns also
		// /orders/admin.tar.gz: the path taken at the last and the first
		// dot of its last segment.
		for _, q := range withoutFormat(p, up.StrictSlash) {
			if r := rs.otherReading(method, host, p, q, 0, route, servedIfMatched); r != nil {
				return r.name, "without its format suffix"
			}
			if anyCaseIf != 0 {
				if r := rs.otherReading(method, host, p, q, anyCase, route, servedIfMatched); r != nil {
					return r.name, "in another case and without its format suffix"
				}
			}
		}
	}
	if up.StrictSlash || p == "/" {
		return "", ""
	}
	// A slash added is served by route's handler (Express, Echo's
	// AddTrailingSlash, whose last parameter takes the slash); a slash
	// taken away (Echo's RemoveTrailingSlash) by the handler of the path
	// without it.
	q, how, served := p+"/", "with a trailing slash", servedByRoute
	if strings.HasSuffix(p, "/") {
		q, how, served = p[:len(p)-1], "without its trailing slash", servedIfMatched
	}
	if r := rs.otherReading(method, host, p, q, 0, route, served); r != nil {
		return r.name, how
	}
	if anyCaseIf != 0 {
		if r := rs.otherReading(method, host, p, q, anyCase, route, served); r != nil {
			return r.name, "in another case and " + how
		}
	}
	return "", ""
}

// withoutFormat returns p without a format suffix of its last segment,
// taken at the segment's last dot and, if another, its first: none when
// the segment has no dot after its first byte. A dot escaped as %2E
// counts too (Spring decodes the path before it matches a suffix). A
// trailing slash is taken away first unless strictSlash.
func withoutFormat(p string, strictSlash bool) []string {
	if !strictSlash && len(p) > 1 && strings.HasSuffix(p, "/") {
		p = p[:len(p)-1]
	}
	start := strings.LastIndexByte(p, '/') + 1
	seg := p[start:]
	first, last := -1, -1
	for i := 1; i < len(seg); i++ {
		if seg[i] == '.' || seg[i] == '%' && i+2 < len(seg) && seg[i+1] == '2' && seg[i+2]|0x20 == 'e' {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if last < 0 {
		return nil
	}
	out := []string{p[:start+last]}
	if first != last {
		out = append(out, p[:start+first])
	}
	return out
}

// served says which handler an upstream reading a path otherwise serves
// it by.
type served uint8

const (
	// servedByRoute: the deciding route's, if no route more specific to
	// the reading takes it (another case, a slash added).
	servedByRoute served = iota
	// servedIfMatched: the deciding route's if it matches the reading,
	// else the first route's that does (a slash taken away).
	servedIfMatched
	// servedIfMatchedOrDefault: as servedIfMatched, and the default's if
	// no route matches the reading (escapes as sent: another path).
	servedIfMatchedOrDefault
)

// otherReading returns a route deciding otherwise than route that an
// upstream reading p as q spelt as sp could serve it by, or nil: any
// route matching q so but not p as written, unless an earlier route
// deciding as route does, at least as specific, takes the reading first
// (in file order and by specificity); and, where route's handler does not
// serve the reading (sv), the first route matching q so, or the default.
//
// One pass: the earlier routes that could take a reading are those met
// on the way, and only the first maxTakers of them are looked at, so a
// decision stays linear in the routes whatever the file (a route left
// unexcused is refused: the safe side).
func (rs *Rules) otherReading(method, host, p, q string, sp spelling, route *Route, sv served) *Route {
	routeServes := sv == servedByRoute || route != &rs.fallback && route.matchesAs(method, host, q, sp)
	first := true
	var buf [maxTakers]*pattern
	takers := buf[:0]
	n := strings.Count(q, "/")
	for i := range rs.routes {
		r := &rs.routes[i]
		if !r.pattern.fits(n) || !r.matchesAs(method, host, q, sp) {
			continue
		}
		if sameDecision(r, route) {
			if len(takers) < maxTakers {
				takers = append(takers, &r.pattern)
			}
		} else if first && !routeServes || !r.matchesAs(method, host, p, 0) && !slices.ContainsFunc(takers, func(e *pattern) bool { return e.narrower(&r.pattern) }) {
			return r
		}
		first = false
	}
	if first && !routeServes && sv == servedIfMatchedOrDefault && !sameDecision(&rs.fallback, route) {
		return &rs.fallback
	}
	return nil
}

// maxTakers bounds the earlier routes otherReading looks at for each
// route that could serve a reading.
const maxTakers = 8

// covers reports whether pt matches every path o matches: segment by
// segment, a multi wildcard covers the rest, a wildcard any literal but
// {$} (the trailing slash) and any wildcard, a literal the same literal.
func (pt *pattern) covers(o *pattern) bool {
	for i, os := range o.segs {
		if i == len(pt.segs) {
			return false
		}
		ps := pt.segs[i]
		switch {
		case ps.multi:
			return true
		case os.multi:
			return false
		case ps.wild:
			if !os.wild && os.s == "/" {
				return false
			}
		case os.wild || ps.s != os.s:
			return false
		}
	}
	return len(pt.segs) == len(o.segs)
}

// fits reports whether a path of n segments (its count of '/', a
// trailing slash being a segment of its own) could match: exactly as many
// as the pattern has, or, for a multi wildcard, at least as many. A quick
// test that spares most routes the comparison.
func (pt *pattern) fits(n int) bool {
	if k := len(pt.segs); k > 0 && pt.segs[k-1].multi {
		return n >= k
	}
	return n == len(pt.segs)
}

// narrower reports whether pt is at least as specific as o, segment by
// segment: a literal is narrower than a wildcard, which is narrower than
// a multi wildcard; {$} is narrower than a multi wildcard only. (It
// answers for patterns that both match a path; it is not a subset test.)
func (pt *pattern) narrower(o *pattern) bool {
	for i := 0; ; i++ {
		if i == len(o.segs) {
			return i == len(pt.segs)
		}
		os := o.segs[i]
		if os.multi {
			return true
		}
		if i == len(pt.segs) {
			return false
		}
		ps := pt.segs[i]
		switch {
		case ps.multi:
			return false
		case os.wild:
			if !ps.wild && ps.s == "/" {
				return false
			}
		case ps.wild || ps.s != os.s:
			return false
		}
	}
}

// goEscapes reports whether the escaped path p is as Go's net/url
// escapes its decoded form: where it is not, Go keeps p as URL.RawPath,
// and Echo and chi route on that, escapes undecoded.
func goEscapes(p string) bool {
	return (&url.URL{Path: unescapedPath(p)}).EscapedPath() == p
}

// sameDecision reports whether routes a and b ask the same of a request:
// both open, both deny, or both the same token requirement.
func sameDecision(a, b *Route) bool {
	switch {
	case a == b:
		return true
	case a.access != b.access:
		return false
	case a.access != AccessToken:
		return true
	}
	return a.asks == b.asks
}
