// Command grpc is a gRPC service protected by bearerguard's interceptors
// (adapters/grpcbearer); the wiring is in package api, the service in
// datapb/data.proto.
//
//	cd examples/grpc && go run . --issuer https://id.example.com/ --audience orders
//
// Methods: bearerguard.example.v1.Data/Get (read:data), Put (write:data),
// Watch (read:data, server streaming); grpc.health.v1.Health open, and
// NOT_SERVING until the issuer's keys have loaded (the HTTP examples'
// GET /readyz). It takes the flags of the HTTP examples (run with --help);
// --public-url is the base URL of DPoP proofs' htu, and --resource is
// ignored (its metadata document is served over HTTP); --metrics-addr,
// --redis-url, --provider and --introspection-only are refused.
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
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/tap"

	"github.com/bearerguard/bearerguard/adapters/grpcbearer"
	"github.com/bearerguard/bearerguard/examples/grpc/api"
	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/redisstore"
)

// shutdownTimeout bounds the wait for the calls in flight at SIGTERM.
const shutdownTimeout = 5 * time.Second

// The server's limits, as `bearerguard serve --grpc-addr` has them:
// grpc-go's defaults read 4 MiB messages and 16 MiB of metadata, serve
// unlimited streams per connection, keep idle connections for ever, and
// hold a unary call whose message never comes.
const (
	maxRecvMsgSize    = 64 << 10 // a Put's value is small: held per stream before any token is seen
	maxStreams        = 100
	maxHeaderListSize = 64 << 10
	handshakeTimeout  = 5 * time.Second
	idleTimeout       = 90 * time.Second
)

// callTimeout bounds every unary call (a variable for the tests).
var callTimeout = 15 * time.Second

func main() {
	if err := setup.EmptyAllowLists(os.LookupEnv); err != nil {
		fmt.Fprintf(os.Stderr, "grpc: %s\n", oneLine(err))
		os.Exit(2)
	}
	redisstore.RouteClientLogs(slog.Default(), slog.LevelDebug) // go-redis's line per failed dial: at Debug, as setup.Main
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
	streaming := map[string]bool{} // filled before Serve, read by the calls
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxRecvMsgSize),
		grpc.MaxConcurrentStreams(maxStreams),
		grpc.MaxHeaderListSize(maxHeaderListSize),
		grpc.ConnectionTimeout(handshakeTimeout),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: idleTimeout}),
		grpc.InTapHandle(func(ctx context.Context, info *tap.Info) (context.Context, error) {
			if streaming[info.FullMethodName] {
				return ctx, nil // Data/Watch, behind a token, lasts as long as its client asked
			}
			// A unary call ends within callTimeout, whether or not its
			// client sends grpc-timeout, or its message.
			ctx, cancel := context.WithTimeout(ctx, callTimeout)
			context.AfterFunc(ctx, cancel)
			return ctx, nil
		}),
	}
	tlsCfg, err := cfg.ServerTLS()
	if err != nil {
		return fail(2, err)
	}
	if tlsCfg != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
	}
	readiness := &setup.Readiness{}
	cfg.Readiness = readiness
	srv, closeFn, err := api.New(cfg, nil, opts...)
	if err != nil {
		return fail(2, err)
	}
	defer closeFn()
	for svc, info := range srv.GetServiceInfo() {
		if "/"+svc+"/" == grpcbearer.HealthService {
			continue // open: its Watch, needing no token, is bounded as a unary call
		}
		for _, m := range info.Methods {
			if m.IsClientStream || m.IsServerStream {
				streaming["/"+svc+"/"+m.Name] = true
			}
		}
	}
	lis, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fail(1, err)
	}
	addr := lis.Addr().String()
	slog.Info("listening", "service", name, "addr", addr, "issuer", cfg.Issuer, "audience", cfg.Audience)
	if ready != nil {
		ready <- addr
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }() // nil once GracefulStop has begun
	mismatch := make(chan error, 1)
	waited := make(chan struct{})
	go func() { defer close(waited); awaitKeys(ctx, name, cfg, readiness, mismatch) }()
	defer func() { cancel(); <-waited }()

	code := 0
	select {
	case <-ctx.Done():
	case err := <-mismatch:
		fmt.Fprintf(stderr, "%s: --issuer %q is not the issuer its discovery document names: %s; give --issuer exactly as the tokens' iss\n", name, cfg.Issuer, oneLine(err))
		code = 1
	case err := <-served:
		return fail(1, err)
	}
	graceful := make(chan struct{})
	go func() { srv.GracefulStop(); close(graceful) }() // waits for the calls in flight
	select {
	case <-graceful:
	case <-time.After(shutdownTimeout): // a stream whose client never ends it
		srv.Stop()
		<-graceful
	}
	if err := <-served; err != nil && code == 0 {
		return fail(1, err)
	}
	return code
}

// awaitKeys waits for the keys, up to cfg.StartupTimeout before it logs
// that the service answers without them (health NOT_SERVING, every token
// refused), then for as long as ctx lasts. A discovery document naming
// another issuer is sent on mismatch: the service exits, as the HTTP
// examples do.
func awaitKeys(ctx context.Context, name string, cfg setup.Config, r *setup.Readiness, mismatch chan<- error) {
	err := r.Await(ctx, cfg.StartupTimeout, func(err error) {
		slog.Warn("listening, not ready: health answers NOT_SERVING until the keys load", "service", name, "startup_timeout", cfg.StartupTimeout, "error", oneLine(err))
	})
	switch {
	case err == nil:
		slog.Info("ready", "service", name)
	case setup.IsIssuerMismatch(err):
		mismatch <- err
	}
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
