// Package resourcemeta publishes OAuth 2.0 Protected Resource Metadata
// (RFC 9728): the document that tells a client which authorization
// servers issue tokens for this resource, which scopes exist and how
// tokens may be sent, served at the resource's well-known URL and pointed
// to from every 401 challenge (httpbearer.WithResourceMetadata). MCP
// clients discover their authorization server this way.
//
//	md, err := resourcemeta.New("https://api.example.com/orders",
//		resourcemeta.WithAuthorizationServers("https://id.example.com/"),
//		resourcemeta.WithScopes("read:data", "write:data"))
//	// check err
//	mux.Handle(md.Path(), md)                      // GET /.well-known/oauth-protected-resource/orders
//	guard, err := httpbearer.New(v, httpbearer.WithResourceMetadata(md.URL())) // check err
package resourcemeta

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/bearerguard/bearerguard/internal/httpfetch"
	"github.com/bearerguard/bearerguard/internal/nilness"
	"github.com/bearerguard/bearerguard/scopes"
	"golang.org/x/net/idna"

	"github.com/bearerguard/bearerguard/validator"
)

// WellKnownPath is the well-known URI suffix of RFC 9728 §3.
const WellKnownPath = "/.well-known/oauth-protected-resource"

// Metadata is the document of RFC 9728 §2. Empty members are left out.
type Metadata struct {
	Resource                              string   `json:"resource"`
	AuthorizationServers                  []string `json:"authorization_servers,omitempty"`
	JWKSURI                               string   `json:"jwks_uri,omitempty"`
	ScopesSupported                       []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported                []string `json:"bearer_methods_supported,omitempty"`
	ResourceSigningAlgValuesSupported     []string `json:"resource_signing_alg_values_supported,omitempty"`
	ResourceName                          string   `json:"resource_name,omitempty"`
	ResourceDocumentation                 string   `json:"resource_documentation,omitempty"`
	ResourcePolicyURI                     string   `json:"resource_policy_uri,omitempty"`
	ResourceTOSURI                        string   `json:"resource_tos_uri,omitempty"`
	TLSClientCertificateBoundAccessTokens bool     `json:"tls_client_certificate_bound_access_tokens,omitempty"`
	DPoPSigningAlgValuesSupported         []string `json:"dpop_signing_alg_values_supported,omitempty"`
	DPoPBoundAccessTokensRequired         bool     `json:"dpop_bound_access_tokens_required,omitempty"`
	SignedMetadata                        string   `json:"signed_metadata,omitempty"`
}

// Document is a resource's metadata, encoded once, and an [http.Handler]
// serving it. Build one with [New]; it is immutable and safe for
// concurrent use.
type Document struct {
	md   Metadata
	body []byte
	url  string
	path string
}

// Option configures a [Document].
type Option func(*config)

type config struct {
	md     Metadata
	signer crypto.Signer
	alg    validator.Algorithm
	kid    string
	errs   []error
}

// WithAuthorizationServers lists the issuers whose tokens the resource
// accepts (their issuer identifiers, RFC 8414).
func WithAuthorizationServers(issuers ...string) Option {
	return func(c *config) {
		for _, iss := range issuers {
			if err := checkURL(iss); err != nil {
				c.errs = append(c.errs, fmt.Errorf("WithAuthorizationServers: %w", err))
			}
		}
		c.md.AuthorizationServers = append(c.md.AuthorizationServers, issuers...)
	}
}

// WithScopes lists scopes the resource uses (scopes_supported); those
// its routes require can be collected with httpbearer's Guard.Scopes or
// mcpbearer's Guard.Scopes once the routes are built. Each must be a
// scope token (RFC 6749 §3.3): an empty one, or one with a space, is
// refused. Given more than once, the lists add up.
func WithScopes(scopes ...string) Option {
	return func(c *config) {
		for _, s := range scopes {
			if !scopeToken(s) {
				c.errs = append(c.errs, fmt.Errorf("WithScopes: %q is not a scope token", s))
			}
		}
		c.md.ScopesSupported = appendNew(c.md.ScopesSupported, scopes...)
	}
}

