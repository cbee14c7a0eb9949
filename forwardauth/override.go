package forwardauth

import (
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/bearerguard/bearerguard/internal/paramname"
)

// ErrOverride is matched (errors.Is) by the error for a request refused
// because it names, for an upstream that reads it so, another method (an
// X-HTTP-Method-Override header, a _method parameter) or another host
// (X-Forwarded-Host, Forwarded) whose route decides otherwise than its
// own, or another URL (X-Original-URL, X-Rewrite-URL) than its own
// ([UpstreamFile]); it matches [ErrOriginalRequest] too. The error is an
// [*OverrideError].
var ErrOverride = errors.New("forwardauth: the request names another method, host or URL for the upstream")

// OverrideError says what a request refused with [ErrOverride] named.
type OverrideError struct {
	// Route is the route the request matched as sent.
	Route string
	// Other is the route it matches as named ("default" for the default),
	// in a spelling the upstream may read; empty for another URL.
	Other string
	// Method and Host are the method and host (without a port) named,
	// the request's own where it named none.
	Method, Host string
	// Source says where: header names, or "the _method query parameter".
	Source string
	// setting is the route file's setting that turns the check off.
	setting string
}

// Error names both routes, the method, host and where the request named
// them, and the setting that says the upstream never reads them so; it
// does not repeat a URL.
func (e *OverrideError) Error() string {
	if e.Other == "" {
		return fmt.Sprintf("%v: another URL than the request's, named by %s (set %s in the route file if the upstream never takes the URL from a request)",
			ErrOverride, e.Source, e.setting)
	}
	return fmt.Sprintf("%v: matched route %q, and route %q as %s on %s, named by %s (set %s in the route file if the upstream never takes them from a request)",
		ErrOverride, e.Route, e.Other, e.Method, e.Host, e.Source, e.setting)
}

// Is reports whether target is [ErrOverride] or [ErrOriginalRequest].
func (e *OverrideError) Is(target error) bool {
	return target == ErrOverride || target == ErrOriginalRequest
}

// overrideHeaders are the headers upstreams take another method from, as
// [foldedName] spells them: Express's method-override (any header it is
// given; these three are the ones its documentation and its users name),
// Rails' Rack::MethodOverride, Symfony and Laravel, ASP.NET Core's
// UseHttpMethodOverride (X-HTTP-Method-Override), and Google's and
// OData's APIs (X-HTTP-Method).
var overrideHeaders = [...]string{"x-http-method-override", "x-http-method", "x-method-override"}

// isOverrideHeader reports whether name is one of [overrideHeaders] in
// any spelling a server folds into it ([equalFolded]): CGI-style servers
// read X_HTTP_Method_Override as X-HTTP-Method-Override, lighttpd
// X.HTTP.Method.Override too, and Traefik and Envoy pass such names on.
func isOverrideHeader(name string) bool {
	for _, want := range overrideHeaders {
		if equalFolded(name, want) {
			return true
		}
	}
	return false
}

// equalFolded reports whether foldedName(name) == want, without building
// it: want is lower-case letters and '-', a '-' standing for any byte but
// a letter or digit.
func equalFolded(name, want string) bool {
	if len(name) != len(want) {
		return false
	}
	for i := 0; i < len(want); i++ {
		c, w := name[i], want[i]
		if w == '-' {
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
				return false
			}
		} else if c != w && c != w-('a'-'A') {
			return false
		}
	}
	return true
}

// rerouting reports whether an upstream may take a method, host or URL
// from the header called name ([scanHeaders]).
func rerouting(name string) bool {
	return isOverrideHeader(name) || equalFolded(name, "x-forwarded-host") || equalFolded(name, "forwarded") ||
		equalFolded(name, "x-original-url") || equalFolded(name, "x-rewrite-url")
}

// header is one of the client's headers: its name as sent, its values.
type header struct {
	name   string
	values []string
}

// scanned are the client's headers a decision looks at besides the
// token's, found in one pass over them ([scanHeaders]).
type scanned struct {
	methods  []header // [isOverrideHeader]
	hosts    []header // X-Forwarded-Host, in any spelling a server folds into it
	forwards []header // Forwarded, likewise
	urls     []header // X-Original-URL, X-Rewrite-URL, likewise
	odd      []string // names with a byte other than a letter, digit or '-'
}

