package forwardauth

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// Limits on a route file: it is configuration, but a mistake (a generated
// file gone wrong) must not take the decision service down.
const (
	// MaxRulesFileSize bounds the route file read by [LoadRules].
	MaxRulesFileSize = 1 << 20
	// MaxRoutes bounds the number of routes in one file.
	MaxRoutes = 10000
	// DefaultMaxHeaderLength is the default cap on an identity header's
	// value, after escaping (identity.max_length).
	DefaultMaxHeaderLength = 1024
)

// ErrRules is matched (errors.Is) by every error [ParseRules] and
// [LoadRules] return for a route file that cannot be used.
var ErrRules = errors.New("forwardauth: invalid route file")

// File is the route file as written, in YAML: the shape [ParseRules]
// decodes strictly (an unknown field is an error).
//
//	default: deny            # deny (default) | authenticated | open
//	identity:                # headers set on the upstream request on success
//	  subject: X-Auth-Subject
//	  client_id: X-Auth-Client-Id
//	  scopes: X-Auth-Scopes
//	  claims: {X-Auth-Tenant: tenant}
//	  max_length: 1024
//	routes:
//	  - name: health
//	    path: /healthz
//	    open: true
//	  - methods: [GET]
//	    path: /orders/{id}
//	    scopes: [orders:read]
type File struct {
	// Default is the decision for a request no route matches: "deny"
	// (the default when empty), "authenticated" (any valid token) or
	// "open".
	Default string `yaml:"default"`
	// Identity names the headers set on the upstream request.
	Identity IdentityFile `yaml:"identity"`
	// Routes are tried in order; the first that matches decides.
	Routes []RouteFile `yaml:"routes"`
	// Upstream says how the upstream routes paths, where it differs from
	// net/http.ServeMux's rules the routes are written in.
	Upstream UpstreamFile `yaml:"upstream"`
}

// UpstreamFile says how strictly the upstream routes paths. By default
// (all false) a request is refused (400, [ErrAmbiguousPath]) when its
// path, in another case, with a trailing slash added or taken away, or
// with its escapes undecoded, or without a format suffix (.json),
// matches a route that decides otherwise than its own: an upstream that
// routes so (Express's routers by default, Echo's RemoveTrailingSlash and
// AddTrailingSlash, ASP.NET Core, Spring, Rails) would serve that route's
// handler to a request its route never checked. So is a request that
// names another method (X-HTTP-Method-Override, _method) or host
// (X-Forwarded-Host, Forwarded) whose route decides otherwise than its
// own, or another URL (X-Original-URL): an upstream that takes them from
// the request would serve that route's handler.
//
//	upstream:
//	  case_sensitive: true     # /Admin never reaches the handler of /admin
//	  strict_slash: true       # /admin/ never reaches the handler of /admin, nor /admin that of /admin/
//	  decoded_path: true       # /h%65althz is /healthz to the upstream, never a path of its own
//	  no_format_suffix: true   # /admin.json never reaches the handler of /admin
//	  no_method_override: true # a POST naming DELETE (X-HTTP-Method-Override) is never served as one
//	  no_forwarded_host: true  # X-Forwarded-Host and Forwarded never pick the upstream's routes
//	  no_url_override: true    # X-Original-URL and X-Rewrite-URL never pick them either
type UpstreamFile struct {
	// CaseSensitive says the upstream routes a path only to a handler
	// whose path it is in the same case (net/http.ServeMux, Gin, Echo,
	// chi; Express only with caseSensitive on the app and every Router).
	CaseSensitive bool `yaml:"case_sensitive"`
	// StrictSlash says the upstream never serves a path with a trailing
	// slash by the handler of the path without it, nor the other way
	// round (ServeMux, which redirects instead; Express only with strict
	// on the app and every Router).
	StrictSlash bool `yaml:"strict_slash"`
	// DecodedPath says the upstream routes the decoded path, never a
	// segment's escapes as the client sent them (ServeMux, Gin at its
	// defaults, Spring, ASP.NET Core; any upstream nginx proxies $uri to).
	// Express routes the path as sent, and Echo and chi do for a path
	// escaped otherwise than Go would escape it (/h%65althz), so by
	// default a request is refused when its path, so read, matches a route
	// that decides otherwise than its own.
	DecodedPath bool `yaml:"decoded_path"`
	// NoFormatSuffix says the upstream never reads a suffix of the last
	// segment (/orders/admin.json) as a response format, serving the path
	// without it (/orders/admin) by that path's handler: Rails does for
	// every route (its optional "(.:format)"), and Spring MVC with suffix
	// pattern matching (the default before 5.3) does for ".anything". By
	// default a request is refused when its path without such a suffix
	// matches a route that decides otherwise than its own.
	NoFormatSuffix bool `yaml:"no_format_suffix"`
	// NoMethodOverride says the upstream never serves a request as another
	// method than its own, one the request names: Express's
	// method-override, Rails (Rack::MethodOverride, in every app but an
	// API-only one), Symfony and Laravel, and ASP.NET Core's
	// UseHttpMethodOverride take it from an X-HTTP-Method-Override header
	// (or X-HTTP-Method, X-Method-Override) or a _method parameter. By
	// default a request is refused ([ErrOverride]) when a method it names
	// in those headers or in the query matches a route that decides
	// otherwise than its own. A _method in a form body cannot be seen
	// here: such an upstream must not take the method from the body, or
	// its routes must decide alike for every method of a path.
	NoMethodOverride bool `yaml:"no_method_override"`
	// NoForwardedHost says the upstream never routes by a host a request
	// names in X-Forwarded-Host or Forwarded (Express with trust proxy,
	// Rack and so Rails' host constraints, ASP.NET Core's forwarded headers
	// with host filtering do), or the gateway always sets or removes both
	// (Traefik sets X-Forwarded-Host, and passes Forwarded on). By default a
	// request is refused ([ErrOverride]) when a host it names so matches a
	// route that decides otherwise than its own.
	NoForwardedHost bool `yaml:"no_forwarded_host"`
	// NoURLOverride says the upstream never takes its URL from an
	// X-Original-URL or X-Rewrite-URL header (laminas-http does, and Yii2
	// from its trusted hosts, the gateway's). By default a request naming
	// another URL than its own in one is refused ([ErrOverride]).
	NoURLOverride bool `yaml:"no_url_override"`
}