// WithBearerMethods lists how tokens may be sent: "header" (the default),
// "body", "query" (RFC 9728 §2).
func WithBearerMethods(methods ...string) Option {
	return func(c *config) {
		for _, m := range methods {
			if m != "header" && m != "body" && m != "query" {
				c.errs = append(c.errs, fmt.Errorf("WithBearerMethods: %q is not header, body or query", m))
			}
		}
		c.md.BearerMethodsSupported = methods
	}
}

// WithDPoP describes the resource's DPoP policy: the proof algorithms it
// accepts and whether every token must be DPoP-bound. [FromValidator] fills
// it from a validator's configuration.
func WithDPoP(algs []validator.Algorithm, required bool) Option {
	return func(c *config) {
		c.md.DPoPSigningAlgValuesSupported = nil
		for _, a := range algs {
			c.md.DPoPSigningAlgValuesSupported = append(c.md.DPoPSigningAlgValuesSupported, string(a))
		}
		c.md.DPoPBoundAccessTokensRequired = required
	}
}

// FromValidator describes what v accepts: its DPoP algorithms and whether
// DPoP is required (nothing when DPoP is off).
func FromValidator(v *validator.Validator) Option {
	return func(c *config) {
		if v == nil {
			c.errs = append(c.errs, errors.New("FromValidator: nil validator"))
			return
		}
		if v.DPoPMode() == validator.DPoPOff {
			return
		}
		WithDPoP(v.DPoPAlgorithms(), v.DPoPMode() == validator.DPoPRequired)(c)
	}
}

// WithCertificateBoundTokens says the resource supports mutual-TLS
// certificate-bound tokens (RFC 8705).
func WithCertificateBoundTokens() Option {
	return func(c *config) { c.md.TLSClientCertificateBoundAccessTokens = true }
}

// WithResourceName sets the human-readable resource_name.
func WithResourceName(name string) Option { return func(c *config) { c.md.ResourceName = name } }

// WithDocumentation sets resource_documentation, resource_policy_uri and
// resource_tos_uri (any may be empty).
func WithDocumentation(doc, policy, tos string) Option {
	return func(c *config) {
		for _, u := range []string{doc, policy, tos} {
			if u != "" {
				if err := checkURL(u); err != nil {
					c.errs = append(c.errs, fmt.Errorf("WithDocumentation: %w", err))
				}
			}
		}
		c.md.ResourceDocumentation, c.md.ResourcePolicyURI, c.md.ResourceTOSURI = doc, policy, tos
	}
}

// WithSignedMetadata adds signed_metadata (RFC 9728 §2.2): a JWT of the
// other members with "iss" issuer (the party vouching for them), signed by
// key with alg (an asymmetric algorithm fitting the key) and kid.
func WithSignedMetadata(issuer string, key crypto.Signer, alg validator.Algorithm, kid string) Option {
	return func(c *config) {
		if nilness.IsNil(key) {
			c.errs = append(c.errs, errors.New("WithSignedMetadata: nil key"))
			return
		}
		if err := checkURL(issuer); err != nil {
			c.errs = append(c.errs, fmt.Errorf("WithSignedMetadata: %w", err))
		}
		c.signer, c.alg, c.kid = key, alg, kid
		c.md.ResourceSigningAlgValuesSupported = nil
		c.md.SignedMetadata = issuer // replaced by the JWT in New
	}
}

