package forwardauth_test

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/internal/testclock"
)

// envoyClient serves d's ext_authz gRPC service on loopback and returns a
// real client of it.
func envoyClient(t *testing.T, d *forwardauth.Decider) authv3.AuthorizationClient {
	t.Helper()
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
	t.Cleanup(func() { _ = conn.Close() })
	return authv3.NewAuthorizationClient(conn)
}

func checkRequest(method, host, path string, headers map[string]string) *authv3.CheckRequest {
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: method, Host: host, Path: path, Scheme: "https", Headers: headers},
	}}}
}

func headerValues(opts []*corev3.HeaderValueOption) map[string]string {
	out := map[string]string{}
	for _, o := range opts {
		out[o.GetHeader().GetKey()] = o.GetHeader().GetValue()
	}
	return out
}

func TestEnvoyCheck(t *testing.T) {
	f := newFixture(t, testRules)
	c := envoyClient(t, f.d)
	read := f.token(t, "orders:read", "tenant", "acme")
	forged := map[string]string{"x-auth-subject": "admin"}
	withAuth := func(tok string, more map[string]string) map[string]string {
		h := map[string]string{"authorization": "Bearer " + tok}
		for k, v := range more {
			h[k] = v
		}
		return h
	}

	t.Run("allowed with headers", func(t *testing.T) {
		resp, err := c.Check(t.Context(), checkRequest("GET", "api.example.com", "/orders/7?x=1", withAuth(read, forged)))
		if err != nil {
			t.Fatal(err)
		}
		if codes.Code(resp.GetStatus().GetCode()) != codes.OK || resp.GetOkResponse() == nil {
			t.Fatalf("Check = %v, want OK with an ok_response", resp)
		}
		ok := resp.GetOkResponse()
		got := headerValues(ok.GetHeaders())
		want := map[string]string{"x-auth-subject": "user-1", "x-auth-client-id": "app-1", "x-auth-scopes": "orders:read", "x-auth-tenant": "acme"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("header %s = %q, want %q", k, got[k], v)
			}
		}
		for _, o := range ok.GetHeaders() {
			if o.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
				t.Errorf("header %s is %v, want OVERWRITE_IF_EXISTS_OR_ADD", o.GetHeader().GetKey(), o.GetAppendAction())
			}
		}
	})
	t.Run("raw header map", func(t *testing.T) {
		req := checkRequest("GET", "api.example.com", "/orders/7", nil)
		req.Attributes.Request.Http.HeaderMap = &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: "x-other", RawValue: []byte("1")}, {Key: "authorization", RawValue: []byte("Bearer " + read)}}}
		resp, err := c.Check(t.Context(), req)
		if err != nil || codes.Code(resp.GetStatus().GetCode()) != codes.OK {
			t.Fatalf("Check with header_map = %v, %v; want OK", resp, err)
		}
	})
	t.Run("token sent twice in the header map", func(t *testing.T) {
		req := checkRequest("GET", "api.example.com", "/orders/7", nil)
		req.Attributes.Request.Http.HeaderMap = &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: "authorization", RawValue: []byte("Bearer " + read)}, {Key: "Authorization", Value: "Bearer " + read}}}
		resp, err := c.Check(t.Context(), req)
		if err != nil || resp.GetDeniedResponse().GetStatus().GetCode() != 400 {
			t.Fatalf("Check with two tokens = %v, %v; want a 400 denied_response", resp, err)
		}
	})
	t.Run("open route removes the client's identity headers", func(t *testing.T) {
		resp, err := c.Check(t.Context(), checkRequest("GET", "api.example.com", "/healthz", forged))
		if err != nil {
			t.Fatal(err)
		}
		ok := resp.GetOkResponse()
		if ok == nil || len(ok.GetHeaders()) != 0 {
			t.Fatalf("Check = %v, want OK with no header to add", resp)
		}
		removed := strings.Join(ok.GetHeadersToRemove(), ",")
		for _, n := range []string{"x-auth-subject", "x-auth-client-id", "x-auth-scopes", "x-auth-tenant"} {
			if !strings.Contains(removed, n) {
				t.Errorf("headers_to_remove %q lacks %s", removed, n)
			}
		}
	})
	denied := []struct {
		name      string
		req       *authv3.CheckRequest
		code      codes.Code
		status    int
		challenge string
	}{
		{"no token", checkRequest("GET", "api.example.com", "/orders/7", nil), codes.Unauthenticated, 401, `Bearer realm="orders"`},
		{"read-only writing", checkRequest("POST", "api.example.com", "/orders/7", withAuth(read, nil)), codes.PermissionDenied, 403, `scope="orders:write"`},
		{"bad token", checkRequest("GET", "api.example.com", "/orders/7", withAuth(read+"x", nil)), codes.Unauthenticated, 401, `error="invalid_token"`},
		{"deny route", checkRequest("GET", "api.example.com", "/orders/admin/", withAuth(read, nil)), codes.PermissionDenied, 403, ""},
		{"unclean path", checkRequest("GET", "api.example.com", "/healthz/../orders/admin/", nil), codes.InvalidArgument, 400, ""},
		{"no http attributes", &authv3.CheckRequest{}, codes.InvalidArgument, 400, ""},
		// Envoy joins two DPoP headers with ",": two proofs, refused as
		// the HTTP front ends refuse them.
		{"two DPoP proofs, joined", checkRequest("GET", "api.example.com", "/orders/7", map[string]string{"authorization": "DPoP " + read, "dpop": "a.b.c,d.e.f"}),
			codes.Unauthenticated, 401, `error_description="Exactly one DPoP proof is required"`},
	}
	for _, tt := range denied {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.Check(t.Context(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			d := resp.GetDeniedResponse()
			if codes.Code(resp.GetStatus().GetCode()) != tt.code || d == nil || int(d.GetStatus().GetCode()) != tt.status {
				t.Fatalf("Check = %v, want %v with a denied_response of %d", resp, tt.code, tt.status)
			}
			h := headerValues(d.GetHeaders())
			if got := h["www-authenticate"]; !strings.Contains(got, tt.challenge) || (tt.challenge == "") != (got == "") {
				t.Errorf("www-authenticate %q, want %q", got, tt.challenge)
			}
			if h["cache-control"] != "no-store" || d.GetBody() == "" {
				t.Errorf("cache-control %q, body %q: want no-store and a JSON body", h["cache-control"], d.GetBody())
			}
		})
	}
}

