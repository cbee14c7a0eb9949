package main

// The serve subcommand: one reference service per process, with the
// contract of the library's examples (GET /healthz open, GET /data needs
// read:data, POST /data needs write:data, 401 and 403 with a Bearer
// challenge). The peers are written the way each library's README shows,
// with the same net/http ServeMux, the same reply bodies and the same
// checks as bearerguard: signature, iss, aud, exp (required), nbf, 30 s
// leeway, and the scope.

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/bearerguard/bearerguard/examples/nethttp/api"
	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/validator"
)

// impls are the targets, in report order; ours first, the reference
// without a guard last.
var impls = []string{"bearerguard", "golangjwt", "auth0", "jwx", noGuard}

// noGuard is a reference, not a peer: the example's routes behind a
// middleware that checks nothing (any "Bearer" header passes, as a fixed
// principal in the request context). It runs the open and reused modes
// only, never the contract, and its reused ÷ open is the most any guard
// can reach on the machine: what carrying the token and answering /data
// cost without deciding anything.
const noGuard = "noguard"

// implTitle names a target in the report.
var implTitle = map[string]string{
	"bearerguard": "bearerguard (examples/nethttp)",
	"golangjwt":   "golang-jwt v5 + keyfunc v3",
	"auth0":       "auth0 go-jwt-middleware v2",
	"jwx":         "jwx v2 (jwk.Cache + jwt.Parse)",
	noGuard:       "*reference: no guard (token not checked)*",
}

// isPeer reports whether impl is compared with bearerguard.
func isPeer(impl string) bool { return impl != ours && impl != noGuard }

// measures reports whether impl runs mode: the reference only runs the
// open route and the reused token.
func measures(impl, mode string) bool {
	return impl != noGuard || mode == "open" || mode == "reused"
}

type serveConfig struct {
	impl, addr, issuer, jwksURL, audience, caFile, cpuprofile string
	maxLifetime                                               time.Duration
}

// serveMain runs "sidebyside serve": it prints "LISTEN host:port" as its
// first line on stdout, then serves until stdin closes, SIGINT/SIGTERM, or
// -max-lifetime passes.
func serveMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sidebyside serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c serveConfig
	fs.StringVar(&c.impl, "impl", "", "target: "+strings.Join(impls, ", "))
	fs.StringVar(&c.addr, "addr", "127.0.0.1:0", "listen address (loopback only)")
	fs.StringVar(&c.issuer, "issuer", "", "trusted issuer, exactly as in the tokens' iss")
	fs.StringVar(&c.jwksURL, "jwks", "", "JWKS URL")
	fs.StringVar(&c.audience, "audience", audience, "this API's audience")
	fs.StringVar(&c.caFile, "ca", "", "PEM file of the issuer's certificate (trusted for JWKS fetches)")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole life of the server to this file")
	fs.DurationVar(&c.maxLifetime, "max-lifetime", 30*time.Minute, "exit after this long whatever happens")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := serve(c, stdout, os.Stdin); err != nil {
		fmt.Fprintf(stderr, "sidebyside serve -impl %s: %v\n", c.impl, err)
		return 1
	}
	return 0
}

