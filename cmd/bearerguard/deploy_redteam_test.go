package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/bearerguard/bearerguard/bearertest"
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

func writeServeCert(t *testing.T, certFile, keyFile, cn string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name, typ string
		b         []byte
	}{{keyFile, "PRIVATE KEY", kb}, {certFile, "CERTIFICATE", der}} {
		if err := os.WriteFile(f.name+".tmp", pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.b}), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(f.name+".tmp", f.name); err != nil {
			t.Fatal(err)
		}
	}
}

func peerCN(t *testing.T, addr string, protos ...string) string {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: protos})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// With --tls-cert, both listeners serve the certificate, and the renewed
// one once the files are replaced, without a restart.
func TestDeployServeTLSReload(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeServeCert(t, certFile, keyFile, "first")
	s, _, _ := startServe(t, iss, serveRoutes, "--tls-cert", certFile, "--tls-key", keyFile)
	if a, b := peerCN(t, s.Addr), peerCN(t, s.GRPCAddr, "h2"); a != "first" || b != "first" {
		t.Fatalf("at start: http %q, grpc %q", a, b)
	}
	writeServeCert(t, certFile, keyFile, "renewed")
	deadline := time.Now().Add(5 * time.Second)
	for peerCN(t, s.Addr) != "renewed" || peerCN(t, s.GRPCAddr, "h2") != "renewed" {
		if time.Now().After(deadline) {
			t.Fatalf("5 s after renewal: http %q, grpc %q", peerCN(t, s.Addr), peerCN(t, s.GRPCAddr, "h2"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
