package forwardauth

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"
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
			if got, ok := index.shadowedBy(i); got != want || !ok {
				t.Fatalf("round %d, route %d of\n%s\nshadowed by %d (checked: %v), want %d", round, i, b.String(), got, ok, want)
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
			j, ok := x.shadowedBy(i)
			if !ok {
				t.Fatalf("%s: the check stopped at route %d", name, i)
			}
			if j >= 0 {
				shadowed++
			}
		}
		if x.compared > 2*MaxRoutes || x.work > 8*MaxRoutes {
			t.Errorf("%s: %d comparisons, %d steps for %d routes", name, x.compared, x.work, MaxRoutes)
		}
		if want := map[bool]int{true: MaxRoutes - 100, false: 0}[name == "catch-all after"]; shadowed != want {
			t.Errorf("%s: %d routes shadowed, want %d", name, shadowed, want)
		}
	}
}

// A file built so that the walk branches at every segment (every mix of
// a literal and a wildcard ten segments deep, on one host, then routes
// under them on another host with many methods: 20 s to load) stops the
// report at its work bound, and says where; up to there it names what
// comparing every pair names.
func TestShadowReportBounded(t *testing.T) {
	var routes []Route
	add := func(rf RouteFile) {
		rf.Open = true
		r, err := compileRoute(len(routes), rf)
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, r)
	}
	const depth = 10
	for d := depth; d >= 0; d-- {
		for wilds := 0; wilds <= d; wilds++ { // the most literal first: none covers another
			for mask := 0; mask < 1<<d; mask++ {
				if bits.OnesCount(uint(mask)) != wilds {
					continue
				}
				var p strings.Builder
				for k := range d {
					if mask&(1<<k) != 0 {
						fmt.Fprintf(&p, "/{%c}", 'a'+k)
					} else {
						p.WriteString("/a")
					}
				}
				add(RouteFile{Host: "z", Path: p.String() + "/{r...}"})
			}
		}
	}
	methods := strings.Split("A B C D E F G H I J K L M N O P Q R S T U V W X Y Z 0", " ")
	for i := 0; len(routes) < MaxRoutes; i++ {
		add(RouteFile{Host: "q", Path: fmt.Sprintf("%s/%d", strings.Repeat("/a", depth), i), Methods: methods})
	}
	rs := &Rules{routes: routes}
	start := time.Now()
	rs.findShadowed()
	t.Logf("the report stopped after %v", time.Since(start))
	found, unchecked := rs.Shadowed()
	if unchecked == "" || len(found) != 0 {
		t.Errorf("Shadowed() = %d found, unchecked from %q; want none found and the check stopped", len(found), unchecked)
	}
	x := shadowIndex{routes: rs.routes}
	for i := range rs.routes {
		if _, ok := x.shadowedBy(i); !ok {
			break
		}
	}
	if x.work > maxShadowWork+64 { // past it by one node's lookups at most
		t.Errorf("%d steps, over the bound of %d", x.work, maxShadowWork)
	}

	// With a small bound, on random files: the routes before the stop are
	// reported as every pair says, none after it.
	rnd := rand.New(rand.NewPCG(3, 5))
	stopped := 0
	for range 200 {
		var b strings.Builder
		b.WriteString("routes:\n")
		for i := range 60 {
			fmt.Fprintf(&b, "  - name: r%d\n    path: %q\n    open: true\n", i, []string{"/", "/a", "/a/", "/{x}", "/a/{x}", "/{x}/b", "/{x...}", "/a/b"}[rnd.IntN(8)])
		}
		rs, err := ParseRules([]byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		x := shadowIndex{routes: rs.routes, budget: 40 + rnd.IntN(100)}
		for i := range rs.routes {
			j, ok := x.shadowedBy(i)
			if !ok {
				stopped++
				for k := i + 1; k < len(rs.routes); k++ {
					if _, ok := x.shadowedBy(k); ok {
						t.Fatalf("route %d checked after the check stopped at %d", k, i)
					}
				}
				break
			}
			want := -1
			for k := range i {
				if rs.routes[k].covers(&rs.routes[i]) {
					want = k
					break
				}
			}
			if j != want {
				t.Fatalf("route %d: shadowed by %d, want %d", i, j, want)
			}
		}
	}
	if stopped == 0 {
		t.Error("the small bound never stopped the check")
	}
}