func serve(c serveConfig, stdout io.Writer, stdin io.Reader) error {
	if c.issuer == "" || c.jwksURL == "" {
		return errors.New("-issuer and -jwks are required")
	}
	host, _, err := net.SplitHostPort(c.addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %q: loopback addresses only", c.addr)
	}
	client, err := jwksClient(c.caFile, c.impl)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h, closeFn, err := newTarget(ctx, c, client)
	if err != nil {
		return err
	}
	defer closeFn()

	if c.cpuprofile != "" {
		f, err := os.Create(c.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if _, err := fmt.Fprintf(stdout, "LISTEN %s\n", ln.Addr()); err != nil {
		srv.Close()
		return err
	}

	stop := make(chan string, 3)
	go func() { // the parent holds our stdin: EOF means it is gone or done
		_, _ = io.Copy(io.Discard, stdin)
		stop <- "stdin closed"
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	life := time.NewTimer(c.maxLifetime)
	defer life.Stop()
	select {
	case <-stop:
	case <-sig:
	case <-life.C:
	case err := <-served:
		return err
	}
	shutdown, cancelShutdown := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancelShutdown()
	if err := srv.Shutdown(shutdown); err != nil {
		srv.Close()
	}
	return nil
}

// jwksClient trusts the issuer's certificate and names the target in
// every request, so that the issuer can count JWKS fetches per target.
func jwksClient(caFile, tag string) (*http.Client, error) {
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 5 * time.Second}
	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("%s: no certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: tagTransport{tag, tr}}, nil
}

type tagTransport struct {
	tag string
	rt  http.RoundTripper
}

func (t tagTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(tagHeader, t.tag)
	return t.rt.RoundTrip(r)
}

func newTarget(ctx context.Context, c serveConfig, client *http.Client) (http.Handler, func(), error) {
	switch c.impl {
	case "bearerguard":
		return api.New(setup.Config{Issuer: c.issuer, Audience: c.audience, JWKSURL: c.jwksURL, Leeway: validator.DefaultLeeway}, client)
	case "golangjwt":
		return newGolangJWT(ctx, c, client)
	case "auth0":
		return newAuth0(c, client)
	case "jwx":
		return newJWX(ctx, c, client)
	case noGuard:
		return peerMux("sidebyside", func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tok, _ := bearer(r)
				if tok == "" {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				p := principal{sub: "reused", clientID: "sidebyside", scope: "read:data"}
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
			})
		}), func() {}, nil
	}
	return nil, nil, fmt.Errorf("unknown -impl %q (want one of %s)", c.impl, strings.Join(impls, ", "))
}

// principal is what a peer's middleware hands its handlers.
type principal struct{ sub, clientID, scope string }

type principalKey struct{}

// peerMux is the example's routes behind a peer's middleware: mw
// authenticates, requireScope authorizes.
func peerMux(realm string, mw func(http.Handler) http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		// The example's own open route, line for line: the open route
		// compares the servers and middleware stacks, not the handlers.
		w.Header()["Content-Type"] = jsonContentType
		_, _ = w.Write(setup.HealthBody)
	})
	mux.Handle("GET /data", mw(requireScope(realm, "read:data", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, reply(r))
	}))))
	mux.Handle("POST /data", mw(requireScope(realm, "write:data", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := reply(r)
		rep.Stored = true
		writeJSON(w, http.StatusCreated, rep)
	}))))
	return mux
}

func reply(r *http.Request) setup.DataReply {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return setup.DataReply{Subject: p.sub, ClientID: p.clientID, Scopes: strings.Fields(p.scope)}
}

func requireScope(realm, scope string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := r.Context().Value(principalKey{}).(principal)
		if !slices.Contains(strings.Fields(p.scope), scope) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q, error="insufficient_scope", scope=%q`, realm, scope))
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope", "scope": scope})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// unauthorized answers 401; invalid says whether a token was presented.
func unauthorized(w http.ResponseWriter, realm string, invalid bool) {
	w.Header().Set("Cache-Control", "no-store")
	if invalid {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q, error="invalid_token"`, realm))
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q`, realm))
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
}

var jsonContentType = []string{"application/json"}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// bearer extracts the token of an "Authorization: Bearer" header; ok is
// false when there is no Authorization header at all.
func bearer(r *http.Request) (tok string, present bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(tok), true
}

// verifyMiddleware is the middleware a golang-jwt or jwx user writes.
func verifyMiddleware(realm string, verify func(string) (principal, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, present := bearer(r)
			if !present {
				unauthorized(w, realm, false)
				return
			}
			if tok == "" {
				unauthorized(w, realm, true)
				return
			}
			p, err := verify(tok)
			if err != nil {
				unauthorized(w, realm, true)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
		})
	}
}

// readListenLine reads the child's first stdout line, "LISTEN host:port".
func readListenLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("reading the listen line: %w", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "LISTEN ")
	if !ok {
		return "", fmt.Errorf("unexpected first line %q", line)
	}
	return addr, nil
}