// IdentityFile names the identity headers. An empty name takes the
// default; "-" turns the header off.
type IdentityFile struct {
	Subject  string `yaml:"subject"`   // default X-Auth-Subject: the token's "sub"
	ClientID string `yaml:"client_id"` // default X-Auth-Client-Id: client_id, azp or cid
	Scopes   string `yaml:"scopes"`    // default X-Auth-Scopes: the granted scopes, space-separated
	// Claims maps a header name to a claim of the token: a string claim
	// as it is, any other value as compact JSON.
	Claims map[string]string `yaml:"claims"`
	// MaxLength caps each value, after escaping (default 1024). A token
	// whose value is longer is refused, never truncated: a truncated
	// identity could name someone else.
	MaxLength int `yaml:"max_length"`
}

// RouteFile is one route as written.
type RouteFile struct {
	// Name names the route in logs, in Decision.Route and in errors;
	// default "#<index>".
	Name string `yaml:"name"`
	// Host, when set, matches the request's host (any case, port ignored);
	// left out, every host. Written empty (host: "", a template that
	// rendered empty) it is an error.
	Host string `yaml:"host"`
	// Methods, when set, are the methods that match ("GET" also matches
	// HEAD, as in net/http.ServeMux); none means every method.
	Methods []string `yaml:"methods"`
	// Path is a net/http.ServeMux path pattern: "/orders/{id}",
	// "/static/" (a prefix), "/files/{path...}", "/{$}".
	Path string `yaml:"path"`
	// Scopes must all be granted; AnyScopes: at least one of them.
	Scopes    []string `yaml:"scopes"`
	AnyScopes []string `yaml:"any_scopes"`
	// AllOf terms must all hold; AnyOf: at least one of them. A term is
	// a scope, a role, a permission or a claim value (the requirement
	// language of [scopes.AnyOf]), so a route can say "scope read:data
	// or role Data.Read". Roles and permissions are those the issuer's
	// configuration reads (a provider preset, or
	// validator.IssuerRoleClaims): a token's other claims never count.
	AllOf []TermFile `yaml:"all_of"`
	AnyOf []TermFile `yaml:"any_of"`
	// ACRValues and MaxAge require step-up authentication (RFC 9470).
	ACRValues []string      `yaml:"acr_values"`
	MaxAge    time.Duration `yaml:"max_age"`
	// Open lets every request through without looking at credentials.
	Open bool `yaml:"open"`
	// Deny refuses every request (403), whatever it carries.
	Deny bool `yaml:"deny"`
}

