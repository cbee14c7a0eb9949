package forwardauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/bearerguard/bearerguard/internal/httpname"
	"github.com/bearerguard/bearerguard/validator"
)

// Default identity header names.
const (
	DefaultSubjectHeader  = "X-Auth-Subject"
	DefaultClientIDHeader = "X-Auth-Client-Id"
	DefaultScopesHeader   = "X-Auth-Scopes"
)

// ErrIdentityTooLong is matched (errors.Is) when a token's identity does
// not fit the configured length cap: the request is refused (403), since
// a truncated identity could name someone else.
var ErrIdentityTooLong = errors.New("forwardauth: identity header value over the length cap")

// identity is the compiled identity section of a route file.
type identity struct {
	headers []identityHeader // in a fixed order: subject, client id, scopes, claims by header name
	max     int
}

// identityHeader is one header and where its value comes from.
type identityHeader struct {
	name  string // canonical form
	from  string // "sub", "client_id", "scope", or "claim"
	claim string
}

// MaxIdentityClaims bounds a route file's identity.claims: each is a
// header on every allowed request.
const MaxIdentityClaims = 64

func compileIdentity(f IdentityFile) (identity, error) {
	id := identity{max: f.MaxLength}
	var errs []error
	if id.max == 0 {
		id.max = DefaultMaxHeaderLength
	}
	if id.max < 16 || id.max > 16<<10 {
		errs = append(errs, fmt.Errorf("identity.max_length %d: between 16 and 16384", f.MaxLength))
	}
	seen := map[string]bool{}
	add := func(name, def, from, claim string) {
		switch name {
		case "-":
			return
		case "":
			name = def
		}
		if !plainName(name) {
			errs = append(errs, fmt.Errorf("identity header %q is not a header name of letters, digits and '-' (a CGI-style upstream reads X_Name and X-Name as one: the gateway would overwrite one only)", name))
			return
		}
		name = http.CanonicalHeaderKey(name)
		if reservedHeader(name) {
			errs = append(errs, fmt.Errorf("identity header %q is not allowed", name))
			return
		}
		if seen[name] {
			errs = append(errs, fmt.Errorf("identity header %q is used twice", name))
			return
		}
		seen[name] = true
		id.headers = append(id.headers, identityHeader{name: name, from: from, claim: claim})
	}
	add(f.Subject, DefaultSubjectHeader, "sub", "")
	add(f.ClientID, DefaultClientIDHeader, "client_id", "")
	add(f.Scopes, DefaultScopesHeader, "scope", "")
	if len(f.Claims) > MaxIdentityClaims {
		errs = append(errs, fmt.Errorf("identity.claims: %d headers, at most %d", len(f.Claims), MaxIdentityClaims))
	}
	names := make([]string, 0, len(f.Claims))
	for h := range f.Claims {
		names = append(names, h)
	}
	slices.Sort(names)
	for _, h := range names {
		claim := f.Claims[h]
		if claim == "" || !printable(claim) || len(claim) > 128 {
			errs = append(errs, fmt.Errorf("identity claim for %q: %q is not a claim name", h, claim))
			continue
		}
		add(h, "", "claim", claim)
	}
	return id, errors.Join(errs...)
}

// reservedHeader: identity must never be written into headers with a
// meaning of their own to the gateway, the upstream or HTTP itself: the
// headers an upstream takes its method, host or URL from ([rerouting]:
// a claim there would pick the handler), the client's address, scheme and
// certificate as proxies pass them, Envoy's own, and Proxy (a CGI
// upstream's HTTP_PROXY).
func reservedHeader(name string) bool {
	switch name {
	case "Authorization", "Dpop", "Cookie", "Set-Cookie", "Host", "Content-Length", "Content-Type",
		"Transfer-Encoding", "Connection", "Upgrade", "Te", "Trailer", "Keep-Alive", "Proxy-Authorization",
		"Proxy-Authenticate", "Www-Authenticate", "Location", "Cache-Control", "Retry-After", "Dpop-Nonce",
		"Proxy", "Via", "X-Real-Ip", "True-Client-Ip", "Client-Ip", "X-Client-Ip", "X-Cluster-Client-Ip", "Cf-Connecting-Ip",
		"Fastly-Client-Ip", "X-Scheme", "X-Url-Scheme", "Front-End-Https", "X-Host",
		// Client certificates as proxies forward them (RFC 9440, nginx, IIS ARR).
		"Client-Cert", "Client-Cert-Chain", "X-Client-Cert", "Ssl-Client-Cert", "X-Ssl-Client-Cert", "X-Ssl-Client-Verify",
		"X-Arr-Clientcert", "X-Forwarded-Client-Cert":
		return true
	}
	// X-Envoy-*: Envoy obeys them on the upstream request (retries,
	// timeouts), and applies an ext_authz answer after it strips the
	// client's.
	return strings.HasPrefix(name, "X-Forwarded-") || strings.HasPrefix(name, "X-Original-") || strings.HasPrefix(name, "X-Envoy-") ||
		strings.HasPrefix(name, ":") || rerouting(name)
}

// isToken reports whether s is an RFC 9110 token (a header name) of at
// most 128 bytes.
func isToken(s string) bool { return len(s) <= 128 && httpname.Token(s) }

// Names returns the identity header names, canonical, in order: the
// headers every answer sets (empty when there is no value) and the
// gateway must overwrite on the upstream request.
func (rs *Rules) Names() []string {
	out := make([]string, len(rs.identity.headers))
	for i, h := range rs.identity.headers {
		out[i] = h.name
	}
	return out
}

// values returns the identity headers' values for tok (nil: every value
// empty), each escaped ([escapeValue]) and within the cap.
func (id *identity) values(tok *validator.Token) ([]string, error) {
	out := make([]string, len(id.headers), len(id.headers)+1) // room for the caller's Cache-Control value
	if tok == nil {
		return out, nil
	}
	for i, h := range id.headers {
		var v string
		switch h.from {
		case "sub":
			v = tok.Subject
		case "client_id":
			v = tok.ClientID
		case "scope":
			v = tok.Scopes.String() // space-separated, no copy of the list
		case "claim":
			v = claimString(tok, h.claim)
		}
		v = escapeValue(v)
		if len(v) > id.max {
			return nil, fmt.Errorf("%w: %s is %d bytes, the cap is %d", ErrIdentityTooLong, h.name, len(v), id.max)
		}
		out[i] = v
	}
	return out, nil
}

// claimString renders a claim: a string as it is, anything else as
// compact JSON; "" when absent or null.
func claimString(tok *validator.Token, name string) string {
	v, ok := tok.Claim(name)
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// escapeValue makes a header value safe to hand to any gateway: every
// byte outside printable ASCII (CR, LF, NUL and other controls, DEL,
// non-ASCII), '%' itself, and a space at either end are percent-encoded
// (%0A, %20). The mapping is
// one-to-one, so two different identities never yield the same header.
// Values that need no escaping are returned as they are, without
// allocating.
func escapeValue(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if needsEscape(s, i) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needsEscape(s, i) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// needsEscape: s[i] is a control, DEL, non-ASCII or '%', or a space at
// either end (which HTTP would trim, making "a " and "a" the same).
func needsEscape(s string, i int) bool {
	c := s[i]
	return c < 0x20 || c >= 0x7f || c == '%' || c == ' ' && (i == 0 || i == len(s)-1)
}
