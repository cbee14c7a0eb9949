package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/internal/httpname"
	"github.com/bearerguard/bearerguard/internal/secretfile"
	"github.com/bearerguard/bearerguard/internal/trustedproxy"
)

// serveConfig is what `bearerguard serve` adds to the issuer-side
// configuration the examples share (setup.Config).
// defaultMaxConns is --max-conns by default: far more than any fleet of
// gateways keeps open, far fewer than the descriptors a process may have.
const defaultMaxConns = 10_000

// minReloadInterval is the shortest --reload-interval but 0.
const minReloadInterval = 100 * time.Millisecond

type serveConfig struct {
	issuer setup.Config

	Routes         string
	GRPCAddr       string
	TrustedProxies []string
	ReloadInterval time.Duration
	EnvoyPrefix    string
	Nginx          forwardauth.NginxHeaders
	// NginxCertHeader is the header nginx's auth_request location passes
	// the client's certificate in ($ssl_client_escaped_cert); "" is off.
	NginxCertHeader string
	Timeout         time.Duration
	// LogLevel is the least level logged: Info by default; Debug names
	// the reason for every refusal.
	LogLevel slog.Level
	// MaxConns caps the connections the gateways hold open on the HTTP
	// listener, and on the gRPC one, each (capListener).
	MaxConns int

	InternalKey      string
	InternalIssuer   string
	InternalAudience string
	InternalTTL      time.Duration
	InternalHeader   string
}

const serveUsage = `Usage: bearerguard serve --routes FILE [flags]

Forward auth: one process decides, for the gateways in front of APIs in any
language, whether a request may pass (nginx auth_request, Traefik
ForwardAuth, Envoy ext_authz over HTTP and gRPC), with the routes of FILE.

On --addr (HTTP):
  /nginx           nginx auth_request
  /traefik         Traefik ForwardAuth
  /envoy/...       Envoy ext_authz HTTP service (path_prefix: /envoy)
  GET /healthz     open: the process is up
  GET /readyz      open: 200 once the issuer's keys have loaded, 503 before
  GET /.well-known/jwks.json  the internal token's key, with --internal-jwt-key
  GET /.well-known/oauth-protected-resource/...  RFC 9728 metadata, with a resource
On --grpc-addr: envoy.service.auth.v3.Authorization/Check.
With --metrics-addr, GET /metrics there (Prometheus).
The route file is read again on SIGHUP and when it changes; a bad file keeps
the rules in force. SIGHUP also fetches the key set at once (a key the
issuer removed is then no longer trusted); a failed fetch keeps the keys.

Forward-auth flags:
`

