package forwardauth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/bearerguard/bearerguard/internal/nilness"
	"github.com/bearerguard/bearerguard/internal/trustedproxy"
)

// Option configures a [Decider]. Options only record; [New] checks them
// all together and reports every problem at once.
type Option func(*config)

type config struct {
	proxies     trustedproxy.List
	proxiesSet  bool
	nginx       NginxHeaders
	signer      *Signer
	tokenHeader string
	timeout     time.Duration
	clock       func() time.Time
	logger      *slog.Logger
	meter       metric.MeterProvider
	nginxCert   bool
	errs        []error
}

// DefaultTimeout bounds one decision (token validation, with any key or
// introspection fetch it waits for).
const DefaultTimeout = 5 * time.Second

// NginxHeaders names the headers nginx's auth_request subrequest carries
// the original request in (set with proxy_set_header). Empty fields take
// the defaults: X-Original-Method, X-Original-URI, X-Original-Host and
// X-Original-Proto. Method and URI are required on every request; without
// a host, routes that name a host never match; without a proto, the
// original scheme is taken to be https. nginx passes the client's headers
// on to the subrequest: the configuration must set all four, or the
// client's own (a forged host) would be read.
type NginxHeaders struct {
	Method, URI, Host, Proto string
}

func (n NginxHeaders) withDefaults() NginxHeaders {
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return http.CanonicalHeaderKey(v)
	}
	return NginxHeaders{
		Method: def(n.Method, "X-Original-Method"),
		URI:    def(n.URI, "X-Original-Uri"),
		Host:   def(n.Host, "X-Original-Host"),
		Proto:  def(n.Proto, "X-Original-Proto"),
	}
}

// WithTrustedProxies sets the addresses (single addresses or CIDR
// prefixes) the gateways call from. Only requests from them are decided
// on their forwarded method, URI and host; anything else is refused
// (403), so a client that reaches the decision service directly cannot
// have it read headers it forged. Default: loopback only (127.0.0.0/8 and
// ::1). Given twice, it is a configuration error: a second list would
// silently replace the first; so is a prefix of every address
// ("0.0.0.0/0", "::/0"), which would check nothing.
//
// The address is the connection's when the server records it with
// httpbearer.ConnContext (bearerguard serve does), and else the request's
// RemoteAddr (or [Request.Peer] for [Decider.Decide]). Mounted behind
// middleware that rewrites RemoteAddr from client headers (chi's RealIP,
// gorilla's ProxyHeaders), a handler of this package needs that hook on
// its server, or a client could name a proxy's address.
func WithTrustedProxies(proxies ...string) Option {
	return func(c *config) {
		if c.proxiesSet {
			c.errs = append(c.errs, errors.New("WithTrustedProxies given twice: list every proxy in one call"))
		}
		c.proxiesSet = true
		l, err := trustedproxy.Parse(proxies)
		if err != nil {
			c.errs = append(c.errs, fmt.Errorf("WithTrustedProxies: %w", err))
		}
		c.proxies = l
		if len(proxies) == 0 {
			c.errs = append(c.errs, errors.New("WithTrustedProxies: no proxy"))
		}
	}
}

// WithNginxHeaders renames the headers nginx passes the original request
// in (see [NginxHeaders]). A header an upstream may take a method, host
// or URL from (X-HTTP-Method-Override and the like, X-Forwarded-Host,
// Forwarded, X-Original-URL, X-Rewrite-URL, in any spelling) is refused:
// nginx's value in the auth request would hide the client's, which the
// proxied request still carries to the upstream, from the check that
// refuses it ([ErrOverride]). Keep the defaults, X-Original-*.
func WithNginxHeaders(h NginxHeaders) Option {
	return func(c *config) {
		for _, v := range []string{h.Method, h.URI, h.Host, h.Proto} {
			switch {
			case v == "":
			case !isToken(v):
				c.errs = append(c.errs, fmt.Errorf("WithNginxHeaders: %q is not a header name", v))
			case rerouting(v):
				c.errs = append(c.errs, fmt.Errorf("WithNginxHeaders: %q is a header an upstream may route by: nginx's value would hide the client's from the decision (use X-Original-Method, -URI, -Host, -Proto)", v))
			}
		}
		c.nginx = h
	}
}

// WithNginxClientCert lets the guard's httpbearer.WithClientCertHeader
// read the client's certificate from the nginx front end's subrequest: the
// request the guard decides on carries nginx's address, which that option
// must list as a proxy, and only when the original request was https
// (the proto header, [WithNginxHeaders], says so). Set it only when the
// auth_request location sets the header itself, overwriting the
// client's, for every request:
//
//	proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
//
// (an empty value when the client sent no certificate), inside the
// auth_request location itself: a location that sets headers of its own
// inherits no proxy_set_header from the server or http level. nginx passes the
// client's own headers on to the subrequest, so without that line a client
// could name any certificate, and a certificate is public. Without this
// option no front end but Envoy's gRPC one (its source certificate) gives
// the guard a certificate: Traefik's ForwardAuth cannot, since it passes
// the client's header on when the client sent no certificate.
func WithNginxClientCert() Option { return func(c *config) { c.nginxCert = true } }

// WithInternalToken passes a short-lived JWT minted by s upstream on
// success, in header (default X-Auth-Token). Off by default. Given twice,
// it is a configuration error.
func WithInternalToken(s *Signer, header string) Option {
	return func(c *config) {
		if c.tokenHeader != "" {
			c.errs = append(c.errs, errors.New("WithInternalToken given twice"))
		}
		if s == nil {
			c.errs = append(c.errs, errors.New("WithInternalToken: nil signer"))
		}
		if header == "" {
			header = DefaultInternalTokenHeader
		}
		if !plainName(header) || reservedHeader(http.CanonicalHeaderKey(header)) {
			c.errs = append(c.errs, fmt.Errorf("WithInternalToken: %q is not an allowed header name (letters, digits and '-')", header))
		}
		c.signer, c.tokenHeader = s, http.CanonicalHeaderKey(header)
	}
}

// WithTimeout bounds each decision (default [DefaultTimeout]); a decision
// that runs out is answered 503. Under a millisecond it is refused: no
// decision that asks the network fits in it (a bare number is
// nanoseconds).
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d < time.Millisecond {
			c.errs = append(c.errs, fmt.Errorf("WithTimeout: %v is under a millisecond", d))
		}
		c.timeout = d
	}
}

// WithClock sets the clock of internal tokens (default time.Now). The
// validator has a clock of its own.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.errs = append(c.errs, errors.New("WithClock: nil clock"))
		}
		c.clock = now
	}
}

// WithLogger sets the logger (default slog.Default()). Refusals are
// logged at Debug, with the route and reason, never the token.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.errs = append(c.errs, errors.New("WithLogger: nil logger"))
		}
		c.logger = l
	}
}

// WithMeterProvider records the decision metrics with mp (default: the
// global provider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) {
		if nilness.IsNil(mp) {
			c.errs = append(c.errs, errors.New("WithMeterProvider: nil provider"))
			return
		}
		c.meter = mp
	}
}