// TermFile is one term of a route's all_of or any_of, as written: exactly
// one of Scope, Role, Permission and Claim (a claim path, an RFC 6901 JSON
// Pointer such as "/tenant/id", with the Value it must hold).
type TermFile struct {
	Scope      string `yaml:"scope"`
	Role       string `yaml:"role"`
	Permission string `yaml:"permission"`
	Claim      string `yaml:"claim"`
	Value      string `yaml:"value"`
}

// term checks t and returns the term it describes.
func (t TermFile) term() (scopes.Term, error) {
	set := 0
	for _, f := range []string{t.Scope, t.Role, t.Permission, t.Claim} {
		if f != "" {
			set++
		}
	}
	switch {
	case set != 1:
		return scopes.Term{}, errors.New("a term is exactly one of scope, role, permission or claim")
	case t.Value != "" && t.Claim == "":
		return scopes.Term{}, errors.New("value belongs to a claim term")
	case t.Scope != "":
		if !scopes.ValidToken(t.Scope) {
			return scopes.Term{}, fmt.Errorf("scope %q is not one RFC 6749 scope token", t.Scope)
		}
		return scopes.Scope(t.Scope), nil
	case t.Role != "", t.Permission != "":
		name := t.Role + t.Permission
		if !scopes.ValidName(name) {
			return scopes.Term{}, fmt.Errorf("name %q is empty, not UTF-8 or holds a control character", name)
		}
		if t.Role != "" {
			return scopes.Role(name), nil
		}
		return scopes.Permission(name), nil
	}
	if _, err := scopes.ParseClaimPath(t.Claim); err != nil {
		return scopes.Term{}, err
	}
	if !scopes.ValidName(t.Value) {
		return scopes.Term{}, fmt.Errorf("claim %q needs a value: non-empty, UTF-8, no control characters", t.Claim)
	}
	return scopes.Claim(t.Claim, t.Value), nil
}

// Access is what a route or the default asks of a request.
type Access uint8

const (
	// AccessDeny refuses the request with 403.
	AccessDeny Access = iota
	// AccessToken requires a valid token with the route's scopes.
	AccessToken
	// AccessOpen lets the request through; credentials are not looked at.
	AccessOpen
)

// String returns "deny", "authenticated" or "open": the words of the
// route file.
func (a Access) String() string {
	switch a {
	case AccessToken:
		return "authenticated"
	case AccessOpen:
		return "open"
	}
	return "deny"
}

// Rules is a parsed, checked route file. It is immutable and safe for
// concurrent use; a [Decider] swaps whole Rules on reload.
type Rules struct {
	routes   []Route
	fallback Route // the default, named "default"
	identity identity
	upstream UpstreamFile
	hosts    map[string]bool // the hosts routes name
	shadowed []string        // routes no request reaches (Shadowed)
	// shadowedFrom is the first route the report did not check (its
	// work bound reached), -1 when it checked every route.
	shadowedFrom int
}

// Route is one checked route.
type Route struct {
	name        string
	host        string // lower case, no port; "" matches any host
	methods     []string
	pattern     pattern
	access      Access
	requirement scopes.Requirement
	stepUp      validator.StepUp
	opts        []httpbearer.RouteOption // the step-up, when asked for
	asks        string                   // what a token must show, in one spelling (decisionKey)
}

// Name returns the route's name.
func (r *Route) Name() string { return r.name }

// Access returns what the route asks of a request.
func (r *Route) Access() Access { return r.access }

// Requirement returns the scopes the route requires.
func (r *Route) Requirement() scopes.Requirement { return r.requirement }

// Routes returns the number of routes.
func (rs *Rules) Routes() int { return len(rs.routes) }

// Default returns the default's access.
func (rs *Rules) Default() Access { return rs.fallback.access }

// LoadRules reads and parses the route file at path (at most
// [MaxRulesFileSize] bytes).
func LoadRules(path string) (*Rules, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRules, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxRulesFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRules, err)
	}
	return ParseRules(data)
}

