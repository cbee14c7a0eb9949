package grpcbearer_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/bearerguard/bearerguard/adapters/grpcbearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

const (
	realm        = "orders"
	unaryMethod  = "/grpc.testing.TestService/UnaryCall"
	outputMethod = "/grpc.testing.TestService/StreamingOutputCall"
)

var (
	// bare is the challenge without an error, with the DPoP one that
	// follows it by default (RFC 9449 §7.1), as in the HTTP adapters'
	// contract.
	bare = `Bearer realm="orders"` + contract.DPoPChallenge
	// algs is the DPoP challenge's "algs" attribute.
	algs = strings.TrimPrefix(contract.DPoPChallenge, `, DPoP realm="orders", `)
)

// bearerErr is the challenge of a refused Bearer call.
func bearerErr(code, desc, scope string) string {
	c := `Bearer realm="orders", error="` + code + `", error_description="` + desc + `"`
	if scope != "" {
		c += `, scope="` + scope + `"`
	}
	return c + contract.DPoPChallenge
}

// dpopErr is the challenge of a refused DPoP call: the error on the DPoP
// challenge.
func dpopErr(code, desc string) string {
	return `Bearer realm="orders", DPoP realm="orders", error="` + code + `", error_description="` + desc + `", ` + algs
}

// table is the per-method table of most tests.
var table = []grpcbearer.Option{
	grpcbearer.WithRealm(realm),
	grpcbearer.WithMethods(map[string]scopes.Requirement{
		unaryMethod:                  scopes.All("read:data"),
		outputMethod:                 scopes.All("read:data"),
		"/grpc.testing.TestService/": scopes.All("write:data"), // StreamingInputCall, FullDuplexCall, …
	}),
	grpcbearer.WithOpen("/grpc.testing.TestService/EmptyCall", grpcbearer.HealthService),
}

// tableWith is table and extra options.
func tableWith(extra ...grpcbearer.Option) []grpcbearer.Option { return slices.Concat(table, extra) }

// testServer implements grpc.testing.TestService: every handler answers
// the subject of the token in its context, and counts its runs.
type testServer struct {
	testpb.UnimplementedTestServiceServer
	runs     atomic.Int32
	hadToken atomic.Bool // whether the last EmptyCall had a token in its context
}

func subject(ctx context.Context) (string, error) {
	tok, ok := validator.FromContext(ctx)
	if !ok {
		return "", status.Error(codes.Internal, "no token in the handler's context")
	}
	return tok.Subject, nil
}

func (s *testServer) EmptyCall(ctx context.Context, _ *testpb.Empty) (*testpb.Empty, error) {
	s.runs.Add(1)
	_, ok := validator.FromContext(ctx)
	s.hadToken.Store(ok)
	return &testpb.Empty{}, nil
}

func (s *testServer) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	s.runs.Add(1)
	sub, err := subject(ctx)
	if err != nil {
		return nil, err
	}
	tok, _ := validator.FromContext(ctx)
	return &testpb.SimpleResponse{Username: sub, OauthScope: strings.Join(tok.Scopes.List(), " ")}, nil
}

func (s *testServer) StreamingOutputCall(_ *testpb.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	s.runs.Add(1)
	sub, err := subject(stream.Context())
	if err != nil {
		return err
	}
	for range 3 {
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: []byte(sub)}}); err != nil {
			return err
		}
	}
	return nil
}

func (s *testServer) StreamingInputCall(stream grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	s.runs.Add(1)
	if _, err := subject(stream.Context()); err != nil {
		return err
	}
	n := 0
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(n)})
		}
		if err != nil {
			return err
		}
		n++
	}
}

func (s *testServer) FullDuplexCall(stream grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	s.runs.Add(1)
	sub, err := subject(stream.Context())
	if err != nil {
		return err
	}
	for {
		if _, err := stream.Recv(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: []byte(sub)}}); err != nil {
			return err
		}
	}
}

// env is a gRPC server on loopback behind an Interceptor, and a client.
type env struct {
	conn *grpc.ClientConn
	srv  *testServer
	addr string
}

// start serves the test service, health and reflection behind auth, with
// creds (nil: plaintext), until the test ends.
func start(t *testing.T, auth *grpcbearer.Interceptor, creds credentials.TransportCredentials, dial ...grpc.DialOption) *env {
	t.Helper()
	return startWith(t, auth.ServerOptions(), creds, dial...)
}

