package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

const inspectUsage = `Usage: bearerguard inspect [flags]

Serves a page on this machine that explains, check by check, why the API
described by the flags accepts or refuses a token: paste the token (and,
optionally, the request's method, URL and DPoP proof, and the scopes the
route requires). The audience, leeway, RFC 9068 profile, DPoP policy and
scopes can be changed in the page; the issuer, JWKS URL, introspection
endpoint and its credentials are fixed by the flags.

The page is served on loopback only (--addr, default 127.0.0.1 with a free
port); its address, with a random key that opens it, is printed on
standard output. Its assets are built in: it loads
nothing from anywhere else. The token goes to this process, in the
body of a same-origin POST with a per-process anti-CSRF token, and, with
--introspection-url, to that endpoint whenever the API would send it
there; it is never logged, stored or put in a URL. This process's only
outgoing requests are the issuer's discovery, JWKS and introspection
endpoints.

Flags:
`

// inspectCommand runs "bearerguard inspect" until ctx ends.
func inspectCommand(ctx context.Context, args []string, stdout, stderr io.Writer, client *http.Client) int {
	fs := flag.NewFlagSet("bearerguard inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f validateFlags
	f.register(fs)
	addr := fs.String("addr", "127.0.0.1:0", "address to serve the page on: a loopback address, with a port (0 for a free one)")
	allowRemote := fs.Bool("allow-remote", false, "allow --addr to be a non-loopback address: anyone who can reach it can use the page (plain HTTP; not recommended)")
	fs.Usage = func() {
		fmt.Fprint(stderr, inspectUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	f.given = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.given[fl.Name] = true })
	f.fromEnvironment(os.Getenv)
	// problems wants validate's one TOKEN argument; inspect's tokens come
	// from the page, so it is told there is one and checks for none here.
	_, problems := f.problems(1)
	if fs.NArg() > 0 {
		problems = append(problems, "inspect takes no arguments: paste the token in the page")
	}
	if f.given["dpop-proof"] {
		problems = append(problems, "inspect takes no --dpop-proof: paste the proof in the page")
	}
	if len(problems) > 0 {
		return inspectUsageError(stderr, problems...)
	}
	// What validate would refuse to build (an http:// issuer, a bad URL)
	// is refused now, not at every inspection. Each inspection builds its
	// own, so that nothing is kept between them.
	var rec tokenRecorder
	client, err := f.httpClient(client)
	if err != nil {
		return inspectUsageError(stderr, err.Error())
	}
	_, _, _, closeAll, errs := f.build(client, &rec)
	if len(errs) > 0 {
		for _, err := range errs {
			problems = append(problems, err.Error())
		}
		return inspectUsageError(stderr, problems...)
	}
	closeAll()
	ln, err := listenInspect(ctx, *addr, *allowRemote)
	if err != nil {
		return inspectUsageError(stderr, err.Error())
	}
	srv, err := newInspectServer(&f, client, ln.Addr().String(), *allowRemote)
	if err != nil {
		ln.Close()
		return inspectUsageError(stderr, err.Error())
	}
	fmt.Fprintf(stdout, "bearerguard inspect: open %s in a browser on this machine (Ctrl-C to stop)\n", srv.url())
	if !isLoopbackListener(ln) {
		fmt.Fprintf(stderr, "bearerguard inspect: WARNING: serving on a non-loopback address (--allow-remote), over plain HTTP: tokens pasted from elsewhere cross the network unencrypted\n")
	}
	if err := srv.serve(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "bearerguard inspect: %v\n", err)
		return 1
	}
	return 0
}

func inspectUsageError(stderr io.Writer, problems ...string) int {
	for _, p := range problems {
		for _, line := range strings.Split(p, "\n") {
			fmt.Fprintf(stderr, "bearerguard inspect: %s\n", line)
		}
	}
	return exitUsage
}

// errNotLoopback refuses a non-loopback --addr without --allow-remote.
var errNotLoopback = errors.New("--addr must be a loopback address (127.0.0.1, [::1] or localhost): the page handles live credentials; give --allow-remote to serve it to the network anyway")

// listenInspect listens on addr, which must be a loopback address unless
// allowRemote. "localhost" is taken as 127.0.0.1, so that the address
// bound is the one checked; an empty host (all interfaces) is not
// loopback.
func listenInspect(ctx context.Context, addr string, allowRemote bool) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--addr %q: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		host = "127.0.0.1"
	}
	if !allowRemote && !isLoopbackHost(host) {
		return nil, fmt.Errorf("--addr %q: %w", addr, errNotLoopback)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, err
	}
	if !allowRemote && !isLoopbackListener(ln) { // belt and braces: what was bound
		ln.Close()
		return nil, fmt.Errorf("--addr %q: %w", addr, errNotLoopback)
	}
	return ln, nil
}

// isLoopbackHost reports whether host is a loopback IP literal.
func isLoopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isLoopbackListener(ln net.Listener) bool {
	a, ok := ln.Addr().(*net.TCPAddr)
	return ok && a.IP.IsLoopback()
}

// inspectTimeouts bound every connection of the page's server.
const (
	inspectReadHeaderTimeout = 5 * time.Second
	inspectIdleTimeout       = 60 * time.Second
)

// serve serves the page on ln until ctx ends, then shuts down.
func (s *inspectServer) serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: inspectReadHeaderTimeout,
		ReadTimeout:       s.flags.timeout + inspectReadHeaderTimeout,
		WriteTimeout:      2*s.flags.timeout + inspectReadHeaderTimeout,
		IdleTimeout:       inspectIdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          log.New(io.Discard, "", 0), // nothing about requests is logged
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(shutdownCtx)
	<-done
	return err
}
