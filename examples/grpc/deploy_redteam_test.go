package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/bearerguard/bearerguard/bearertest"
)

// SIGTERM (the context's end) stops the gRPC example within a bound even
// when a client holds a call open: GracefulStop alone waits for it for
// ever, and the call needs no token (the message is awaited before the
// interceptor runs).
func TestDeployShutdownBounded(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addr, exit := startExample(ctx, t, "--issuer", iss.URL, "--audience", "orders", "--issuer-ca", writeCA(t, iss))
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
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