// startWith is start with the server options given (interceptors).
func startWith(t *testing.T, opts []grpc.ServerOption, creds credentials.TransportCredentials, dial ...grpc.DialOption) *env {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	gs := grpc.NewServer(opts...)
	ts := &testServer{}
	testpb.RegisterTestServiceServer(gs, ts)
	healthpb.RegisterHealthServer(gs, health.NewServer())
	reflection.Register(gs)
	done := make(chan struct{})
	go func() { defer close(done); _ = gs.Serve(lis) }()
	t.Cleanup(func() { gs.Stop(); <-done })
	if len(dial) == 0 {
		dial = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	conn, err := grpc.NewClient(lis.Addr().String(), dial...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &env{conn: conn, srv: ts, addr: lis.Addr().String()}
}

type fixture struct {
	iss *bearertest.Issuer
	v   *validator.Validator
}

func newFixture(t *testing.T, opts ...validator.Option) *fixture {
	t.Helper()
	iss := bearertest.NewIssuer(t)
	v, err := validator.New(append([]validator.Option{validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience(realm)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{iss: iss, v: v}
}

func (f *fixture) token(t *testing.T, scope string, opts ...bearertest.MintOption) string {
	return f.iss.Mint(t, bearertest.Claims{"aud": realm, "scope": scope, "sub": "svc-" + strings.ReplaceAll(scope, ":", "-")}, opts...)
}

func newInterceptor(t *testing.T, v grpcbearer.PresentationValidator, opts ...grpcbearer.Option) *grpcbearer.Interceptor {
	t.Helper()
	auth, err := grpcbearer.New(v, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return auth
}

// result is what a client saw of one call.
type result struct {
	code      codes.Code
	msg       string
	challenge string // the www-authenticate trailer
	trailer   metadata.MD
	subject   string // what the handler saw, on success
}

// want checks r against a code, a message and a challenge.
func (r result) want(t *testing.T, name string, code codes.Code, msg, challenge string) {
	t.Helper()
	if r.code != code || r.msg != msg || r.challenge != challenge {
		t.Errorf("%s: %v %q %q\nwant %v %q %q", name, r.code, r.msg, r.challenge, code, msg, challenge)
	}
	if code != codes.OK && (strings.Contains(r.msg, "eyJ") || strings.Contains(r.challenge, "eyJ")) {
		t.Errorf("%s: the answer holds token material", name)
	}
}

func outgoing(ctx context.Context, md []string) context.Context {
	if len(md) == 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, md...)
}

func resultOf(err error, tr metadata.MD) result {
	st := status.Convert(err)
	r := result{code: st.Code(), msg: st.Message(), trailer: tr}
	if v := tr.Get("www-authenticate"); len(v) > 0 {
		r.challenge = strings.Join(v, "|")
	}
	return r
}

// unary calls UnaryCall with the metadata pairs md.
func (e *env) unary(t *testing.T, md ...string) result {
	t.Helper()
	var tr metadata.MD
	resp, err := testpb.NewTestServiceClient(e.conn).UnaryCall(outgoing(t.Context(), md), &testpb.SimpleRequest{}, grpc.Trailer(&tr))
	r := resultOf(err, tr)
	if err == nil {
		r.subject = resp.Username
	}
	return r
}

// stream calls the server-streaming StreamingOutputCall and reads it to
// the end.
func (e *env) stream(t *testing.T, md ...string) (result, int) {
	t.Helper()
	s, err := testpb.NewTestServiceClient(e.conn).StreamingOutputCall(outgoing(t.Context(), md), &testpb.StreamingOutputCallRequest{})
	if err != nil {
		t.Fatal(err)
	}
	n, sub := 0, ""
	for {
		msg, err := s.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			r := resultOf(err, s.Trailer())
			r.subject = sub
			return r, n
		}
		n++
		sub = string(msg.Payload.Body)
	}
}

func bearer(tok string) []string { return []string{"authorization", "Bearer " + tok} }

// TestUnary checks every answer of a unary call: codes, messages and the
// www-authenticate trailer, as the HTTP adapters give them.
func TestUnary(t *testing.T) {
	f := newFixture(t)
	e := start(t, newInterceptor(t, f.v, table...), nil)
	read := f.token(t, "read:data")
	write := f.token(t, "write:data")
	expired := f.token(t, "read:data", bearertest.ExpiresIn(-time.Hour))
	other := f.iss.Mint(t, bearertest.Claims{"aud": "payments", "scope": "read:data"})

	for _, c := range []struct {
		name      string
		md        []string
		code      codes.Code
		msg       string
		challenge string
	}{
		{"no metadata", nil, codes.Unauthenticated, "No access token was presented", bare},
		{"another scheme", []string{"authorization", "Basic dXNlcjpwYXNz"}, codes.Unauthenticated, "No access token was presented", bare},
		{"empty value", []string{"authorization", ""}, codes.Unauthenticated, "No access token was presented", bare},
		{"valid", bearer(read), codes.OK, "", ""},
		{"scheme in lower case", []string{"authorization", "bearer " + read}, codes.OK, "", ""},
		{"missing scope", bearer(write), codes.PermissionDenied, "The access token lacks a required scope",
			bearerErr("insufficient_scope", "The access token lacks a required scope", "read:data")},
		{"expired", bearer(expired), codes.Unauthenticated, "The access token expired",
			bearerErr("invalid_token", "The access token expired", "")},
		{"tampered", bearer(read[:len(read)-6] + "AAAAAA"), codes.Unauthenticated, "The access token signature is invalid",
			bearerErr("invalid_token", "The access token signature is invalid", "")},
		{"other audience", bearer(other), codes.Unauthenticated, "The access token is not meant for this resource",
			bearerErr("invalid_token", "The access token is not meant for this resource", "")},
		{"garbage", bearer("not-a-jwt"), codes.Unauthenticated, "The access token is malformed",
			bearerErr("invalid_token", "The access token is malformed", "")},
		{"Bearer alone", []string{"authorization", "Bearer"}, codes.InvalidArgument, "The Authorization header is malformed",
			bearerErr("invalid_request", "The Authorization header is malformed", "")},
		{"two tokens in one value", []string{"authorization", "Bearer " + read + " " + read}, codes.InvalidArgument,
			"The Authorization header is malformed", bearerErr("invalid_request", "The Authorization header is malformed", "")},
		{"not a b64token", []string{"authorization", "Bearer abc!"}, codes.InvalidArgument, "The Authorization header is malformed",
			bearerErr("invalid_request", "The Authorization header is malformed", "")},
		{"two values", append(bearer(read), bearer(read)...), codes.InvalidArgument, "The access token was sent more than once",
			bearerErr("invalid_request", "The access token was sent more than once", "")},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.srv.runs.Load()
			r := e.unary(t, c.md...)
			r.want(t, c.name, c.code, c.msg, c.challenge)
			ran := e.srv.runs.Load() - before
			if c.code == codes.OK && (ran != 1 || r.subject != "svc-read-data") {
				t.Errorf("handler ran %d times, saw %q", ran, r.subject)
			}
			if c.code != codes.OK && ran != 0 {
				t.Errorf("a refused call reached its handler")
			}
		})
	}
}

// TestUnavailable: keys that cannot be fetched are Unavailable, with a
// retry-after trailer and no challenge (as HTTP's 503).
func TestUnavailable(t *testing.T) {
	down := bearertest.NewIssuer(t)
	down.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream detail", http.StatusBadGateway)
	}))
	v, err := validator.New(validator.WithIssuer(down.URL, down.KeySet(t)), validator.WithAudience(realm))
	if err != nil {
		t.Fatal(err)
	}
	observed := make(chan error, 1)
	e := start(t, newInterceptor(t, v, tableWith(grpcbearer.WithObserver(func(_ context.Context, method string, err error, c validator.Challenge) {
		if method == unaryMethod && c.Status == http.StatusServiceUnavailable {
			observed <- err
		}
	}))...), nil)
	tok := down.Mint(t, bearertest.Claims{"aud": realm, "scope": "read:data"})
	r := e.unary(t, bearer(tok)...)
	r.want(t, "keys down", codes.Unavailable, "The token cannot be checked right now", "")
	if ra := r.trailer.Get("retry-after"); len(ra) != 1 || ra[0] == "" || ra[0] == "0" {
		t.Errorf("retry-after trailer %q", ra)
	}
	if strings.Contains(r.msg, "upstream") {
		t.Errorf("message leaks upstream content: %q", r.msg)
	}
	if err := <-observed; !errors.Is(err, validator.ErrKeysUnavailable) {
		t.Errorf("observer saw %v", err)
	}
}

