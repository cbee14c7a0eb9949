// Command mcp is a Model Context Protocol server protected by bearerguard:
// the official Go SDK's streamable HTTP transport behind an mcpbearer
// guard. The wiring is in package api.
//
//	cd examples/mcp && go run . --issuer https://id.example.com/ --resource https://mcp.example.com/mcp
//
// Routes: POST/GET/DELETE /mcp (the MCP endpoint; every request needs a
// token for the resource), GET /healthz (open), GET /readyz (open: 503
// until the keys have loaded), and the resource's RFC 9728 metadata at its
// well-known path (open); with --metrics-addr, GET /metrics on that address. Tools: read_data (read:data),
// write_data (write:data). The flags are the other examples' (--help), and
// --resource, the canonical URI of the MCP endpoint, which is also the
// audience unless --audience says otherwise.
package main

import (
	"github.com/bearerguard/bearerguard/examples/mcp/api"
	"github.com/bearerguard/bearerguard/examples/setup"
)

func main() { setup.Main("mcp", api.New) }
