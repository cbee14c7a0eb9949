package forwardauth

import (
	"errors"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzParseRules: any route file is parsed or refused with an error
// matching ErrRules; never a panic. Accepted rules match without panic.
func FuzzParseRules(f *testing.F) {
	f.Add([]byte("default: deny\nroutes:\n  - path: /a/{id}\n    methods: [GET]\n    scopes: [read]\n"))
	f.Add([]byte("identity:\n  claims: {X-Auth-Tenant: tenant}\nroutes:\n  - {path: /, open: true}\n"))
	f.Add([]byte("routes:\n  - path: /f/{p...}\n    host: a.example\n    any_scopes: [a, b]\n    acr_values: [mfa]\n    max_age: 5m\n"))
	f.Add([]byte("routes:\n  - path: /t\n    any_of:\n      - scope: a\n      - role: R 1\n    all_of:\n      - claim: /t/id\n        value: x\n      - permission: p\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("routes: [{path: '/{$}', deny: true}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseRules(data)
		if err != nil {
			if !errors.Is(err, ErrRules) {
				t.Fatalf("ParseRules error %v does not match ErrRules", err)
			}
			return
		}
		for _, p := range []string{"/", "/a/1", "/f/x/y", "/a/"} {
			_ = rs.Match("GET", "a.example", p)
		}
	})
}

// FuzzParseOriginalURI: an accepted URI's path is absolute and clean, so
// the path matched is the path any upstream serves; its query has no
// space or control.
func FuzzParseOriginalURI(f *testing.F) {
	for _, s := range []string{"/", "/orders/7?x=1", "/a/../b", "/a/%2e%2e/b", "/a//b", "/a%2Fb", "/a;b", "/a\\b",
		"http://evil/x", "/caf%C3%A9", "/a?b#c", "/%zz", "/a/./b", "/%00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, q, err := parseOriginalURI(s)
		if err != nil {
			if !errors.Is(err, ErrOriginalRequest) {
				t.Fatalf("parseOriginalURI(%q) error %v does not match ErrOriginalRequest", s, err)
			}
			return
		}
		u, uerr := url.PathUnescape(p)
		if uerr != nil {
			t.Fatalf("parseOriginalURI(%q) accepted a badly escaped path %q", s, p)
		}
		if clean := path.Clean(u); clean != u && clean+"/" != u {
			t.Fatalf("parseOriginalURI(%q) accepted %q, which decodes to the unclean %q", s, p, u)
		}
		if strings.ContainsAny(u, "\\;\x00\r\n") || strings.ContainsAny(q, " \r\n\x00") {
			t.Fatalf("parseOriginalURI(%q) = %q, %q: forbidden characters", s, p, q)
		}
		if !strings.HasPrefix(s, p) {
			t.Fatalf("parseOriginalURI(%q) path %q is not the start of the URI", s, p)
		}
	})
}

// FuzzMatchLikeServeMux: for every path parseOriginalURI accepts, a
// route's pattern matches exactly when a net/http.ServeMux holding that
// pattern alone routes the path to it; and matches in any case exactly
// when a ServeMux holding the pattern in one case routes the decoded
// path in that case to it (each letter as the lower case of its upper
// case, as Java's and .NET's case-insensitive comparisons take it).
func FuzzMatchLikeServeMux(f *testing.F) {
	for _, s := range []string{"/", "/a", "/a/", "/a/b", "/a/b/c/", "/caf%C3%A9/1", "/a/%62", "/x/y/", "/%C3%89T%C3%89", "/adm%C4%B1n", "/%E2%84%AA%C4%B0/x"} {
		f.Add(s, uint8(0))
	}
	patterns := []string{"/", "/{$}", "/a", "/a/", "/a/{x}", "/a/{x}/", "/a/{x}/b", "/a/{x...}",
		"/{x}", "/{x}/{y}", "/{x...}", "/a/b/c", "/a%20b", "/caf%C3%A9/{id}", "/a/{x}/{$}", "/%7Ba%7D", "/b/{x}/{y...}",
		"/Admin", "/ORDERS/{id}", "/%41b/", "/%C3%A9t%C3%A9", "/ki/{x}", "/%FF/"}
	oneCase := func(s string) string {
		var b strings.Builder
		for s != "" {
			r, n := utf8.DecodeRuneInString(s)
			if r == utf8.RuneError && n == 1 {
				b.WriteByte(s[0])
			} else {
				b.WriteRune(unicode.ToLower(unicode.ToUpper(r)))
			}
			s = s[n:]
		}
		return b.String()
	}
	foldPattern := func(p string) string {
		segs := strings.Split(p, "/")
		for i, seg := range segs {
			if u, err := url.PathUnescape(seg); err == nil && !strings.Contains(seg, "{") {
				segs[i] = url.PathEscape(oneCase(u))
			}
		}
		return strings.Join(segs, "/")
	}
	muxes := make([]*http.ServeMux, len(patterns))
	folded := make([]*http.ServeMux, len(patterns))
	parsed := make([]pattern, len(patterns))
	for i, p := range patterns {
		muxes[i] = http.NewServeMux()
		muxes[i].Handle(p, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(299) }))
		lp := foldPattern(p)
		folded[i] = http.NewServeMux()
		folded[i].Handle(lp, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(299) }))
		var err error
		if parsed[i], err = parsePattern(p); err != nil {
			f.Fatalf("parsePattern(%q): %v", p, err)
		}
	}
	f.Fuzz(func(t *testing.T, uri string, which uint8) {
		p, _, err := parseOriginalURI(uri)
		if err != nil {
			return
		}
		i := int(which) % len(patterns)
		req := &http.Request{Method: "GET", Host: "example.com", URL: &url.URL{Path: unescapedPath(p)}}
		if req.URL.Path != p {
			req.URL.RawPath = p
		}
		w := &capture{header: http.Header{}}
		muxes[i].ServeHTTP(w, req)
		if got, want := parsed[i].match(p), w.status == 299; got != want {
			t.Fatalf("pattern %q, path %q: matched %v, ServeMux %v (status %d)", patterns[i], p, got, want, w.status)
		}
		req = &http.Request{Method: "GET", Host: "example.com", URL: &url.URL{Path: oneCase(unescapedPath(p))}}
		w = &capture{header: http.Header{}}
		folded[i].ServeHTTP(w, req)
		if got, want := parsed[i].matchFold(p, true), w.status == 299; got != want {
			t.Fatalf("pattern %q, path %q in any case: matched %v, ServeMux in one case %v (status %d)", patterns[i], p, got, want, w.status)
		}
		// The quick test by segment count never turns a match away.
		for _, sp := range []spelling{0, anyCase, asSent, asSent | anyCase, asSentDecoded} {
			if parsed[i].matchAs(p, sp) && !parsed[i].fits(strings.Count(p, "/")) {
				t.Fatalf("pattern %q matches %q (spelling %d), but fits(%d) says it cannot", patterns[i], p, sp, strings.Count(p, "/"))
			}
		}
	})
}

