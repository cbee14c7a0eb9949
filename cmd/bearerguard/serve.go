package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/tap"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/internal/serverlog"
	"github.com/bearerguard/bearerguard/internal/trustedproxy"
	"github.com/bearerguard/bearerguard/redisstore"
	"github.com/bearerguard/bearerguard/resourcemeta"
)

// Server limits: no request body is ever read, headers are bounded, and
// every phase of a connection has a deadline.
const (
	serveReadHeaderTimeout = 5 * time.Second
	serveReadTimeout       = 10 * time.Second
	serveWriteTimeout      = 15 * time.Second
	serveIdleTimeout       = 90 * time.Second
	serveMaxHeaderBytes    = 64 << 10
	grpcMaxRecvMsgSize     = 256 << 10
	grpcMaxStreams         = 1024
	shutdownTimeout        = 5 * time.Second
)

// serveStarted is what runServe tells its caller once it listens: for
// tests.
type serveStarted struct {
	Addr, GRPCAddr, MetricsAddr string
	Decider                     *forwardauth.Decider
	Reload                      func() // the route file read again, as a change or SIGHUP does
	HUP                         func() // what SIGHUP does: Reload, and the key set fetched again
}

// shutdownWait is how long a SIGTERM waits for decisions in flight that
// may take decisionTimeout: at least shutdownTimeout, at most the
// servers' write timeout, a second more for the answer.
func shutdownWait(decisionTimeout time.Duration) time.Duration {
	return min(max(shutdownTimeout, decisionTimeout+time.Second), serveWriteTimeout+time.Second)
}

