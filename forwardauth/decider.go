package forwardauth

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/internal/tokenkey"
	"github.com/bearerguard/bearerguard/internal/trustedproxy"
	"github.com/bearerguard/bearerguard/validator"
)

// ErrDenied is matched (errors.Is) by a [Decision]'s error for a request
// refused by a deny route or the deny default.
var ErrDenied = errors.New("forwardauth: denied by the route")

// ErrUntrustedProxy is matched (errors.Is) by a [Decision]'s error for a
// forwarded request from an address not among the trusted proxies.
var ErrUntrustedProxy = errors.New("forwardauth: forwarded request from an untrusted address")

// Request is the original request a gateway asks about. It carries the
// client's credentials (Authorization, cookies, a DPoP proof): never log
// it whole.
type Request struct {
	// Method is the original method ("GET").
	Method string
	// Scheme is "https" or "http"; "" means https. It and Host form the
	// URL a DPoP proof's "htu" is compared with, unless the Guard has a
	// public URL (httpbearer.WithPublicURL).
	Scheme string
	// Host is the original Host (or :authority); it may carry a port.
	Host string
	// URI is the original origin-form request target: path and query.
	URI string
	// Header holds the client's headers. Authorization, DPoP and Cookie
	// are read for the token; the method-override headers
	// ([UpstreamFile.NoMethodOverride]) and any name with a byte other
	// than a letter, digit or '-' (one spelling an identity header so,
	// X_Auth_Subject, is refused) are looked at. It is not
	// modified.
	Header http.Header
	// Peer is the network address (host:port) of the gateway that asked.
	// A Guard with httpbearer.WithClientCertHeader reads the client's
	// certificate from Header only when Peer is one of that option's
	// proxies, as for a request it serves itself: the gateway must then
	// set that header itself, overwriting the client's, for every request.
	// The nginx front end sets it with [WithNginxClientCert]; no other
	// front end does (Envoy's gRPC service passes the certificate Envoy
	// verified in ClientCert, never one named by a header).
	Peer string
	// ClientCert is the client's TLS certificate as the gateway verified
	// it, for certificate-bound tokens (RFC 8705): Envoy's ext_authz gRPC
	// service sends it. It needs the https scheme.
	ClientCert *x509.Certificate
}

// Decision is the answer to one [Request]. An allowed one may carry the
// internal token in its Header: never log it whole.
type Decision struct {
	// Allowed: the gateway passes the request upstream, with Header.
	Allowed bool
	// Status is 200 when allowed, else the status to answer the client
	// with: 400, 401, 403 or 503, per RFC 6750 and the module's single
	// answer table.
	Status int
	// Header: when allowed, every identity header (empty when the token
	// has no such value, and all empty on open routes), empty, the names
	// of identity headers that are no longer set (a default turned off,
	// a name an earlier route file set: at most 256), so that the gateway
	// replaces or removes a client's copy of them too, and the internal
	// token when configured, for the upstream request, and Cache-Control:
	// no-store for the gateway; when refused,
	// WWW-Authenticate (or Retry-After), DPoP-Nonce, Cache-Control and
	// Content-Type, for the client.
	Header http.Header
	// Body is the JSON error body of a refusal.
	Body []byte
	// Route names the route that decided ("default" for none).
	Route string
	// Err says why the request was refused (errors.Is with the validator's
	// errors, [ErrDenied], [ErrOriginalRequest], [ErrAmbiguousPath], [ErrOverride], [ErrIdentityTooLong],
	// [ErrUntrustedProxy]); nil when allowed. It never holds the token.
	Err error
}