// scanHeaders sorts the client's headers into [scanned] in one pass, in
// the order of their names so that a refusal names the same one each
// time. The work is linear in the length of the names.
func scanHeaders(h http.Header) scanned {
	var s scanned
	for k, vs := range h {
		if !plainName(k) {
			s.odd = append(s.odd, k)
		}
		if len(k) < len("forwarded") {
			continue
		}
		switch {
		case isOverrideHeader(k):
			s.methods = append(s.methods, header{k, vs})
		case equalFolded(k, "x-forwarded-host"):
			s.hosts = append(s.hosts, header{k, vs})
		case equalFolded(k, "forwarded"):
			s.forwards = append(s.forwards, header{k, vs})
		case equalFolded(k, "x-original-url"), equalFolded(k, "x-rewrite-url"):
			s.urls = append(s.urls, header{k, vs})
		}
	}
	for _, hs := range [...][]header{s.methods, s.hosts, s.forwards, s.urls} {
		if len(hs) > 1 {
			slices.SortFunc(hs, func(a, b header) int { return strings.Compare(a.name, b.name) })
		}
	}
	slices.Sort(s.odd)
	return s
}

// maxOverrides bounds the distinct methods a request may name for the
// upstream; one naming more is refused, so the routes are matched a
// bounded number of times per request.
const maxOverrides = 4

// named is a method or host a request names for the upstream, and
// where ("" for its own).
type named struct{ value, source string }

// namedSet collects the distinct values a request names, other than its
// own, at most [maxOverrides] of them.
type namedSet struct {
	what  string // "methods" or "hosts", for the error
	own   string
	found []named
}

// add adds v, named by source, unless it is the request's own or found
// already; one more than [maxOverrides] is an error.
func (s *namedSet) add(v, source string) error {
	if v == s.own || slices.ContainsFunc(s.found, func(n named) bool { return n.value == v }) {
		return nil
	}
	if len(s.found) == maxOverrides {
		return fmt.Errorf("%w: more than %d %s named for the upstream", ErrOriginalRequest, maxOverrides, s.what)
	}
	s.found = append(s.found, named{v, source})
	return nil
}

// sorted returns the values found in order, so that a refusal names the
// same one whatever the order of the header map.
func (s *namedSet) sorted() []named {
	slices.SortFunc(s.found, func(a, b named) int { return strings.Compare(a.value, b.value) })
	return s.found
}

// overrides returns the methods other than method that an upstream
// taking a method from the request could serve it as: each comma-separated
// element of each value of the override headers, and each value of a
// query parameter that some server reads as _method (Express's
// method-override given "_method", Symfony and Laravel; [paramname.ReadsAs]),
// read by [overrideMethod]. An element that is not a method token but for
// spaces, tabs and case, or more than [maxOverrides] distinct methods, is
// an error. The work is linear in the length of those headers and of the
// query.
func overrides(hs []header, rawQuery, method string) ([]named, error) {
	set := namedSet{what: "methods", own: method}
	add := func(v, source string) error {
		m, ok := overrideMethod(v)
		if !ok {
			return fmt.Errorf("%w: %s holds a value upstreams may read as different methods", ErrOriginalRequest, source)
		}
		if m == "" {
			return nil
		}
		return set.add(m, source)
	}
	for _, h := range hs {
		source := h.name
		for _, v := range h.values {
			for e := range strings.SplitSeq(v, ",") {
				if err := add(e, source); err != nil {
					return nil, err
				}
			}
		}
	}
	if strings.IndexByte(rawQuery, '%') < 0 && !paramname.ContainsFold(rawQuery, "method") {
		return set.sorted(), nil
	}
	for p := range paramname.Pairs(rawQuery) {
		if !paramname.ReadsAs(p.Name, "_method") {
			continue
		}
		v, err := url.QueryUnescape(p.RawValue)
		if err != nil {
			v = p.RawValue
		}
		if err := add(v, "the _method query parameter"); err != nil {
			return nil, err
		}
	}
	return set.sorted(), nil
}