// ParseRules parses a route file ([File]) and checks everything in it,
// returning every problem together. Unknown fields, duplicate keys, bad
// patterns, methods, header names and scopes are errors.
func ParseRules(data []byte) (*Rules, error) {
	if len(data) > MaxRulesFileSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrRules, MaxRulesFileSize)
	}
	var f File
	if err := decodeYAML(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrRules, oneLine(yaml.FormatError(err, false, false)))
	}
	rs, err := compile(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRules, err)
	}
	return rs, nil
}

// decodeYAML decodes strictly; a panic in the YAML library on hostile
// input is an error, never a crash of the service that reloads the file.
func decodeYAML(data []byte, f *File) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("the YAML cannot be parsed")
		}
	}()
	if tooDeep(data) {
		return fmt.Errorf("nested deeper than %d levels", maxNesting)
	}
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return err
	}
	if len(file.Docs) > 1 {
		return errors.New("a route file holds one YAML document")
	}
	if len(file.Docs) == 0 || file.Docs[0].Body == nil {
		// A file emptied by a generator that failed would otherwise be
		// "default: deny, no routes", swapped in for the rules in force.
		return errors.New("the route file is empty: write at least \"default: deny\"")
	}
	var v nodeFinder
	for _, doc := range file.Docs {
		ast.Walk(&v, doc)
	}
	switch {
	case v.alias:
		// The YAML library expands aliases without a bound: nested ones
		// ("billion laughs") would take the service's memory.
		return errors.New("anchors and aliases (&name, *name) are not supported in a route file")
	case v.null:
		// "scopes:" with nothing after it (a template that rendered
		// empty) would read as no scopes at all, "deny:" as a token
		// route: a route file never needs null.
		return fmt.Errorf("a key without a value (or null) at line %d: write the value, or leave the key out", v.nullLine)
	}
	// Decoded from the tree already parsed: the YAML library's parser
	// takes time in the square of a mapping's width, so the file is
	// parsed once.
	body := file.Docs[0].Body
	if err := yaml.NodeToValue(body, f, yaml.Strict()); err != nil {
		return err
	}
	// A host written but empty ("", !!str "", a block scalar whose
	// template line rendered empty) decodes as a host left out, which
	// means every host: decoded again, as pointers, to tell them apart.
	var hosts struct {
		Routes []struct {
			Host *string `yaml:"host"`
		} `yaml:"routes"`
	}
	if err := yaml.NodeToValue(body, &hosts); err != nil {
		return err
	}
	for i, r := range hosts.Routes {
		if r.Host != nil && *r.Host == "" {
			return fmt.Errorf("route #%d: an empty host: write the host, or leave the key out for every host", i)
		}
	}
	return nil
}

// maxNesting bounds how deep a route file may nest, counted without
// parsing; a route file needs four or five levels.
const maxNesting = 64