// FuzzEnvoyClientCert: any certificate field Envoy could send is read as
// one certificate or refused; never a panic, and nothing past the bound.
func FuzzEnvoyClientCert(f *testing.F) {
	f.Add("")
	f.Add("-----BEGIN%20CERTIFICATE-----%0AMIIB%0A-----END%20CERTIFICATE-----%0A")
	f.Add("%zz")
	f.Add("-----BEGIN%20PRIVATE%20KEY-----%0AAA%3D%3D%0A-----END%20PRIVATE%20KEY-----%0A")
	f.Fuzz(func(t *testing.T, encoded string) {
		cert, ok := envoyClientCert(encoded)
		if cert != nil && !ok {
			t.Fatal("a certificate and a refusal")
		}
		if encoded == "" && (cert != nil || !ok) {
			t.Fatal("no certificate field must read as no certificate")
		}
		if ok && encoded != "" && cert == nil {
			t.Fatal("a field accepted without a certificate")
		}
		if len(encoded) > maxEnvoyCert && ok {
			t.Fatal("a field over the bound was read")
		}
	})
}

// FuzzOverrides: the methods a request names for the upstream are
// bounded, distinct, method tokens other than its own; every method
// that net/url reads from _method, or an override header names, is found,
// and every other non-empty value refused (an error, as for more than
// maxOverrides methods); never a panic.
func FuzzOverrides(f *testing.F) {
	f.Add("POST", "DELETE", "", "_method=put", "X_HTTP_METHOD", "PUT")
	f.Add("POST", "post, Delete ,PATCH", "a,b", "x=1;_method=DELETE&%5Fmethod=get", "x-method_override", "get")
	f.Add("GET", "", "", ".method=PUT&_method[]=X&_METHOD=y&%00_method=z", "X-Other", "DELETE")
	f.Add("POST", "A,B,C,D,E", "", "", "", "")
	f.Fuzz(func(t *testing.T, method, h1, h2, rawQuery, name, h3 string) {
		h := http.Header{"X-Http-Method-Override": {h1}, "X-Method-Override": {h2}}
		folded := foldedName(name)
		isOverride := slices.Contains(overrideHeaders[:], folded)
		if isOverrideHeader(name) != isOverride {
			t.Fatalf("isOverrideHeader(%q) = %v, want %v", name, !isOverride, isOverride)
		}
		if _, taken := h[name]; !taken {
			h[name] = []string{h3}
		}
		sc := scanHeaders(h)
		found, err := overrides(sc.methods, rawQuery, method)
		if err != nil {
			if !errors.Is(err, ErrOriginalRequest) || found != nil {
				t.Fatalf("error %v, found %v", err, found)
			}
			return
		}
		if len(found) > maxOverrides {
			t.Fatalf("%d methods found, at most %d", len(found), maxOverrides)
		}
		seen := map[string]bool{}
		for _, o := range found {
			if !isMethod(o.value) || o.value == method || seen[o.value] || o.source == "" {
				t.Fatalf("found %q (from %q): not a method token, the request's own, or found twice", o.value, o.source)
			}
			seen[o.value] = true
		}
		want := func(v string) {
			v = strings.Trim(v, " \t")
			if v == "" {
				return
			}
			for _, r := range v {
				if r >= utf8.RuneSelf {
					t.Fatalf("%q (not ASCII) read as a method, not refused", v)
				}
			}
			m := strings.ToUpper(v)
			if !isMethod(m) {
				t.Fatalf("%q (no method token) read as a method, not refused", v)
			}
			if m != method && !seen[m] {
				t.Fatalf("%q not found in %v", m, found)
			}
		}
		for _, v := range []string{h1, h2} {
			for _, e := range strings.Split(v, ",") {
				want(e)
			}
		}
		if isOverride && h[name][0] == h3 {
			for _, e := range strings.Split(h3, ",") {
				want(e)
			}
		}
		q, _ := url.ParseQuery(rawQuery)
		for _, v := range q["_method"] {
			want(v)
		}
	})
}

