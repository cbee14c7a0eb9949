package main

import (
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
)

// "a bad file keeps the rules in force" (serve --help): route files that
// once panicked in the reloader goroutine, which has no recover, so the
// whole serve process died on a hot reload. A scope with a trailing space
// passed the check and panicked in scopes.All; a bad acr value was
// reported, and still given to WithStepUp, which panics on it.
func TestRedteamReloadBadFileKeepsRules(t *testing.T) {
	for name, file := range map[string]string{
		"scope with a space": "routes:\n  - path: /a\n    scopes: [\"read:data \"]\n",
		"empty acr value":    "routes:\n  - path: /a\n    acr_values: [\"\"]\n",
		"negative max age":   "routes:\n  - path: /a\n    acr_values: [mfa]\n    max_age: -1s\n",
	} {
		t.Run(name, func(t *testing.T) {
			iss := bearertest.NewIssuer(t)
			s, _, path := startServe(t, iss, serveRoutes, "--reload-interval", "0")
			rl := &reloader{path: path, d: s.Decider, log: discardLogger()}
			rl.stamp, _ = statFile(path)
			writeRoutes(t, path, file)
			func() {
				defer func() {
					if e := recover(); e != nil {
						t.Errorf("reload panicked (the serve process would exit): %v", e)
					}
				}()
				rl.poll()
			}()
			if n := s.Decider.Rules().Routes(); n != 3 {
				t.Errorf("bad file: %d routes in force, want the old 3", n)
			}
		})
	}
}
