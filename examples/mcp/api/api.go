// Package api is the MCP example service: an MCP server built with the
// official Go SDK, protected by bearerguard as the MCP authorization
// specification asks. The command in the parent directory serves it.
package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bearerguard/bearerguard/adapters/mcpbearer"
	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/resourcemeta"
	"github.com/bearerguard/bearerguard/scopes"
)

// Path is where the MCP endpoint is served. The resource (--resource) is
// its public URL, such as https://mcp.example.com/mcp.
const Path = "/mcp"

// WriteArgs are the arguments of write_data.
type WriteArgs struct {
	Value string `json:"value" jsonschema:"the value to store"`
}

// New returns the service's handler: the MCP endpoint at [Path] (every
// request needs a valid token for cfg.Resource; read_data needs read:data,
// write_data needs write:data), GET /healthz open, and the resource's
// metadata document at its well-known path. client, if not nil, fetches
// keys. The returned function stops the key set's refresh.
//
// The MCP server is stateless (a fresh SDK session per request): nothing
// outlives a request, so the goroutines and memory a client can hold are
// bounded by the requests in flight.
func New(cfg setup.Config, client *http.Client) (http.Handler, func(), error) {
	if cfg.Resource == "" {
		return nil, nil, errors.New("an MCP server needs --resource (or an https --audience): MCP clients find the authorization server through the resource's metadata")
	}
	if cfg.Issuer == "" {
		// --introspection-only makes --issuer optional elsewhere.
		return nil, nil, errors.New("an MCP server needs --issuer: MCP clients find the authorization server in the metadata's authorization_servers")
	}
	if cfg.AllowQueryToken {
		return nil, nil, errors.New("--allow-query-token is refused: MCP forbids access tokens in the URI query string")
	}
	guard, closeKeys, err := cfg.Guard(client)
	if err != nil {
		return nil, nil, err
	}
	mg, err := mcpbearer.New(guard,
		mcpbearer.WithToolScopes("read_data", scopes.All("read:data")),
		mcpbearer.WithToolScopes("write_data", scopes.All("write:data")))
	if err != nil {
		closeKeys()
		return nil, nil, err
	}
	md, err := cfg.Metadata(resourcemeta.WithScopes(mg.Scopes()...), resourcemeta.WithResourceName("bearerguard MCP example"))
	if err != nil {
		closeKeys()
		return nil, nil, err
	}

	server := mcp.NewServer(&mcp.Implementation{Name: "bearerguard-mcp-example", Version: "v1.0.0"}, nil)
	server.AddReceivingMiddleware(mg.Middleware())
	mcp.AddTool(server, &mcp.Tool{Name: "read_data", Description: "Reads the data: who is calling, with which scopes. Needs the scope read:data."}, readData)
	mcp.AddTool(server, &mcp.Tool{Name: "write_data", Description: "Stores a value. Needs the scope write:data."}, writeData)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(setup.HealthBody)
	})
	mux.Handle(md.Path(), md)
	mux.Handle(Path, mg.Protect(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Stateless: true})))
	return mux, closeKeys, nil
}

func readData(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, setup.DataReply, error) {
	tok, ok := mcpbearer.TokenFromContext(ctx)
	if !ok {
		return nil, setup.DataReply{}, errors.New("no access token")
	}
	return nil, setup.Reply(tok), nil
}

func writeData(ctx context.Context, _ *mcp.CallToolRequest, _ WriteArgs) (*mcp.CallToolResult, setup.DataReply, error) {
	tok, ok := mcpbearer.TokenFromContext(ctx)
	if !ok {
		return nil, setup.DataReply{}, errors.New("no access token")
	}
	reply := setup.Reply(tok)
	reply.Stored = true
	return nil, reply, nil
}
