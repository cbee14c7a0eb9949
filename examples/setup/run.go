package setup

import (
	"context"
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	slog.Info("listening", "service", name, "addr", cfg.Addr, "issuer", cfg.Issuer, "audience", cfg.Audience)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
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