// tooDeep reports whether data nests deeper than maxNesting: flow
// brackets open at once, or a line starting with a longer run of
// indentation, "-" and "?" (block nesting). It over-counts (brackets in
// scalars and comments count too), never under-counts. The YAML library
// takes time in the square of the nesting (20,000 levels: seconds; a
// 1 MiB file: hours), which a reload must not spend.
func tooDeep(data []byte) bool {
	depth, run, lineStart := 0, 0, true
	for _, c := range data {
		if lineStart {
			if c == ' ' || c == '\t' || c == '-' || c == '?' {
				if run++; run > 4*maxNesting {
					return true
				}
				continue
			}
			lineStart = false
		}
		switch c {
		case '[', '{':
			if depth++; depth > maxNesting {
				return true
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		case '\n':
			lineStart, run = true, 0
		}
	}
	return false
}

// nodeFinder finds what a route file must not hold: anchors and aliases,
// and null values (the first one's line).
type nodeFinder struct {
	alias, null bool
	nullLine    int
}

func (a *nodeFinder) Visit(n ast.Node) ast.Visitor {
	switch n.(type) {
	case *ast.AliasNode, *ast.AnchorNode:
		a.alias = true
		return nil
	case *ast.NullNode:
		if !a.null {
			a.null = true
			if tk := n.GetToken(); tk != nil && tk.Position != nil {
				a.nullLine = tk.Position.Line
			}
		}
	}
	if a.alias {
		return nil
	}
	return a
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// compile checks f and builds its Rules.
func compile(f File) (*Rules, error) {
	var errs []error
	rs := &Rules{upstream: f.Upstream}
	switch f.Default {
	case "", "deny":
		rs.fallback = Route{name: "default", access: AccessDeny}
	case "authenticated":
		rs.fallback = Route{name: "default", access: AccessToken}
	case "open":
		rs.fallback = Route{name: "default", access: AccessOpen}
	default:
		errs = append(errs, fmt.Errorf("default %q is not deny, authenticated or open", f.Default))
	}
	id, err := compileIdentity(f.Identity)
	if err != nil {
		errs = append(errs, err)
	}
	rs.identity = id
	if len(f.Routes) > MaxRoutes {
		errs = append(errs, fmt.Errorf("%d routes: at most %d", len(f.Routes), MaxRoutes))
		return nil, errors.Join(errs...)
	}
	names := make(map[string]bool, len(f.Routes))
	for i, rf := range f.Routes {
		r, err := compileRoute(i, rf)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if names[r.name] {
			errs = append(errs, fmt.Errorf("route %q: the name is used twice", r.name))
		}
		names[r.name] = true
		rs.routes = append(rs.routes, r)
		if r.host != "" {
			if rs.hosts == nil {
				rs.hosts = map[string]bool{}
			}
			rs.hosts[r.host] = true
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	rs.fallback.asks = decisionKey(&rs.fallback)
	for i := range rs.routes {
		rs.routes[i].asks = decisionKey(&rs.routes[i])
	}
	rs.findShadowed()
	return rs, nil
}

// findShadowed fills what Shadowed reports.
func (rs *Rules) findShadowed() {
	index := shadowIndex{routes: rs.routes}
	rs.shadowedFrom = -1
	for i := range rs.routes {
		switch j, ok := index.shadowedBy(i); {
		case !ok:
			rs.shadowedFrom = i
			return
		case j >= 0:
			rs.shadowed = append(rs.shadowed, fmt.Sprintf("route %q decides no request: route %q, before it, matches every request it matches",
				rs.routes[i].name, rs.routes[j].name))
		}
	}
}

// Shadowed describes the routes that decide no request, because a route
// before them matches every request they match (first match wins): most
// often a broader route written before a narrower one, whose upstream
// handler a router picking the most specific match would still serve.
// bearerguard serve logs each at Warn when it reads the file.
//
// The check's work is bounded, so that loading stays fast whatever the
// file: unchecked names the first route it did not check ("" when it
// checked them all, and an empty found then says every route decides
// some request). Only a file built to defeat the check stops it.
func (rs *Rules) Shadowed() (found []string, unchecked string) {
	if rs.shadowedFrom >= 0 {
		unchecked = rs.routes[rs.shadowedFrom].name
	}
	return slices.Clone(rs.shadowed), unchecked
}

// covers reports whether r matches every request o matches: any host or
// o's, every method o takes (or any), and a pattern matching every path
// o's matches.
func (r *Route) covers(o *Route) bool {
	if r.host != "" && r.host != o.host {
		return false
	}
	if len(r.methods) > 0 && (len(o.methods) == 0 || slices.ContainsFunc(o.methods, func(m string) bool { return !slices.Contains(r.methods, m) })) {
		return false
	}
	return r.pattern.covers(&o.pattern)
}

// decisionKey spells what a token route asks of a token in one way: the
// terms of each clause sorted, the clauses sorted, without repeats, and
// the step-up's acr values sorted. Routes asking the same with other
// words (scopes [a, b] and [b, a]; no scope listed and none at all) have
// the same key.
func decisionKey(r *Route) string {
	var clauses []string
	for _, c := range r.requirement.Terms() {
		terms := make([]string, len(c))
		for i, t := range c {
			terms[i] = fmt.Sprintf("%q%q%q", t.Kind().String(), t.Path(), t.Name()) // each segment quoted: "a/b" is not "a", "b"
		}
		slices.Sort(terms)
		clauses = append(clauses, strings.Join(slices.Compact(terms), " "))
	}
	slices.Sort(clauses)
	acr := slices.Clone(r.stepUp.ACR)
	slices.Sort(acr)
	return fmt.Sprintf("%q %q %d", slices.Compact(clauses), slices.Compact(acr), r.stepUp.MaxAge)
}

func compileRoute(i int, rf RouteFile) (Route, error) {
	r := Route{name: rf.Name}
	if r.name == "" {
		r.name = fmt.Sprintf("#%d", i)
	}
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("route %q: "+format, append([]any{r.name}, args...)...))
	}
	if !printable(r.name) || len(r.name) > 128 {
		fail("the name must be printable ASCII, at most 128 bytes")
		r.name = fmt.Sprintf("#%d", i)
	}
	if rf.Host != "" {
		h, ok := normalizeHost(rf.Host)
		switch {
		case !ok || strings.LastIndexByte(rf.Host, ':') > strings.LastIndexByte(rf.Host, ']'):
			// A port would be ignored: the route would hold on every port.
			fail("host %q is not a host name or address (no port, no path)", rf.Host)
		case strings.HasPrefix(rf.Host, "[") && strings.ToLower(rf.Host) != h:
			// Requests spelling it as written would be refused as another
			// spelling of the route's host.
			fail("host %q: write the address as %q, as URL parsers write it", rf.Host, h)
		}
		r.host = h
	}
	// A list written but empty ("methods: []", "any_scopes: []", often a
	// generated file whose list came out empty) would mean every method,
	// or no scope check at all: refused, not read as absent.
	for _, l := range []struct {
		name  string
		empty bool
	}{
		{"methods", rf.Methods != nil && len(rf.Methods) == 0},
		{"scopes", rf.Scopes != nil && len(rf.Scopes) == 0},
		{"any_scopes", rf.AnyScopes != nil && len(rf.AnyScopes) == 0},
		{"all_of", rf.AllOf != nil && len(rf.AllOf) == 0},
		{"any_of", rf.AnyOf != nil && len(rf.AnyOf) == 0},
		{"acr_values", rf.ACRValues != nil && len(rf.ACRValues) == 0},
	} {
		if l.empty {
			fail("%s is an empty list: leave it out, or list what it must hold", l.name)
		}
	}
	seen := map[string]bool{}
	for _, m := range rf.Methods {
		if !isMethod(m) {
			fail("method %q is not an upper-case HTTP method token", m)
			continue
		}
		if !seen[m] {
			seen[m] = true
			r.methods = append(r.methods, m)
		}
	}
	if seen[http.MethodGet] && !seen[http.MethodHead] {
		r.methods = append(r.methods, http.MethodHead) // as ServeMux: GET also matches HEAD
	}
	p, err := parsePattern(rf.Path)
	if err != nil {
		fail("path: %v", err)
	}
	r.pattern = p
	switch {
	case rf.Open && rf.Deny:
		fail("open and deny together")
	case rf.Open || rf.Deny:
		if len(rf.Scopes)+len(rf.AnyScopes)+len(rf.AllOf)+len(rf.AnyOf)+len(rf.ACRValues) > 0 || rf.MaxAge != 0 {
			fail("open and deny routes take no scopes, all_of, any_of, acr_values or max_age")
		}
		r.access = AccessOpen
		if rf.Deny {
			r.access = AccessDeny
		}
	default:
		r.access = AccessToken
		req, err := requirementOf(rf.Scopes, rf.AnyScopes)
		if err != nil {
			fail("%v", err)
		}
		for i, list := range [][]TermFile{rf.AllOf, rf.AnyOf} {
			terms := make([]scopes.Term, 0, len(list))
			for _, tf := range list {
				t, err := tf.term()
				if err != nil {
					fail("%s: %v", [...]string{"all_of", "any_of"}[i], err)
					continue
				}
				terms = append(terms, t)
			}
			if len(terms) < len(list) {
				continue
			}
			if i == 0 {
				req = req.And(scopes.AllOf(terms...))
			} else {
				req = req.And(scopes.AnyOf(terms...))
			}
		}
		r.requirement = req
		stepUpOK := true // fail does not stop: WithStepUp panics on what it reports
		if rf.MaxAge < 0 {
			fail("max_age %v is negative", rf.MaxAge)
			stepUpOK = false
		}
		for _, a := range rf.ACRValues {
			if a == "" || !printable(a) || strings.ContainsAny(a, " \"\\") {
				fail("acr value %q is not printable ASCII without spaces or quotes", a)
				stepUpOK = false
			}
		}
		r.stepUp = validator.StepUp{ACR: rf.ACRValues, MaxAge: rf.MaxAge}
		if stepUpOK && (len(rf.ACRValues) > 0 || rf.MaxAge > 0) {
			r.opts = []httpbearer.RouteOption{httpbearer.WithStepUp(r.stepUp)}
		}
	}
	return r, errors.Join(errs...)
}

// requirementOf builds all-of and any-of scope lists, checking each scope
// first (scopes.All and scopes.Any panic on a bad one).
func requirementOf(all, anyOf []string) (scopes.Requirement, error) {
	for _, list := range [][]string{all, anyOf} {
		for _, s := range list {
			if !scopes.ValidToken(s) {
				return scopes.Requirement{}, fmt.Errorf("scope %q is not one RFC 6749 scope token", s)
			}
		}
	}
	return scopes.All(all...).And(scopes.Any(anyOf...)), nil
}

// isMethod reports whether m is an upper-case RFC 9110 method token.
func isMethod(m string) bool {
	if m == "" || len(m) > 32 {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// printable reports whether s is printable ASCII (space included).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// spelledNormally reports whether host, as sent, is its normal form n
// (what normalizeHost made of it) with a port or without: in lower case,
// without a trailing dot.
func spelledNormally(host, n string) bool {
	return host == n || len(host) > len(n) && host[:len(n)] == n && host[len(n)] == ':'
}

// normalizeHost lower-cases a host and strips a port; ok is false for
// anything that is not a plain host name or IP literal. An IPv6 literal
// is written as a WHATWG URL parser writes it ([ipv6String]); a host that
// such a parser reads as an IPv4 address (its last label a number) must
// be that address in dotted decimal: "127.1", "0x7f000001" and
// "0177.0.0.1", which it reads as 127.0.0.1, are refused, not left to
// match no route.
func normalizeHost(h string) (string, bool) {
	if h == "" || len(h) > 255 {
		return "", false
	}
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", false
		}
		rest := h[end+1:]
		if rest != "" && !validPort(rest) {
			return "", false
		}
		// Brackets hold an IPv6 address and nothing else: "[evil.com]"
		// is a host no URL parser agrees on.
		a, err := netip.ParseAddr(h[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", false
		}
		return "[" + ipv6String(a) + "]", true
	} else if i := strings.IndexByte(h, ':'); i >= 0 {
		if !validPort(h[i:]) {
			return "", false
		}
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || h[0] == '.' || h[len(h)-1] == '.' || strings.Contains(h, "..") {
		return "", false // an empty label: "host..", whose reading differs by parser
	}
	// Checked before lower-casing: strings.ToLower folds some non-ASCII
	// letters to ASCII ("İ" to "i", the Kelvin sign to "k"), which would
	// match a host the gateway never routed as that host.
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", false
		}
	}
	h = strings.ToLower(h)
	if last := h[strings.LastIndexByte(h, '.')+1:]; endsInNumber(last) {
		if a, err := netip.ParseAddr(h); err != nil || !a.Is4() || a.String() != h {
			return "", false
		}
	}
	return h, true
}

// endsInNumber reports whether a host's last label makes a WHATWG URL
// parser read the host as an IPv4 address: all decimal digits, or "0x"
// and hex digits.
func endsInNumber(label string) bool {
	digits := label
	if strings.HasPrefix(label, "0x") {
		digits = label[2:]
		if digits == "" {
			return true
		}
		return strings.Trim(digits, "0123456789abcdef") == ""
	}
	return digits != "" && strings.Trim(digits, "0123456789") == ""
}

// ipv6String writes a as a WHATWG URL parser does (the form Node's
// new URL gives, and a canonical --resource): RFC 5952 (lower case, the
// longest run of zeros as ::), with no dotted IPv4 part, so that every
// spelling of one address is one host ("[2001:db8:0::1]" and
// "[2001:DB8::1]" are "[2001:db8::1]"; "[::ffff:127.0.0.1]" is
// "[::ffff:7f00:1]").
func ipv6String(a netip.Addr) string {
	if !a.Is4In6() {
		return a.String() // RFC 5952; netip writes a dotted part only for ::ffff:0:0/96
	}
	b := a.As16()
	return fmt.Sprintf("::ffff:%x:%x", uint16(b[12])<<8|uint16(b[13]), uint16(b[14])<<8|uint16(b[15]))
}

// validPort reports whether p is ":" and a port number: decimal digits
// (leading zeros allowed, as URL parsers allow them) of a value at most
// 65535. A WHATWG URL parser refuses a larger one ("port out of range")
// where net/url keeps it, so such a host is no host every reader agrees on.
func validPort(p string) bool {
	if len(p) < 2 || p[0] != ':' || len(p) > 6 {
		return false
	}
	n := 0
	for i := 1; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}
