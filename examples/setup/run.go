package setup

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/internal/serverlog"
	"github.com/bearerguard/bearerguard/redisstore"
)

// Main parses the configuration, builds the handler with newHandler, and
// serves it until SIGINT or SIGTERM, with GET /readyz beside it and, with
// --metrics-addr, GET /metrics on a listener of its own. A bad configuration
// exits 2 with a one-line reason; a discovery document that names another
// issuer, or a listener that fails, exits 1 with one line.
func Main(name string, newHandler func(Config, *http.Client) (http.Handler, func(), error)) {
	if err := EmptyAllowLists(os.LookupEnv); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, oneLine(err))
		os.Exit(2)
	}
	// go-redis writes a line to the standard error per failed dial during
	// an outage, which the store reports once: its lines go to the log at
	// Debug, out of sight by default (process-wide, so here, not in Guard).
	redisstore.RouteClientLogs(slog.Default(), slog.LevelDebug)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, name, os.Args[1:], os.Getenv, os.Stderr, newHandler, nil)
	stop()
	os.Exit(code)
}

// started is what run tells its caller once it listens: for tests.
type started struct {
	Addr        string // the main listener's address
	MetricsAddr string // the metrics listener's, "" without --metrics-addr
	Readiness   *Readiness
}

// run serves until ctx is done (then 0). onStart, if not nil, is called
// once the listeners are bound and serving.
func run(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer,
	newHandler func(Config, *http.Client) (http.Handler, func(), error), onStart func(started)) int {
	fail := func(code int, err error) int {
		fmt.Fprintf(stderr, "%s: %s\n", name, oneLine(err))
		return code
	}
	cfg, err := Parse(name, args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return fail(2, err)
	}
	var metrics http.Handler
	if cfg.MetricsAddr != "" {
		mp, h, err := Prometheus(name)
		if err != nil {
			return fail(2, err)
		}
		defer func() { _ = mp.Shutdown(context.Background()) }()
		cfg.MeterProvider, metrics = mp, h
	}
	ready := &Readiness{}
	cfg.Readiness = ready
	h, closeFn, err := newHandler(cfg, nil)
	if err != nil {
		return fail(2, err)
	}
	defer closeFn() // last: the servers and the startup wait are done by then
	tlsCfg, err := cfg.ServerTLS()
	if err != nil {
		return fail(2, err)
	}

	var wg sync.WaitGroup
	defer wg.Wait() // after cancel, which ends the startup wait
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	api := newServer(withReadyz(h, ready))
	api.TLSConfig = tlsCfg
	servers := []*http.Server{api}
	addrs := []string{cfg.Addr}
	if metrics != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics)
		servers = append(servers, newServer(mux))
		addrs = append(addrs, cfg.MetricsAddr)
	}
	listeners := make([]net.Listener, len(servers))
	for i, a := range addrs {
		if listeners[i], err = net.Listen("tcp", a); err != nil {
			for _, l := range listeners[:i] {
				l.Close()
			}
			return fail(1, err)
		}
	}
	defer func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, srv := range servers {
			_ = srv.Shutdown(shutdown)
		}
	}()
	serveErr := make(chan error, len(servers))
	for i, srv := range servers {
		serve := func() error { return srv.Serve(listeners[i]) }
		if i == 0 && cfg.TLSCert != "" {
			serve = func() error { return srv.ServeTLS(listeners[i], "", "") } // the certificate: TLSConfig.GetCertificate
		}
		wg.Go(func() {
			if err := serve(); !errors.Is(err, http.ErrServerClosed) {
				serveErr <- err
			}
		})
	}
	info := started{Addr: listeners[0].Addr().String(), Readiness: ready}
	if metrics != nil {
		info.MetricsAddr = listeners[1].Addr().String()
	}
	mismatch := make(chan error, 1)
	wg.Go(func() { awaitReady(ctx, name, cfg, info, mismatch) })
	if onStart != nil {
		onStart(info)
	}

	select {
	case <-ctx.Done():
		return 0
	case err := <-serveErr:
		return fail(1, err)
	case err := <-mismatch:
		fmt.Fprintf(stderr, "%s: --issuer %q is not the issuer its discovery document names: %s; give --issuer exactly as the tokens' iss\n",
			name, cfg.Issuer, oneLine(errors.New(mismatchDetail(err))))
		return 1
	}
}