// serveCommand runs `bearerguard serve` until ctx ends or SIGTERM.
func serveCommand(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, client *http.Client, onStart func(serveStarted)) int {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	return runServe(ctx, args, getenv, stderr, client, onStart)
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, client *http.Client, onStart func(serveStarted)) int {
	fail := func(code int, err error) int {
		fmt.Fprintf(stderr, "bearerguard serve: %s\n", oneLineErr(err))
		return code
	}
	cfg, err := parseServe(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return fail(2, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	redisstore.RouteClientLogs(log, slog.LevelDebug) // go-redis's line per failed dial (process-wide): the store reports outages itself
	rules, err := forwardauth.LoadRules(cfg.Routes)
	if err != nil {
		return fail(2, fmt.Errorf("--routes %s: %w", cfg.Routes, err))
	}
	warnShadowed(log, cfg.Routes, rules)

	var metrics http.Handler
	if cfg.issuer.MetricsAddr != "" {
		mp, h, err := setup.Prometheus("bearerguard-serve")
		if err != nil {
			return fail(2, err)
		}
		defer func() { _ = mp.Shutdown(context.Background()) }()
		cfg.issuer.MeterProvider, metrics = mp, h
	}
	ready := &setup.Readiness{}
	cfg.issuer.Readiness = ready
	if cfg.NginxCertHeader != "" {
		// Read only on requests from a gateway, and only the nginx front
		// end hands the guard the gateway's address (WithNginxClientCert).
		cfg.issuer.GuardOptions = append(cfg.issuer.GuardOptions,
			httpbearer.WithClientCertHeader(cfg.NginxCertHeader, httpbearer.EscapedPEM, cfg.TrustedProxies...))
	}
	guard, closeGuard, err := cfg.issuer.Guard(client)
	if err != nil {
		return fail(2, err)
	}
	defer closeGuard()

	opts := []forwardauth.Option{
		forwardauth.WithTrustedProxies(cfg.TrustedProxies...),
		forwardauth.WithNginxHeaders(cfg.Nginx),
		forwardauth.WithTimeout(cfg.Timeout),
		forwardauth.WithLogger(log),
	}
	if cfg.issuer.MeterProvider != nil {
		opts = append(opts, forwardauth.WithMeterProvider(cfg.issuer.MeterProvider))
	}
	if cfg.NginxCertHeader != "" {
		opts = append(opts, forwardauth.WithNginxClientCert())
	}
	var signer *forwardauth.Signer
	if cfg.InternalKey != "" {
		key, err := forwardauth.LoadSigningKey(cfg.InternalKey)
		if err != nil {
			return fail(2, fmt.Errorf("--internal-jwt-key: %w", err))
		}
		if signer, err = forwardauth.NewSigner(key, cfg.InternalIssuer, cfg.InternalAudience, cfg.InternalTTL); err != nil {
			return fail(2, err)
		}
		opts = append(opts, forwardauth.WithInternalToken(signer, cfg.InternalHeader))
	}
	d, err := forwardauth.New(guard, rules, opts...)
	if err != nil {
		return fail(2, err)
	}
	// With a resource (--resource, or an https audience), challenges point
	// to its RFC 9728 metadata: serve it, for the gateway to route there.
	md, err := cfg.issuer.Metadata()
	if err != nil {
		return fail(2, err)
	}
	tlsCfg, err := cfg.issuer.ServerTLS()
	if err != nil {
		return fail(2, err)
	}

	proxies, err := trustedproxy.Parse(cfg.TrustedProxies) // checked by parseServe
	if err != nil {
		return fail(2, err)
	}
	// Listeners first: a port in use is one clear line and exit 1.
	type listener struct {
		name string
		l    net.Listener
	}
	var ls []listener
	need := descriptorHeadroom // descriptors the caps may take, all listeners full
	closeAll := func() {
		for _, l := range ls {
			l.l.Close()
		}
	}
	for _, a := range []struct{ name, addr string }{{"http", cfg.issuer.Addr}, {"grpc", cfg.GRPCAddr}, {"metrics", cfg.issuer.MetricsAddr}} {
		if a.addr == "" {
			continue
		}
		l, err := net.Listen("tcp", a.addr)
		if err != nil {
			closeAll()
			return fail(1, err)
		}
		// Each connection holds a descriptor and buffers, and any peer
		// can open them: the gateways' and everyone else's are capped
		// apart, so that no one else takes a gateway's place.
		var capped *capListener
		if a.name == "metrics" {
			capped = newCapListener(l, nil, 0, maxMetricsConns)
		} else {
			capped = newCapListener(l, proxies, cfg.MaxConns, maxOtherConns)
		}
		need += capped.capacity()
		ls = append(ls, listener{a.name, capped})
	}
	// The caps hold only if the process may open that many descriptors:
	// past its limit Accept fails (EMFILE) and net/http waits and tries
	// again, so a gateway's connection waits in the kernel's queue like
	// anyone's.
	if limit, known := openFileLimit(); known {
		if uint64(need) > limit {
			log.Warn("bearerguard serve: the connection caps allow more connections than the process may open (raise its limit: ulimit -n, systemd's LimitNOFILE, or lower --max-conns)",
				"open_file_limit", limit, "caps_need", need, "max_conns", cfg.MaxConns)
		}
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	serveErr := make(chan error, len(ls))
	started := serveStarted{Decider: d}
	var httpServers []*http.Server
	var grpcServer *grpc.Server
	for _, l := range ls {
		switch l.name {
		case "http":
			srv := newHTTPServer(serveHandler(d, ready, signer, md, cfg.EnvoyPrefix), log, proxies.ContainsRemote)
			srv.TLSConfig = tlsCfg.Clone() // ServeTLS writes to it (NextProtos); the gRPC listener clones it too
			httpServers = append(httpServers, srv)
			started.Addr = l.l.Addr().String()
			wg.Go(func() {
				var err error
				if cfg.issuer.TLSCert != "" {
					err = srv.ServeTLS(l.l, "", "") // the certificate: tlsCfg.GetCertificate, read again when the files change
				} else {
					err = srv.Serve(l.l)
				}
				if !errors.Is(err, http.ErrServerClosed) {
					serveErr <- err
				}
			})
		case "metrics":
			mux := http.NewServeMux()
			mux.Handle("GET /metrics", metrics)
			srv := newHTTPServer(mux, log, nil)
			httpServers = append(httpServers, srv)
			started.MetricsAddr = l.l.Addr().String()
			wg.Go(func() {
				if err := srv.Serve(l.l); !errors.Is(err, http.ErrServerClosed) {
					serveErr <- err
				}
			})
		case "grpc":
			gopts := []grpc.ServerOption{
				grpc.MaxRecvMsgSize(grpcMaxRecvMsgSize),
				grpc.MaxConcurrentStreams(grpcMaxStreams),
				grpc.ConnectionTimeout(serveReadHeaderTimeout),
				grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: serveIdleTimeout}),
				// As the HTTP listener: 64 KiB of metadata (grpc-go's
				// default is 16 MiB), and every call ends within the
				// write timeout whether or not its client sends
				// grpc-timeout or its message.
				grpc.MaxHeaderListSize(serveMaxHeaderBytes),
				grpc.InTapHandle(boundCall),
			}
			if tlsCfg != nil {
				gopts = append(gopts, grpc.Creds(credentials.NewTLS(tlsCfg.Clone())))
			}
			grpcServer = grpc.NewServer(gopts...)
			authv3.RegisterAuthorizationServer(grpcServer, d.EnvoyServer())
			started.GRPCAddr = l.l.Addr().String()
			wg.Go(func() {
				if err := grpcServer.Serve(l.l); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
					serveErr <- err
				}
			})
		}
	}
	defer func() {
		// Decisions in flight may take their whole timeout: a shorter
		// wait would answer them 503 at a SIGTERM. None outlives the
		// servers' write timeout (an HTTP answer after it cannot be
		// written, a gRPC call has it as its deadline), so a longer
		// decision timeout does not hold the process up longer.
		shutdown, cancel := context.WithTimeout(context.Background(), shutdownWait(cfg.Timeout))
		defer cancel()
		for _, srv := range httpServers {
			_ = srv.Shutdown(shutdown)
		}
		if grpcServer != nil {
			stopped := make(chan struct{})
			go func() { grpcServer.GracefulStop(); close(stopped) }()
			select {
			case <-stopped:
			case <-shutdown.Done():
				grpcServer.Stop()
			}
		}
	}()

	rl := &reloader{path: cfg.Routes, d: d, log: log, settle: reloadSettle, quiet: reloadQuiet, keys: ready}
	rl.stamp, _ = statFile(cfg.Routes)
	started.Reload = rl.reload
	started.HUP = func() { rl.hup(ctx) }
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	wg.Go(func() { rl.run(ctx, hup, cfg.ReloadInterval) })

	mismatch := make(chan error, 1)
	wg.Go(func() { awaitKeys(ctx, log, cfg, ready, started, mismatch) })
	if onStart != nil {
		onStart(started)
	}
	select {
	case <-ctx.Done():
		return 0
	case err := <-serveErr:
		return fail(1, err)
	case err := <-mismatch:
		return fail(1, fmt.Errorf("--issuer %q is not the issuer its discovery document names (%v); give --issuer exactly as the tokens' iss", cfg.issuer.Issuer, err))
	}
}

