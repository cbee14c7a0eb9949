package forwardauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/bearerguard/bearerguard/internal/paramname"
)

// ErrMethodOverride is matched (errors.Is) by the error for a request
// refused because it names another method for the upstream (an
// X-HTTP-Method-Override header, say) whose route decides otherwise than
// the route of its own method ([UpstreamFile.NoMethodOverride]); it
// matches [ErrOriginalRequest] too. The error is a [*MethodOverrideError].
var ErrMethodOverride = errors.New("forwardauth: the request names another method, routed otherwise")

// MethodOverrideError names the routes of a request refused with
// [ErrMethodOverride].
type MethodOverrideError struct {
	// Route is the route the request matched with its own method.
	Route string
	// Other is the route it matches with the method it names ("default"
	// for the default), in a spelling the upstream may read.
	Other string
	// Method is the method it names, in upper case.
	Method string
	// Source is where it names it: a header's name, or "the _method
	// query parameter".
	Source string
}

// Error names both routes, the method and where the request named it,
// and the setting that says the upstream never takes a method so.
func (e *MethodOverrideError) Error() string {
	return fmt.Sprintf("%v: matched route %q, and route %q as %s, named by %s (set upstream.no_method_override in the route file if the upstream never takes a method from a request)",
		ErrMethodOverride, e.Route, e.Other, e.Method, e.Source)
}

// Is reports whether target is [ErrMethodOverride] or [ErrOriginalRequest].
func (e *MethodOverrideError) Is(target error) bool {
	return target == ErrMethodOverride || target == ErrOriginalRequest
}

// overrideHeaders are the headers upstreams take another method from:
// Express's method-override (any header it is given; these three are the
// ones its documentation and its users name), Rails' Rack::MethodOverride
// (X-HTTP-Method-Override), Symfony and Laravel (X-HTTP-Method-Override),
// ASP.NET Core's UseHttpMethodOverride (X-HTTP-Method-Override), and
// Google's and OData's APIs (X-HTTP-Method).
var overrideHeaders = [...]string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// isOverrideHeader reports whether name is one of [overrideHeaders] in
// any case and with '_' for '-': CGI-style servers (Rack, so Rails;
// WSGI; PHP behind FastCGI) read X_HTTP_Method_Override as
// X-HTTP-Method-Override, and Traefik and Envoy pass such a name on.
func isOverrideHeader(name string) bool {
	if len(name) < len("X-Http-Method") || name[0]|0x20 != 'x' {
		return false
	}
	for _, want := range overrideHeaders {
		if len(name) != len(want) {
			continue
		}
		i := 0
		for ; i < len(want); i++ {
			c, w := name[i], want[i]
			if w == '-' {
				if c != '-' && c != '_' {
					break
				}
			} else if c|0x20 != w|0x20 {
				break
			}
		}
		if i == len(want) {
			return true
		}
	}
	return false
}

// maxOverrides bounds the distinct methods a request may name for the
// upstream; one naming more is refused, so the routes are matched a
// bounded number of times per request.
const maxOverrides = 4

// override is a method a request names for the upstream, and where.
type override struct{ method, source string }

// overrides returns the methods other than method that an upstream
// taking a method from the request could serve it as: each comma-separated
// element of each value of the override headers, and each value of a
// query parameter that some server reads as _method (Express's
// method-override given "_method", Symfony and Laravel; [paramname.ReadsAs]),
// read by [overrideMethod]. An element that is not a method token but for
// spaces, tabs and case, or more than [maxOverrides] distinct methods, is
// an error. The work is linear in the length of those headers and of the
// query.
func overrides(h http.Header, rawQuery, method string) ([]override, error) {
	var found []override
	// header is the header's name, "" for the query parameter.
	source := func(header string) string {
		if header == "" {
			return "the _method query parameter"
		}
		return header + " header"
	}
	add := func(v, header string) error {
		m, ok := overrideMethod(v)
		if !ok {
			return fmt.Errorf("%w: %s holds a value upstreams may read as different methods", ErrOriginalRequest, source(header))
		}
		if m == "" || m == method {
			return nil
		}
		for _, o := range found {
			if o.method == m {
				return nil
			}
		}
		if len(found) == maxOverrides {
			return fmt.Errorf("%w: more than %d methods named for the upstream", ErrOriginalRequest, maxOverrides)
		}
		found = append(found, override{m, source(header)})
		return nil
	}
	for name, vs := range h {
		if !isOverrideHeader(name) {
			continue
		}
		for _, v := range vs {
			for e := range strings.SplitSeq(v, ",") {
				if err := add(e, name); err != nil {
					return nil, err
				}
			}
		}
	}
	if strings.IndexByte(rawQuery, '%') < 0 && !containsFold(rawQuery, "method") {
		return sorted(found), nil
	}
	for p := range paramname.Pairs(rawQuery) {
		if !paramname.ReadsAs(p.Name, "_method") {
			continue
		}
		v, err := url.QueryUnescape(p.RawValue)
		if err != nil {
			v = p.RawValue
		}
		if err := add(v, ""); err != nil {
			return nil, err
		}
	}
	return sorted(found), nil
}

// sorted sorts overrides by method, so that a refusal names the same one
// whatever the order of the header map.
func sorted(o []override) []override {
	slices.SortFunc(o, func(a, b override) int { return strings.Compare(a.method, b.method) })
	return o
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

// containsFold reports whether s holds lower, a lower-case ASCII word,
// in any case.
func containsFold(s, lower string) bool {
	for i := 0; i+len(lower) <= len(s); i++ {
		if s[i]|0x20 == lower[0] && strings.EqualFold(s[i:i+len(lower)], lower) {
			return true
		}
	}
	return false
}

// otherMethod returns the refusal for a request that names a method for
// the upstream whose route, as ServeMux or a looser upstream reads the
// path ([Rules.otherSpelling]), decides otherwise than route, its own
// method's: an upstream that takes the method from the request would
// serve that route's handler to a request route decided. nil when there
// is none, or the file says the upstream never takes a method so.
func (rs *Rules) otherMethod(req Request, host, p, rawQuery string, route *Route) *Decision {
	if rs.upstream.NoMethodOverride {
		return nil
	}
	ovs, err := overrides(req.Header, rawQuery, req.Method)
	if err != nil {
		return refusal(http.StatusBadRequest, "invalid_request", route.name, err)
	}
	for _, o := range ovs {
		other := rs.match(o.method, host, p, false)
		if sameDecision(other, route) {
			name, how := rs.otherSpelling(o.method, host, p, other)
			if how == "" {
				continue
			}
			other = &Route{name: name}
		}
		return refusal(http.StatusBadRequest, "invalid_request", route.name,
			&MethodOverrideError{Route: route.name, Other: other.name, Method: o.method, Source: o.source})
	}
	return nil
}