// TestStream: a stream is authorized before its handler runs; a refused
// stream ends before its first message, with the same code and trailer as
// a unary call.
func TestStream(t *testing.T) {
	f := newFixture(t)
	e := start(t, newInterceptor(t, f.v, table...), nil)
	read := f.token(t, "read:data")
	write := f.token(t, "write:data")

	t.Run("server stream", func(t *testing.T) {
		for _, c := range []struct {
			name      string
			md        []string
			code      codes.Code
			msg       string
			challenge string
		}{
			{"valid", bearer(read), codes.OK, "", ""},
			{"no token", nil, codes.Unauthenticated, "No access token was presented", bare},
			{"missing scope", bearer(write), codes.PermissionDenied, "The access token lacks a required scope",
				bearerErr("insufficient_scope", "The access token lacks a required scope", "read:data")},
			{"malformed", []string{"authorization", "Bearer"}, codes.InvalidArgument, "The Authorization header is malformed",
				bearerErr("invalid_request", "The Authorization header is malformed", "")},
		} {
			before := e.srv.runs.Load()
			r, n := e.stream(t, c.md...)
			r.want(t, c.name, c.code, c.msg, c.challenge)
			ran := e.srv.runs.Load() - before
			switch {
			case c.code == codes.OK && (n != 3 || r.subject != "svc-read-data" || ran != 1):
				t.Errorf("%s: %d messages, subject %q, handler ran %d times", c.name, n, r.subject, ran)
			case c.code != codes.OK && (n != 0 || ran != 0):
				t.Errorf("%s: refused stream gave %d messages, handler ran %d times", c.name, n, ran)
			}
		}
	})

	t.Run("client stream refused before its first message", func(t *testing.T) {
		before := e.srv.runs.Load()
		s, err := testpb.NewTestServiceClient(e.conn).StreamingInputCall(outgoing(t.Context(), bearer(read)))
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := s.Send(&testpb.StreamingInputCallRequest{}); err != nil {
				break // io.EOF once the server has ended the stream
			}
		}
		_, err = s.CloseAndRecv()
		r := resultOf(err, s.Trailer())
		r.want(t, "read:data on a write:data stream", codes.PermissionDenied, "The access token lacks a required scope",
			bearerErr("insufficient_scope", "The access token lacks a required scope", "write:data"))
		if ran := e.srv.runs.Load() - before; ran != 0 {
			t.Errorf("the handler ran %d times", ran)
		}
	})

	t.Run("bidirectional stream", func(t *testing.T) {
		s, err := testpb.NewTestServiceClient(e.conn).FullDuplexCall(outgoing(t.Context(), bearer(write)))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(&testpb.StreamingOutputCallRequest{}); err != nil {
			t.Fatal(err)
		}
		msg, err := s.Recv()
		if err != nil || string(msg.Payload.Body) != "svc-write-data" {
			t.Fatalf("Recv = %v, %v", msg, err)
		}
		_ = s.CloseSend()
		if _, err := s.Recv(); !errors.Is(err, io.EOF) {
			t.Errorf("end of stream: %v", err)
		}
	})
}

