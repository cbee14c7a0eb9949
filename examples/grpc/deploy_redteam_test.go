package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/examples/grpc/datapb"
)

// SIGTERM (the context's end) stops the gRPC example within a bound even
// when a client holds a call open: GracefulStop alone waits for it for
// ever, and the call needs no token (the message is awaited before the
// interceptor runs).
func TestDeployShutdownBounded(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	conn, exit := dialExample(ctx, t, "--issuer", iss.URL, "--audience", "orders", "--issuer-ca", writeCA(t, iss))
	if _, err := conn.NewStream(t.Context(), &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, "/bearerguard.example.v1.Data/Get"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the server has the stream
	cancel()
	select {
	case <-exit:
	case <-time.After(15 * time.Second):
		t.Fatal("still serving 15 s after SIGTERM: GracefulStop waits for a call whose message never comes")
	}
}

// --metrics-addr is in the example's --help ("With --metrics-addr, GET
// /metrics there") and the README says the gRPC example takes the HTTP
// examples' flags; it is neither served nor refused.
func TestDeployMetricsAddrNotIgnored(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr bytes.Buffer
	ready := make(chan string, 1)
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--issuer", iss.URL, "--audience", "orders", "--issuer-ca", writeCA(t, iss)},
			func(string) string { return "" }, &stderr, ready)
	}()
	select {
	case <-ready:
		t.Error("--metrics-addr was accepted, and no metrics listener is started")
	case code := <-exit:
		if code != 2 || !strings.Contains(stderr.String(), "--metrics-addr") {
			t.Errorf("exit %d: %q", code, stderr.String())
		}
	}
}

func writeCA(t *testing.T, iss *bearertest.Issuer) string {
	t.Helper()
	path := t.TempDir() + "/ca.pem"
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: iss.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Health is the gRPC service's readiness: NOT_SERVING until the keys load,
// SERVING once they have, as the HTTP examples' GET /readyz.
func TestDeployHealthFollowsKeys(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	var down atomic.Bool
	down.Store(true)
	// The issuer's JWKS fails until down is cleared.
	front := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		resp, err := iss.Client().Get(iss.JWKSURL())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.Copy(w, resp.Body)
	}))
	defer front.Close()
	ca := t.TempDir() + "/front.pem"
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: front.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	conn, exit := dialExample(ctx, t, "--issuer", iss.URL, "--jwks-url", front.URL+"/jwks", "--audience", "orders", "--issuer-ca", ca, "--startup-timeout", "1ms")
	if resp, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil || resp.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health before the keys: %v, %v", resp, err)
	}
	down.Store(false) // the key set's retry finds them
	awaitHealth(t, conn, "", healthpb.HealthCheckResponse_SERVING)
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"})
	if _, err := datapb.NewDataClient(conn).Get(withToken(t.Context(), tok), &datapb.GetRequest{}); err != nil {
		t.Errorf("Get once SERVING: %v", err)
	}
	cancel()
	if code := <-exit; code != 0 {
		t.Errorf("exit %d", code)
	}
}

// A discovery document naming another issuer (the configured one lacks
// nothing but differs by a slash) ends the service with exit code 1 and
// one line, as the HTTP examples do; it used to serve on, refusing every
// token, with health SERVING.
func TestDeployIssuerMismatchExits(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	var stderr bytes.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- run(t.Context(), []string{"--addr", "127.0.0.1:0", "--issuer", iss.URL + "/", "--audience", "orders", "--issuer-ca", writeCA(t, iss)},
			func(string) string { return "" }, &stderr, nil)
	}()
	select {
	case code := <-exit:
		if code != 1 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "is not the issuer its discovery document names") {
			t.Errorf("exit %d: %q", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still serving 10 s after discovery named another issuer")
	}
}

// The server's limits: 64 KiB of metadata, and a unary call whose message
// never comes ends within callTimeout (grpc-go's defaults: 16 MiB, and for
// ever). A server stream is not bounded.
func TestDeployGRPCLimits(t *testing.T) {
	shortCallTimeout(t, 500*time.Millisecond)
	iss := bearertest.NewIssuer(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	conn, exit := dialExample(ctx, t, "--issuer", iss.URL, "--audience", "orders", "--issuer-ca", writeCA(t, iss))
	awaitHealth(t, conn, "", healthpb.HealthCheckResponse_SERVING)
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"})

	big := metadata.AppendToOutgoingContext(withToken(t.Context(), tok), "x-padding", strings.Repeat("a", 100<<10))
	if _, err := datapb.NewDataClient(conn).Get(big, &datapb.GetRequest{}); err == nil {
		t.Error("a call with 100 KiB of metadata was served")
	}

	// A message over 64 KiB is refused: grpc-go reads it whole before
	// any interceptor, so its size is what any peer can hold per stream.
	wtok := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "write:data"})
	if _, err := datapb.NewDataClient(conn).Put(withToken(t.Context(), wtok), &datapb.PutRequest{Value: strings.Repeat("v", 65<<10)}); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("a 65 KiB Put: %v, want ResourceExhausted", err)
	}
	if _, err := datapb.NewDataClient(conn).Put(withToken(t.Context(), wtok), &datapb.PutRequest{Value: strings.Repeat("v", 60<<10)}); err != nil {
		t.Errorf("a 60 KiB Put: %v", err)
	}

	// A unary call whose message never comes.
	st, err := conn.NewStream(withToken(t.Context(), tok), &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, datapb.Data_Get_FullMethodName)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var reply datapb.DataReply
	if err := st.RecvMsg(&reply); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("a Get without its message: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a Get without its message was held %v", d)
	}

	// Watch, a server stream, outlives callTimeout.
	w, err := datapb.NewDataClient(conn).Watch(withToken(t.Context(), tok), &datapb.WatchRequest{Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * callTimeout)
	for i := 0; i < 2; i++ {
		if _, err := w.Recv(); err != nil {
			t.Fatalf("Watch after %v: %v", 2*callTimeout, err)
		}
	}
	cancel()
	<-exit
}

// The tap handle exempted every registered streaming method from
// callTimeout, grpc.health.v1.Health/Watch too, which needs no token:
// anyone could hold streams (100 per connection) and their connections
// (never idle while a stream is open) for ever, without credentials
// (review of this session's changes). Only Data/Watch, behind a token, is
// unbounded now.
func TestDeployHealthWatchBounded(t *testing.T) {
	shortCallTimeout(t, 300*time.Millisecond)
	iss := bearertest.NewIssuer(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	conn, exit := dialExample(ctx, t, "--issuer", iss.URL, "--audience", "orders", "--issuer-ca", writeCA(t, iss))
	defer func() { cancel(); <-exit }()
	awaitHealth(t, conn, "", healthpb.HealthCheckResponse_SERVING)

	const n = 50 // no token on any of them
	ended := make(chan error, n)
	sctx, scancel := context.WithCancel(t.Context())
	defer scancel()
	for range n {
		w, err := healthpb.NewHealthClient(conn).Watch(sctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Recv(); err != nil { // SERVING
			t.Fatal(err)
		}
		go func() { _, err := w.Recv(); ended <- err }()
	}
	time.Sleep(10 * callTimeout)
	if len(ended) < n {
		t.Errorf("%d of %d unauthenticated Health/Watch streams still open after %v (callTimeout %v): a caller without a token holds streams and connections for ever",
			n-len(ended), n, 10*callTimeout, callTimeout)
	}
}

// shortCallTimeout sets callTimeout to d until the test ends.
func shortCallTimeout(t *testing.T, d time.Duration) {
	prev := callTimeout
	callTimeout = d
	t.Cleanup(func() { callTimeout = prev })
}
