package mcpbearer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/mcpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/validator"
)

// expiryServer serves an MCP server (a "noop" tool) behind Protect, with
// a validator of no leeway, so that tokens expire when their "exp" says.
func expiryServer(t *testing.T, stateless bool) (*bearertest.Issuer, *mcp.Server, string) {
	t.Helper()
	iss := bearertest.NewIssuer(t)
	hs := httptest.NewUnstartedServer(nil)
	resource := "http://" + hs.Listener.Addr().String() + "/mcp"
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience(resource), validator.WithLeeway(0))
	if err != nil {
		t.Fatal(err)
	}
	guard, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	mg, err := mcpbearer.New(guard)
	if err != nil {
		t.Fatal(err)
	}
	ms := mcp.NewServer(&mcp.Implementation{Name: "expiry", Version: "v0"}, nil)
	ms.AddReceivingMiddleware(mg.Middleware())
	ms.AddTool(&mcp.Tool{Name: "noop", InputSchema: json.RawMessage(`{"type":"object"}`)}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{}, nil
	})
	hs.Config.Handler = mg.Protect(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return ms }, &mcp.StreamableHTTPOptions{SessionTimeout: time.Minute, Stateless: stateless}))
	hs.Start()
	t.Cleanup(hs.Close)
	return iss, ms, resource
}

// A stateful session's GET (SSE) stream is authorized once, when it
// opens: it kept delivering the session's server messages after the token
// that opened it expired, while every POST with that token was refused
// 401. Protect now ends it when the token would no longer be accepted.
func TestStreamEndsWhenTokenExpires(t *testing.T) {
	iss, ms, resource := expiryServer(t, false)

	exp := time.Now().Add(3 * time.Second)
	c := &client{token: iss.Mint(t, bearertest.Claims{"aud": resource, "sub": "alice", "exp": exp.Unix()}), t: t, base: http.DefaultTransport}
	got := make(chan string, 4)
	mc := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "v0"}, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			got <- "notifications/tools/list_changed"
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := mc.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: resource, HTTPClient: &http.Client{Transport: c}, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	time.Sleep(time.Until(exp) + 1500*time.Millisecond)

	// A server message on the session's stream: a tool added tells every
	// session the list changed.
	ms.AddTool(&mcp.Tool{Name: "added", InputSchema: json.RawMessage(`{"type":"object"}`)}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{}, nil
	})
	select {
	case s := <-got:
		t.Errorf("the client's GET stream, opened with a token that expired %v ago, still received: %q", time.Since(exp).Round(time.Second), s)
	case <-time.After(3 * time.Second):
	}
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "noop"}); err == nil {
		t.Fatal("a POST with the expired token was accepted")
	}
	if ex, ok := c.last(401); !ok {
		t.Fatal("no 401 for the expired token")
	} else {
		t.Logf("POST after expiry: %d %s", ex.status, ex.challenge)
	}
}

// Under the SDK's default protocol against a stateless server, the stream
// of server messages is a POST (subscriptions/listen, answered as a stream
// until the client cancels): it too ends when its token stops being
// accepted, as a session's GET does.
func TestListenStreamEndsWhenTokenExpires(t *testing.T) {
	iss, ms, resource := expiryServer(t, true)

	exp := time.Now().Add(3 * time.Second)
	c := &client{token: iss.Mint(t, bearertest.Claims{"aud": resource, "sub": "alice", "exp": exp.Unix()}), t: t, base: http.DefaultTransport}
	got := make(chan string, 4)
	mc := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "v0"}, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			got <- "notifications/tools/list_changed"
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := mc.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: resource, HTTPClient: &http.Client{Transport: c}, MaxRetries: -1},
		nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	time.Sleep(500 * time.Millisecond)
	// Control: before expiry the stream delivers.
	ms.AddTool(&mcp.Tool{Name: "before", InputSchema: json.RawMessage(`{"type":"object"}`)}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{}, nil
	})
	select {
	case <-got:
	case <-time.After(3 * time.Second):
		t.Fatal("control: no notification before expiry")
	}
	time.Sleep(time.Until(exp) + 1500*time.Millisecond)
	ms.AddTool(&mcp.Tool{Name: "added", InputSchema: json.RawMessage(`{"type":"object"}`)}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{}, nil
	})
	select {
	case s := <-got:
		t.Errorf("the client's POST subscriptions/listen stream, opened with a token that expired %v ago, still received: %q", time.Since(exp).Round(time.Second), s)
	case <-time.After(3 * time.Second):
	}
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "noop"}); err == nil {
		t.Fatal("a POST with the expired token was accepted")
	}
}

// A tool call authorized with a valid token, whose work outlasts the
// token (the client refreshing its token while the call runs), was cut at
// the token's expiry when every request had it as its deadline: the
// handler's context was cancelled and the client got no result, though
// the call was authorized when made. Only streams the client keeps open
// (a session's GET, subscriptions/listen) end with their token.
func TestToolCallOutlivesItsToken(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		t.Run(map[bool]string{false: "stateful", true: "stateless"}[stateless], func(t *testing.T) {
			iss, ms, resource := expiryServer(t, stateless)
			var cancelled, finished atomic.Bool
			ms.AddTool(&mcp.Tool{Name: "slow", InputSchema: json.RawMessage(`{"type":"object"}`)}, func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				select {
				case <-time.After(4 * time.Second):
					finished.Store(true)
					return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "done"}}}, nil
				case <-ctx.Done():
					cancelled.Store(true)
					return nil, ctx.Err()
				}
			})

			exp := time.Now().Add(3 * time.Second)
			c := &client{token: iss.Mint(t, bearertest.Claims{"aud": resource, "sub": "alice", "exp": exp.Unix()}), t: t, base: http.DefaultTransport}
			mc := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "v0"}, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cs, err := mc.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: resource, HTTPClient: &http.Client{Transport: c}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			// The client refreshes its token while the call runs, as a
			// well-behaved client does a little before expiry.
			go func() {
				time.Sleep(time.Until(exp) - 1500*time.Millisecond)
				c.setToken(iss.Mint(t, bearertest.Claims{"aud": resource, "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}))
			}()
			start := time.Now()
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "slow"})
			if err == nil && time.Since(start) < 4*time.Second {
				t.Fatalf("the call returned after %v, before its work was done", time.Since(start))
			}
			if err != nil || res == nil || res.IsError || cancelled.Load() || !finished.Load() || text(res) != "done" {
				t.Errorf("an authorized tool call was cut when the token it was made with expired: err=%v res=%+v handler cancelled=%v", err, res, cancelled.Load())
			}
		})
	}
}