// overrideMethod reads a value naming a method for the upstream: spaces
// and tabs around it dropped, ASCII letters in upper case. Empty names
// none. ok is false for a value with anything else than a method token's
// bytes: upstreams trim and fold case otherwise than each other (Java's
// trim drops every control byte, JavaScript's every Unicode space and a
// no-break space; JavaScript lower-cases the Kelvin sign to "k", Java
// upper-cases "ﬁ" to "FI"), so that such a value may be a method to one
// and none to another. Refused rather than read one way.
func overrideMethod(v string) (m string, ok bool) {
	v = strings.Trim(v, " \t")
	if v == "" {
		return "", true
	}
	if len(v) > 32 {
		return "", false
	}
	var buf [32]byte
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	m = string(buf[:len(v)])
	return m, isMethod(m)
}

// rerouted returns the refusal for a request that names, for the
// upstream, another URL than its own ([urlOverride]), or another method
// ([overrides]) or host ([forwardedHosts]) with which its path, as
// ServeMux or a looser upstream reads it ([Rules.otherSpelling]), matches
// a route that decides otherwise than route: an upstream that takes them
// from the request would serve that route's handler to a request route
// decided. nil when there is none, or the file says the upstream never
// takes them so. At most (1+[maxOverrides])² readings are matched.
func (rs *Rules) rerouted(req Request, sc *scanned, host, p, rawQuery string, route *Route) *Decision {
	up := rs.upstream
	if !up.NoURLOverride {
		if source, err := urlOverride(sc.urls, req.URI); err != nil || source != "" {
			if err == nil {
				err = &OverrideError{Route: route.name, Method: req.Method, Host: host, Source: source, setting: "upstream.no_url_override"}
			}
			return refusal(http.StatusBadRequest, "invalid_request", route.name, err)
		}
	}
	methods := []named{{req.Method, ""}}
	if !up.NoMethodOverride {
		ovs, err := overrides(sc.methods, rawQuery, req.Method)
		if err != nil {
			return refusal(http.StatusBadRequest, "invalid_request", route.name, err)
		}
		methods = append(methods, ovs...)
	}
	hosts := []named{{host, ""}}
	if !up.NoForwardedHost {
		fhs, err := forwardedHosts(sc.hosts, sc.forwards, host, rs.hosts)
		if err != nil {
			return refusal(http.StatusBadRequest, "invalid_request", route.name, err)
		}
		hosts = append(hosts, fhs...)
	}
	for i, m := range methods {
		for j, h := range hosts {
			if i == 0 && j == 0 {
				continue // the request as sent: decided by route
			}
			other := rs.match(m.value, h.value, p, false)
			if sameDecision(other, route) {
				name, how := rs.otherSpelling(m.value, h.value, p, other)
				if how == "" {
					continue
				}
				other = &Route{name: name}
			}
			var sources, settings []string
			if m.source != "" {
				sources, settings = append(sources, m.source), append(settings, "upstream.no_method_override")
			}
			if h.source != "" {
				sources, settings = append(sources, h.source), append(settings, "upstream.no_forwarded_host")
			}
			return refusal(http.StatusBadRequest, "invalid_request", route.name, &OverrideError{Route: route.name, Other: other.name,
				Method: m.value, Host: h.value, Source: strings.Join(sources, " and "), setting: strings.Join(settings, " and ")})
		}
	}
	return nil
}

// urlOverride returns the header that names another URL for the upstream
// than uri, the request's: X-Original-URL or X-Rewrite-URL, in any case
// and with any byte for a '-' ([foldedName]), which laminas-http (so
// laminas-mvc routes by it) and Yii2 (from its trusted hosts, so from the
// gateway) take as the request's URL, as IIS's URL Rewrite sets it. ""
// when every such header names uri itself (the nginx front end may be
// told to send the URI in X-Original-URL).
func urlOverride(urls []header, uri string) (string, error) {
	for _, h := range urls {
		for _, v := range h.values {
			if v != uri {
				return h.name, nil
			}
		}
	}
	return "", nil
}

