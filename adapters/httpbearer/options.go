package httpbearer

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/bearerguard/bearerguard/adapters/internal/authheader"
	"github.com/bearerguard/bearerguard/internal/httpfetch"
	"github.com/bearerguard/bearerguard/internal/httpname"
	"github.com/bearerguard/bearerguard/internal/trustedproxy"
	"github.com/bearerguard/bearerguard/validator"
)

// Option configures a [Guard]. Options only record; [New] checks them all
// together and reports every problem at once.
type Option func(*config)

type config struct {
	ex        extractor
	realm     string
	publicURL *url.URL
	certs     *certHeaderConfig
	metadata  string // RFC 9728 resource_metadata URL
	writeBody func(w http.ResponseWriter, r *http.Request, c validator.Challenge)
	observe   func(r *http.Request, err error, c validator.Challenge)
	errs      []error
}

// WithRealm sets the realm attribute of every challenge (default: none).
// It must consist of printable ASCII other than '"' and '\'.
func WithRealm(realm string) Option {
	return func(c *config) {
		if err := authheader.CheckRealm(realm); err != nil {
			c.errs = append(c.errs, err)
			return
		}
		c.realm = realm
	}
}

// WithQueryToken also accepts the token in the access_token query
// parameter (RFC 6750 §2.3). Off by default, and best left off: URLs end up
// in logs, browser history and Referer headers, so the token leaks. Without
// this option a query token is answered 400 invalid_request. With it, the
// Guard sets Cache-Control: private on the answer to every request whose
// token came in the query (RFC 6750 §2.3), before the handler runs: a
// handler that sets Cache-Control itself replaces it, and a refusal
// carries no-store. A token sent both in the query and another way is
// refused (400).
func WithQueryToken() Option { return func(c *config) { c.ex.query = true } }

// WithFormToken also accepts the token in an application/x-www-form-urlencoded
// body parameter access_token (RFC 6750 §2.2), for non-GET requests. Off by
// default. The body is read (at most 64 KiB) and parsed into r.PostForm.
func WithFormToken() Option { return func(c *config) { c.ex.form = true } }

// WithCookie also accepts the token from the named cookie, for
// browser-facing APIs. Off by default. Cookies are sent by browsers on
// cross-site requests: set them SameSite=Strict, Secure and HttpOnly, and
// protect state-changing routes against CSRF.
func WithCookie(name string) Option {
	return func(c *config) {
		if name == "" {
			c.errs = append(c.errs, errors.New("WithCookie: empty cookie name"))
		}
		c.ex.cookie = name
	}
}

// WithErrorBody replaces the JSON error body. The hook is called after the
// status-independent headers (WWW-Authenticate or Retry-After, and
// Cache-Control: no-store) are set and before anything is written; it must
// write the status (c.Status) and the body.
func WithErrorBody(write func(w http.ResponseWriter, r *http.Request, c validator.Challenge)) Option {
	return func(c *config) {
		if write == nil {
			c.errs = append(c.errs, errors.New("WithErrorBody: nil hook"))
		}
		c.writeBody = write
	}
}

// WithObserver calls observe for every refused request, with the error
// (for logging and metrics: match it with errors.Is) and the answer sent.
// The error never contains the token.
func WithObserver(observe func(r *http.Request, err error, c validator.Challenge)) Option {
	return func(c *config) {
		if observe == nil {
			c.errs = append(c.errs, errors.New("WithObserver: nil hook"))
		}
		c.observe = observe
	}
}

// WithPublicURL sets the URL clients address this service by, for the
// "htu" of DPoP proofs (RFC 9449 §4.3) behind a proxy or load balancer:
// its scheme, host and path prefix replace the request's, and the request's
// path follows. Without it the URL is built from the connection (https
// with TLS), the Host header and the path. X-Forwarded-* headers are never
// trusted for this.
func WithPublicURL(base string) Option {
	return func(c *config) {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			c.errs = append(c.errs, fmt.Errorf("WithPublicURL: %q is not an absolute http(s) URL without user info, query or fragment", httpfetch.Redact(base)))
			return
		}
		c.publicURL = u
	}
}

// WithClientCertHeader takes the client certificate for certificate-bound
// tokens (RFC 8705) from header, in format, when TLS is terminated by a
// proxy that verified it. The header is read only on requests whose peer
// address is in proxies (addresses or CIDR prefixes; a prefix of every
// address, "0.0.0.0/0" or "::/0", is refused); from anywhere else it is
// ignored, so a client cannot claim another's certificate. A request
// over TLS with a client certificate of its own uses that one. header must
// not be a credential, Host or hop-by-hop header (Authorization, DPoP,
// Cookie, Connection, …).
//
// The peer address is the connection's when the server records it with
// [ConnContext] (set it: srv.ConnContext = httpbearer.ConnContext), and
// the request's RemoteAddr otherwise. Middleware that rewrites RemoteAddr
// from headers a client can send (chi's RealIP, gorilla's ProxyHeaders)
// then cannot make a client a proxy; without ConnContext, such middleware
// must not run before the Guard: a RemoteAddr without a port (as chi v5
// writes it) is never taken for a proxy, but one with a port (gorilla's
// and chi v1's copy "10.0.0.5:1" as sent) cannot be told from net/http's.
func WithClientCertHeader(header string, format CertHeaderFormat, proxies ...string) Option {
	return func(c *config) {
		switch {
		case !httpname.Token(header):
			c.errs = append(c.errs, fmt.Errorf("WithClientCertHeader: %q is not a header name", header))
		case httpname.Reserved(header):
			// A client's credentials, Host or a hop-by-hop header: what a
			// gateway forwards is never there, and a Cookie is the
			// client's own to write (SECURITY.md 78).
			c.errs = append(c.errs, fmt.Errorf("WithClientCertHeader: %q is a header with another use", header))
		}
		if format != XFCC && format != EscapedPEM {
			c.errs = append(c.errs, errors.New("WithClientCertHeader: unknown format"))
		}
		p, err := trustedproxy.Parse(proxies)
		if err != nil {
			c.errs = append(c.errs, fmt.Errorf("WithClientCertHeader: %w", err))
		}
		if len(proxies) == 0 {
			c.errs = append(c.errs, errors.New("WithClientCertHeader: no trusted proxy"))
		}
		c.certs = &certHeaderConfig{name: header, format: format, proxies: p}
	}
}

// WithResourceMetadata adds resource_metadata="url" (RFC 9728 §5.1) to
// every challenge: the URL of this resource's protected resource metadata
// document (see package resourcemeta), where a client learns which
// authorization servers to get a token from and which scopes exist. The
// URL must be https (http on loopback), without user info or fragment, and
// printable ASCII without quotes or backslashes, so that the challenge
// carries it as configured; else [New] fails.
func WithResourceMetadata(metadataURL string) Option {
	return func(c *config) {
		// What the challenge cannot carry as is (it drops bytes outside
		// %x21-7E but '"' and '\'), and what RFC 9728 does not allow (http
		// off loopback, user info, a fragment), is refused, never altered.
		printable := metadataURL != ""
		for i := 0; i < len(metadataURL); i++ {
			if ch := metadataURL[i]; ch <= 0x20 || ch > 0x7e || ch == '"' || ch == '\\' {
				printable = false
			}
		}
		if _, err := httpfetch.CheckURL(metadataURL, true); err != nil || !printable {
			c.errs = append(c.errs, fmt.Errorf("WithResourceMetadata: %q is not an absolute https URL (http on loopback) of printable ASCII without user info or fragment", httpfetch.Redact(metadataURL)))
			return
		}
		c.metadata = metadataURL
	}
}