// FuzzForwardedHosts: the hosts X-Forwarded-Host and Forwarded name are
// bounded, distinct, in lower case and other than the request's own; every
// X-Forwarded-Host element that can be read as a host is found (or is
// the request's own), unless the request is refused (an error); never a
// panic.
func FuzzForwardedHosts(f *testing.F) {
	f.Add("api.example.com", "admin.example.com, api.example.com:443", `for=192.0.2.1;host="a.example";proto=https, Host=b.example`)
	f.Add("", "[::1]:8080,ADMIN.example.com", "host=")
	f.Add("api.example.com", "a,b,c,d,e", "")
	f.Fuzz(func(t *testing.T, host, xfh, fwd string) {
		own, ok := normalizeHost(host)
		if !ok {
			own = ""
		}
		h := http.Header{"X-Forwarded-Host": {xfh}, "Forwarded": {fwd}}
		sc := scanHeaders(h)
		found, err := forwardedHosts(sc.hosts, sc.forwards, own, map[string]bool{"admin.example.com": true})
		if err != nil {
			if !errors.Is(err, ErrOriginalRequest) || found != nil {
				t.Fatalf("error %v, found %v", err, found)
			}
			return
		}
		if len(found) > maxOverrides {
			t.Fatalf("%d hosts, at most %d", len(found), maxOverrides)
		}
		seen := map[string]bool{}
		for _, n := range found {
			if n.value == "" || n.value != strings.ToLower(n.value) || n.value == own || seen[n.value] || n.source == "" {
				t.Fatalf("found %q (from %q): empty, not in lower case, the request's own, or found twice", n.value, n.source)
			}
			seen[n.value] = true
		}
		for _, e := range strings.Split(xfh, ",") {
			if n, ok := normalizeHost(strings.Trim(e, " \t")); ok && n != own && !seen[n] {
				t.Fatalf("%q (%q) not found in %v", e, n, found)
			}
		}
	})
}
