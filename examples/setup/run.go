package setup

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Main parses the configuration, builds the handler with newHandler, and
// serves it until SIGINT or SIGTERM. A bad configuration exits 2 with a
// one-line reason.
func Main(name string, newHandler func(Config, *http.Client) (http.Handler, func(), error)) {
	os.Exit(run(name, os.Args[1:], os.Getenv, os.Stderr, newHandler))
}

func run(name string, args []string, getenv func(string) string, stderr io.Writer, newHandler func(Config, *http.Client) (http.Handler, func(), error)) int {
	cfg, err := Parse(name, args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", name, oneLine(err))
		return 2
	}
	h, closeFn, err := newHandler(cfg, nil)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", name, oneLine(err))
		return 2
	}
	defer closeFn()
	srv := &http.Server{Addr: cfg.Addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	if srv.TLSConfig, err = cfg.ServerTLS(); err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", name, oneLine(err))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	slog.Info("listening", "service", name, "addr", cfg.Addr, "issuer", cfg.Issuer, "audience", cfg.Audience)
	serve := srv.ListenAndServe
	if cfg.TLSCert != "" {
		serve = func() error { return srv.ListenAndServeTLS(cfg.TLSCert, cfg.TLSKey) }
	}
	if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "%s: %s\n", name, oneLine(err))
		return 1
	}
	return 0
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
// --tls-cert; with --client-ca, clients are asked for certificates issued
// by those CAs (and refused if they send another), and a request without
// one still reaches the guard, which refuses certificate-bound tokens.
func (c Config) ServerTLS() (*tls.Config, error) {
	if c.TLSCert == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
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
