package grpcbearer_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/bearerguard/bearerguard/adapters/grpcbearer"
	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// Procedures of the Connect service in TestConnect.
const (
	dataService    = "/bearerguard.example.v1.Data/"
	getProcedure   = dataService + "Get"
	putProcedure   = dataService + "Put"
	watchProcedure = dataService + "Watch"
	pingProcedure  = dataService + "Ping" // not listed: any valid token
)

// connectService returns a Connect service behind guard, as the README
// shows it with generated code: one handler for the whole service (what
// connect-go's generated NewXHandler returns), mounted at each procedure's
// path with that procedure's requirement (Get and Watch need read:data,
// Put write:data), and at the service's path for the others (any valid
// token). Each procedure answers the subject of the token in its context;
// runs counts the procedures' runs.
func connectService(guard *httpbearer.Guard, runs *atomic.Int32) http.Handler {
	subject := func(ctx context.Context) (*wrapperspb.StringValue, error) {
		runs.Add(1)
		tok, ok := validator.FromContext(ctx)
		if !ok {
			return nil, connect.NewError(connect.CodeInternal, nil)
		}
		return wrapperspb.String(tok.Subject), nil
	}
	unary := func(ctx context.Context, _ *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
		msg, err := subject(ctx)
		if err != nil {
			return nil, err
		}
		return connect.NewResponse(msg), nil
	}
	svc := http.NewServeMux() // the service handler
	svc.Handle(getProcedure, connect.NewUnaryHandler(getProcedure, unary))
	svc.Handle(putProcedure, connect.NewUnaryHandler(putProcedure, unary))
	svc.Handle(pingProcedure, connect.NewUnaryHandler(pingProcedure, unary))
	svc.Handle(watchProcedure, connect.NewServerStreamHandler(watchProcedure,
		func(ctx context.Context, _ *connect.Request[wrapperspb.StringValue], stream *connect.ServerStream[wrapperspb.StringValue]) error {
			msg, err := subject(ctx)
			if err != nil {
				return err
			}
			for range 3 {
				if err := stream.Send(msg); err != nil {
					return err
				}
			}
			return nil
		}))

	mux := http.NewServeMux()
	mux.Handle(getProcedure, guard.Require(scopes.All("read:data"), svc))
	mux.Handle(putProcedure, guard.Require(scopes.All("write:data"), svc))
	mux.Handle(watchProcedure, guard.Require(scopes.All("read:data"), svc))
	mux.Handle(dataService, guard.Handler(svc)) // every other procedure
	return mux
}