// TestMethods: the per-method table: a method's entry, its service's, the
// default, open methods, and health and reflection open only when listed.
func TestMethods(t *testing.T) {
	f := newFixture(t)
	read := f.token(t, "read:data")
	write := f.token(t, "write:data")
	ops := f.token(t, "ops")
	e := start(t, newInterceptor(t, f.v, table...), nil)

	ctx := t.Context()
	client := testpb.NewTestServiceClient(e.conn)
	var tr metadata.MD

	// A method listed open inside a service that requires write:data.
	if _, err := client.EmptyCall(ctx, &testpb.Empty{}); err != nil {
		t.Errorf("open method without a token: %v", err)
	}
	// Open means not looked at: even a malformed header passes, and a
	// valid token is not put in the context.
	if _, err := client.EmptyCall(outgoing(ctx, []string{"authorization", "Bearer"}), &testpb.Empty{}); err != nil {
		t.Errorf("open method with a malformed header: %v", err)
	}
	if _, err := client.EmptyCall(outgoing(ctx, bearer(read)), &testpb.Empty{}); err != nil || e.srv.hadToken.Load() {
		t.Errorf("open method with a token: %v, token in the context: %v", err, e.srv.hadToken.Load())
	}
	// The service's entry for a method not listed itself.
	_, err := client.CacheableUnaryCall(outgoing(ctx, bearer(read)), &testpb.SimpleRequest{}, grpc.Trailer(&tr))
	resultOf(err, tr).want(t, "service entry", codes.PermissionDenied, "The access token lacks a required scope",
		bearerErr("insufficient_scope", "The access token lacks a required scope", "write:data"))
	_, err = client.CacheableUnaryCall(outgoing(ctx, bearer(write)), &testpb.SimpleRequest{})
	if status.Code(err) != codes.Unimplemented { // authorized, then the service does not implement it
		t.Errorf("service entry with write:data: %v", err)
	}
	// A service the server does not register is answered Unimplemented by
	// grpc-go before any interceptor runs, token or not.
	other := testpb.NewUnimplementedServiceClient(e.conn)
	if _, err = other.UnimplementedCall(ctx, &testpb.Empty{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("unregistered service: %v", err)
	}

	// Health is open because it is listed; reflection is not listed.
	hc := healthpb.NewHealthClient(e.conn)
	if resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health check without a token: %v, %v", resp, err)
	}
	watch, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := watch.Recv(); err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health watch without a token: %v, %v", resp, err)
	}
	if r := reflect(t, e, nil); r.code != codes.Unauthenticated {
		t.Errorf("reflection not listed, no token: %v", r.code)
	}
	if r := reflect(t, e, bearer(read)); r.code != codes.OK {
		t.Errorf("reflection not listed, valid token: %v %q", r.code, r.msg)
	}

	t.Run("default requirement and reflection open", func(t *testing.T) {
		auth := newInterceptor(t, f.v, grpcbearer.WithRealm(realm), grpcbearer.WithDefault(scopes.Any("admin", "ops")),
			grpcbearer.WithMethods(map[string]scopes.Requirement{unaryMethod: scopes.All("read:data")}),
			grpcbearer.WithOpen(grpcbearer.ReflectionService, grpcbearer.ReflectionServiceV1Alpha))
		e := start(t, auth, nil)
		e.unary(t, bearer(read)...).want(t, "listed method", codes.OK, "", "")
		_, err := testpb.NewTestServiceClient(e.conn).EmptyCall(outgoing(ctx, bearer(read)), &testpb.Empty{}, grpc.Trailer(&tr))
		resultOf(err, tr).want(t, "default", codes.PermissionDenied, "The access token lacks a required scope",
			bearerErr("insufficient_scope", "The access token lacks a required scope", "admin ops"))
		if _, err := testpb.NewTestServiceClient(e.conn).EmptyCall(outgoing(ctx, bearer(ops)), &testpb.Empty{}); err != nil || !e.srv.hadToken.Load() {
			t.Errorf("default with ops: %v, token in the context: %v", err, e.srv.hadToken.Load())
		}
		_, err = healthpb.NewHealthClient(e.conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("health not listed: %v", err)
		}
		if r := reflect(t, e, nil); r.code != codes.OK {
			t.Errorf("reflection listed open: %v %q", r.code, r.msg)
		}
	})
}

