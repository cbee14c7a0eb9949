package grpcbearer_test

// Red-team tests (differential review of the gRPC and MCP surfaces against
// httpbearer). Each fails on the code as reviewed.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/bearerguard/bearerguard/adapters/grpcbearer"
	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/h2raw"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// An open method's context should carry no token (WithOpen: "their
// context carries no token"; SECURITY.md guarantee 11: a token stored with
// validator.NewContext by other middleware is ignored). The interceptor
// passes an open call's context on as it came, so the handler of an open
// method finds whatever an earlier interceptor planted: here a token of
// another audience, validated by another validator. httpbearer's Optional
// answers no token for an anonymous request (finding 10); grpcbearer's
// protected methods replace a planted token with the call's own.
func TestRedteamOpenMethodContextCarriesNoPlantedToken(t *testing.T) {
	f := newFixture(t)
	// Another API's validator and token: what an outer auth layer (or any
	// middleware) stored for the call.
	other := bearertest.NewIssuer(t)
	ov, err := validator.New(validator.WithIssuer(other.URL, other.KeySet(t)), validator.WithAudience("other-api"))
	if err != nil {
		t.Fatal(err)
	}
	planted, err := ov.Validate(t.Context(), other.Mint(t, bearertest.Claims{"aud": "other-api", "scope": "admin", "sub": "planted"}))
	if err != nil {
		t.Fatal(err)
	}
	plantU := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		return h(validator.NewContext(ctx, planted), req)
	}
	auth := newInterceptor(t, f.v, table...)
	e := startWith(t, []grpc.ServerOption{grpc.ChainUnaryInterceptor(plantU, auth.Unary()), grpc.ChainStreamInterceptor(auth.Stream())}, nil)

	// A protected method: the call's own token, not the planted one.
	if r := e.unary(t, bearer(f.token(t, "read:data"))...); r.subject != "svc-read-data" {
		t.Fatalf("protected method: %v %q, handler saw %q", r.code, r.msg, r.subject)
	}
	// The open method (EmptyCall), called without a token.
	if _, err := testpb.NewTestServiceClient(e.conn).EmptyCall(t.Context(), &testpb.Empty{}); err != nil {
		t.Fatal(err)
	}
	if e.srv.hadToken.Load() {
		t.Error("the open method's handler found a token in its context (planted by another interceptor)")
	}
}

// rtH2Call sends one gRPC POST over a fresh h2c connection with exactly the
// given :authority, :path and header fields (grpc-go's WithAuthority sends
// any bytes too), with a gRPC-framed empty message as its body.
func rtH2Call(t *testing.T, addr, authority, path string, fields [][2]string) h2raw.Answer {
	t.Helper()
	return h2raw.Do(t, addr, append([][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", path}, {":authority", authority},
		{"content-type", "application/grpc"}, {"te", "trailers"}}, fields...), []byte{0, 0, 0, 0, 0})
}

// Finding 11 (a crafted :authority moves a DPoP proof's htu) was fixed in
// grpcbearer only. httpbearer builds the htu from r.Host, and Go's HTTP/2
// server takes :authority as r.Host without the Host check HTTP/1.1 gets:
// "addr/pkg.S/Other?" leaves "http://addr/pkg.S/Other?/pkg.S/Method", which
// the htu comparison cuts at the '?'. So a captured proof (and its token)
// made for one procedure is accepted at another by the Connect wiring the
// README gives (an httpbearer guard per procedure, gRPC over HTTP/2), and
// by mcpbearer.Protect over HTTP/2, while the gRPC interceptor refuses the
// very same call. Without WithPublicURL, as without WithBaseURL.
func TestRedteamCraftedAuthorityMovesHTUOverHTTP2(t *testing.T) {
	f := newFixture(t)
	key := bearertest.MustDPoPKey(t, validator.ES256)
	bound := f.iss.Mint(t, bearertest.Claims{"aud": realm, "scope": "read:data", "sub": "svc-dpop"}, bearertest.BoundToKey(key))

	// The gRPC interceptor (reference for this surface).
	e := start(t, newInterceptor(t, f.v, table...), nil)
	// The Connect wiring: one httpbearer guard, a requirement per procedure,
	// the gRPC codes (WriteConnectError), served over HTTP/2.
	guard, err := httpbearer.New(f.v, httpbearer.WithRealm(realm), httpbearer.WithErrorBody(grpcbearer.WriteConnectError))
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	mux := http.NewServeMux()
	mux.Handle(unaryMethod, guard.Require(scopes.All("read:data"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran++
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Grpc-Status", "0")
		w.WriteHeader(http.StatusOK)
	})))
	hs := httptest.NewUnstartedServer(mux)
	hs.Config.Protocols = new(http.Protocols)
	hs.Config.Protocols.SetUnencryptedHTTP2(true)
	hs.Start()
	t.Cleanup(hs.Close)
	caddr := strings.TrimPrefix(hs.URL, "http://")

	for _, s := range []struct {
		name, addr string
	}{{"grpcbearer", e.addr}, {"httpbearer (Connect)", caddr}} {
		// Sanity: a proof for this very call is accepted.
		ok := rtH2Call(t, s.addr, s.addr, unaryMethod, [][2]string{{"authorization", "DPoP " + bound},
			{"dpop", key.MustProof(t, "POST", "http://"+s.addr+unaryMethod, bound)}})
		if ok.Status() != "200" || ok.Header["grpc-status"] != "0" {
			t.Fatalf("%s: a proof for this call was refused: %+v", s.name, ok)
		}
		// A proof the client made for another procedure (captured with its
		// token), replayed at UnaryCall with an :authority that moves the htu.
		other := key.MustProof(t, "POST", "http://"+s.addr+outputMethod, bound)
		a := rtH2Call(t, s.addr, s.addr+outputMethod+"?", unaryMethod, [][2]string{{"authorization", "DPoP " + bound}, {"dpop", other}})
		if a.Header["grpc-status"] == "0" {
			t.Errorf("%s accepted a proof made for %s at %s: %+v", s.name, outputMethod, unaryMethod, a)
		}
	}
	if ran != 1 {
		t.Errorf("the Connect procedure's handler ran %d times, want 1 (the sanity call)", ran)
	}
}
