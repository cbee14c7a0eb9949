package mcpbearer_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/mcpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// BenchmarkToolCall measures one tools/call from the SDK's client over
// loopback HTTP (a stateful session, one token reused throughout) to the
// same server unguarded and behind Protect and Middleware with the tool's
// scope checked, in the same run.
func BenchmarkToolCall(b *testing.B) {
	iss := bearertest.NewIssuer(b)
	const resource = "http://127.0.0.1/mcp"
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(b)), validator.WithAudience(resource))
	if err != nil {
		b.Fatal(err)
	}
	guard, err := httpbearer.New(v, httpbearer.WithResourceMetadata("http://127.0.0.1/.well-known/oauth-protected-resource/mcp"))
	if err != nil {
		b.Fatal(err)
	}
	mg, err := mcpbearer.New(guard, mcpbearer.WithToolScopes("read_data", scopes.All("read:data")))
	if err != nil {
		b.Fatal(err)
	}
	token := iss.Mint(b, bearertest.Claims{"aud": resource, "scope": "read:data", "sub": "alice"})
	newServer := func(guarded bool) http.Handler {
		s := mcp.NewServer(&mcp.Implementation{Name: "bench", Version: "v0.0.1"}, nil)
		if guarded {
			s.AddReceivingMiddleware(mg.Middleware())
		}
		s.AddTool(&mcp.Tool{Name: "read_data", InputSchema: json.RawMessage(`{"type":"object"}`)}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "data"}}}, nil
		})
		h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
		if guarded {
			return mg.Protect(h)
		}
		return h
	}
	for _, c := range []struct {
		name    string
		guarded bool
	}{{"unguarded", false}, {"guarded", true}} {
		b.Run(c.name, func(b *testing.B) {
			srv := httptest.NewServer(newServer(c.guarded))
			defer srv.Close()
			cl := &client{token: token}
			cl.t, cl.base = b, srv.Client().Transport
			transport := &mcp.StreamableClientTransport{Endpoint: srv.URL, HTTPClient: &http.Client{Transport: cl}, DisableStandaloneSSE: true}
			cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench-client", Version: "v0.0.1"}, nil).Connect(b.Context(), transport, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer cs.Close()
			params := &mcp.CallToolParams{Name: "read_data", Arguments: map[string]any{}}
			b.ReportAllocs()
			for b.Loop() {
				res, err := cs.CallTool(b.Context(), params)
				if err != nil || res.IsError {
					b.Fatalf("%v %v", res, err)
				}
			}
		})
	}
}

// BenchmarkProtect measures one tools/call POST served in-process (no
// network; a stateless server answering JSON) by the SDK's handler alone
// and behind Protect and Middleware, reused token: what the guard adds to
// an MCP request.
func BenchmarkProtect(b *testing.B) {
	iss := bearertest.NewIssuer(b)
	const resource = "http://127.0.0.1/mcp"
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(b)), validator.WithAudience(resource))
	if err != nil {
		b.Fatal(err)
	}
	guard, err := httpbearer.New(v)
	if err != nil {
		b.Fatal(err)
	}
	mg, err := mcpbearer.New(guard, mcpbearer.WithToolScopes("read_data", scopes.All("read:data")))
	if err != nil {
		b.Fatal(err)
	}
	token := iss.Mint(b, bearertest.Claims{"aud": resource, "scope": "read:data", "sub": "alice"})
	const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_data","arguments":{}}}`
	for _, guarded := range []bool{false, true} {
		s := mcp.NewServer(&mcp.Implementation{Name: "bench", Version: "v0.0.1"}, nil)
		if guarded {
			s.AddReceivingMiddleware(mg.Middleware())
		}
		s.AddTool(&mcp.Tool{Name: "read_data", InputSchema: json.RawMessage(`{"type":"object"}`)}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "data"}}}, nil
		})
		var h http.Handler = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true})
		name := "unguarded"
		if guarded {
			h, name = mg.Protect(h), "guarded"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("POST", resource, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json, text/event-stream")
				req.Header.Set("Authorization", "Bearer "+token)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"data"`) {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkProtectOverhead measures Protect alone around a handler that
// does nothing, for a tools/call POST with a reused token: the guard's
// own cost per MCP request (validation cache hit, the read-ahead of the
// body, the TokenInfo with the claims).
func BenchmarkProtectOverhead(b *testing.B) {
	iss := bearertest.NewIssuer(b)
	const resource = "http://127.0.0.1/mcp"
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(b)), validator.WithAudience(resource))
	if err != nil {
		b.Fatal(err)
	}
	guard, err := httpbearer.New(v)
	if err != nil {
		b.Fatal(err)
	}
	mg, err := mcpbearer.New(guard, mcpbearer.WithToolScopes("read_data", scopes.All("read:data")))
	if err != nil {
		b.Fatal(err)
	}
	token := iss.Mint(b, bearertest.Claims{"aud": resource, "scope": "read:data", "sub": "alice"})
	const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_data","arguments":{}}}`
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	})
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", noop}, {"protected", mg.Protect(noop)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			req := httptest.NewRequest("POST", resource, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			rd := strings.NewReader(body)
			req.Body = io.NopCloser(rd)
			for b.Loop() {
				rd.Reset(body)
				w := httptest.NewRecorder()
				c.h.ServeHTTP(w, req)
				if w.Code != http.StatusNoContent {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