// TestConnect: Connect handlers are http.Handlers, so the httpbearer guard
// protects them, per procedure; with grpcbearer.WriteConnectError every
// client, whichever of the three protocols it speaks, gets the code and
// message of the gRPC interceptors and the challenge.
func TestConnect(t *testing.T) {
	f := newFixture(t)
	guard, err := httpbearer.New(f.v, httpbearer.WithRealm(realm), httpbearer.WithErrorBody(grpcbearer.WriteConnectError))
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	srv := httptest.NewUnstartedServer(connectService(guard, &runs))
	srv.EnableHTTP2 = true // for gRPC clients
	srv.StartTLS()
	t.Cleanup(srv.Close)

	read := f.token(t, "read:data")
	write := f.token(t, "write:data")
	expired := f.token(t, "read:data", bearertest.ExpiresIn(-time.Hour))
	scopeErr := func(scope string) string {
		return bearerErr("insufficient_scope", "The access token lacks a required scope", scope)
	}
	cases := []struct {
		name, procedure, auth string
		code                  connect.Code // 0: OK
		msg, challenge        string
	}{
		{"Get with read:data", getProcedure, "Bearer " + read, 0, "", ""},
		{"Put with write:data", putProcedure, "Bearer " + write, 0, "", ""},
		{"Watch with read:data", watchProcedure, "Bearer " + read, 0, "", ""},
		{"Ping with write:data", pingProcedure, "Bearer " + write, 0, "", ""},
		{"Ping without a token", pingProcedure, "", connect.CodeUnauthenticated, "No access token was presented", bare},
		{"Get without a token", getProcedure, "", connect.CodeUnauthenticated, "No access token was presented", bare},
		{"Watch without a token", watchProcedure, "", connect.CodeUnauthenticated, "No access token was presented", bare},
		{"Get with write:data", getProcedure, "Bearer " + write, connect.CodePermissionDenied, "The access token lacks a required scope", scopeErr("read:data")},
		{"Put with read:data", putProcedure, "Bearer " + read, connect.CodePermissionDenied, "The access token lacks a required scope", scopeErr("write:data")},
		{"Watch with write:data", watchProcedure, "Bearer " + write, connect.CodePermissionDenied, "The access token lacks a required scope", scopeErr("read:data")},
		{"expired", getProcedure, "Bearer " + expired, connect.CodeUnauthenticated, "The access token expired",
			bearerErr("invalid_token", "The access token expired", "")},
		{"malformed", getProcedure, "Bearer", connect.CodeInvalidArgument, "The Authorization header is malformed",
			bearerErr("invalid_request", "The Authorization header is malformed", "")},
		{"malformed stream", watchProcedure, "Bearer", connect.CodeInvalidArgument, "The Authorization header is malformed",
			bearerErr("invalid_request", "The Authorization header is malformed", "")},
	}
	for _, proto := range []struct {
		name string
		opts []connect.ClientOption
	}{
		{"connect", nil},
		{"connect json", []connect.ClientOption{connect.WithProtoJSON()}},
		{"grpc", []connect.ClientOption{connect.WithGRPC()}},
		{"grpc-web", []connect.ClientOption{connect.WithGRPCWeb()}},
	} {
		t.Run(proto.name, func(t *testing.T) {
			for _, c := range cases {
				before := runs.Load()
				client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](srv.Client(), srv.URL+c.procedure, proto.opts...)
				req := connect.NewRequest(wrapperspb.String(""))
				if c.auth != "" {
					req.Header().Set("Authorization", c.auth)
				}
				var subject string
				var n int
				if c.procedure == watchProcedure {
					stream, err := client.CallServerStream(t.Context(), req)
					if err != nil {
						t.Fatalf("%s: %v", c.name, err)
					}
					for stream.Receive() {
						n++
						subject = stream.Msg().Value
					}
					err = stream.Err()
					checkConnect(t, c.name, err, c.code, c.msg, c.challenge)
					_ = stream.Close()
				} else {
					resp, err := client.CallUnary(t.Context(), req)
					if err == nil {
						subject, n = resp.Msg.Value, 1
					}
					checkConnect(t, c.name, err, c.code, c.msg, c.challenge)
				}
				ran := runs.Load() - before
				switch {
				case c.code == 0 && (ran != 1 || subject == "" || c.procedure == watchProcedure && n != 3):
					t.Errorf("%s: handler ran %d times, %d messages, subject %q", c.name, ran, n, subject)
				case c.code != 0 && (ran != 0 || n != 0):
					t.Errorf("%s: refused, yet the handler ran %d times and sent %d messages", c.name, ran, n)
				}
			}
		})
	}
}

func checkConnect(t *testing.T, name string, err error, code connect.Code, msg, challenge string) {
	t.Helper()
	if code == 0 {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		return
	}
	ce, ok := err.(*connect.Error)
	if !ok {
		t.Errorf("%s: %v, want %v", name, err, code)
		return
	}
	if ce.Code() != code || ce.Message() != msg || ce.Meta().Get("WWW-Authenticate") != challenge {
		t.Errorf("%s: %v %q %q\nwant %v %q %q", name, ce.Code(), ce.Message(), ce.Meta().Get("WWW-Authenticate"), code, msg, challenge)
	}
}

// TestConnectDefaultBody: with the guard's default JSON body, clients map
// the HTTP status to a code themselves: right for 401 and 403, but 400 is
// Internal, and gRPC clients lose the message and the challenge. Hence
// WriteConnectError.
func TestConnectDefaultBody(t *testing.T) {
	f := newFixture(t)
	guard, err := httpbearer.New(f.v, httpbearer.WithRealm(realm))
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	srv := httptest.NewUnstartedServer(connectService(guard, &runs))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	for i, c := range []struct {
		auth  string
		code  connect.Code
		grpc  bool
		msg   string
		chall bool
	}{
		{"", connect.CodeUnauthenticated, false, "", true},
		{"Bearer " + f.token(t, "write:data"), connect.CodePermissionDenied, false, "", true},
		{"Bearer", connect.CodeInternal, false, "", true},
		{"", connect.CodeUnauthenticated, true, "HTTP status 401 Unauthorized", false},
		{"Bearer", connect.CodeInternal, true, "HTTP status 400 Bad Request", false},
	} {
		var opts []connect.ClientOption
		if c.grpc {
			opts = append(opts, connect.WithGRPC())
		}
		req := connect.NewRequest(wrapperspb.String(""))
		if c.auth != "" {
			req.Header().Set("Authorization", c.auth)
		}
		_, err := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](srv.Client(), srv.URL+getProcedure, opts...).CallUnary(t.Context(), req)
		ce, ok := err.(*connect.Error)
		if !ok || ce.Code() != c.code || ce.Message() != c.msg || (ce.Meta().Get("WWW-Authenticate") != "") != c.chall {
			t.Errorf("case %d: %v", i, err)
		}
	}
}
