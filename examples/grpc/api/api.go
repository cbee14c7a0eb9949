// Package api is the gRPC example service: bearerguard.example.v1.Data
// behind grpcbearer's interceptors, with the gRPC health service open. The
// command in the parent directory serves it.
package api

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/bearerguard/bearerguard/adapters/grpcbearer"
	"github.com/bearerguard/bearerguard/examples/grpc/datapb"
	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// Methods is what each method of the service requires.
var Methods = map[string]scopes.Requirement{
	datapb.Data_Get_FullMethodName:   scopes.All("read:data"),
	datapb.Data_Put_FullMethodName:   scopes.All("write:data"),
	datapb.Data_Watch_FullMethodName: scopes.All("read:data"),
}

// New returns the service's gRPC server, without transport credentials
// (the command adds TLS with --tls-cert): Data's methods need the scopes
// of [Methods], grpc.health.v1 is open, anything else needs a valid token.
// Health answers NOT_SERVING, for the server ("") and for Data, until the
// key set (and introspection client) are ready, as the HTTP examples'
// GET /readyz answers 503; cfg.Readiness, when set, is told about them
// too. client, if not nil, fetches keys and introspects (tests pass one
// that trusts their issuer). The returned function stops the key set's
// refresh and the wait for it.
func New(cfg setup.Config, client *http.Client, opts ...grpc.ServerOption) (*grpc.Server, func(), error) {
	ready := cfg.Readiness
	if ready == nil {
		ready = &setup.Readiness{}
	}
	v, closeValidator, err := newValidator(cfg, client, ready)
	if err != nil {
		return nil, nil, err
	}
	hs := health.NewServer()
	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan struct{})
	closeFn := func() { cancel(); <-waited; closeValidator() }
	for _, svc := range []string{"", datapb.Data_ServiceDesc.ServiceName} {
		hs.SetServingStatus(svc, healthpb.HealthCheckResponse_NOT_SERVING)
	}
	go func() {
		defer close(waited)
		if ready.Wait(ctx) == nil {
			for _, svc := range []string{"", datapb.Data_ServiceDesc.ServiceName} {
				hs.SetServingStatus(svc, healthpb.HealthCheckResponse_SERVING)
			}
		}
	}()
	aopts := []grpcbearer.Option{
		grpcbearer.WithRealm(cfg.Audience),
		grpcbearer.WithMethods(Methods),
		grpcbearer.WithOpen(grpcbearer.HealthService),
	}
	if cfg.PublicURL != "" {
		aopts = append(aopts, grpcbearer.WithBaseURL(cfg.PublicURL))
	}
	auth, err := grpcbearer.New(v, aopts...)
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	srv := grpc.NewServer(append(auth.ServerOptions(), opts...)...)
	datapb.RegisterDataServer(srv, data{})
	healthpb.RegisterHealthServer(srv, hs)
	return srv, closeFn, nil
}

// data implements the service. Every method runs with the validated token
// in its context.
type data struct {
	datapb.UnimplementedDataServer
}

func (data) Get(ctx context.Context, _ *datapb.GetRequest) (*datapb.DataReply, error) {
	return reply(ctx), nil
}

func (data) Put(ctx context.Context, _ *datapb.PutRequest) (*datapb.DataReply, error) {
	r := reply(ctx)
	r.Stored = true
	return r, nil
}

func (data) Watch(req *datapb.WatchRequest, stream grpc.ServerStreamingServer[datapb.DataReply]) error {
	n := req.GetCount()
	switch {
	case n == 0:
		n = 3
	case n < 0 || n > 100:
		return status.Error(codes.InvalidArgument, "count must be between 1 and 100")
	}
	for i := int32(1); i <= n; i++ {
		r := reply(stream.Context())
		r.Seq = i
		if err := stream.Send(r); err != nil {
			return err
		}
	}
	return nil
}

// reply describes the token in ctx.
func reply(ctx context.Context) *datapb.DataReply {
	tok, _ := validator.FromContext(ctx)
	r := setup.Reply(tok)
	return &datapb.DataReply{Subject: r.Subject, ClientId: r.ClientID, Scopes: r.Scopes}
}