// reflect lists the server's services through reflection (v1).
func reflect(t *testing.T, e *env, md []string) result {
	t.Helper()
	s, err := reflectionpb.NewServerReflectionClient(e.conn).ServerReflectionInfo(outgoing(t.Context(), md))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	_, err = s.Recv()
	_ = s.CloseSend()
	return resultOf(err, s.Trailer())
}

// TestDPoP: DPoP-bound tokens with their proof in the "dpop" metadata,
// htm POST and htu the base URL and the full method.
func TestDPoP(t *testing.T) {
	f := newFixture(t)
	key := bearertest.MustDPoPKey(t, validator.ES256)
	bound := f.iss.Mint(t, bearertest.Claims{"aud": realm, "scope": "read:data", "sub": "svc-dpop"}, bearertest.BoundToKey(key))
	plain := f.token(t, "read:data")
	const base = "https://api.example.com/grpc"
	e := start(t, newInterceptor(t, f.v, tableWith(grpcbearer.WithBaseURL(base+"/"))...), nil)
	htu := base + unaryMethod
	dpop := func(tok, proof string) []string {
		return []string{"authorization", "DPoP " + tok, "dpop", proof}
	}

	replayed := key.MustProof(t, "POST", htu, bound)
	e.unary(t, dpop(bound, replayed)...).want(t, "valid", codes.OK, "", "")
	// A Bearer call's dpop metadata is not looked at, as HTTP's DPoP headers.
	e.unary(t, append(bearer(plain), "dpop", "x", "dpop", "y")...).want(t, "Bearer with stray dpop values", codes.OK, "", "")
	for _, c := range []struct {
		name      string
		md        []string
		code      codes.Code
		msg       string
		challenge string
	}{
		{"replayed", dpop(bound, replayed), codes.Unauthenticated, "The DPoP proof was already used",
			dpopErr("invalid_dpop_proof", "The DPoP proof was already used")},
		{"proof for another method", dpop(bound, key.MustProof(t, "POST", base+outputMethod, bound)), codes.Unauthenticated,
			"The DPoP proof does not match this request", dpopErr("invalid_dpop_proof", "The DPoP proof does not match this request")},
		{"htm GET", dpop(bound, key.MustProof(t, "GET", htu, bound)), codes.Unauthenticated,
			"The DPoP proof does not match this request", dpopErr("invalid_dpop_proof", "The DPoP proof does not match this request")},
		{"no proof", []string{"authorization", "DPoP " + bound}, codes.Unauthenticated, "Exactly one DPoP proof is required",
			dpopErr("invalid_dpop_proof", "Exactly one DPoP proof is required")},
		{"two proofs", append(dpop(bound, key.MustProof(t, "POST", htu, bound)), "dpop", key.MustProof(t, "POST", htu, bound)),
			codes.Unauthenticated, "Exactly one DPoP proof is required", dpopErr("invalid_dpop_proof", "Exactly one DPoP proof is required")},
		// One value holding two proofs, as a proxy joining two lines writes
		// it: two proofs, whatever the token (here one not bound to a key).
		{"two proofs in one value", dpop(plain, key.MustProof(t, "POST", htu, plain)+","+key.MustProof(t, "POST", htu, plain)),
			codes.Unauthenticated, "Exactly one DPoP proof is required", dpopErr("invalid_dpop_proof", "Exactly one DPoP proof is required")},
		{"bound token as Bearer", bearer(bound), codes.Unauthenticated,
			"The access token is bound to a key or certificate the request does not prove",
			bearerErr("invalid_token", "The access token is bound to a key or certificate the request does not prove", "")},
		{"unbound token with a proof", dpop(plain, key.MustProof(t, "POST", htu, plain)), codes.Unauthenticated,
			"The access token is not bound to the presented key",
			dpopErr("invalid_token", "The access token is not bound to the presented key")},
		{"DPoP alone", []string{"authorization", "DPoP"}, codes.InvalidArgument, "The Authorization header is malformed",
			dpopErr("invalid_request", "The Authorization header is malformed")}, // on the scheme the call used (RFC 9449 §7.1)
	} {
		e.unary(t, c.md...).want(t, c.name, c.code, c.msg, c.challenge)
	}

	t.Run("stream", func(t *testing.T) {
		r, n := e.stream(t, dpop(bound, key.MustProof(t, "POST", base+outputMethod, bound))...)
		if r.code != codes.OK || n != 3 || r.subject != "svc-dpop" {
			t.Errorf("DPoP stream: %v %q, %d messages", r.code, r.msg, n)
		}
	})

	t.Run("htu from the connection", func(t *testing.T) {
		e := start(t, newInterceptor(t, f.v, table...), nil)
		r := e.unary(t, dpop(bound, key.MustProof(t, "POST", "http://"+e.addr+unaryMethod, bound))...)
		r.want(t, "http and :authority", codes.OK, "", "")
		r = e.unary(t, dpop(bound, key.MustProof(t, "POST", "https://"+e.addr+unaryMethod, bound))...)
		r.want(t, "https without TLS", codes.Unauthenticated, "The DPoP proof does not match this request",
			dpopErr("invalid_dpop_proof", "The DPoP proof does not match this request"))
	})

	// The :authority is the client's to write. One that carries a path,
	// query or fragment must not move the htu: a proof made for another
	// method, or for another API, is refused (red-team finding).
	t.Run("crafted :authority", func(t *testing.T) {
		e := start(t, newInterceptor(t, f.v, table...), nil)
		mismatch := dpopErr("invalid_dpop_proof", "The DPoP proof does not match this request")
		for _, c := range []struct{ name, authority, htu string }{
			{"query retargets to another method", e.addr + outputMethod + "?", "http://" + e.addr + outputMethod},
			{"fragment retargets to another method", e.addr + outputMethod + "#", "http://" + e.addr + outputMethod},
			{"another API's proof", "payments.internal/v1/transfer?", "http://payments.internal/v1/transfer"},
			{"userinfo", "user@" + e.addr, "http://" + e.addr + unaryMethod},
			{"escaped", e.addr + "%2F", "http://" + e.addr + "%2F" + unaryMethod},
			{"dot segments", e.addr + "/x/..", "http://" + e.addr + unaryMethod},
		} {
			conn, err := grpc.NewClient(e.addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithAuthority(c.authority))
			if err != nil {
				t.Fatal(err)
			}
			r := (&env{conn: conn, srv: e.srv, addr: e.addr}).unary(t, dpop(bound, key.MustProof(t, "POST", c.htu, bound))...)
			conn.Close()
			r.want(t, c.name, codes.Unauthenticated, "The DPoP proof does not match this request", mismatch)
		}
	})

	// DPoP off: the DPoP scheme is one this server does not take, answered
	// as no credentials are (RFC 6750 §3.1), however many proofs come
	// with it: never a DPoP error code on a Bearer challenge.
	t.Run("off", func(t *testing.T) {
		f := newFixture(t, validator.WithDPoP(validator.DPoPOff))
		e := start(t, newInterceptor(t, f.v, tableWith(grpcbearer.WithBaseURL(base+"/"))...), nil)
		proof := key.MustProof(t, "POST", htu, bound)
		for _, c := range []struct {
			name string
			md   []string
		}{
			{"one proof", dpop(bound, proof)},
			{"two proofs", append(dpop(bound, proof), "dpop", proof)},
			{"no proof", []string{"authorization", "DPoP " + bound}},
			{"DPoP alone", []string{"authorization", "DPoP"}},
		} {
			e.unary(t, c.md...).want(t, "off, "+c.name, codes.Unauthenticated, "No access token was presented", `Bearer realm="orders"`)
		}
		e.unary(t, bearer(f.token(t, "read:data"))...).want(t, "off, Bearer", codes.OK, "", "")
	})

	t.Run("nonce", func(t *testing.T) {
		f := newFixture(t, validator.WithDPoPNonces([]byte("0123456789abcdef0123456789abcdef"), 0))
		bound := f.iss.Mint(t, bearertest.Claims{"aud": realm, "scope": "read:data", "sub": "svc-dpop"}, bearertest.BoundToKey(key))
		e := start(t, newInterceptor(t, f.v, tableWith(grpcbearer.WithBaseURL(base))...), nil)
		r := e.unary(t, dpop(bound, key.MustProof(t, "POST", htu, bound))...)
		r.want(t, "no nonce", codes.Unauthenticated, "A DPoP nonce is required", dpopErr("use_dpop_nonce", "A DPoP nonce is required"))
		nonce := r.trailer.Get("dpop-nonce")
		if len(nonce) != 1 || nonce[0] != f.v.DPoPNonce() {
			t.Fatalf("dpop-nonce trailer %q", nonce)
		}
		e.unary(t, dpop(bound, key.MustProof(t, "POST", htu, bound, bearertest.ProofNonce(nonce[0])))...).want(t, "with the nonce", codes.OK, "", "")
	})
}

