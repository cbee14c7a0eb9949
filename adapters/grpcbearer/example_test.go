package grpcbearer_test

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bearerguard/bearerguard/adapters/grpcbearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// greeter answers the client id of the token in its context.
type greeter struct {
	testpb.UnimplementedTestServiceServer
}

func (greeter) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	tok, _ := validator.FromContext(ctx)
	return &testpb.SimpleResponse{Username: "hello " + tok.ClientID}, nil
}

func ExampleNew() {
	v, mint := contract.Offline() // in production: validator.New with a jwks.Set
	auth, err := grpcbearer.New(v,
		grpcbearer.WithRealm("orders"),
		grpcbearer.WithMethods(map[string]scopes.Requirement{
			"/grpc.testing.TestService/UnaryCall": scopes.All("read:data"),
		}),
		grpcbearer.WithOpen(grpcbearer.HealthService))
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer(auth.ServerOptions()...)
	testpb.RegisterTestServiceServer(srv, greeter{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	client := testpb.NewTestServiceClient(conn)
	for _, tok := range []string{mint("read:data"), mint("profile"), ""} {
		ctx := context.Background()
		if tok != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
		}
		var trailer metadata.MD
		resp, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}, grpc.Trailer(&trailer))
		if err != nil {
			fmt.Println(status.Code(err), status.Convert(err).Message())
			fmt.Println("  www-authenticate:", trailer.Get("www-authenticate")[0])
			continue
		}
		fmt.Println(resp.Username)
	}
	health, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println("health without a token:", health.GetStatus(), err)
	// Output:
	// hello svc-example
	// PermissionDenied The access token lacks a required scope
	//   www-authenticate: Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read:data", DPoP realm="orders", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"
	// Unauthenticated No access token was presented
	//   www-authenticate: Bearer realm="orders", DPoP realm="orders", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"
	// health without a token: SERVING <nil>
}
