package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
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
	return writeInTwoPausing(t, file, content, cut, 5*time.Millisecond)
}

// writeInTwoPausing is writeInTwo with the writer pausing for pause.
func writeInTwoPausing(t *testing.T, file, content string, cut int, pause time.Duration) (done <-chan error) {
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
		time.Sleep(pause)
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

// A writer that pauses longer than the settle time between its pieces
// (a loop running a command per route, a slow pipe) had its first half put
// in force (review of session 11): serve now also waits until the file
// was last modified a second ago.
func TestReviewReloadWriterPausing(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s, _, file := startServe(t, iss, redteamRoutes, "--reload-interval", "0")
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "orders:read", "sub": "u"})
	done := writeInTwoPausing(t, file, redteamRoutes, strings.Index(redteamRoutes, "    deny: true"), 300*time.Millisecond)
	s.Reload()
	got := nginxAsk(t, s.Addr, "GET", "/orders/admin/x", tok, nil).StatusCode
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got != 403 {
		t.Fatalf("after a reload during a write that paused 300 ms: /orders/admin/x %d, want 403", got)
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
	// One log line says the rules in force stay: "kept changing", or, on a
	// machine so loaded that the writer paused a whole second between
	// truncating and writing, the half-written state refused.
	if l := logs.String(); !strings.Contains(l, "kept changing") && !strings.Contains(l, "the rules in force stay") {
		t.Errorf("no log line about the churning file: %q", l)
	}
}

// TestRedteamUsageDoesNotPrintSecretsFromEnvironment: the README tells
// operators to give the Redis URL's password, the Redis encryption keys
// and the client secret in the environment, and every flag takes its
// environment variable as its default value. flag.PrintDefaults prints
// every non-empty default: `bearerguard serve --help`, and the usage that
// any mistyped flag prints to stderr (where a container's logs are), show
// the password, the keys and the secret in full.
func TestRedteamUsageDoesNotPrintSecretsFromEnvironment(t *testing.T) {
	env := map[string]string{
		"BEARERGUARD_REDIS_URL":             "rediss://default:hunter2-redis-password@redis.internal:6380/0",
		"BEARERGUARD_REDIS_ENCRYPTION_KEYS": "k1:c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC0xMjM=",
		"BEARERGUARD_CLIENT_SECRET":         "client-secret-s3cr3t",
		"BEARERGUARD_ISSUER":                "https://id.example.com/",
		"BEARERGUARD_AUDIENCE":              "orders",
		"BEARERGUARD_ROUTES":                "/nonexistent/routes.yaml",
	}
	secrets := []string{"hunter2-redis-password", "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC0xMjM", "client-secret-s3cr3t"}
	for _, args := range [][]string{
		{"--help"},
		{"--redis-prefx", "orders:"},       // a typo of an issuer-side flag
		{"--trusted-proxie", "10.0.0.0/8"}, // a typo of one of serve's flags
	} {
		var stderr bytes.Buffer
		serveCommand(context.Background(), args, func(k string) string { return env[k] }, &stderr, nil, nil)
		for _, s := range secrets {
			if strings.Contains(stderr.String(), s) {
				i := strings.Index(stderr.String(), s)
				line := stderr.String()[strings.LastIndex(stderr.String()[:i], "\n")+1:]
				line, _, _ = strings.Cut(line, "\n")
				t.Errorf("serve %v printed a secret from the environment: %q", args, strings.TrimSpace(line))
			}
		}
	}
}

// --internal-jwt-key is "PEM private key (…)" in the usage, and is a path:
// a key given where its path belongs (BEARERGUARD_INTERNAL_JWT_KEY=<the
// PEM>, as the usage's wording invites) is printed whole, by --help (the
// flag's default) and by the error of a start (os.ReadFile's "open <path>").
// The class of commit 687cc93 (secretfile), outside secretfile.
func TestInternalJWTKeyNotPrinted(t *testing.T) {
	keyPEM := newKeyPEM(t)
	body := strings.Split(keyPEM, "\n")[1] // the first line of the key's base64
	routes := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(routes, []byte("default: deny\nroutes: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"BEARERGUARD_INTERNAL_JWT_KEY": keyPEM,
		"BEARERGUARD_ISSUER":           "https://id.example.com/",
		"BEARERGUARD_AUDIENCE":         "orders",
		"BEARERGUARD_ROUTES":           routes,
		"BEARERGUARD_STARTUP_TIMEOUT":  "0",
	}
	for _, args := range [][]string{{"--help"}, {"--addr", "127.0.0.1:0"}} {
		var stderr bytes.Buffer
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // a start that gets past the key returns at once
		serveCommand(ctx, args, func(k string) string { return env[k] }, &stderr, nil, nil)
		if strings.Contains(stderr.String(), body) {
			i := strings.Index(stderr.String(), body)
			line := stderr.String()[strings.LastIndex(stderr.String()[:i], "\n")+1:]
			line, _, _ = strings.Cut(line, "\n")
			t.Errorf("serve %v printed the private key from BEARERGUARD_INTERNAL_JWT_KEY: %.160q…", args, strings.TrimSpace(line))
		}
	}
}
