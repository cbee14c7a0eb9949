package forwardauth

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// segmentIs decides exactly as decoding the segment with url.PathUnescape
// (ServeMux's way, kept as it is when badly escaped) and comparing: the
// allocation-free matching changes the cost, never the answer.
func TestRedteamSegmentIsLikePathUnescape(t *testing.T) {
	old := func(seg, lit string) bool {
		if u, err := url.PathUnescape(seg); err == nil {
			seg = u
		}
		return seg == lit
	}
	alphabet := []byte("aA%2f5eZ/+ ")
	r := rand.New(rand.NewPCG(1, 2))
	gen := func() string {
		b := make([]byte, r.IntN(8))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	fixed := [][2]string{{"%41", "A"}, {"%4", "%4"}, {"%41%zz", "%41%zz"}, {"%41%zz", "A%zz"}, {"%2F", "/"}, {"%2f", "/"},
		{"/", "/"}, {"a%", "a%"}, {"%%41", "%A"}, {"%%41", "%%41"}, {"", ""}, {"%", ""}, {"abc", "ab"}, {"%41bc", "Abcd"}}
	for _, c := range fixed {
		if got, want := segmentIs(c[0], c[1]), old(c[0], c[1]); got != want {
			t.Errorf("segmentIs(%q, %q) = %v, want %v", c[0], c[1], got, want)
		}
	}
	for range 200000 {
		seg, lit := gen(), gen()
		if r.IntN(3) == 0 { // often a literal the segment decodes to
			if u, err := url.PathUnescape(seg); err == nil {
				lit = u
			}
		}
		if got, want := segmentIs(seg, lit), old(seg, lit); got != want {
			t.Fatalf("segmentIs(%q, %q) = %v, want %v", seg, lit, got, want)
		}
	}
}

// segmentFold with fold set decides as decoding the segment and comparing
// its runes as Java's equalsIgnoreCase does (the same, the same upper
// case, or the same lower case of the upper case: "ı", "İ", "I" and "i"
// are one letter, so are the Kelvin sign and "k", "É" and "é"); without
// fold it is segmentIs.
func TestSegmentFoldLikePathUnescapeEqualFold(t *testing.T) {
	ref := func(seg, lit string) bool {
		if u, err := url.PathUnescape(seg); err == nil {
			seg = u
		}
		for seg != "" && lit != "" {
			a, n := utf8.DecodeRuneInString(seg)
			b, m := utf8.DecodeRuneInString(lit)
			if n == 1 && a == utf8.RuneError || m == 1 && b == utf8.RuneError {
				if seg[:n] != lit[:m] {
					return false
				}
			} else if a != b && unicode.ToUpper(a) != unicode.ToUpper(b) &&
				unicode.ToLower(unicode.ToUpper(a)) != unicode.ToLower(unicode.ToUpper(b)) {
				return false
			}
			seg, lit = seg[n:], lit[m:]
		}
		return seg == "" && lit == ""
	}
	for _, c := range [][2]string{{"ADMIN", "admin"}, {"%41dmin", "admin"}, {"%61DMIN", "Admin"}, {"\u212a", "k"}, {"%E2%84%AA", "k"},
		{"adm%C4%B1n", "admin"}, {"ADM%C4%B0N", "admin"}, {"%C5%BFecret", "secret"}, {"CAF%C3%89", "caf\u00e9"}, {"%FF", "\xff"},
		{"%FFa", "\xffA"}, {"%C3", "\xc3"}, {"%C3%zz", "%c3%ZZ"}, {"%E2%84", "\xe2\x84"},
		{"%5B", "{"}, {"@", "`"}, {"%41%zz", "a%zz"}, {"a%ZZ", "A%zz"}} {
		if got, want := segmentFold(c[0], c[1], true), ref(c[0], c[1]); got != want {
			t.Errorf("segmentFold(%q, %q, true) = %v, want %v", c[0], c[1], got, want)
		}
	}
	tokens := []string{"a", "A", "z", "Z", "i", "I", "k", "K", "s", "%", "2", "f", "4", "1", "5", "9", "e", "E", "@", "[", "`", "{", "+", " ",
		"%C4%B1", "%c4%b0", "%E2%84%AA", "%C5%BF", "%C3%A9", "%C3%89", "%FF", "%C3", "%84", "%zz", "\u0131", "\u0130", "\u212a", "\u00e9"}
	r := rand.New(rand.NewPCG(3, 4))
	gen := func() string {
		var b strings.Builder
		for range r.IntN(6) {
			b.WriteString(tokens[r.IntN(len(tokens))])
		}
		return b.String()
	}
	for range 200000 {
		seg, lit := gen(), gen()
		if r.IntN(3) == 0 {
			if u, err := url.PathUnescape(seg); err == nil {
				lit = u
			}
		}
		if r.IntN(3) == 0 {
			lit = strings.ToUpper(lit)
		}
		if got, want := segmentFold(seg, lit, true), ref(seg, lit); got != want {
			t.Fatalf("segmentFold(%q, %q, true) = %v, want %v", seg, lit, got, want)
		}
		if got, want := segmentFold(seg, lit, false), segmentIs(seg, lit); got != want {
			t.Fatalf("segmentFold(%q, %q, false) = %v, segmentIs %v", seg, lit, got, want)
		}
	}
}

// foldKey takes as one letter every set strings.EqualFold does (the
// orbits of unicode.SimpleFold), and the dotted and dotless i with "i",
// which EqualFold does not but Java and .NET do.
func TestFoldKeyTakesEqualFoldLettersAsOne(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		for s := unicode.SimpleFold(r); s != r; s = unicode.SimpleFold(s) {
			if foldKey(s) != foldKey(r) {
				t.Fatalf("foldKey(%U) = %U, foldKey(%U) = %U: strings.EqualFold takes them as one", r, foldKey(r), s, foldKey(s))
			}
		}
	}
	for _, r := range []rune{'I', '\u0130', '\u0131'} {
		if foldKey(r) != 'i' {
			t.Errorf("foldKey(%U) = %U, want i", r, foldKey(r))
		}
	}
}