// boundCall gives every gRPC call a deadline of serveWriteTimeout, the
// longest an HTTP request may take; the timer is released when the call
// ends.
func boundCall(ctx context.Context, _ *tap.Info) (context.Context, error) {
	ctx, cancel := context.WithTimeout(ctx, serveWriteTimeout)
	context.AfterFunc(ctx, cancel)
	return ctx, nil
}

func newHTTPServer(h http.Handler, log *slog.Logger, gateway func(remoteAddr string) bool) *http.Server {
	return &http.Server{
		// What any peer can cause once per connection (a failed TLS
		// handshake) is Debug, not a line per connection on stderr.
		ErrorLog:          serverlog.ErrorLog(log, gateway),
		Handler:           h,
		ReadHeaderTimeout: serveReadHeaderTimeout,
		ReadTimeout:       serveReadTimeout,
		WriteTimeout:      serveWriteTimeout,
		IdleTimeout:       serveIdleTimeout,
		MaxHeaderBytes:    serveMaxHeaderBytes,
		// Trusted proxies are matched on the connection's own address.
		ConnContext: httpbearer.ConnContext,
	}
}

// serveHandler routes the HTTP listener by exact path, without
// ServeMux's cleaning and redirects: an Envoy check for an unclean path
// must reach the decider (which refuses it with 400), not be redirected.
func serveHandler(d *forwardauth.Decider, ready *setup.Readiness, signer *forwardauth.Signer, md *resourcemeta.Document, envoyPrefix string) http.Handler {
	nginx, traefik, envoy := d.NginxHandler(), d.TraefikHandler(), d.EnvoyHTTPHandler(envoyPrefix)
	var jwks []byte
	if signer != nil {
		jwks = signer.JWKS()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/nginx":
			nginx.ServeHTTP(w, r)
		case p == "/traefik":
			traefik.ServeHTTP(w, r)
		case strings.HasPrefix(r.RequestURI, envoyPrefix+"/"):
			envoy.ServeHTTP(w, r)
		case p == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(setup.HealthBody)
		case p == "/readyz":
			ready.ServeHTTP(w, r)
		case md != nil && r.URL.EscapedPath() == md.Path():
			md.ServeHTTP(w, r)
		case p == "/.well-known/jwks.json" && jwks != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			w.Header().Set("Content-Type", "application/jwk-set+json")
			w.Header().Set("Cache-Control", "max-age=300")
			_, _ = w.Write(jwks)
		default:
			http.NotFound(w, r)
		}
	})
}

