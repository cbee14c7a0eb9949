package main

import (
	"context"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
)

const devIssuerUsage = `Usage: bearerguard dev-issuer [flags]

Starts a local authorization server on 127.0.0.1 (HTTPS, a self-signed
certificate) for trying bearerguard and the example services on this
machine: discovery, JWKS, a client-credentials token endpoint, introspection
and revocation. It writes its certificate to a PEM file (trust it with the
examples' --issuer-ca), prints a client id and secret and a ready token,
and serves until interrupted. It is bearertest's issuer: for development
only, never for real tokens.

Flags:
`

// devIssuerStarted is what devIssuer tells its caller once it serves: for
// tests.
type devIssuerStarted struct {
	Issuer, CAFile, Token, ClientID, ClientSecret string
}

// devIssuerCommand runs `bearerguard dev-issuer` until ctx ends, SIGTERM,
// or SIGHUP (its terminal closed): each removes the certificate it wrote.
func devIssuerCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	return devIssuer(ctx, args, stdout, stderr, nil)
}

func devIssuer(ctx context.Context, args []string, stdout, stderr io.Writer, onStart func(devIssuerStarted)) int {
	fs := flag.NewFlagSet("bearerguard dev-issuer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	audience := fs.String("audience", "orders", "audience of the tokens it issues")
	scope := fs.String("scope", "read:data write:data", "scopes of the printed token, and those the client may ask for")
	clientID := fs.String("client-id", "dev-client", "client id for the client-credentials grant")
	secret := fs.String("client-secret", "dev-secret", "its secret (client_secret_basic or client_secret_post)")
	caFile := fs.String("ca-file", "", "where to write the issuer's certificate (PEM); default: a file in a new temporary directory, removed at exit")
	ttl := fs.Duration("ttl", time.Hour, "lifetime of issued tokens")
	fs.Usage = func() {
		fmt.Fprint(stderr, devIssuerUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(code int, err error) int {
		fmt.Fprintf(stderr, "bearerguard dev-issuer: %v\n", err)
		return code
	}
	set, err := scopes.Parse(*scope)
	switch {
	case fs.NArg() > 0:
		return fail(2, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	case err != nil:
		return fail(2, fmt.Errorf("--scope: %w", err))
	case *audience == "" || *clientID == "" || *secret == "":
		return fail(2, errors.New("--audience, --client-id and --client-secret must not be empty"))
	case *ttl <= 0:
		return fail(2, errors.New("--ttl must be positive"))
	}

	iss, err := bearertest.Start()
	if err != nil {
		return fail(1, err)
	}
	defer iss.Close()
	iss.AddClient(bearertest.ClientConfig{ID: *clientID, Secret: *secret, Scopes: set.List(), Audience: *audience, TTL: *ttl})
	path := *caFile
	if path == "" {
		dir, err := os.MkdirTemp("", "bearerguard-dev-issuer-")
		if err != nil {
			return fail(1, err)
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "ca.pem")
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: iss.Certificate().Raw})
	if err := os.WriteFile(path, certPEM, 0o644); err != nil {
		return fail(1, err)
	}
	token, err := iss.MintToken(bearertest.Claims{"aud": *audience, "scope": strings.Join(set.List(), " "), "sub": *clientID,
		"client_id": *clientID, "exp": time.Now().Add(*ttl).Unix()})
	if err != nil {
		return fail(1, err)
	}

	fmt.Fprintf(stdout, `bearerguard dev-issuer: a local authorization server, for development only

  issuer       %s
  certificate  %s   (trust it with --issuer-ca)
  token URL    %s   (client_credentials: client %q, secret %q)
  audience     %s

A token (scope %q, for %s):
export TOKEN=%s

Try it with an example service, then call it:
  go run ./examples/nethttp --issuer %s --audience %s --issuer-ca %s
  curl -H "Authorization: Bearer $TOKEN" http://localhost:8080/data
or have a token explained:
  bearerguard validate --issuer %[10]s --audience %[11]s --issuer-ca %[12]s "$TOKEN"

Serving until interrupted (Ctrl-C).
`, iss.URL, path, iss.TokenURL(), *clientID, *secret, *audience, strings.Join(set.List(), " "), *ttl, token,
		iss.URL, *audience, path)
	if onStart != nil {
		onStart(devIssuerStarted{Issuer: iss.URL, CAFile: path, Token: token, ClientID: *clientID, ClientSecret: *secret})
	}
	<-ctx.Done()
	return 0
}