// New builds the metadata document of resource, an https URL with an ASCII
// host and without a fragment (http is accepted for loopback hosts only) or
// dot or empty path segments. A query is allowed (RFC 9728 §1.2 advises
// against one) and kept in URL, but not in Path: resources that differ
// only in their query share a Path and cannot share a ServeMux.
func New(resource string, opts ...Option) (*Document, error) {
	c := config{md: Metadata{Resource: resource}}
	for _, o := range opts {
		o(&c)
	}
	errs := c.errs
	wk, err := WellKnownURL(resource)
	if err != nil {
		errs = append([]error{err}, errs...)
	}
	if c.signer != nil {
		jwt, err := sign(c.md, c.signer, c.alg, c.kid)
		if err != nil {
			errs = append(errs, fmt.Errorf("WithSignedMetadata: %w", err))
		}
		c.md.SignedMetadata = jwt
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("resourcemeta: invalid configuration: %w", errors.Join(errs...))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c.md); err != nil {
		return nil, err
	}
	u, _ := url.Parse(wk)
	return &Document{md: c.md, body: buf.Bytes(), url: wk, path: u.EscapedPath()}, nil
}

// Metadata returns a copy of the document's members.
func (d *Document) Metadata() Metadata {
	md := d.md
	md.AuthorizationServers = append([]string(nil), md.AuthorizationServers...)
	md.ScopesSupported = append([]string(nil), md.ScopesSupported...)
	md.BearerMethodsSupported = append([]string(nil), md.BearerMethodsSupported...)
	md.DPoPSigningAlgValuesSupported = append([]string(nil), md.DPoPSigningAlgValuesSupported...)
	return md
}

// URL returns the document's well-known URL, for
// httpbearer.WithResourceMetadata.
func (d *Document) URL() string { return d.url }

// Path returns the path to serve the document at on the resource's host.
func (d *Document) Path() string { return d.path }

// ServeHTTP answers GET and HEAD with the document (application/json,
// cacheable for an hour) and anything else with 405. A path below
// [Document.Path] gets 404: for a resource whose path ends in "/", Path is
// a subtree pattern to http.ServeMux, and the document is no other
// resource's.
func (d *Document) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.EscapedPath(); len(p) > len(d.path) && strings.HasPrefix(p, d.path) {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=3600")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(d.body)
	}
}

// WellKnownURL returns the metadata URL of resource (RFC 9728 §3.1): the
// well-known path inserted between the host and the path, with a path's
// terminating slash kept and the query kept; a resource without a path
// gives https://host/.well-known/oauth-protected-resource.
func WellKnownURL(resource string) (string, error) {
	if err := checkURL(resource); err != nil {
		return "", err
	}
	u, _ := url.Parse(resource)
	if strings.Contains(resource, "#") {
		return "", fmt.Errorf("resource %q has a fragment", httpfetch.Redact(resource))
	}
	if strings.ContainsRune(resource, '\\') {
		// WHATWG URL parsers read "\" as "/" in an http(s) URL: to a
		// client, the resource would be another one, perhaps with dot
		// segments (RFC 3986 allows no "\" in a URI).
		return "", fmt.Errorf("resource %q has a backslash", httpfetch.Redact(resource))
	}
	if scheme, _, _ := strings.Cut(resource, ":"); scheme != strings.ToLower(scheme) {
		// url.Parse lowers the scheme: look at it as written.
		return "", fmt.Errorf("resource %q is not in canonical form: write its scheme and host in lower case", httpfetch.Redact(resource))
	}
	if err := checkChars(resource, u); err != nil {
		return "", fmt.Errorf("resource %q %w", httpfetch.Redact(resource), err)
	}
	if err := checkResource(u); err != nil {
		return "", fmt.Errorf("resource %q %w", httpfetch.Redact(resource), err)
	}
	path := u.EscapedPath()
	if path == "/" {
		path = ""
	}
	out := url.URL{Scheme: u.Scheme, Host: u.Host, RawQuery: u.RawQuery}
	out.Path, _ = url.PathUnescape(WellKnownPath + path)
	out.RawPath = WellKnownPath + path
	return out.String(), nil
}