// TestMutualTLS: a certificate-bound token needs the connection's client
// certificate, and a DPoP proof over TLS names https.
func TestMutualTLS(t *testing.T) {
	f := newFixture(t)
	ca := bearertest.MustClientCA(t)
	clientCert, leaf := ca.MustIssue(t, "billing")
	bound := f.iss.Mint(t, bearertest.Claims{"aud": realm, "scope": "read:data", "sub": "svc-mtls"}, bearertest.BoundToCertificate(leaf))

	// A server certificate for 127.0.0.1, from net/http/httptest.
	hs := httptest.NewTLSServer(http.NotFoundHandler())
	serverCert, roots := hs.TLS.Certificates[0], x509.NewCertPool()
	roots.AddCert(hs.Certificate())
	hs.Close()
	serverTLS := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: ca.Pool(),
		ClientAuth: tls.VerifyClientCertIfGiven, MinVersion: tls.VersionTLS12})
	auth := newInterceptor(t, f.v, table...)

	with := start(t, auth, serverTLS, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots,
		Certificates: []tls.Certificate{clientCert}, MinVersion: tls.VersionTLS12})))
	r := with.unary(t, bearer(bound)...)
	r.want(t, "with the certificate", codes.OK, "", "")
	if r.subject != "svc-mtls" {
		t.Errorf("subject %q", r.subject)
	}

	without := start(t, auth, serverTLS, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})))
	without.unary(t, bearer(bound)...).want(t, "without the certificate", codes.Unauthenticated,
		"The access token is bound to a key or certificate the request does not prove",
		bearerErr("invalid_token", "The access token is bound to a key or certificate the request does not prove", ""))

	key := bearertest.MustDPoPKey(t, validator.ES256)
	dpopBound := f.iss.Mint(t, bearertest.Claims{"aud": realm, "scope": "read:data", "sub": "svc-dpop"}, bearertest.BoundToKey(key))
	proof := key.MustProof(t, "POST", "https://"+without.addr+unaryMethod, dpopBound)
	without.unary(t, "authorization", "DPoP "+dpopBound, "dpop", proof).want(t, "DPoP over TLS", codes.OK, "", "")
}

