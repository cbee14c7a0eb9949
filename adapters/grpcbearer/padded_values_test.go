package grpcbearer_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bearerguard/bearerguard/adapters/grpcbearer"
	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// TestPaddedValuesAcrossTransports (SECURITY.md 132; found by
// TestDoorsDifferentialGRPC): an Authorization or DPoP value with spaces
// or tabs around it is the same value (RFC 9110 §5.5) over HTTP/1.1, where
// Go's server drops them (as Envoy does before ext_authz), over HTTP/2,
// which delivers them, and over gRPC metadata. They were refused over the
// last two: 400 (trailing space), a bare 401 (leading: "no token"), 401
// invalid_dpop_proof (a padded proof).
func TestPaddedValuesAcrossTransports(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience(ddAudience))
	if err != nil {
		t.Fatal(err)
	}
	need := scopes.All("read:data")
	key := bearertest.MustDPoPKey(t, validator.ES256)
	tok := iss.Mint(t, bearertest.Claims{"aud": ddAudience, "scope": "read:data", "sub": "u"})
	bound := iss.Mint(t, bearertest.Claims{"aud": ddAudience, "scope": "read:data", "sub": "u"}, bearertest.BoundToKey(key))

	// gRPC door.
	auth, err := grpcbearer.New(v, grpcbearer.WithRealm(ddRealm), grpcbearer.WithBaseURL(ddPublic),
		grpcbearer.WithMethods(map[string]scopes.Requirement{ddCheck: need}))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(auth.ServerOptions()...)
	healthpb.RegisterHealthServer(gs, health.NewServer())
	go func() { _ = gs.Serve(l) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	hc := healthpb.NewHealthClient(conn)

	// httpbearer over HTTP/1.1 and over HTTP/2.
	g, err := httpbearer.New(v, httpbearer.WithRealm(ddRealm), httpbearer.WithPublicURL(ddPublic))
	if err != nil {
		t.Fatal(err)
	}
	h := g.Require(need, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	h1 := httptest.NewServer(h)
	t.Cleanup(h1.Close)
	h2 := httptest.NewUnstartedServer(h)
	h2.EnableHTTP2 = true
	h2.StartTLS()
	t.Cleanup(h2.Close)

	type kv = []string
	cases := []struct {
		name string
		md   func() kv
	}{
		{"trailing space", func() kv { return kv{"authorization", "Bearer " + tok + " "} }},
		{"leading space", func() kv { return kv{"authorization", " Bearer " + tok} }},
		{"padded DPoP proof", func() kv {
			return kv{"authorization", "DPoP " + bound, "dpop", " " + key.MustProof(t, "POST", ddPublic+ddCheck, bound) + " "}
		}},
	}
	for _, c := range cases {
		httpStatus := func(srv *httptest.Server, proto int) int {
			req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+ddCheck, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = ddHost
			md := c.md()
			for i := 0; i+1 < len(md); i += 2 {
				req.Header[http.CanonicalHeaderKey(md[i])] = []string{md[i+1]}
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.ProtoMajor != proto {
				t.Fatalf("HTTP/%d, want HTTP/%d", resp.ProtoMajor, proto)
			}
			return resp.StatusCode
		}
		s1 := httpStatus(h1, 1)
		s2 := httpStatus(h2, 2)
		ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(t.Context(), metadata.Pairs(c.md()...)), 5*time.Second)
		_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		t.Logf("%s: httpbearer HTTP/1.1 %d, httpbearer HTTP/2 %d, grpcbearer %v", c.name, s1, s2, status.Code(err))
		if s1 != http.StatusOK {
			t.Fatalf("%s: the premise: HTTP/1.1 passes, got %d", c.name, s1)
		}
		if s2 != http.StatusOK {
			t.Errorf("%s: httpbearer over HTTP/2 answers %d; over HTTP/1.1 the same request passes", c.name, s2)
		}
		if err != nil {
			t.Errorf("%s: grpcbearer answers %v; httpbearer over HTTP/1.1 passes the same request", c.name, err)
		}
	}
}