// serveFlagNames are the flags parsed here; every other flag goes to
// setup.Parse, as the examples take it.
func newServeFlags(c *serveConfig, getenv func(string) string, out io.Writer) (*flag.FlagSet, func() []error) {
	fs := flag.NewFlagSet("bearerguard serve", flag.ContinueOnError)
	fs.SetOutput(out)
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Routes, "routes", env("BEARERGUARD_ROUTES", ""), "the route file (YAML), required (env BEARERGUARD_ROUTES)")
	fs.StringVar(&c.GRPCAddr, "grpc-addr", env("BEARERGUARD_GRPC_ADDR", ""), "listen address of the Envoy ext_authz gRPC service; default: off (env BEARERGUARD_GRPC_ADDR)")
	proxies := fs.String("trusted-proxies", env("BEARERGUARD_TRUSTED_PROXIES", "127.0.0.0/8,::1"), "comma-separated addresses or CIDR prefixes of the gateways: only their forwarded headers are read (env BEARERGUARD_TRUSTED_PROXIES)")
	reload := fs.String("reload-interval", env("BEARERGUARD_RELOAD_INTERVAL", "2s"), "how often to look for a changed route file (size and modification time); 0: only on SIGHUP (env BEARERGUARD_RELOAD_INTERVAL)")
	fs.StringVar(&c.EnvoyPrefix, "envoy-prefix", env("BEARERGUARD_ENVOY_PREFIX", "/envoy"), "path prefix of the Envoy ext_authz HTTP service: Envoy's path_prefix (env BEARERGUARD_ENVOY_PREFIX)")
	fs.StringVar(&c.Nginx.Method, "nginx-method-header", env("BEARERGUARD_NGINX_METHOD_HEADER", "X-Original-Method"), "header nginx sends the original method in (env BEARERGUARD_NGINX_METHOD_HEADER)")
	fs.StringVar(&c.Nginx.URI, "nginx-uri-header", env("BEARERGUARD_NGINX_URI_HEADER", "X-Original-URI"), "header nginx sends the original URI in (env BEARERGUARD_NGINX_URI_HEADER)")
	fs.StringVar(&c.Nginx.Host, "nginx-host-header", env("BEARERGUARD_NGINX_HOST_HEADER", "X-Original-Host"), "header nginx sends the original host in (env BEARERGUARD_NGINX_HOST_HEADER)")
	fs.StringVar(&c.Nginx.Proto, "nginx-proto-header", env("BEARERGUARD_NGINX_PROTO_HEADER", "X-Original-Proto"), "header nginx sends the original scheme in (env BEARERGUARD_NGINX_PROTO_HEADER)")
	fs.StringVar(&c.NginxCertHeader, "nginx-client-cert-header", env("BEARERGUARD_NGINX_CLIENT_CERT_HEADER", ""), "header in which nginx's auth_request location passes the client's certificate ($ssl_client_escaped_cert), for certificate-bound tokens (RFC 8705); set it with proxy_set_header inside that location itself, beside X-Original-URI (a location setting headers of its own inherits none from server or http level), so that it overwrites the client's on every request; read only from --trusted-proxies, and never through Traefik or Envoy; default: off (env BEARERGUARD_NGINX_CLIENT_CERT_HEADER)")
	maxConns := fs.String("max-conns", env("BEARERGUARD_MAX_CONNS", strconv.Itoa(defaultMaxConns)), "most connections the gateways (--trusted-proxies) may hold open at once, on the HTTP listener and on the gRPC one each; every other peer shares 256 of its own; a connection past its cap is closed (env BEARERGUARD_MAX_CONNS)")
	logLevel := fs.String("log-level", env("BEARERGUARD_LOG_LEVEL", "info"), "least level logged: debug (every refusal with its reason: the route, the header or spelling refused; never a token), info, warn or error (env BEARERGUARD_LOG_LEVEL)")
	timeout := fs.String("decision-timeout", env("BEARERGUARD_DECISION_TIMEOUT", forwardauth.DefaultTimeout.String()), "longest time one decision may take, key fetches included; then 503 (env BEARERGUARD_DECISION_TIMEOUT)")
	c.InternalKey = env("BEARERGUARD_INTERNAL_JWT_KEY", "")
	fs.Var(secretfile.Flag{P: &c.InternalKey}, "internal-jwt-key", "PEM file of the private key (EC P-256, Ed25519 or RSA 2048+) that signs a short-lived internal JWT passed upstream; default: off (env BEARERGUARD_INTERNAL_JWT_KEY)")
	fs.StringVar(&c.InternalIssuer, "internal-jwt-issuer", env("BEARERGUARD_INTERNAL_JWT_ISSUER", "bearerguard"), "iss of the internal JWT (env BEARERGUARD_INTERNAL_JWT_ISSUER)")
	fs.StringVar(&c.InternalAudience, "internal-jwt-audience", env("BEARERGUARD_INTERNAL_JWT_AUDIENCE", ""), "aud of the internal JWT; default: none (env BEARERGUARD_INTERNAL_JWT_AUDIENCE)")
	ttl := fs.String("internal-jwt-ttl", env("BEARERGUARD_INTERNAL_JWT_TTL", forwardauth.DefaultInternalTokenTTL.String()), "lifetime of the internal JWT, at most the access token's (env BEARERGUARD_INTERNAL_JWT_TTL)")
	fs.StringVar(&c.InternalHeader, "internal-jwt-header", env("BEARERGUARD_INTERNAL_JWT_HEADER", forwardauth.DefaultInternalTokenHeader), "header carrying the internal JWT upstream (env BEARERGUARD_INTERNAL_JWT_HEADER)")
	check := func() []error {
		var errs []error
		var err error
		if c.Routes == "" {
			errs = append(errs, errors.New("--routes (or BEARERGUARD_ROUTES) is required"))
		}
		for _, p := range strings.Split(*proxies, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.TrustedProxies = append(c.TrustedProxies, p)
			}
		}
		if len(c.TrustedProxies) == 0 {
			errs = append(errs, errors.New("--trusted-proxies is empty: no gateway could ask"))
		} else if _, err := trustedproxy.Parse(c.TrustedProxies); err != nil {
			errs = append(errs, fmt.Errorf("--trusted-proxies: %w", err))
		}
		if c.ReloadInterval, err = time.ParseDuration(*reload); err != nil || c.ReloadInterval < 0 {
			errs = append(errs, fmt.Errorf("--reload-interval %q is not a non-negative duration", *reload))
		} else if c.ReloadInterval != 0 && c.ReloadInterval < minReloadInterval {
			// A microsecond would keep a core busy looking at the file.
			errs = append(errs, fmt.Errorf("--reload-interval %v: at least %v, or 0 (only on SIGHUP)", c.ReloadInterval, minReloadInterval))
		}
		if c.MaxConns, err = strconv.Atoi(*maxConns); err != nil || c.MaxConns < 16 || c.MaxConns > 1_000_000 {
			errs = append(errs, fmt.Errorf("--max-conns %q: a number between 16 and 1000000", *maxConns))
		}
		switch strings.ToLower(*logLevel) {
		case "debug", "info", "warn", "error":
			_ = c.LogLevel.UnmarshalText([]byte(*logLevel))
		default:
			errs = append(errs, fmt.Errorf("--log-level %q: debug, info, warn or error", *logLevel))
		}
		if c.Timeout, err = time.ParseDuration(*timeout); err != nil || c.Timeout <= 0 {
			errs = append(errs, fmt.Errorf("--decision-timeout %q is not a positive duration", *timeout))
		}
		if c.InternalTTL, err = time.ParseDuration(*ttl); err != nil {
			errs = append(errs, fmt.Errorf("--internal-jwt-ttl %q is not a duration", *ttl))
		}
		if !strings.HasPrefix(c.EnvoyPrefix, "/") || strings.HasSuffix(c.EnvoyPrefix, "/") || strings.ContainsAny(c.EnvoyPrefix, "?#% ") ||
			c.EnvoyPrefix == "/nginx" || c.EnvoyPrefix == "/traefik" || c.EnvoyPrefix == "/healthz" || c.EnvoyPrefix == "/readyz" || c.EnvoyPrefix == "/.well-known" {
			errs = append(errs, fmt.Errorf("--envoy-prefix %q must be a path of its own such as /envoy (no trailing slash)", c.EnvoyPrefix))
		}
		if h := c.NginxCertHeader; h != "" {
			// Headers with another meaning: the credentials, Host and
			// hop-by-hop headers (httpname.Reserved, which the guard's
			// option refuses too), and the original request's (defaults
			// included: an empty name takes the default).
			nginx := []string{"X-Original-Method", "X-Original-URI", "X-Original-Host", "X-Original-Proto",
				c.Nginx.Method, c.Nginx.URI, c.Nginx.Host, c.Nginx.Proto}
			switch {
			case !httpname.Token(h):
				errs = append(errs, fmt.Errorf("--nginx-client-cert-header %q is not a header name", h))
			case httpname.Reserved(h) || slices.ContainsFunc(nginx, func(o string) bool { return strings.EqualFold(h, o) }):
				errs = append(errs, fmt.Errorf("--nginx-client-cert-header %q is a header with another use", h))
			}
		}
		return errs
	}
	return fs, check
}