// TestNew: every configuration problem at once.
func TestNew(t *testing.T) {
	_, err := grpcbearer.New(nil,
		grpcbearer.WithMethods(map[string]scopes.Requirement{
			"pkg.Service/Method": {}, "/pkg.Service": {}, "/pkg.Service/a/b": {}, "//Method": {}, "/pkg.Service/Get": {},
		}),
		grpcbearer.WithOpen("/pkg.Service/Get", "/grpc.health.v1.Health/", grpcbearer.HealthService),
		grpcbearer.WithBaseURL("ftp://api.example.com"),
		grpcbearer.WithBaseURL("https://api.example.com/?q"),
		// A second default silently replaced the first: unlisted methods
		// were left to any valid token.
		grpcbearer.WithDefault(scopes.All("admin")),
		grpcbearer.WithDefault(scopes.Requirement{}),
		// Refused as httpbearer refuses it, not written out otherwise.
		grpcbearer.WithRealm(`api "v2"`),
	)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"nil validator", "WithDefault given twice", `WithRealm: character '"' not allowed`, `"pkg.Service/Method" is neither`, `"/pkg.Service" is neither`,
		`"/pkg.Service/a/b" is neither`, `"//Method" is neither`, `"/pkg.Service/Get" is listed more than once`,
		`"/grpc.health.v1.Health/" is listed more than once`, `"ftp://api.example.com" is not`, `"https://api.example.com/?REDACTED" is not`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s:\n%v", want, err)
		}
	}
	f := newFixture(t)
	// Names no call has (a no-break or zero-width space, a control
	// character, bytes not ASCII): the method meant got the default, any
	// valid token (SECURITY.md 109).
	for _, name := range []string{"/pkg.Orders/Delete\u00a0", "/pkg.Orders/Del\u200bete", "/pkg.Or\u200bders/", "/pkg.Orders/Delete\v",
		"/pkg.Orders/Delete\x00", "/pkg.Orders/Delete\xff", "/pkg.Orders/Delete ", "/pkg.Ordérs/Delete"} {
		if _, err := grpcbearer.New(f.v, grpcbearer.WithMethods(map[string]scopes.Requirement{name: scopes.All("admin")})); err == nil || !strings.Contains(err.Error(), "is neither") {
			t.Errorf("WithMethods(%q): %v", name, err)
		}
	}
	if _, err := grpcbearer.New(f.v, grpcbearer.WithMethods(map[string]scopes.Requirement{"/pkg.Service/": {}, "/pkg.Service/Get": {}}),
		grpcbearer.WithBaseURL("http://127.0.0.1:8080")); err != nil {
		t.Errorf("valid configuration: %v", err)
	}
}