// Decider is the decision core behind every front end: it matches the
// original request against the current [Rules] and has the Guard decide
// on its token, exactly as the Guard's own middleware would. It is safe
// for concurrent use; [Decider.SetRules] swaps the rules atomically.
type Decider struct {
	guard       *httpbearer.Guard
	rules       atomic.Pointer[Rules]
	proxies     trustedproxy.List
	nginx       NginxHeaders
	signer      *Signer
	tokenHeader string
	publicURL   string // the guard's, without a final '/', for the internal token's htu; "" without one
	timeout     time.Duration
	now         func() time.Time
	log         *slog.Logger
	tel         *telemetry
	nginxCert   bool          // WithNginxClientCert
	leeway      time.Duration // the validator's, past a token's exp: how long the internal token may last
	// retired are the identity header names ever in force, and the
	// defaults: an allowed answer sets empty those its own rules do not
	// set (a default turned off, a name an earlier or a later route file
	// set), so that a gateway told to copy or remove them (Envoy's
	// allowed_upstream_headers, its gRPC service's headers_to_remove)
	// never passes a client's own copy on, whichever rules a decision
	// spanning a reload started with. retireMu orders SetRules calls.
	retired  atomic.Pointer[[]string]
	retireMu sync.Mutex
	// foldedNames maps each retired name, and the internal token's
	// header, as the loosest CGI-style server reads a header name
	// ([foldedName]), to the name: see [Decider.spelledOtherwise].
	foldedNames atomic.Pointer[map[string]string]

	untrusted untrustedLog
}

// untrustedLog remembers which untrusted addresses were logged at Warn in
// the current minute, and how often the others were refused: a gateway
// left out of the trusted proxies gets 403 on every request, the answer of
// a deny route, and the operator must be able to tell why, whoever else
// reaches the service directly.
type untrustedLog struct {
	mu     sync.Mutex
	since  time.Time      // start of the current minute
	logged map[string]int // addresses logged at Warn since then, with their refusals
	total  int            // refusals since then
	// heavy counts the refusals of the other addresses, with the
	// Misra-Gries summary of untrustedCountPeers counters: an address
	// refused more than a 1/(untrustedCountPeers+1) share of the minute's
	// refusals keeps its counter, whatever the number of other addresses,
	// and its count falls short by that share at most.
	heavy map[string]int
}

// Bounds of the Warn lines about untrusted addresses: each address (an
// IPv6 /64) at most once a minute, at most untrustedLogPeers addresses a
// minute, and then one line naming the untrustedTopPeers addresses refused
// most in the minute of those not logged.
const (
	untrustedLogEvery   = time.Minute
	untrustedLogPeers   = 32
	untrustedCountPeers = 1024
	untrustedTopPeers   = 32
)