// An issuer whose keys cannot be fetched: 503 with Retry-After, as a
// denied response (never an error Envoy's failure_mode_allow could let
// through), with gRPC status UNAVAILABLE.
func TestEnvoyCheckUnavailable(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	f := newFixtureFor(t, iss, testRules)
	c := envoyClient(t, f.d)
	resp, err := c.Check(t.Context(), checkRequest("GET", "api.example.com", "/orders/7", map[string]string{"authorization": "Bearer " + f.token(t, "orders:read")}))
	if err != nil {
		t.Fatal(err)
	}
	d := resp.GetDeniedResponse()
	if codes.Code(resp.GetStatus().GetCode()) != codes.Unavailable || d == nil || d.GetStatus().GetCode() != 503 {
		t.Fatalf("Check = %v, want UNAVAILABLE with a denied_response of 503", resp)
	}
	if h := headerValues(d.GetHeaders()); h["retry-after"] == "" || h["www-authenticate"] != "" {
		t.Errorf("headers %v: want retry-after and no challenge", h)
	}
	// Two proofs need no key to be refused: 401, as at the HTTP front ends.
	two := map[string]string{"authorization": "DPoP " + f.token(t, "orders:read"), "dpop": "a.b.c, d.e.f"}
	resp, err = c.Check(t.Context(), checkRequest("GET", "api.example.com", "/orders/7", two))
	if err != nil {
		t.Fatal(err)
	}
	if d := resp.GetDeniedResponse(); d.GetStatus().GetCode() != 401 {
		t.Errorf("two DPoP proofs with the keys down: %v, want a 401 denied_response", resp)
	}
}

func TestEnvoyCheckUntrustedPeer(t *testing.T) {
	f := newFixture(t, "default: open\n", forwardauth.WithTrustedProxies("10.0.0.0/8"))
	c := envoyClient(t, f.d)
	// A denied answer, never an error that failure_mode_allow would turn
	// into an allowed request.
	resp, err := c.Check(t.Context(), checkRequest("GET", "a.example", "/x", nil))
	if err != nil {
		t.Fatalf("Check from an untrusted peer: %v, want a denied response", err)
	}
	if codes.Code(resp.GetStatus().GetCode()) != codes.PermissionDenied || resp.GetDeniedResponse().GetStatus().GetCode() != 403 || resp.GetOkResponse() != nil {
		t.Fatalf("Check from an untrusted peer: %v, want PERMISSION_DENIED with a 403 denied_response", resp)
	}
}

