package main

import (
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
)

// "a bad file keeps the rules in force" (serve --help): a route file
// whose scope has a trailing space panicked in the reloader goroutine,
// which has no recover, so the whole serve process died on a hot reload.
func TestRedteamReloadScopeWithSpaceKeepsRules(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s, _, file := startServe(t, iss, serveRoutes, "--reload-interval", "0")
	rl := &reloader{path: file, d: s.Decider, log: discardLogger()}
	rl.stamp, _ = statFile(file)
	writeRoutes(t, file, "routes:\n  - path: /a\n    scopes: [\"read:data \"]\n")
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
}