// checkResource refuses what would make the metadata URL name another
// document than the resource's: a host that is not ASCII (URL() would
// percent-encode it), and dot or empty path segments, which clients
// normalize away (RFC 3986 §5.2.4; "%2e" counts as "." for WHATWG URL
// parsers) and http.ServeMux redirects from.
//
// It also refuses a resource not in canonical form (the MCP authorization
// specification's canonical server URI; RFC 3986 §6.2.2-§6.2.3): a scheme
// or host with capital letters, an empty port, or the scheme's default
// port. Clients compare the document's "resource" with the URI they asked
// for byte for byte (RFC 9728 §3.3), and tokens' audiences are compared
// the same way: one spelling for everyone.
func checkResource(u *url.URL) error {
	for i := 0; i < len(u.Host); i++ {
		if u.Host[i] >= 0x80 {
			return errors.New("has a host that is not ASCII (use its A-label, RFC 5890)")
		}
	}
	if u.Host != strings.ToLower(u.Host) {
		return errors.New("is not in canonical form: write its scheme and host in lower case")
	}
	if port := u.Port(); strings.HasSuffix(u.Host, ":") || u.Scheme == "https" && port == "443" || u.Scheme == "http" && port == "80" {
		return errors.New("is not in canonical form: leave out an empty port and the scheme's default port")
	} else if n, err := strconv.Atoi(port); port != "" && (err != nil || strconv.Itoa(n) != port || u.Scheme == "https" && n == 443 || u.Scheme == "http" && n == 80) {
		return errors.New("is not in canonical form: write its port as a number without leading zeros, and leave out the scheme's default port")
	} else if port != "" && n > 65535 {
		return errors.New("has a port over 65535")
	}
	// WHATWG URL parsers (browsers, Node) rewrite an IP address in another
	// form ("0x7f.0.0.1", "10.1", "[0:0::1]"): such a resource would be
	// another string to them.
	// They also write an IPv4-mapped IPv6 address in hexadecimal
	// ("[::ffff:7f00:1]") where Go writes it dotted, and drop the trailing
	// dot of an IPv4 address ("1.2.3.4."); a zone is no part of a URL's
	// host to them.
	host := u.Hostname()
	if addr, err := netip.ParseAddr(host); err == nil {
		switch {
		case addr.Zone() != "":
			return errors.New("has an IPv6 zone in its host")
		case addr.Is4In6():
			return errors.New("is not in canonical form: write its IPv4-mapped address as the IPv4 address " + addr.Unmap().String())
		case addr.String() != host:
			return errors.New("is not in canonical form: write its IP address as " + addr.String())
		}
	} else {
		// RFC 3986's reg-name: Go's parser lets through `"`, "<", ">"
		// and "]", which WHATWG URL parsers refuse or keep as written.
		for i := 0; i < len(host); i++ {
			if c := host[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~!$&'()*+,;=", c) >= 0) {
				return fmt.Errorf("has a character RFC 3986 does not allow in a host name (%q)", c)
			}
		}
		name := strings.TrimSuffix(host, ".")
		if endsInNumber(name[strings.LastIndexByte(name, '.')+1:]) {
			return errors.New("is not in canonical form: a host whose last label is a number is an IPv4 address, to be written in dotted-decimal form without a trailing dot")
		}
		idn := false
		for label := range strings.SplitSeq(name, ".") {
			if strings.HasPrefix(label, "xn--") {
				if !validALabel(label) {
					return fmt.Errorf("has a host label %q that is not a valid A-label (RFC 5890)", label)
				}
				idn = true
			}
		}
		// The bidi rule holds across the whole domain once one label is
		// right-to-left (UTS #46 CheckBidi, RFC 5893): "1a.xn--4db" has
		// two valid labels, and browsers refuse it.
		if idn {
			if _, err := aLabels.ToUnicode(name); err != nil {
				return fmt.Errorf("has a host that is not a valid internationalized domain name (%v)", err)
			}
		}
	}
	p := u.EscapedPath()
	if p == "" || p == "/" {
		return nil
	}
	segs := strings.Split(p[1:], "/")
	for i, seg := range segs {
		switch strings.ToLower(seg) {
		case ".", "..", "%2e", "%2e%2e", ".%2e", "%2e.":
			return errors.New("has a dot segment in its path")
		case "":
			if i != len(segs)-1 { // a terminating slash is kept (RFC 9728 §3.1)
				return errors.New("has an empty segment in its path")
			}
		}
	}
	return nil
}