// TestRoleRequirement: a method may require a scope or a role (issue 20's
// requirement language); the role is read only from the claim the issuer
// is configured with, and a refusal names only the scope alternative.
func TestRoleRequirement(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t), validator.IssuerRoleClaims("/roles")), validator.WithAudience(realm))
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, newInterceptor(t, v, grpcbearer.WithRealm(realm), grpcbearer.WithMethods(map[string]scopes.Requirement{
		unaryMethod: scopes.AnyOf(scopes.Scope("read:data"), scopes.Role("Data.Read")),
	})), nil)
	mint := func(claims bearertest.Claims) string {
		claims["aud"], claims["sub"] = realm, "svc-read-data"
		return iss.Mint(t, claims)
	}
	for _, c := range []struct {
		name      string
		tok       string
		code      codes.Code
		challenge string
	}{
		{"scope", mint(bearertest.Claims{"scope": "read:data"}), codes.OK, ""},
		{"role", mint(bearertest.Claims{"roles": []string{"Data.Read"}}), codes.OK, ""},
		{"role in another claim", mint(bearertest.Claims{"groups": []string{"Data.Read"}}), codes.PermissionDenied,
			bearerErr("insufficient_scope", "The access token lacks a required scope", "read:data")},
		{"another role", mint(bearertest.Claims{"roles": []string{"Data.Write"}, "scope": "write:data"}), codes.PermissionDenied,
			bearerErr("insufficient_scope", "The access token lacks a required scope", "read:data")},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.srv.runs.Load()
			r := e.unary(t, bearer(c.tok)...)
			msg := ""
			if c.code != codes.OK {
				msg = "The access token lacks a required scope"
			}
			r.want(t, c.name, c.code, msg, c.challenge)
			if ran := e.srv.runs.Load() - before; (c.code == codes.OK) != (ran == 1) {
				t.Errorf("handler ran %d times", ran)
			}
		})
	}
}
