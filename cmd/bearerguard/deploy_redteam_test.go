package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/testcert"
)

// Deployment red team: serve's --grpc-addr listener, as an operator starts
// it. Each test fails without the limit it names.

func grpcConn(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// The HTTP listener refuses more than 64 KiB of headers; the gRPC one took
// grpc-go's default of 16 MiB of metadata per call, read and decoded for
// any peer before the trusted-proxy check (Envoy sends the request's
// headers in the message, which is capped at 256 KiB).
func TestDeployGRPCMetadataCap(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s, _, _ := startServe(t, iss, serveRoutes)
	ctx := metadata.AppendToOutgoingContext(t.Context(), "x-big", strings.Repeat("a", 1<<20))
	_, err := authv3.NewAuthorizationClient(grpcConn(t, s.GRPCAddr)).Check(ctx, &authv3.CheckRequest{})
	if err == nil {
		t.Error("a Check call with 1 MiB of metadata was served; want it refused")
	}
}

// A call whose message never comes holds a stream (and its goroutine) only
// for a bounded time, as the HTTP listener's read timeout bounds a request
// body: 1024 such streams per connection, from any address, and no
// deadline unless the client sends grpc-timeout.
func TestDeployGRPCStalledCallBounded(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s, _, _ := startServe(t, iss, serveRoutes)
	conn := grpcConn(t, s.GRPCAddr)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, "/envoy.service.auth.v3.Authorization/Check")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- st.RecvMsg(&authv3.CheckResponse{}) }() // no message sent, the stream left open
	select {
	case err := <-done:
		t.Logf("the stalled call ended after %s: %v", time.Since(start).Round(time.Second), err)
	case <-time.After(serveWriteTimeout + 5*time.Second):
		t.Errorf("a call without its message still held its stream after %s", time.Since(start).Round(time.Second))
	}
}

// With --tls-cert, both listeners serve the certificate, and the renewed
// one once the files are replaced, without a restart.
func TestDeployServeTLSReload(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	testcert.Write(t, certFile, keyFile, "first")
	s, _, _ := startServe(t, iss, serveRoutes, "--tls-cert", certFile, "--tls-key", keyFile)
	if a, b := testcert.ServedCN(t, s.Addr), testcert.ServedCN(t, s.GRPCAddr, "h2"); a != "first" || b != "first" {
		t.Fatalf("at start: http %q, grpc %q", a, b)
	}
	testcert.Write(t, certFile, keyFile, "renewed")
	deadline := time.Now().Add(5 * time.Second)
	for testcert.ServedCN(t, s.Addr) != "renewed" || testcert.ServedCN(t, s.GRPCAddr, "h2") != "renewed" {
		if time.Now().After(deadline) {
			t.Fatalf("5 s after renewal: http %q, grpc %q", testcert.ServedCN(t, s.Addr), testcert.ServedCN(t, s.GRPCAddr, "h2"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