// forwardedHosts returns the hosts other than host that X-Forwarded-Host
// (each comma-separated element: Express takes the first, Rails the last)
// and Forwarded (each host= parameter: Rack reads it first) name, in any
// spelling of the header's name ([foldedName]), as normalizeHost reads
// them. An upstream behind a gateway that passes them on (nginx and Envoy
// do, Traefik passes Forwarded) may route by them: Express with trust
// proxy, Rack and so Rails' host constraints, ASP.NET Core's forwarded
// headers with host filtering. A host that cannot be read, a route's
// host spelt otherwise (in another case, with a final dot), or more than
// [maxOverrides] distinct hosts is an error. The work is linear in the
// length of those headers.
func forwardedHosts(xfh, forwarded []header, host string, routeHosts map[string]bool) ([]named, error) {
	set := namedSet{what: "hosts", own: host}
	add := func(v, name string) error {
		v = strings.Trim(v, " \t")
		if v == "" {
			return nil
		}
		n, ok := normalizeHost(v)
		if !ok || routeHosts[n] && !spelledNormally(v, n) {
			return fmt.Errorf("%w: %s names a host that cannot be used", ErrOriginalRequest, name)
		}
		return set.add(n, name)
	}
	for _, h := range xfh {
		source := h.name
		for _, v := range h.values {
			for e := range strings.SplitSeq(v, ",") {
				if err := add(e, source); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, h := range forwarded {
		source := h.name
		for _, v := range h.values {
			if hasControl(v) {
				// Symfony's \s and Ruby's strip drop some control bytes
				// around a name ("host\v="): no reading of such a value is
				// safe. The shipped front ends never pass one on.
				return nil, fmt.Errorf("%w: %s holds a control byte", ErrOriginalRequest, h.name)
			}
			for value := range forwardedHostValues(v) {
				if err := add(value, source); err != nil {
					return nil, err
				}
			}
		}
	}
	return set.sorted(), nil
}

// forwardedHostValues yields every value a Forwarded header's parser could
// take for a host= parameter: at each '=', the name back to the last ';',
// ',' or '=' with quotes, backslashes and spaces dropped (Symfony unquotes
// a name: "host", h\ost) ending in "host" in any case (Spring finds
// "host=" anywhere, also in myhost= and inside a quoted for=), and the
// value up to the next ';' or ',' (a quoted string whole), surrounding
// spaces and quotes dropped. Looser than any one parser, so that nothing one of them reads
// as a host goes unseen (a value with more in it than a host is refused);
// linear in len(v).
func forwardedHostValues(v string) iter.Seq[string] {
	return func(yield func(string) bool) {
		start := 0   // after the last ';', ',' or '='
		segEnd := -1 // the next ';' or ',' after the last '=' looked at
		for i := 0; i < len(v); i++ {
			switch v[i] {
			case ';', ',':
				start = i + 1
			case '=':
				name := v[start:i]
				start = i + 1
				if !endsWithHost(name) {
					continue
				}
				j := i + 1
				for j < len(v) && (v[j] == ' ' || v[j] == '\t') {
					j++
				}
				if j < len(v) && v[j] == '"' {
					// A quoted string, read whole as Symfony and Rack
					// read it (a ';' or ',' inside is part of the value),
					// up to its closing quote or the end; looked at no
					// further, for linear work: a value with a '=', ';'
					// or ',' in it is no host, and refused.
					end := j + 1
					for end < len(v) && v[end] != '"' {
						if v[end] == '\\' {
							end++
						}
						end++
					}
					end = min(end, len(v)-1)
					if !yield(strings.Trim(v[j:end+1], " \t\"")) {
						return
					}
					i, start = end, end+1
					continue
				}
				if segEnd < i {
					for segEnd = i; segEnd < len(v) && v[segEnd] != ';' && v[segEnd] != ','; segEnd++ {
					}
				}
				if !yield(strings.Trim(v[i+1:segEnd], " \t\"")) {
					return
				}
			}
		}
	}
}

// endsWithHost reports whether name, without quotes, backslashes, spaces
// and tabs, ends in "host" in any case.
func endsWithHost(name string) bool {
	const want = "tsoh" // "host" read backwards
	n := 0
	for i := len(name) - 1; i >= 0 && n < len(want); i-- {
		switch c := name[i]; c {
		case '"', '\\', ' ', '\t':
		default:
			if c|0x20 != want[n] {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// hasControl reports whether v holds a control byte other than a tab.
func hasControl(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}
