package mcpbearer_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/mcpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/resourcemeta"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// bearer adds a token to every request of the SDK's client.
type bearer string

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(req)
}

func ExampleGuard_Protect() {
	iss, err := bearertest.Start() // in production: your authorization server, and jwks.Discover
	if err != nil {
		panic(err)
	}
	defer iss.Close()
	keys, err := iss.NewKeySet()
	if err != nil {
		panic(err)
	}
	defer keys.Close()

	const resource = "https://mcp.example.com/mcp" // the MCP endpoint's canonical URI
	v, err := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithAudience(resource), validator.WithDPoP(validator.DPoPOff))
	if err != nil {
		panic(err)
	}
	md, err := resourcemeta.New(resource, resourcemeta.WithAuthorizationServers(iss.URL), resourcemeta.WithScopes("read:data", "write:data"))
	if err != nil {
		panic(err)
	}
	guard, err := httpbearer.New(v, httpbearer.WithResourceMetadata(md.URL()))
	if err != nil {
		panic(err)
	}
	mg, err := mcpbearer.New(guard,
		mcpbearer.WithToolScopes("read_data", scopes.All("read:data")),
		mcpbearer.WithToolScopes("write_data", scopes.All("write:data")))
	if err != nil {
		panic(err)
	}

	server := mcp.NewServer(&mcp.Implementation{Name: "orders", Version: "v1.0.0"}, nil)
	server.AddReceivingMiddleware(mg.Middleware())
	for _, name := range []string{"read_data", "write_data"} {
		mcp.AddTool(server, &mcp.Tool{Name: name}, func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
			tok, _ := mcpbearer.TokenFromContext(ctx)
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name + " for " + tok.ClientID}}}, nil, nil
		})
	}
	mux := http.NewServeMux()
	mux.Handle(md.Path(), md)
	mux.Handle("/mcp", mg.Protect(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{SessionTimeout: 10 * time.Minute}))) // idle sessions end
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// Without a token: 401, pointing to the metadata document.
	resp, err := http.Post(srv.URL+"/mcp", "application/json", nil)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))

	// With a read:data token: read_data runs, write_data is refused.
	token, err := iss.MintToken(bearertest.Claims{"aud": resource, "scope": "read:data", "client_id": "agent"})
	if err != nil {
		panic(err)
	}
	transport := &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: &http.Client{Transport: bearer(token)}}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "v1.0.0"}, nil).Connect(context.Background(), transport, nil)
	if err != nil {
		panic(err)
	}
	defer cs.Close()
	for _, name := range []string{"read_data", "write_data"} {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: map[string]any{}})
		if we := (*jsonrpc.Error)(nil); errors.As(err, &we) {
			fmt.Println(name, "refused:", we.Code, we.Message) // and HTTP 403 with the challenge
			continue
		} else if err != nil {
			panic(err)
		}
		fmt.Println(res.Content[0].(*mcp.TextContent).Text)
	}
	// Output:
	// 401 Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
	// read_data for agent
	// write_data refused: 403 insufficient_scope: tool "write_data" needs the scope write:data
}
