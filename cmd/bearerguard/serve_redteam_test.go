package main

import (
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
)

// redteamRoutes: a deny route whose "deny: true" line, once cut off by a
// write caught half-way, leaves a route any valid token passes.
const redteamRoutes = `routes:
  - name: no-admin
    path: /orders/admin/
    deny: true
  - name: read
    methods: [GET]
    path: /orders/{id}
    scopes: [orders:read]
`

// writeInTwo rewrites file in place as a non-atomic writer does: it
// truncates it and writes content[:cut] now, and the rest 5 ms later from
// another goroutine, whose result (the write's, then the close's) done
// receives.
func writeInTwo(t *testing.T, file, content string, cut int) (done <-chan error) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content[:cut]); err != nil {
		t.Fatal(err)
	}
	ch := make(chan error, 1)
	go func() {
		time.Sleep(5 * time.Millisecond)
		_, err := f.WriteString(content[cut:])
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		ch <- err
	}()
	return ch
}

// A route file rewritten in place (truncated, then written in pieces, as
// a generator piping into it or a copy does) is never put in force
// half-written: the prefix "routes: - path: /orders/admin/" is valid
// YAML, and would let any token into what the whole file denies.
func TestRedteamReloadPartialWrite(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s, _, file := startServe(t, iss, redteamRoutes, "--reload-interval", "0")
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "orders:read", "sub": "u"})
	if got := nginxAsk(t, s.Addr, "GET", "/orders/admin/x", tok, nil).StatusCode; got != 403 {
		t.Fatalf("before: /orders/admin/x %d, want 403", got)
	}
	for round := range 3 {
		done := writeInTwo(t, file, redteamRoutes, strings.Index(redteamRoutes, "    deny: true"))
		s.Reload() // as SIGHUP or a poll that sees the change does, mid-write
		got := nginxAsk(t, s.Addr, "GET", "/orders/admin/x", tok, nil).StatusCode
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got != 403 {
			t.Fatalf("round %d: after a reload during a non-atomic write, /orders/admin/x %d, want 403: the half-written file was put in force", round, got)
		}
	}
}

// The poll (what --reload-interval does) waits for the file to settle too;
// a file that never stops changing keeps the rules in force, with one log
// line, and is tried again at the next poll.
func TestRedteamReloadPollPartialAndChurn(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s, _, file := startServe(t, iss, redteamRoutes, "--reload-interval", "0")
	logs := &lockedBuffer{}
	rl := &reloader{path: file, d: s.Decider, log: slog.New(slog.NewTextHandler(logs, nil)), settle: reloadSettle}
	rl.stamp, _ = statFile(file)
	admin := func() forwardauth.Access { return s.Decider.Rules().Match("GET", "", "/orders/admin/x").Access() }

	cut := strings.Index(redteamRoutes, "    deny: true")
	done := writeInTwo(t, file, redteamRoutes, cut)
	rl.poll()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := admin(); got != forwardauth.AccessDeny {
		t.Fatalf("after a poll during a non-atomic write: /orders/admin/x is %s, want deny", got)
	}

	// A writer that never stops: the half-written states never win.
	stop := make(chan struct{})
	churned := make(chan struct{})
	go func() {
		defer close(churned)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			content := redteamRoutes[:cut] + strings.Repeat("#", i%7) + "\n"
			if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	rl.reload()
	close(stop)
	<-churned
	if got := admin(); got != forwardauth.AccessDeny {
		t.Errorf("after a reload of a file that kept changing: /orders/admin/x is %s, want deny (the rules in force)", got)
	}
	if !strings.Contains(logs.String(), "kept changing") {
		t.Errorf("no log line about the churning file: %q", logs.String())
	}
}
