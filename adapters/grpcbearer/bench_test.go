package grpcbearer_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/bearerguard/bearerguard/adapters/grpcbearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/scopes"
)

// BenchmarkUnary measures one unary call through the interceptor against
// the same handler without it, in process: the interceptor's own cost with
// a token it has seen before (the validator's cache), the metadata a
// grpc-go server builds for a call, and the token stored for the handler.
func BenchmarkUnary(b *testing.B) {
	v, mint := contract.Offline()
	auth, err := grpcbearer.New(v, grpcbearer.WithMethods(map[string]scopes.Requirement{unaryMethod: scopes.All("read:data")}))
	if err != nil {
		b.Fatal(err)
	}
	md := metadata.MD{":authority": {"127.0.0.1:8080"}, "content-type": {"application/grpc"}, "user-agent": {"grpc-go/1.85.0"},
		"authorization": {"Bearer " + mint("read:data")}}
	ctx := metadata.NewIncomingContext(context.Background(), md)
	ctx = peer.NewContext(ctx, &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}})
	info := &grpc.UnaryServerInfo{FullMethod: unaryMethod}
	handler := func(ctx context.Context, req any) (any, error) { return req, nil }
	guarded := auth.Unary()
	req := &testpb.SimpleRequest{}
	for _, c := range []struct {
		name string
		call func() (any, error)
	}{
		{"bare", func() (any, error) { return handler(ctx, req) }},
		{"guarded", func() (any, error) { return guarded(ctx, req, info, handler) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.call(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnaryLoopback is the same comparison through a real server and
// client on loopback: what a call costs end to end, with and without the
// interceptor.
func BenchmarkUnaryLoopback(b *testing.B) {
	v, mint := contract.Offline()
	auth, err := grpcbearer.New(v, grpcbearer.WithMethods(map[string]scopes.Requirement{unaryMethod: scopes.All("read:data")}))
	if err != nil {
		b.Fatal(err)
	}
	ctx := metadata.AppendToOutgoingContext(b.Context(), "authorization", "Bearer "+mint("read:data"))
	for _, c := range []struct {
		name string
		opts []grpc.ServerOption
	}{
		{"bare", nil},
		{"guarded", auth.ServerOptions()},
	} {
		b.Run(c.name, func(b *testing.B) {
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			gs := grpc.NewServer(c.opts...)
			testpb.RegisterTestServiceServer(gs, benchServer{})
			done := make(chan struct{})
			go func() { defer close(done); _ = gs.Serve(lis) }()
			defer func() { gs.Stop(); <-done }()
			conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			client := testpb.NewTestServiceClient(conn)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type benchServer struct {
	testpb.UnimplementedTestServiceServer
}

func (benchServer) UnaryCall(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{}, nil
}