// parseServe splits args between the forward-auth flags and the
// issuer-side flags the examples share (setup.Parse), and parses both.
// It returns flag.ErrHelp after printing the usage for -h/--help.
func parseServe(args []string, getenv func(string) string, out io.Writer) (serveConfig, error) {
	var c serveConfig
	fs, check := newServeFlags(&c, getenv, out)
	var mine, theirs []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, hasValue := flagName(a)
		switch {
		case name == "h" || name == "help":
			printServeUsage(fs, getenv, out)
			return c, flag.ErrHelp
		case name != "" && fs.Lookup(name) != nil:
			mine = append(mine, a)
			if !hasValue && i+1 < len(args) {
				i++
				mine = append(mine, args[i])
			}
		default:
			theirs = append(theirs, a)
		}
	}
	var errs []error
	if err := fs.Parse(mine); err != nil {
		return c, err
	}
	errs = append(errs, check()...)
	issuer, err := setup.Parse("bearerguard serve", theirs, getenv, out)
	if err != nil {
		errs = append(errs, err)
	}
	if issuer.ClientCA != "" {
		errs = append(errs, errors.New("--client-ca does not apply to serve: the gateway, not bearerguard, meets the clients"))
	}
	c.issuer = issuer
	return c, errors.Join(errs...)
}

// flagName returns the name of a flag argument ("-x", "--x", "--x=v")
// and whether its value is in it; "" for a non-flag.
func flagName(a string) (string, bool) {
	if len(a) < 2 || a[0] != '-' || a == "--" {
		return "", false
	}
	name := strings.TrimLeft(a, "-")
	if n, _, ok := strings.Cut(name, "="); ok {
		return n, true
	}
	return name, false
}

// printServeUsage prints serve's own flags, then the issuer-side flags as
// setup.Parse describes them (without its example-service preamble).
func printServeUsage(fs *flag.FlagSet, getenv func(string) string, out io.Writer) {
	fmt.Fprint(out, serveUsage)
	fs.PrintDefaults()
	var theirs bytes.Buffer
	_, _ = setup.Parse("bearerguard serve", []string{"-h"}, getenv, &theirs)
	text := theirs.String()
	if _, after, ok := strings.Cut(text, "Flags:\n"); ok {
		text = after
	}
	fmt.Fprint(out, "\nIssuer-side flags (as the examples take them; --addr is the HTTP listener):\n", withoutFlag(text, "client-ca"))
}

// withoutFlag removes the entry of flag name from a flag.PrintDefaults
// listing: serve refuses --client-ca, so its help does not offer it.
func withoutFlag(listing, name string) string {
	var b strings.Builder
	skip := false
	for _, line := range strings.SplitAfter(listing, "\n") {
		if strings.HasPrefix(line, "  -") {
			f, _, _ := strings.Cut(strings.TrimPrefix(line, "  -"), " ")
			skip = strings.TrimSpace(f) == name
		}
		if !skip {
			b.WriteString(line)
		}
	}
	return b.String()
}
