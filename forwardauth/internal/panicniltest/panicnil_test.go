//go:debug panicnil=1

package panicniltest_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/validator"
)

// A decision that panics is a denied 503, also when the panic is
// recovered as nil (panic(nil) under panicnil=1, here in a WithClaimCheck
// callback). Check's recover once answered only a non-nil panic: Check
// returned (nil, nil), grpc-go sent an empty CheckResponse, and Envoy
// reads one without a status as OK, allowed (SECURITY.md 110).
func TestEnvoyPanicNilIsRefused(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	keys, err := iss.NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = keys.Close() })
	v, err := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithAudience("orders"),
		validator.WithClaimCheck(func(ctx context.Context, tok *validator.Token) error {
			if tok.Subject == "mallory" {
				panic(nil)
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := forwardauth.ParseRules([]byte("default: deny\nroutes:\n  - path: /admin/\n    scopes: [admin]\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := forwardauth.New(g, rs)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	authv3.RegisterAuthorizationServer(srv, d.EnvoyServer())
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// mallory's token lacks the admin scope: it must be refused either way.
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders", "sub": "mallory", "scope": "read"})
	resp, err := authv3.NewAuthorizationClient(conn).Check(t.Context(), &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Host: "api.example.com", Path: "/admin/users", Scheme: "https",
			Headers: map[string]string{"authorization": "Bearer " + tok}},
	}}})
	if err != nil {
		t.Fatalf("gRPC error %v (failure_mode_allow would let it through)", err)
	}
	code := codes.Code(resp.GetStatus().GetCode())
	t.Logf("response %v: status code %v, denied=%v ok=%v", resp, code, resp.GetDeniedResponse() != nil, resp.GetOkResponse() != nil)
	if code != codes.Unavailable || resp.GetDeniedResponse().GetStatus().GetCode() != http.StatusServiceUnavailable {
		t.Errorf("Check answered %v (denied %v) after the decision panicked; want Unavailable, a denied 503", code, resp.GetDeniedResponse())
	}
}

// The same panic(nil) under the nginx front end: net/http's own recover
// sees nil too, but closes the connection without an answer (checked:
// never a 200, which auth_request reads as allowed).
func TestNginxPanicNilIsNoAnswer(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	keys, err := iss.NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = keys.Close() })
	v, _ := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithAudience("orders"),
		validator.WithClaimCheck(func(ctx context.Context, tok *validator.Token) error { panic(nil) }))
	g, _ := httpbearer.New(v)
	rs, _ := forwardauth.ParseRules([]byte("default: deny\nroutes:\n  - path: /admin/\n    scopes: [admin]\n"))
	d, _ := forwardauth.New(g, rs)
	srv := httptest.NewServer(d.NginxHandler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/auth", nil)
	req.Header.Set("X-Original-URI", "/admin/users")
	req.Header.Set("X-Original-Method", "GET")
	req.Header.Set("Authorization", "Bearer "+iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read"}))
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		defer resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			t.Errorf("nginx front end answered %d after the decision panicked", resp.StatusCode)
		}
		t.Logf("status %d", resp.StatusCode)
		return
	}
	t.Logf("no answer: %v", err)
}