// awaitKeys waits for the issuer's keys as the examples do: up to
// --startup-timeout before it logs that it serves without them; a
// discovery document naming another issuer ends the service.
func awaitKeys(ctx context.Context, log *slog.Logger, cfg serveConfig, ready *setup.Readiness, s serveStarted, mismatch chan<- error) {
	attrs := []any{"addr", s.Addr, "issuer", cfg.issuer.Issuer, "audience", cfg.issuer.Audience, "routes", cfg.Routes}
	if s.GRPCAddr != "" {
		attrs = append(attrs, "grpc_addr", s.GRPCAddr)
	}
	wasLate := false
	err := ready.Await(ctx, cfg.issuer.StartupTimeout, func(err error) {
		wasLate = true
		log.Warn("bearerguard serve: listening, not ready: requests are answered 503 until the keys load", append(attrs, "error", oneLineErr(err))...)
	})
	switch {
	case err == nil && wasLate:
		log.Info("bearerguard serve: ready")
	case err == nil:
		log.Info("bearerguard serve: listening, ready", attrs...)
	case setup.IsIssuerMismatch(err):
		mismatch <- err
	}
}

func oneLineErr(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// maxShadowedLogged bounds the warnings of one load of the route file
// about routes that decide no request: a generated file of thousands of
// them would otherwise log thousands of lines at every reload.
const maxShadowedLogged = 10

// warnShadowed logs the routes of the file that decide no request, the
// first maxShadowedLogged one by one, then how many more, and where the
// check stopped if it did.
func warnShadowed(log *slog.Logger, path string, rules *forwardauth.Rules) {
	shadowed, unchecked := rules.Shadowed()
	for i, why := range shadowed {
		if i == maxShadowedLogged {
			log.Warn("bearerguard serve: more routes decide no request", "routes", path, "more", len(shadowed)-i)
			break
		}
		log.Warn("bearerguard serve: a route decides no request", "routes", path, "why", why)
	}
	if unchecked != "" {
		log.Warn("bearerguard serve: the check for routes that decide no request stopped, its work bound reached", "routes", path, "unchecked_from", unchecked)
	}
}
