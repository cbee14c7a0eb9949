package mcpbearer_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/mcpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
)

// TestEndpointRefusalNamesToolScopes (SECURITY.md 133; found by
// TestDoorsDifferentialMCP): with an endpoint requirement (WithRequirement)
// and a tool scope, a tools/call whose token lacks the endpoint's scope was
// refused by the guard before Protect read the body, and the 403 named the
// endpoint's scope only, where the README (and SECURITY.md 121) say it
// names every scope the request needs: a client stepping up to exactly the
// challenged scope lost the tool's scope and was refused a second time.
func TestEndpointRefusalNamesToolScopes(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s := newServer(t, iss, serverConfig{stateless: true, jsonResponse: true,
		opts: []mcpbearer.Option{mcpbearer.WithRequirement(scopes.All("mcp:connect"))}})
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_data","arguments":{}}}`
	tok := s.mint(t, "write:data", bearertest.Claims{"sub": "alice"})
	var trail []string
	for round := 0; round < 4; round++ {
		status, h, _ := post(t, s, tok, call)
		if status != 403 {
			trail = append(trail, "200")
			break
		}
		scope := challengeScope(h.Get("WWW-Authenticate"))
		trail = append(trail, "403 scope="+scope)
		if round == 0 {
			for _, need := range []string{"mcp:connect", "write:data"} {
				if !slices.Contains(strings.Fields(scope), need) {
					t.Errorf("first 403 names scope=%q: it lacks %q, which the request needs", scope, need)
				}
			}
		}
		tok = s.mint(t, scope, bearertest.Claims{"sub": "alice"})
	}
	if len(trail) != 2 || trail[1] != "200" {
		t.Errorf("trail %v: want one 403 naming every scope needed, then 200", trail)
	}
}

// TestEndpointRequirementBeforeAnyBody: Protect authenticates a POST
// before reading its body and checks the endpoint's requirement after;
// whatever the body (no tool called, not JSON-RPC, empty, a batch, too
// large to read ahead), a token without the endpoint's scope is refused
// with 403 by the guard and the SDK never sees the request, while a token
// with it gets through.
func TestEndpointRequirementBeforeAnyBody(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s := newServer(t, iss, serverConfig{stateless: true, jsonResponse: true,
		opts: []mcpbearer.Option{mcpbearer.WithRequirement(scopes.All("mcp:connect"))}})
	without := s.mint(t, "read:data write:data", bearertest.Claims{"sub": "alice"})
	with := s.mint(t, "mcp:connect", bearertest.Claims{"sub": "alice"})
	list := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	for _, tt := range []struct{ name, body string }{
		{"tools/list", list},
		{"initialize", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`},
		{"a batch", `[` + list + `,{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}]`},
		{"not JSON", `not json`},
		{"empty", ``},
		{"too large to read ahead", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"` + strings.Repeat("x", 5<<20) + `"}}`},
	} {
		status, h, body := post(t, s, without, tt.body)
		if status != 403 || !slices.Contains(strings.Fields(challengeScope(h.Get("WWW-Authenticate"))), "mcp:connect") {
			t.Errorf("%s without the endpoint's scope: %d %q %.80q; want the guard's 403 naming mcp:connect", tt.name, status, h.Get("WWW-Authenticate"), body)
		}
	}
	if status, _, body := post(t, s, with, list); status != 200 || !strings.Contains(body, "whoami") {
		t.Errorf("tools/list with the endpoint's scope: %d %.200q", status, body)
	}
}
