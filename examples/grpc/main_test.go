package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/examples/exampletest"
	"github.com/bearerguard/bearerguard/examples/grpc/api"
	"github.com/bearerguard/bearerguard/examples/grpc/datapb"
	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/validator"
)

// dpopAlgs is the "algs" of the DPoP challenge that follows the Bearer one
// (DPoP is allowed by default).
const dpopAlgs = `, DPoP realm="orders", algs="` + exampletest.DPoPAlgs + `"`

// serve starts the example's server for cfg on loopback, and returns a
// client connection; both stop when the test ends.
func serve(t *testing.T, cfg setup.Config, iss *bearertest.Issuer) *grpc.ClientConn {
	t.Helper()
	srv, closeFn, err := api.New(cfg, iss.Client())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func withToken(ctx context.Context, tok string) context.Context {
	if tok == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

// TestContract: the HTTP examples' contract, over gRPC: Get needs
// read:data, Put write:data, Watch read:data; health is open; refusals
// carry the code and the www-authenticate trailer.
func TestContract(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	conn := serve(t, setup.Config{Issuer: iss.URL, Audience: "orders"}, iss)
	client := datapb.NewDataClient(conn)
	read := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "svc-reader", "client_id": "reader"})
	write := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "write:data", "sub": "svc-writer", "client_id": "writer"})
	other := iss.Mint(t, bearertest.Claims{"aud": "payments", "scope": "read:data"})
	ctx := t.Context()

	awaitHealth(t, conn, "", healthpb.HealthCheckResponse_SERVING)
	awaitHealth(t, conn, datapb.Data_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	r, err := client.Get(withToken(ctx, read), &datapb.GetRequest{})
	if err != nil || r.Subject != "svc-reader" || r.ClientId != "reader" || !slices.Equal(r.Scopes, []string{"read:data"}) || r.Stored {
		t.Errorf("Get with read:data: %v, %v", r, err)
	}
	r, err = client.Put(withToken(ctx, write), &datapb.PutRequest{Value: "v"})
	if err != nil || !r.Stored || r.ClientId != "writer" {
		t.Errorf("Put with write:data: %v, %v", r, err)
	}
	stream, err := client.Watch(withToken(ctx, read), &datapb.WatchRequest{Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int32
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Watch with read:data: %v", err)
		}
		seqs = append(seqs, r.Seq)
	}
	if !slices.Equal(seqs, []int32{1, 2}) {
		t.Errorf("Watch replies %v", seqs)
	}

	scope := func(s string) string {
		return `Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a required scope", scope="` + s + `"`
	}
	for _, c := range []struct {
		name      string
		call      func(ctx context.Context, tr *metadata.MD) error
		tok       string
		code      codes.Code
		challenge string
	}{
		{"Get without a token", get(client), "", codes.Unauthenticated, `Bearer realm="orders"`},
		{"Get with write:data", get(client), write, codes.PermissionDenied, scope("read:data")},
		{"Put with read:data", put(client), read, codes.PermissionDenied, scope("write:data")},
		{"Get for another audience", get(client), other, codes.Unauthenticated,
			`Bearer realm="orders", error="invalid_token", error_description="The access token is not meant for this resource"`},
		{"Get with a bad signature", get(client), read[:len(read)-4] + "AAAA", codes.Unauthenticated,
			`Bearer realm="orders", error="invalid_token", error_description="The access token signature is invalid"`},
		{"Watch without a token", watch(client), "", codes.Unauthenticated, `Bearer realm="orders"`},
		{"Watch with write:data", watch(client), write, codes.PermissionDenied, scope("read:data")},
	} {
		var tr metadata.MD
		err := c.call(withToken(ctx, c.tok), &tr)
		got := strings.Join(tr.Get("www-authenticate"), "|")
		if status.Code(err) != c.code || got != c.challenge+dpopAlgs {
			t.Errorf("%s: %v %q, want %v %q", c.name, err, got, c.code, c.challenge+dpopAlgs)
		}
	}
}

func get(c datapb.DataClient) func(context.Context, *metadata.MD) error {
	return func(ctx context.Context, tr *metadata.MD) error {
		_, err := c.Get(ctx, &datapb.GetRequest{}, grpc.Trailer(tr))
		return err
	}
}

func put(c datapb.DataClient) func(context.Context, *metadata.MD) error {
	return func(ctx context.Context, tr *metadata.MD) error {
		_, err := c.Put(ctx, &datapb.PutRequest{}, grpc.Trailer(tr))
		return err
	}
}

