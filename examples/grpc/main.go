// Command grpc is a gRPC service protected by bearerguard's interceptors
// (adapters/grpcbearer); the wiring is in package api, the service in
// datapb/data.proto.
//
//	go run . --issuer https://id.example.com/ --audience orders
//
// Methods: bearerguard.example.v1.Data/Get (read:data), Put (write:data),
// Watch (read:data, server streaming); grpc.health.v1.Health open. It takes
// the flags of the HTTP examples (run with --help); --public-url is the base
// URL of DPoP proofs' htu, and --resource is ignored (its metadata document
// is served over HTTP).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/bearerguard/bearerguard/examples/grpc/api"
	"github.com/bearerguard/bearerguard/examples/setup"
)

// shutdownTimeout bounds the wait for the calls in flight at SIGTERM.
const shutdownTimeout = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil)
	stop()
	os.Exit(code)
}

// run serves until ctx is done: 0 then, 2 for a bad configuration, 1 if
// serving fails. ready, if not nil, receives the listening address.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready chan<- string) int {
	const name = "grpc"
	fail := func(code int, err error) int {
		fmt.Fprintf(stderr, "%s: %s\n", name, oneLine(err))
		return code
	}
	cfg, err := setup.Parse(name, args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return fail(2, err)
	}
	if cfg.MetricsAddr != "" {
		return fail(2, errors.New("--metrics-addr is not supported by the gRPC example yet"))
	}
	var opts []grpc.ServerOption
	tlsCfg, err := cfg.ServerTLS()
	if err != nil {
		return fail(2, err)
	}
	if tlsCfg != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
	}
	srv, closeFn, err := api.New(cfg, nil, opts...)
	if err != nil {
		return fail(2, err)
	}
	defer closeFn()
	lis, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fail(1, err)
	}
	slog.Info("listening", "service", name, "addr", lis.Addr().String(), "issuer", cfg.Issuer, "audience", cfg.Audience)
	if ready != nil {
		ready <- lis.Addr().String()
	}
	ctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		graceful := make(chan struct{})
		go func() { srv.GracefulStop(); close(graceful) }() // waits for the calls in flight
		select {
		case <-graceful:
		case <-time.After(shutdownTimeout): // a call whose client never ends it
			srv.Stop()
			<-graceful
		}
	}()
	err = srv.Serve(lis) // nil once GracefulStop has begun
	cancel()
	<-stopped
	if err != nil {
		return fail(1, err)
	}
	return 0
}

// oneLine joins the lines of a (joined) error with "; ".
func oneLine(err error) string {
	s := err.Error()
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i] + "; " + oneLine(errors.New(s[i+1:]))
		}
	}
	return s
}
