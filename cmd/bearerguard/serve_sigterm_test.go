package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/leakcheck"
	"github.com/bearerguard/bearerguard/validator"
)

// TestServeSIGTERM: at SIGTERM, `bearerguard serve` refuses new
// connections and waits for the decisions in flight, for as long as a
// decision may take: one waiting 6 s for a key refetch, under a 9 s
// decision timeout, was answered 503 when the wait was 5 s whatever the
// timeout (lifecycle review); it is answered 200, and serve exits 0.
func TestServeSIGTERM(t *testing.T) {
	leakcheck.Check(t)
	iss := bearertest.NewIssuer(t)
	file := filepath.Join(t.TempDir(), "routes.yaml")
	writeRoutes(t, file, serveRoutes)
	args := []string{"--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--issuer", iss.URL, "--audience", "orders", "--routes", file, "--decision-timeout", "9s"}
	stderr := &lockedBuffer{}
	startedc := make(chan serveStarted, 1)
	done := make(chan int, 1)
	go func() {
		done <- serveCommand(context.Background(), args, func(string) string { return "" }, stderr, iss.Client(), func(s serveStarted) { startedc <- s })
	}()
	var s serveStarted
	select {
	case s = <-startedc:
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, stderr)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	ask := func(token string) (int, error) {
		req, _ := http.NewRequest("GET", "http://"+s.Addr+"/nginx", nil)
		req.Header.Set("X-Original-Method", "GET")
		req.Header.Set("X-Original-URI", "/orders/1")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	claims := bearertest.Claims{"aud": "orders", "scope": "orders:read", "sub": "svc-1"}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, err := ask(iss.Mint(t, claims))
		if err == nil && code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %d %v %s", code, err, stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The next JWKS fetch takes 6 s: a token under a new kid waits for it.
	iss.Rotate(t, validator.RS256)
	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(6 * time.Second)
		iss.SetJWKSHandler(nil)
		resp, err := iss.Client().Get(iss.JWKSURL())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		io.Copy(w, resp.Body)
	}))
	fresh := iss.Mint(t, claims)
	type result struct {
		code int
		err  error
	}
	inflight := make(chan result, 1)
	go func() { c, err := ask(fresh); inflight <- result{c, err} }()
	time.Sleep(300 * time.Millisecond)

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if code, err := ask(iss.Mint(t, claims)); err == nil {
		t.Errorf("a new request after SIGTERM was answered %d, want the connection refused", code)
	}
	r := <-inflight
	if r.err != nil || r.code != 200 {
		t.Errorf("the decision in flight at SIGTERM: %d %v, want 200", r.code, r.err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d, want 0: %s", code, stderr)
		}
	case <-time.After(12 * time.Second):
		t.Fatalf("serve still running 12 s after SIGTERM")
	}
}

// TestShutdownWait: a SIGTERM waits for the decision timeout and a
// second, never less than shutdownTimeout, never past the write timeout
// (a decision timeout of an hour held the process up for an hour).
func TestShutdownWait(t *testing.T) {
	for _, tt := range []struct {
		decision, want time.Duration
	}{
		{time.Second, shutdownTimeout},
		{10 * time.Second, 11 * time.Second},
		{serveWriteTimeout, serveWriteTimeout + time.Second},
		{time.Hour, serveWriteTimeout + time.Second},
	} {
		if got := shutdownWait(tt.decision); got != tt.want {
			t.Errorf("shutdownWait(%v) = %v, want %v", tt.decision, got, tt.want)
		}
	}
}
