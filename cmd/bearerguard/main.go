// Command bearerguard shows the library at work and explains its
// decisions.
//
//	bearerguard demo [--json] [--metrics]  the whole client-credentials flow, in-process
//	bearerguard validate [flags] TOKEN|-   why is this token accepted or refused?
//	bearerguard inspect [flags]            the same, check by check, in a page on loopback
//	bearerguard serve --routes FILE        forward auth for nginx, Traefik and Envoy
//	bearerguard dev-issuer [flags]         a local authorization server for trying it out
//	bearerguard version
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"

	"github.com/bearerguard/bearerguard/examples/setup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, nil)
	stop()
	os.Exit(code)
}

const usage = `bearerguard: protect HTTP APIs as an OAuth 2.0 resource server.

Usage:
  bearerguard demo [--json] [--metrics] run the client-credentials flow end to end, in-process
  bearerguard validate [flags] TOKEN|-  check a token and explain the decision
  bearerguard inspect [flags]           a page on loopback that explains, check by check, why a token is refused
  bearerguard serve --routes FILE       forward auth: decide for nginx, Traefik and Envoy
  bearerguard dev-issuer [flags]        a local authorization server for trying the examples (development only)
  bearerguard version                   print the version

Run "bearerguard COMMAND --help" for a command's flags.
`

// run is main without the process: client, when set, is used for every
// HTTP request validate makes (tests pass one that trusts their issuer).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, client *http.Client) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "demo":
		return demoCommand(ctx, args[1:], stdout, stderr)
	case "validate":
		return validateCommand(ctx, args[1:], stdin, stdout, stderr, client)
	case "inspect":
		return inspectCommand(ctx, args[1:], stdout, stderr, client)
	case "serve":
		if err := setup.EmptyAllowLists(os.LookupEnv); err != nil {
			fmt.Fprintf(stderr, "bearerguard serve: %v\n", strings.ReplaceAll(err.Error(), "\n", "; "))
			return 2
		}
		return serveCommand(ctx, args[1:], os.Getenv, stderr, client, nil)
	case "dev-issuer":
		return devIssuerCommand(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "bearerguard", version())
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "bearerguard: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return v + " " + info.GoVersion
}