// newValidator builds the key set and validator cfg describes, as
// setup.Config.Guard does for the HTTP examples (which returns only the
// guard). It refuses what it does not support rather than ignore it.
func newValidator(cfg setup.Config, client *http.Client, ready *setup.Readiness) (*validator.Validator, func(), error) {
	if cfg.RedisURL != "" {
		return nil, nil, errors.New("--redis-url is not supported by the gRPC example yet")
	}
	if cfg.Provider.Name != "" {
		return nil, nil, errors.New("--provider is not supported by the gRPC example yet")
	}
	if cfg.IntrospectionOnly {
		return nil, nil, errors.New("--introspection-only is not supported by the gRPC example yet")
	}
	if cfg.AllowQueryToken {
		return nil, nil, errors.New("--allow-query-token does not apply to gRPC, which has no query string")
	}
	client = cfg.HTTPClient(client)
	var kopts []jwks.Option
	if client != nil {
		kopts = append(kopts, jwks.WithHTTPClient(client))
	}
	if cfg.InsecureHTTP {
		kopts = append(kopts, jwks.WithInsecureLoopbackHTTP())
	}
	if cfg.JWKSRefreshInterval > 0 {
		kopts = append(kopts, jwks.WithRefreshInterval(cfg.JWKSRefreshInterval))
	}
	if cfg.JWKSMaxStaleness > 0 {
		kopts = append(kopts, jwks.WithMaxStaleness(cfg.JWKSMaxStaleness))
	}
	var keys *jwks.Set
	var err error
	if cfg.JWKSURL != "" {
		keys, err = jwks.New(cfg.JWKSURL, kopts...)
	} else {
		keys, err = jwks.Discover(cfg.Issuer, kopts...)
	}
	if err != nil {
		return nil, nil, err
	}
	closeAll := func() { keys.Close() }
	vopts := []validator.Option{
		validator.WithIssuer(cfg.Issuer, keys),
		validator.WithAudience(cfg.Audience),
		validator.WithLeeway(cfg.Leeway),
		validator.WithDPoP(cfg.DPoP),
	}
	if cfg.RFC9068 {
		vopts = append(vopts, validator.WithRFC9068())
	}
	if cfg.DPoPNonce {
		key := cfg.DPoPNonceKey
		if len(key) == 0 {
			key = make([]byte, 32)
			_, _ = rand.Read(key) // never fails (crypto/rand)
		}
		vopts = append(vopts, validator.WithDPoPNonces(key, 0))
	}
	var ic *introspect.Client
	if cfg.IntrospectionURL != "" {
		iopts := []introspect.Option{introspect.WithMaxTTL(cfg.IntrospectionCacheTTL)}
		if client != nil {
			iopts = append(iopts, introspect.WithHTTPClient(client))
		}
		if cfg.InsecureHTTP {
			iopts = append(iopts, introspect.WithInsecureLoopbackHTTP())
		}
		ic, err = introspect.New(cfg.IntrospectionURL, introspect.ClientSecretBasic(cfg.ClientID, cfg.ClientSecret), iopts...)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		closeAll = func() { ic.Close(); keys.Close() }
		vopts = append(vopts, validator.WithIntrospection(cfg.Issuer, ic))
		if cfg.IntrospectionAudienceOptional {
			vopts = append(vopts, validator.WithIntrospectionAudienceOptional())
		}
		if cfg.IntrospectionTokenTypeRequired {
			vopts = append(vopts, validator.WithIntrospectionTokenTypeRequired())
		}
		if cfg.IntrospectionTokenTypeOptional {
			vopts = append(vopts, validator.WithIntrospectionTokenTypeOptional())
		}
	}
	v, err := validator.New(vopts...)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	ready.Track("keys", keys.Ready, keys.WaitReady)
	if ic != nil {
		ready.Track("introspection", ic.Ready, ic.WaitReady)
	}
	return v, closeAll, nil
}
