package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
)

// A JWKS or introspection URL that does not parse (a typo in the
// port, a stray control character) is echoed whole, userinfo included, by
// httpfetch.CheckURL's url.Parse error: the password the parsed path
// redacts ("rs:xxxxx@") reaches serve's stderr.
func TestRedteamObsServeEchoesURLPassword(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	file := filepath.Join(t.TempDir(), "routes.yaml")
	writeRoutes(t, file, serveRoutes)
	none := func(string) string { return "" }
	for _, u := range []string{
		"https://rs:HUNTER2@as.example.com:44x/introspect",
		"https://rs:HUNTER2@as.example.com/introspect\x7f",
	} {
		for _, flag := range []string{"--jwks-url", "--introspection-url"} {
			var out lockedBuffer
			args := []string{"--routes", file, "--issuer", iss.URL, "--audience", "orders", "--client-id", "rs", "--client-secret", "s", flag, u}
			code := runServe(t.Context(), args, none, &out, iss.Client(), nil)
			if strings.Contains(out.String(), "HUNTER2") {
				t.Errorf("serve %s (exit %d) printed the URL's password: %q", flag, code, out.String())
			}
		}
	}
}
