package interop

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	grpcapi "github.com/bearerguard/bearerguard/examples/grpc/api"
	"github.com/bearerguard/bearerguard/examples/setup"
)

// grpcCall is one call of node/grpc-client.mjs (see there).
type grpcCall struct {
	Method  string         `json:"method"`
	Token   string         `json:"token,omitempty"`
	Request map[string]any `json:"request,omitempty"`

	label string
	check func(grpcResult) string // "" when the result is as expected
}

// grpcResult is what node/grpc-client.mjs reports for one call.
type grpcResult struct {
	Code     int    `json:"code"`
	CodeName string `json:"codeName"`
	Details  string `json:"details"`
	Replies  []struct {
		Subject  string   `json:"subject"`
		ClientID string   `json:"client_id"`
		Scopes   []string `json:"scopes"`
		Stored   bool     `json:"stored"`
		Seq      int      `json:"seq"`
	} `json:"replies"`
	Trailers map[string][]string `json:"trailers"`
}

// runGRPCClient runs node/grpc-client.mjs against target; ca, when not
// empty, is the PEM file of the server's certificate (TLS, tokens as call
// credentials).
func runGRPCClient(t *testing.T, target, ca string, calls []grpcCall) []grpcResult {
	t.Helper()
	node := requireNode(t)
	proto, err := filepath.Abs("../examples/grpc/datapb/data.proto")
	if err != nil {
		t.Fatal(err)
	}
	in, err := json.Marshal(map[string]any{"target": target, "proto": proto, "ca": ca, "calls": calls})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "node/grpc-client.mjs")
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("node/grpc-client.mjs: %v\n%s", err, stderr.Bytes())
	}
	var out struct {
		Results []grpcResult `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || len(out.Results) != len(calls) {
		t.Fatalf("node/grpc-client.mjs printed %s (%v)\n%s", stdout.Bytes(), err, stderr.Bytes())
	}
	return out.Results
}

// TestGRPCAgainstOIDCProvider: npm @grpc/grpc-js, with the service loaded
// from examples/grpc/datapb/data.proto by @grpc/proto-loader, calls the
// gRPC example (configured from flags as the command is) with tokens
// node-oidc-provider issues: over plaintext with the token as call
// metadata, and over TLS with the token as call credentials. Get and
// Watch (server streaming) with read:data succeed; Put with read:data is
// PERMISSION_DENIED and without a token, with a token that is not one, or
// a stream without a token, UNAUTHENTICATED, each with the RFC 6750
// challenge in the www-authenticate trailer; Put with write:data (an
// ES256 token) and an opaque token (introspected) succeed.
func TestGRPCAgainstOIDCProvider(t *testing.T) {
	as := startAuthServer(t, newSigningKey(t, jwa.RS256), newSigningKey(t, jwa.ES256))
	certFile, keyFile, _ := serverCert(t, t.TempDir())
	args := []string{"--issuer", as.issuer, "--audience", apiAudience, "--insecure-http",
		"--introspection-url", as.endpoint("introspection_endpoint"), "--client-id", rsClientID, "--client-secret", rsSecret}
	serve := func(args ...string) string {
		cfg, err := setup.Parse("grpc", args, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		// Transport credentials as the command adds them.
		var opts []grpc.ServerOption
		tlsCfg, err := cfg.ServerTLS()
		if err != nil {
			t.Fatal(err)
		}
		if tlsCfg != nil {
			cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
			if err != nil {
				t.Fatal(err)
			}
			tlsCfg.Certificates = []tls.Certificate{cert}
			opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
		}
		srv, closeFn, err := grpcapi.New(cfg, nil, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(closeFn)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); _ = srv.Serve(ln) }()
		t.Cleanup(func() { srv.Stop(); <-done })
		return ln.Addr().String()
	}
	plain := serve(args...)
	secure := serve(append(args, "--tls-cert", certFile, "--tls-key", keyFile)...)

	readOnly := as.nodeToken("simple-oauth2", readClientID, "read:data", jwtResource)
	readWrite := as.goToken(ecClientID, "read:data write:data", jwtResource)
	opaque := as.goToken(rsaClientID, "read:data", opaqueResrc)
	if strings.Count(opaque, ".") == 2 {
		t.Fatal("expected an opaque token, got a JWT")
	}

	const realm = `Bearer realm="` + apiAudience + `"`
	calls := []grpcCall{
		{label: "Get with read:data", Method: "Get", Token: readOnly, check: grpcOK(readClientID, 1, "read:data")},
		{label: "Put with read:data", Method: "Put", Token: readOnly, Request: map[string]any{"value": "x"},
			check: grpcRefused("PERMISSION_DENIED", realm+`, error="insufficient_scope"`, `scope="write:data"`)},
		{label: "Get without a token", Method: "Get", check: grpcRefused("UNAUTHENTICATED", realm)},
		{label: "Get with a token that is not one", Method: "Get", Token: "not-a-token",
			check: grpcRefused("UNAUTHENTICATED", realm+`, error="invalid_token"`)},
		{label: "Watch with read:data", Method: "Watch", Token: readOnly, Request: map[string]any{"count": 3},
			check: grpcOK(readClientID, 3, "read:data")},
		{label: "Watch without a token", Method: "Watch", Request: map[string]any{"count": 3}, check: grpcRefused("UNAUTHENTICATED", realm)},
		{label: "Put with write:data (ES256)", Method: "Put", Token: readWrite, Request: map[string]any{"value": "x"},
			check: grpcOK(ecClientID, 1, "read:data", "write:data")},
		{label: "Get with an opaque token", Method: "Get", Token: opaque, check: grpcOK(rsaClientID, 1, "read:data")},
	}
	for _, tc := range []struct{ name, target, ca string }{{"plaintext", plain, ""}, {"tls", secure, certFile}} {
		t.Run(tc.name, func(t *testing.T) {
			results := runGRPCClient(t, tc.target, tc.ca, calls)
			for i, c := range calls {
				if msg := c.check(results[i]); msg != "" {
					t.Errorf("%s: %s: %+v", c.label, msg, results[i])
				}
				if tok := c.Token; tok != "" && strings.Contains(fmt.Sprint(results[i]), tok) {
					t.Errorf("%s: the answer repeats the token", c.label)
				}
			}
		})
	}
}

// grpcOK checks a successful call: n replies (numbered from 1 when more
// than one) for clientID with exactly scopes; a Put's reply stored.
func grpcOK(clientID string, n int, scopes ...string) func(grpcResult) string {
	return func(r grpcResult) string {
		if r.CodeName != "OK" || len(r.Replies) != n {
			return fmt.Sprintf("status %s with %d replies, want OK with %d", r.CodeName, len(r.Replies), n)
		}
		for i, m := range r.Replies {
			if m.ClientID != clientID || !slices.Equal(m.Scopes, scopes) || (n > 1 && m.Seq != i+1) {
				return fmt.Sprintf("reply %d: %+v", i, m)
			}
		}
		if want := slices.Contains(scopes, "write:data"); r.Replies[0].Stored != want {
			return fmt.Sprintf("stored %v", r.Replies[0].Stored)
		}
		return ""
	}
}

// grpcRefused checks a refused call: the status, no reply, and one
// www-authenticate trailer starting with prefix and containing parts.
func grpcRefused(code, prefix string, parts ...string) func(grpcResult) string {
	return func(r grpcResult) string {
		if r.CodeName != code || len(r.Replies) != 0 || r.Details == "" {
			return fmt.Sprintf("status %s %q with %d replies, want %s", r.CodeName, r.Details, len(r.Replies), code)
		}
		www := r.Trailers["www-authenticate"]
		if len(www) != 1 || !strings.HasPrefix(www[0], prefix) {
			return fmt.Sprintf("www-authenticate trailer %q, want one starting with %s", www, prefix)
		}
		for _, p := range parts {
			if !strings.Contains(www[0], p) {
				return fmt.Sprintf("www-authenticate trailer %q lacks %s", www[0], p)
			}
		}
		if !strings.Contains(prefix, "error=") && strings.Contains(www[0], "error=") {
			return fmt.Sprintf("www-authenticate trailer %q has an error code for a request without a token", www[0])
		}
		return ""
	}
}