// endsInNumber reports whether a host's last label is a number to WHATWG
// URL parsers, which then read the host as an IPv4 address: decimal
// digits, or "0x" and hexadecimal digits (none included).
func endsInNumber(last string) bool {
	if last == "" {
		return false
	}
	if len(last) >= 2 && (last[:2] == "0x" || last[:2] == "0X") {
		return strings.Trim(last[2:], "0123456789abcdefABCDEF") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}

// aLabels checks A-labels as WHATWG URL parsers do (UTS #46, no STD3
// rules, no hyphen checks, no DNS length checks).
var aLabels = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(false),
	idna.CheckHyphens(false), idna.BidiRule(), idna.CheckJoiners(true), idna.VerifyDNSLength(false))

// validALabel reports whether an "xn--" label decodes, to a label that
// encodes back to it: WHATWG URL parsers refuse a URL with one that does
// not.
func validALabel(label string) bool {
	u, err := aLabels.ToUnicode(label)
	if err != nil || u == "" || strings.HasPrefix(u, "xn--") {
		return false
	}
	a, err := aLabels.ToASCII(u)
	return err == nil && a == label
}

// checkChars refuses a resource with characters that WHATWG URL parsers
// percent-encode, or that RFC 3986 does not allow where they are: the
// URI a client derives would be another string than the resource. It
// allows RFC 3986's unreserved and reserved characters and well-formed
// percent-encodings, "[" and "]" only in the host, "%" not in the host
// (WHATWG parsers decode it, or refuse it), and no "'" in the query
// (WHATWG parsers encode it in http(s) URLs).
func checkChars(resource string, u *url.URL) error {
	_, rest, _ := strings.Cut(resource, "//")
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if strings.Contains(authority, "%") {
		return errors.New("has a percent-encoding in its host")
	}
	after := rest[len(authority):]
	if strings.ContainsAny(after, "[]") {
		return errors.New("has \"[\" or \"]\" outside its host (RFC 3986 allows them only there)")
	}
	if strings.Contains(u.RawQuery, "'") {
		return errors.New("has \"'\" in its query, which WHATWG URL parsers percent-encode: write it %27")
	}
	for i := 0; i < len(after); i++ {
		c := after[i]
		switch {
		case c == '%':
			if i+2 >= len(after) || !isHex(after[i+1]) || !isHex(after[i+2]) {
				return errors.New("has a \"%\" that is not a percent-encoding")
			}
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-._~!$&'()*+,;=:@/?", c) >= 0:
		default:
			return fmt.Errorf("has a character RFC 3986 does not allow in a URI, which WHATWG URL parsers percent-encode (%q): percent-encode it", c)
		}
	}
	return nil
}

// isHex reports whether c is a hexadecimal digit.
func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// checkURL requires an absolute https URL (http for loopback hosts) with a
// host and no user information or fragment: the library's one URL policy.
func checkURL(s string) error {
	_, err := httpfetch.CheckURL(s, true)
	return err
}

func appendNew(list []string, more ...string) []string {
	for _, m := range more {
		if !slices.Contains(list, m) {
			list = append(list, m)
		}
	}
	return list
}

// scopeToken reports whether s is a scope token (RFC 6749 §3.3).
func scopeToken(s string) bool { return scopes.ValidToken(s) }