// watch reads the stream; a refused stream fails at its first Recv.
func watch(c datapb.DataClient) func(context.Context, *metadata.MD) error {
	return func(ctx context.Context, tr *metadata.MD) error {
		s, err := c.Watch(ctx, &datapb.WatchRequest{})
		if err != nil {
			return err
		}
		_, err = s.Recv()
		*tr = s.Trailer()
		return err
	}
}

// TestDPoPAndIntrospection: --public-url is the base of DPoP proofs' htu;
// opaque tokens are introspected.
func TestDPoPAndIntrospection(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "orders-secret"})
	conn := serve(t, setup.Config{Issuer: iss.URL, Audience: "orders", PublicURL: "https://api.example.com",
		IntrospectionURL: iss.IntrospectionURL(), ClientID: "orders-api", ClientSecret: "orders-secret"}, iss)
	client := datapb.NewDataClient(conn)
	key := bearertest.MustDPoPKey(t, validator.ES256)
	bound := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "svc-dpop"}, bearertest.BoundToKey(key))
	proof := key.MustProof(t, "POST", "https://api.example.com"+datapb.Data_Get_FullMethodName, bound)
	ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "DPoP "+bound, "dpop", proof)
	if r, err := client.Get(ctx, &datapb.GetRequest{}); err != nil || r.Subject != "svc-dpop" {
		t.Errorf("DPoP: %v, %v", r, err)
	}
	opaque := iss.Opaque(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "client_id": "reports"})
	if r, err := client.Get(withToken(t.Context(), opaque), &datapb.GetRequest{}); err != nil || r.ClientId != "reports" {
		t.Errorf("opaque token: %v, %v", r, err)
	}
}

// TestRun: the command serves until its context ends, and refuses a bad
// configuration with exit code 2 and one line.
func TestRun(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(t.Context(), []string{"--audience", "orders"}, func(string) string { return "" }, &stderr, nil); code != 2 ||
		!strings.Contains(stderr.String(), "--issuer") || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("missing --issuer: exit %d, %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run(t.Context(), []string{"--issuer", "https://id.example.com/", "--audience", "orders", "--redis-url", "redis://127.0.0.1:1"},
		func(string) string { return "" }, &stderr, nil); code != 2 || !strings.Contains(stderr.String(), "--redis-url") {
		t.Errorf("--redis-url: exit %d, %q", code, stderr.String())
	}

	ctx, cancel := context.WithCancel(t.Context())
	conn, exit := dialExample(ctx, t, "--issuer", "https://id.example.com/", "--audience", "orders")
	// The issuer is unreachable: health says so, for the server and for Data.
	for _, svc := range []string{"", datapb.Data_ServiceDesc.ServiceName} {
		if resp, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{Service: svc}); err != nil || resp.Status != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("health of %q without keys: %v, %v", svc, resp, err)
		}
	}
	if _, err := datapb.NewDataClient(conn).Get(t.Context(), &datapb.GetRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("Get without a token: %v", err)
	}
	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("exit %d after the context ended", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still serving 10 s after the context ended")
	}
}

// Flags the gRPC example does not support are refused, not ignored.
func TestUnsupportedFlags(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	for _, cfg := range []setup.Config{
		{Audience: "orders", IntrospectionOnly: true, IntrospectionURL: iss.IntrospectionURL(), ClientID: "c", ClientSecret: "s"},
		{Issuer: iss.URL, Audience: "orders", AllowQueryToken: true},
	} {
		if _, _, err := api.New(cfg, iss.Client()); err == nil {
			t.Errorf("api.New(%+v) accepted a flag it does not support", cfg)
		}
	}
}

// startExample runs the example on a free loopback port with args until
// ctx ends, and returns its address once it listens and the channel of its
// exit code.
func startExample(ctx context.Context, t *testing.T, args ...string) (string, <-chan int) {
	t.Helper()
	ready := make(chan string, 1)
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), func(string) string { return "" }, io.Discard, ready)
	}()
	select {
	case addr := <-ready:
		return addr, exit
	case code := <-exit:
		t.Fatalf("exited %d before listening", code)
	}
	return "", nil
}

// awaitHealth waits, through the health service's Watch, until svc has
// the status want.
func awaitHealth(t *testing.T, conn *grpc.ClientConn, svc string, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	w, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	for {
		resp, err := w.Recv()
		if err != nil {
			t.Fatalf("health of %q: %v before %v", svc, err, want)
		}
		if resp.Status == want {
			return
		}
	}
}

// dialExample starts the example as startExample does and returns a client
// connection to it, closed when the test ends, and the channel of its exit
// code.
func dialExample(ctx context.Context, t *testing.T, args ...string) (*grpc.ClientConn, <-chan int) {
	t.Helper()
	addr, exit := startExample(ctx, t, args...)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, exit
}