// untrustedKey is the address a refusal is counted under: the host, or
// for IPv6 its /64 (one client's network).
func untrustedKey(peer string) string {
	host := peer
	if h, _, err := net.SplitHostPort(peer); err == nil {
		host = h
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() && !a.Is4In6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return host
}

// untrustedCount is an address and its refusals.
type untrustedCount struct {
	peer    string
	refused int
}

// count records a refusal of key, and reports whether it is to be logged
// at Warn. Amortized constant time: a full summary's decrement frees
// counters worth the increments that filled them.
func (u *untrustedLog) count(key string) (warn bool) {
	u.total++
	if _, ok := u.logged[key]; ok {
		u.logged[key]++
		return false
	}
	if len(u.logged) < untrustedLogPeers {
		u.logged[key] = 1
		return true
	}
	switch _, ok := u.heavy[key]; {
	case ok:
		u.heavy[key]++
	case len(u.heavy) < untrustedCountPeers:
		u.heavy[key] = 1
	default:
		for k, n := range u.heavy {
			if n == 1 {
				delete(u.heavy, k)
			} else {
				u.heavy[k] = n - 1
			}
		}
	}
	return false
}

// top returns the minute's most refused addresses of those not logged,
// most first, and the refusals of every address not logged.
func (u *untrustedLog) top() (top []untrustedCount, unlogged int) {
	unlogged = u.total
	for _, n := range u.logged {
		unlogged -= n
	}
	for k, n := range u.heavy {
		top = append(top, untrustedCount{k, n})
	}
	slices.SortFunc(top, func(a, b untrustedCount) int {
		if c := cmp.Compare(b.refused, a.refused); c != 0 {
			return c
		}
		return strings.Compare(a.peer, b.peer)
	})
	return top[:min(len(top), untrustedTopPeers)], unlogged
}

// refusedUntrusted logs a request refused because it came from peer, an
// address not in the trusted proxies: at Warn the first time its address
// is seen in a minute (for at most untrustedLogPeers addresses a minute),
// else at Debug; and, once a minute is over, at Warn in one line the
// addresses refused most in it of those not logged (untrustedTopPeers at
// most): a caller that takes the Warn lines cannot hide the gateway unless
// it also sends more than the gateway does from each of as many more
// addresses.
func (d *Decider) refusedUntrusted(fe frontend, peer string) {
	key := untrustedKey(peer)
	now := d.now()
	u := &d.untrusted
	u.mu.Lock()
	var top []untrustedCount
	var unlogged int
	if u.logged == nil || now.Sub(u.since) >= untrustedLogEvery || now.Before(u.since) {
		if u.logged != nil {
			top, unlogged = u.top()
		}
		u.since, u.logged, u.heavy, u.total = now, make(map[string]int), make(map[string]int), 0
	}
	warn := u.count(key)
	u.mu.Unlock()
	if len(top) > 0 {
		var b strings.Builder
		for i, c := range top {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s (%d)", c.peer, c.refused)
		}
		d.log.Warn("forwardauth: in the last minute, requests from addresses not among the trusted proxies were refused (403) without a line of their own; if one is the gateway, add it to them; the most refused",
			"peers", b.String(), "refused_unlogged", unlogged)
	}
	if warn {
		d.log.Warn("forwardauth: refused a request from an address not among the trusted proxies (403); if it is the gateway, add it to them (--trusted-proxies, WithTrustedProxies); each address logged at most once a minute",
			"frontend", fe.String(), "peer", key)
		return
	}
	d.log.Debug("forwardauth: refused", "frontend", fe.String(), "status", http.StatusForbidden, "error", ErrUntrustedProxy, "peer", peer)
}

// New returns a Decider that decides with g (build it over a
// *validator.Validator so that DPoP and certificate checks apply) and
// rules. It checks every option at once and returns all problems together.
// g must be one httpbearer.New built: a nil or zero Guard is an error, and
// so is one built with httpbearer.WithFormToken (a gateway sends no body).
func New(g *httpbearer.Guard, rules *Rules, opts ...Option) (*Decider, error) {
	c := config{timeout: DefaultTimeout, clock: time.Now, logger: slog.Default()}
	for _, o := range opts {
		o(&c)
	}
	errs := c.errs
	if g.Validator() == nil {
		errs = append(errs, errors.New("nil guard, or one httpbearer.New did not build"))
	}
	if g.ReadsFormBody() {
		// A gateway sends no body: a request with a token in its header
		// and another in its form would be decided on the first, and the
		// upstream could read the second.
		errs = append(errs, errors.New("a guard built with httpbearer.WithFormToken: forward auth never sees the request's body"))
	}
	if rules == nil {
		errs = append(errs, errors.New("nil rules"))
	}
	if !c.proxiesSet {
		c.proxies = trustedproxy.List{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	if c.signer != nil && rules != nil {
		for _, n := range rules.Names() {
			if n == c.tokenHeader {
				errs = append(errs, fmt.Errorf("the internal token header %q is also an identity header", n))
			}
		}
	}
	tel, err := newTelemetry(c.meter)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("forwardauth: invalid configuration: %w", errors.Join(errs...))
	}
	d := &Decider{guard: g, proxies: c.proxies, nginx: c.nginx.withDefaults(), signer: c.signer, tokenHeader: c.tokenHeader, nginxCert: c.nginxCert,
		timeout: c.timeout, now: c.clock, log: c.logger, tel: tel, publicURL: strings.TrimSuffix(g.PublicURL(), "/")}
	if l, ok := g.Validator().(interface{ Leeway() time.Duration }); ok {
		d.leeway = l.Leeway() // else 0: the internal token never lasts past the access token's exp
	}
	d.retire(rules)
	d.rules.Store(rules)
	return d, nil
}

// Rules returns the rules in force.
func (d *Decider) Rules() *Rules { return d.rules.Load() }

// SetRules puts rules in force for every decision that starts after it
// returns; decisions under way finish with the rules they started with.
// The identity headers of the new rules must not include the internal
// token's header.
func (d *Decider) SetRules(rules *Rules) error {
	if rules == nil {
		return errors.New("forwardauth: nil rules")
	}
	if d.signer != nil {
		for _, n := range rules.Names() {
			if n == d.tokenHeader {
				return fmt.Errorf("forwardauth: the internal token header %q is also an identity header", n)
			}
		}
	}
	d.retireMu.Lock()
	defer d.retireMu.Unlock()
	d.retire(rules)
	d.rules.Store(rules)
	return nil
}

// maxRetired bounds the identity header names kept (each reload may name
// new ones).
const maxRetired = 256

// retire adds next's identity header names to those ever in force (the
// defaults first, then next's, then the earlier ones, at most maxRetired).
func (d *Decider) retire(next *Rules) {
	seen := map[string]bool{d.tokenHeader: true, "Cache-Control": true}
	out := []string{}
	add := func(n string) {
		if !seen[n] && len(out) < maxRetired {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, n := range []string{DefaultSubjectHeader, DefaultClientIDHeader, DefaultScopesHeader} {
		add(n)
	}
	if next != nil {
		for _, n := range next.Names() {
			add(n)
		}
	}
	if prev := d.retired.Load(); prev != nil {
		for _, n := range *prev {
			add(n)
		}
	}
	d.retired.Store(&out)
	folded := make(map[string]string, len(out)+1)
	for _, n := range out {
		folded[foldedName(n)] = n
	}
	if d.signer != nil {
		folded[foldedName(d.tokenHeader)] = d.tokenHeader
	}
	d.foldedNames.Store(&folded)
}

// foldedName is a header name as the loosest CGI-style server reads it:
// lighttpd turns every byte but a letter or digit into '_', Rack (so
// Rails), WSGI servers and PHP behind FastCGI a '-' (and '_' stays '_'),
// and all of them ignore case. Lower case, '-' for every byte but a
// letter or digit.
func foldedName(n string) string {
	b := []byte(n)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + ('a' - 'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		default:
			b[i] = '-'
		}
	}
	return string(b)
}

// plainName reports whether n is a header name of letters, digits and
// '-' only: two such names are one to every server exactly when they are
// equal but for case, and a gateway overwriting one overwrites the other.
// Identity headers and the internal token's must be plain.
func plainName(n string) bool {
	if n == "" || len(n) > 128 {
		return false
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// spelledOtherwise returns the identity header (or the internal token's
// header) that a header named in odd (the client's header names that
// are not plain, [plainName]) spells otherwise than as a gateway
// overwrites it: with '_' or another byte for a '-' (X_Auth_Subject,
// X.Auth.Subject), or "". Gateways overwrite the name the answer gives,
// in any case, and pass such a spelling on (Traefik, Envoy; nginx only
// with underscores_in_headers on, or ignore_invalid_headers off): a
// CGI-style upstream reads both as one ([foldedName]), and may take the
// client's value. Only a name with a byte other than a letter, digit or
// '-' can be such a spelling, since identity names are plain; the work is
// linear in the length of those names.
func (d *Decider) spelledOtherwise(odd []string) string {
	folded := d.foldedNames.Load()
	if folded == nil {
		return ""
	}
	for _, k := range odd {
		if n, ok := (*folded)[foldedName(k)]; ok {
			return n
		}
	}
	return ""
}

// HeaderNames returns the names of every header an allowed answer sets
// for the upstream (the identity headers, then the internal token's):
// the list to give the gateway to copy, overwriting what the client sent.
func (d *Decider) HeaderNames() []string {
	names := d.rules.Load().Names()
	if d.signer != nil {
		names = append(names, d.tokenHeader)
	}
	return names
}

// Decide decides on one original request, on its own credentials only: a
// token bound to ctx (validator.NewContext, or an httpbearer Guard's
// binding) is never reused. A Decider New did not build answers a denied
// 503 and never panics.
func (d *Decider) Decide(ctx context.Context, req Request) *Decision {
	if d == nil || d.guard == nil {
		// A Decider New did not build: refuse, never panic (a caller's
		// gRPC handler would end the process).
		return refusal(http.StatusServiceUnavailable, "temporarily_unavailable", "", validator.ErrUnavailable)
	}
	return d.decide(ctx, req, feAPI)
}

// tlsMarker makes the Guard build an https URL for DPoP's htu: it reads
// only whether the request has a TLS state, and never changes it.
var tlsMarker = &tls.ConnectionState{}

func (d *Decider) decide(ctx context.Context, req Request, fe frontend) *Decision {
	start := d.tel.start(ctx)
	rules := d.rules.Load()
	dec := d.decideWith(ctx, rules, req)
	d.tel.record(ctx, start, fe, dec.Status)
	if dec.Err != nil {
		d.log.Debug("forwardauth: refused", "frontend", fe.String(), "route", dec.Route, "status", dec.Status, "error", dec.Err)
	}
	return dec
}

func (d *Decider) decideWith(ctx context.Context, rules *Rules, req Request) *Decision {
	escaped, rawQuery, err := parseOriginalURI(req.URI)
	if err != nil || !isMethod(req.Method) || (req.Scheme != "" && req.Scheme != "https" && req.Scheme != "http") ||
		(req.ClientCert != nil && req.Scheme == "http") {
		return refusal(http.StatusBadRequest, "invalid_request", "", ErrOriginalRequest)
	}
	sc := scanHeaders(req.Header)
	if n := d.spelledOtherwise(sc.odd); n != "" {
		return refusal(http.StatusBadRequest, "invalid_request", "", fmt.Errorf("%w: a header spells %s with another byte for a '-', which upstreams reading headers as CGI does take for it", ErrOriginalRequest, n))
	}
	host := req.Host
	h, ok := normalizeHost(host)
	if host != "" && !ok {
		return refusal(http.StatusBadRequest, "invalid_request", "", ErrOriginalRequest)
	}
	// Host routes match the host in any case and without a trailing dot;
	// an upstream routing by host as sent (ServeMux's host patterns, behind
	// Traefik or Envoy, which pass the Host on) could take REPORTS.example.com
	// for another host than the one a route names: such a spelling of a host
	// that routes name is refused.
	if rules.hosts[h] && !spelledNormally(host, h) {
		return refusal(http.StatusBadRequest, "invalid_request", "", ErrOriginalRequest)
	}
	route := rules.match(req.Method, h, escaped, false)
	if route.access == AccessDeny {
		return refusal(http.StatusForbidden, "access_denied", route.name, ErrDenied)
	}
	if other, how := rules.otherSpelling(req.Method, h, escaped, route); how != "" {
		return refusal(http.StatusBadRequest, "invalid_request", route.name, &AmbiguousPathError{Route: route.name, Other: other, Spelling: how})
	}
	if dec := rules.rerouted(req, &sc, h, escaped, rawQuery, route); dec != nil {
		return dec
	}
	if route.access == AccessOpen {
		return d.allow(rules, route, nil, req, h, escaped)
	}

	u := &url.URL{Path: unescapedPath(escaped), RawQuery: rawQuery}
	if u.Path != escaped {
		u.RawPath = escaped
	}
	r := &http.Request{Method: req.Method, URL: u, Host: host, Header: req.Header, Body: http.NoBody,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, RequestURI: req.URI, RemoteAddr: req.Peer}
	switch {
	case req.ClientCert != nil:
		r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{req.ClientCert}}
	case req.Scheme != "http":
		r.TLS = tlsMarker
	}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	// The decision is on the original request alone: a token bound to
	// ctx (the auth request's, when the front end is mounted behind the
	// application's own Guard; the caller's, when Decide is called from a
	// guarded handler) is another request's, and the Guard must not reuse
	// it for this one.
	// Its peer is req.Peer, not the connection ctx may name (the auth
	// request's, recorded by httpbearer.ConnContext).
	ctx, cancel := context.WithTimeout(trustedproxy.HidePeer(tokenkey.Hide(ctx)), d.timeout)
	defer cancel()
	r = r.WithContext(ctx)
	w := &capture{header: http.Header{}}
	_, tok, ok := d.guard.Authorize(w, r, route.requirement, route.opts...)
	if !ok {
		status := w.status
		if status == 0 {
			status = http.StatusUnauthorized // the Guard always writes one; never allow by accident
		}
		return &Decision{Status: status, Header: w.header, Body: w.body.Bytes(), Route: route.name, Err: refusalError(status, w.header)}
	}
	return d.allow(rules, route, tok, req, h, escaped)
}

// allow builds the answer for an allowed request: every identity header,
// empty when tok is nil or has no such value, and the internal token,
// bound to req (whose host, normalized, is host, and whose path, as sent,
// is escaped).
func (d *Decider) allow(rules *Rules, route *Route, tok *validator.Token, req Request, host, escaped string) *Decision {
	vals, err := rules.identity.values(tok)
	if err != nil {
		return refusal(http.StatusForbidden, "access_denied", route.name, err)
	}
	retired := *d.retired.Load()
	h := make(http.Header, len(vals)+len(retired)+2)
	for i, ih := range rules.identity.headers {
		h[ih.name] = vals[i : i+1 : i+1] // one backing array for every value
	}
	for _, n := range retired {
		if _, ok := h[n]; !ok { // a reload may have put it back
			h[n] = emptyValue
		}
	}
	if d.signer != nil {
		v := ""
		if tok != nil {
			b := d.bindingOf(rules, route, req, host, escaped, vals)
			if b.URI == "" {
				// An HTTP/1.0 request without Host, through a gateway that
				// passes that on: a token naming no URI would be good for any.
				return refusal(http.StatusBadRequest, "invalid_request", route.name, fmt.Errorf("%w: no host to name in the internal token", ErrOriginalRequest))
			}
			if v, err = d.signer.sign(tok, tok.Scopes.String(), d.now(), d.leeway, b); err != nil {
				d.log.Error("forwardauth: cannot sign the internal token", "error", err)
				return refusal(http.StatusServiceUnavailable, "temporarily_unavailable", route.name, err)
			}
		}
		h[d.tokenHeader] = []string{v}
	}
	vals = append(vals, "no-store") // values has room for it
	h["Cache-Control"] = vals[len(vals)-1:]
	return &Decision{Allowed: true, Status: http.StatusOK, Header: h, Route: route.name}
}

// bindingOf is what ties an internal token to the request it allows
// (see [Signer]): vals are the identity headers' values, in rules' order.
func (d *Decider) bindingOf(rules *Rules, route *Route, req Request, host, escaped string, vals []string) requestBinding {
	b := requestBinding{ID: newJTI(), Method: req.Method, Route: route.name, URI: d.requestURI(req, host, escaped)}
	for i, h := range rules.identity.headers {
		if h.from == "claim" {
			if b.Identity == nil {
				b.Identity = make(map[string]string, len(rules.identity.headers))
			}
			b.Identity[h.name] = vals[i]
		}
	}
	return b
}

// requestURI is the URI an internal token names (its "htu"): the Guard's
// public URL with the request's path, as a DPoP proof's "htu" is compared
// with, or else the scheme and the host the gateway sent, normalized (lower
// case, no trailing dot, no default port), and the path as sent; no query.
// host is req.Host normalized ([normalizeHost]); "" when there is
// neither a public URL nor a host.
func (d *Decider) requestURI(req Request, host, escaped string) string {
	if d.publicURL != "" {
		return d.publicURL + escaped
	}
	if host == "" {
		return ""
	}
	scheme := req.Scheme
	if scheme == "" {
		scheme = "https"
	}
	if i := strings.LastIndexByte(req.Host, ':'); i > strings.LastIndexByte(req.Host, ']') {
		port := strings.TrimLeft(req.Host[i+1:], "0")
		if port == "" {
			port = "0"
		}
		if !(scheme == "https" && port == "443" || scheme == "http" && port == "80") {
			host += ":" + port
		}
	}
	return scheme + "://" + host + escaped
}

// emptyValue is a retired identity header's value: shared, never written.
var emptyValue = []string{""}

// refusal is a refusal without a challenge: a deny route, an unusable
// forwarded request, an identity over the cap.
func refusal(status int, code, route string, err error) *Decision {
	h := http.Header{"Cache-Control": {"no-store"}, "Content-Type": {"application/json"}}
	if status == http.StatusServiceUnavailable {
		h["Retry-After"] = []string{"5"}
	}
	return &Decision{Status: status, Header: h, Body: []byte(`{"error":"` + code + `"}` + "\n"), Route: route, Err: err}
}

// refusalError is the error of a refusal the Guard answered. The Guard
// hides its error; the status and challenge say which class it was.
func refusalError(status int, h http.Header) error {
	switch status {
	case http.StatusBadRequest:
		return validator.ErrInvalidRequest
	case http.StatusForbidden:
		return validator.ErrInsufficientScope
	case http.StatusServiceUnavailable:
		return validator.ErrUnavailable
	}
	if strings.Contains(h.Get("WWW-Authenticate"), "error=") {
		return validator.ErrInvalidToken
	}
	return validator.ErrNoToken
}

// capture is the ResponseWriter the Guard answers a refusal into: the
// front end turns it into its gateway's form.
type capture struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *capture) Header() http.Header { return c.header }

func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *capture) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.body.Len()+len(p) > 4<<10 {
		return 0, errors.New("forwardauth: error body too large")
	}
	return c.body.Write(p)
}