// A gateway left out of the trusted proxies gets 403 on every request, the
// answer of a deny route: the operator is told why, at Warn, once a minute
// per address (a caller reaching the service directly can neither flood
// the log nor take the gateway's line), through the HTTP front ends and
// the gRPC one.
func TestUntrustedPeerLogged(t *testing.T) {
	clk := testclock.New(time.Unix(1_800_000_000, 0))
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	f := newFixture(t, "default: open\n", forwardauth.WithTrustedProxies("10.0.0.0/8"), forwardauth.WithLogger(log),
		forwardauth.WithClock(clk.Now))
	const line = "refused a request from an address not among the trusted proxies"
	nginx := func(peer string) int {
		r := httptest.NewRequest("GET", "/nginx", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Original-Method", "GET")
		r.Header.Set("X-Original-URI", "/healthz")
		w := httptest.NewRecorder()
		f.d.NginxHandler().ServeHTTP(w, r)
		return w.Code
	}
	count := func() int { return strings.Count(logs.String(), line) }
	// Someone else first, then the gateway, from several ports.
	for _, peer := range []string{"198.51.100.9:1234", "192.0.2.7:4000", "192.0.2.7:4001", "198.51.100.9:1235"} {
		if code := nginx(peer); code != 403 {
			t.Fatalf("untrusted nginx request from %s: %d, want 403", peer, code)
		}
	}
	if n := count(); n != 2 || !strings.Contains(logs.String(), "peer=192.0.2.7\n") || !strings.Contains(logs.String(), "peer=198.51.100.9\n") {
		t.Fatalf("%d Warn lines for two addresses within a minute, want one each:\n%s", n, logs)
	}
	// At most untrustedLogPeers addresses a minute.
	for i := range 100 {
		nginx(fmt.Sprintf("203.0.113.%d:80", i))
	}
	if n := count(); n != 32 {
		t.Errorf("%d Warn lines after 102 addresses in a minute, want 32", n)
	}
	clk.Advance(time.Minute)
	if _, err := envoyClient(t, f.d).Check(t.Context(), checkRequest("GET", "a.example", "/x", nil)); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 33 || !strings.Contains(logs.String(), "frontend=envoy_grpc") {
		t.Errorf("%d Warn lines after a minute and a gRPC check, want 33, the last from the gRPC front end:\n%s", n, logs)
	}
}

// A direct caller that takes the minute's Warn lines (32 addresses, one
// request each, at the start of the minute) cannot hide the gateway: once
// the minute is over, the address refused most in it is named. IPv6
// addresses count by /64.
func TestUntrustedPeerNotCrowdedOut(t *testing.T) {
	nginx, clk, logs := untrustedFixture(t)
	for i := range 32 {
		nginx(fmt.Sprintf("[2001:db8:%x::1]:443", i))
	}
	nginx("[2001:db8:0::2]:443") // the /64 of the first: not a new address
	for range 100 {
		nginx("192.0.2.7:4000") // the gateway
	}
	if strings.Contains(logs.String(), "peer=192.0.2.7") {
		t.Fatalf("the gateway was logged within the minute: the test shows nothing\n%s", logs)
	}
	clk.Advance(time.Minute)
	nginx("198.51.100.1:1")
	if !strings.Contains(logs.String(), "the most refused\" peers=\"192.0.2.7 (100)\" refused_unlogged=100") {
		t.Errorf("the minute's most refused address is not named:\n%s", logs)
	}
}

// The review of the first summary hid the gateway two ways: a caller with
// 1,024 IPv6 /64s (a /48 holds 65,536) filled the counts each minute, so
// the gateway's refusals were not counted at all; or one more address of
// its own, refused once more than the gateway, took the one line naming
// the minute's most refused (and then five more, the five lines of the
// second version). The summary now keeps the heavy addresses whatever the
// number of others (Misra-Gries), and names 32 in one line.
func TestUntrustedGatewayNamedDespiteDirectCallers(t *testing.T) {
	tests := []struct {
		name   string
		minute func(nginx func(string))
	}{
		{"counts filled by a /48", func(nginx func(string)) {
			for i := range 1024 {
				nginx(fmt.Sprintf("[2001:db8:1:%x::1]:443", i))
			}
			for range 100 {
				nginx("192.0.2.7:4000") // the gateway
			}
			for i := range 4096 {
				nginx(fmt.Sprintf("[2001:db8:2:%x::1]:443", i))
			}
		}},
		{"out-voted by 31 addresses", func(nginx func(string)) {
			for i := range 32 {
				nginx(fmt.Sprintf("[2001:db8:1:%x::1]:443", i))
			}
			for range 100 {
				nginx("192.0.2.7:4000")
			}
			for i := range 31 {
				for range 101 {
					nginx(fmt.Sprintf("[2001:db8:2:%x::1]:443", i))
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nginx, clk, logs := untrustedFixture(t)
			tc.minute(nginx)
			if strings.Contains(logs.String(), "peer=192.0.2.7") {
				t.Fatalf("the gateway was logged within the minute: the test shows nothing")
			}
			clk.Advance(time.Minute)
			nginx("198.51.100.1:1")
			if n := strings.Count(logs.String(), "the most refused"); n != 1 {
				t.Errorf("%d summary lines, want 1", n)
			}
			if !regexp.MustCompile(`the most refused" peers="[^"]*192\.0\.2\.7 \(\d+\)`).MatchString(logs.String()) {
				t.Errorf("the gateway's 100 refusals in the minute are not named:\n%s", lastLines(logs.String(), 8))
			}
		})
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(len(l)-n, 0):], "\n")
}

// untrustedFixture is a Decider trusting 10.0.0.0/8 only, logging at Info
// into logs, on clk; nginx sends it a forwarded request from peer.
func untrustedFixture(t *testing.T) (nginx func(peer string), clk *testclock.Clock, logs *syncBuffer) {
	clk = testclock.New(time.Unix(1_800_000_000, 0))
	logs = &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	f := newFixture(t, "default: open\n", forwardauth.WithTrustedProxies("10.0.0.0/8"), forwardauth.WithLogger(log),
		forwardauth.WithClock(clk.Now))
	return func(peer string) {
		r := httptest.NewRequest("GET", "/nginx", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Original-Method", "GET")
		r.Header.Set("X-Original-URI", "/healthz")
		f.d.NginxHandler().ServeHTTP(httptest.NewRecorder(), r)
	}, clk, logs
}