// Server limits of every listener, as `bearerguard serve` has them: headers
// within 5 s and 64 KiB, the whole request within 10 s, an idle keep-alive
// connection closed after 90 s. No write timeout: the MCP example's GET
// /mcp is a server-sent event stream that lasts as long as its client.
const (
	serverReadHeaderTimeout = 5 * time.Second
	serverReadTimeout       = 10 * time.Second
	serverIdleTimeout       = 90 * time.Second
	serverMaxHeaderBytes    = 64 << 10
)

func newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: serverReadHeaderTimeout,
		ReadTimeout:       serverReadTimeout,
		IdleTimeout:       serverIdleTimeout,
		MaxHeaderBytes:    serverMaxHeaderBytes,
		// A forwarded client certificate is believed by the connection's
		// own address, whatever a middleware makes of RemoteAddr.
		ConnContext: httpbearer.ConnContext,
		// A failed TLS handshake is a line any peer can cause per
		// connection: Debug, not the standard logger.
		ErrorLog: serverlog.ErrorLog(slog.Default(), nil),
	}
}

// awaitReady waits for the service's keys, up to cfg.StartupTimeout before
// it logs that it serves without them, and then for as long as ctx lasts.
// A discovery document that names another issuer, at any time before the
// keys load, is sent on mismatch.
func awaitReady(ctx context.Context, name string, cfg Config, info started, mismatch chan<- error) {
	attrs := []any{"service", name, "addr", info.Addr, "issuer", cfg.Issuer, "audience", cfg.Audience}
	if info.MetricsAddr != "" {
		attrs = append(attrs, "metrics_addr", info.MetricsAddr)
	}
	wasLate := false
	err := info.Readiness.Await(ctx, cfg.StartupTimeout, func(err error) {
		wasLate = true
		slog.Warn("listening, not ready: GET /readyz answers 503 until the keys load", append(attrs, "startup_timeout", cfg.StartupTimeout, "error", oneLine(err))...)
	})
	switch {
	case err == nil && wasLate:
		slog.Info("ready", "service", name)
	case err == nil:
		slog.Info("listening, ready", attrs...)
	case IsIssuerMismatch(err):
		mismatch <- err
	}
}

func oneLine(err error) string {
	s := err.Error()
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i] + "; " + oneLine(errors.New(s[i+1:]))
		}
	}
	return s
}

// ServerTLS returns the TLS configuration of an HTTPS service: nil without
// --tls-cert; its certificate is read again when the files change; with --client-ca, clients are asked for certificates issued
// by those CAs (and refused if they send another), and a request without
// one still reaches the guard, which refuses certificate-bound tokens.
func (c Config) ServerTLS() (*tls.Config, error) {
	if c.TLSCert == "" {
		return nil, nil
	}
	if strings.HasPrefix(strings.TrimSpace(c.TLSKey), "-----BEGIN") {
		// BEARERGUARD_TLS_KEY holding the key itself: the file error would
		// quote it as the path.
		return nil, errors.New("--tls-key: a PEM key was given where its file's path belongs")
	}
	kp, err := loadKeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		// Never the path: a key given where its path belongs, in any
		// encoding (base64 of the PEM, quoted, PKCS #12 text), would be
		// printed whole.
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			which := "certificate or key file"
			switch pe.Path {
			case c.TLSCert:
				which = "certificate file (--tls-cert)"
			case c.TLSKey:
				which = "key file (--tls-key)"
			}
			err = fmt.Errorf("%s of the %s: %w", pe.Op, which, pe.Err)
		}
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: kp.GetCertificate}
	if c.ClientCA != "" {
		pemBytes, err := os.ReadFile(c.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("--client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, errors.New("--client-ca: no PEM certificate in the file")
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}