// pattern.covers never claims a pattern covers another when a path
// matches the other and not it (checked over every pair of a set of
// patterns and many paths).
func TestPatternCoversOnlyWhatItMatches(t *testing.T) {
	patterns := []string{"/", "/{$}", "/a", "/a/", "/a/{$}", "/a/{x}", "/a/{x}/", "/a/{x}/b", "/a/{x...}", "/{x}", "/{x}/{y}",
		"/{x...}", "/a/b", "/a/b/", "/b/{x}", "/{x}/b", "/{x}/{$}", "/a/b/c"}
	paths := []string{"/", "/a", "/a/", "/a/b", "/a/b/", "/a/b/c", "/a/c/b", "/b", "/b/a", "/c/b", "/a/b/c/d", "/x/", "/x/y/z", "/b/"}
	parsed := make([]pattern, len(patterns))
	for i, s := range patterns {
		var err error
		if parsed[i], err = parsePattern(s); err != nil {
			t.Fatal(err)
		}
	}
	covered := 0
	for i := range parsed {
		for j := range parsed {
			if !parsed[i].covers(&parsed[j]) {
				continue
			}
			covered++
			for _, p := range paths {
				if parsed[j].match(p) && !parsed[i].match(p) {
					t.Errorf("%q covers %q, but %q matches only the second", patterns[i], patterns[j], p)
				}
			}
		}
	}
	// And it finds the plain cases.
	for _, c := range [][2]string{{"/", "/a"}, {"/a/", "/a/b"}, {"/{x}", "/a"}, {"/a/{x...}", "/a/{x}/b"}, {"/{x}/{y}", "/a/b"}} {
		a, _ := parsePattern(c[0])
		b, _ := parsePattern(c[1])
		if !a.covers(&b) {
			t.Errorf("%q does not cover %q", c[0], c[1])
		}
	}
	if covered < len(patterns) {
		t.Errorf("only %d pairs covered: every pattern covers itself", covered)
	}
}

// shadowIndex names, for every route, the same earlier route as comparing
// it with every route before it does (random files of patterns, hosts and
// methods that cover one another in many ways).
func TestShadowIndexAgreesWithEveryPair(t *testing.T) {
	patterns := []string{"/", "/{$}", "/a", "/a/", "/a/{$}", "/a/{x}", "/a/{x}/", "/a/{x}/b", "/a/{x...}", "/{x}", "/{x}/{y}",
		"/{x...}", "/a/b", "/a/b/", "/b/{x}", "/{x}/b", "/{x}/{$}", "/a/b/c", "/{x}/{y}/{$}", "/b/"}
	hosts := []string{"", "", "a.example", "b.example"}
	methods := []string{"", "[GET]", "[POST]", "[GET, POST]", "[DELETE, POST]"}
	rnd := rand.New(rand.NewPCG(7, 11))
	shadowedSeen := 0
	for round := range 300 {
		var b strings.Builder
		b.WriteString("routes:\n")
		n := 1 + rnd.IntN(40)
		for i := range n {
			fmt.Fprintf(&b, "  - name: r%d\n    path: %q\n    open: true\n", i, patterns[rnd.IntN(len(patterns))])
			if h := hosts[rnd.IntN(len(hosts))]; h != "" {
				fmt.Fprintf(&b, "    host: %s\n", h)
			}
			if m := methods[rnd.IntN(len(methods))]; m != "" {
				fmt.Fprintf(&b, "    methods: %s\n", m)
			}
		}
		rs, err := ParseRules([]byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		index := shadowIndex{routes: rs.routes}
		for i := range rs.routes {
			want := -1
			for j := range i {
				if rs.routes[j].covers(&rs.routes[i]) {
					want = j
					break
				}
			}
			if got := index.shadowedBy(i); got != want {
				t.Fatalf("round %d, route %d of\n%s\nshadowed by %d, want %d", round, i, b.String(), got, want)
			}
			if want >= 0 {
				shadowedSeen++
			}
		}
	}
	if shadowedSeen < 1000 {
		t.Errorf("only %d shadowed routes met: the files test little", shadowedSeen)
	}
}

// Looking for shadowed routes compares each route with a few others, not
// with every route before it, in the files a wildcard or a host would
// once have made quadratic (10,000 routes: 50 million comparisons).
func TestShadowIndexComparesFew(t *testing.T) {
	for name, route := range map[string]func(i int) RouteFile{
		"literal first":  func(i int) RouteFile { return RouteFile{Path: fmt.Sprintf("/r%d/{id}/x/{rest...}", i)} },
		"wildcard first": func(i int) RouteFile { return RouteFile{Path: fmt.Sprintf("/{tenant}/r%d/{rest...}", i)} },
		"host each":      func(i int) RouteFile { return RouteFile{Host: fmt.Sprintf("h%d.example", i), Path: "/x/{id}"} },
		"method each": func(i int) RouteFile {
			return RouteFile{Methods: []string{fmt.Sprintf("M%d", i), "POST"}, Path: "/{a}/x"}
		},
		"catch-all after": func(i int) RouteFile { return RouteFile{Path: fmt.Sprintf("/v%d/{rest...}", i%100)} },
	} {
		x := shadowIndex{}
		for i := range MaxRoutes {
			rf := route(i)
			rf.Open = true
			r, err := compileRoute(i, rf)
			if err != nil {
				t.Fatal(err)
			}
			x.routes = append(x.routes, r)
		}
		shadowed := 0
		for i := range x.routes {
			if x.shadowedBy(i) >= 0 {
				shadowed++
			}
		}
		if x.compared > 2*MaxRoutes {
			t.Errorf("%s: %d comparisons for %d routes", name, x.compared, MaxRoutes)
		}
		if want := map[bool]int{true: MaxRoutes - 100, false: 0}[name == "catch-all after"]; shadowed != want {
			t.Errorf("%s: %d routes shadowed, want %d", name, shadowed, want)
		}
	}
}
