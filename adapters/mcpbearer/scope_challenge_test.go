package mcpbearer_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/mcpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
)

// challengeScope returns the scope attribute of the Bearer challenge.
func challengeScope(www string) string {
	bearer, _, _ := strings.Cut(www, ", DPoP ")
	m := regexp.MustCompile(`scope="([^"]*)"`).FindStringSubmatch(bearer)
	if m == nil {
		return ""
	}
	return m[1]
}

// A client following the MCP authorization spec's step-up (the TypeScript
// SDK sets its scope to the challenge's and asks for exactly that) gets a
// token with the scope the 403 names. RFC 6750 §3.1 and MCP ("Scope
// Challenge Handling") make that the scope the request needs. The guard
// named only the scopes the token lacked, so the new token lost what the
// old one had, and the same request was refused again, for the other
// scope, for ever. It now names every scope the request needs: the
// endpoint's requirement and the refused tools', those held included.
func TestScopeChallengeNamesWhatTheRequestNeeds(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	call := func(tool string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool + `","arguments":{}}}`
	}
	for _, tt := range []struct {
		name   string
		opts   []mcpbearer.Option
		first  string // the scopes of the client's first token
		tool   string
		needed []string // the scopes the request needs
	}{
		{"tool needing two scopes", []mcpbearer.Option{mcpbearer.WithToolScopes("transfer", scopes.All("read:data", "write:data"))},
			"read:data", "transfer", []string{"read:data", "write:data"}},
		{"endpoint requirement and tool scope", []mcpbearer.Option{mcpbearer.WithRequirement(scopes.All("mcp:connect"))},
			"mcp:connect", "write_data", []string{"mcp:connect", "write:data"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, iss, serverConfig{stateless: true, jsonResponse: true, opts: tt.opts})
			tok := s.mint(t, tt.first, bearertest.Claims{"sub": "alice"})
			var trail []string
			converged := false
			for round := 0; round < 4; round++ {
				status, h, _ := post(t, s, tok, call(tt.tool))
				if status != 403 {
					converged = status == 200
					trail = append(trail, "200")
					break
				}
				scope := challengeScope(h.Get("WWW-Authenticate"))
				trail = append(trail, "403 scope="+scope)
				if round == 0 {
					got := strings.Fields(scope)
					for _, need := range tt.needed {
						if !slices.Contains(got, need) {
							t.Errorf("first 403 names scope=%q: it lacks %q, which the request needs", scope, need)
						}
					}
				}
				// The client steps up as the TypeScript SDK does: a new
				// token with exactly the challenge's scope.
				tok = s.mint(t, scope, bearertest.Claims{"sub": "alice"})
			}
			if !converged {
				t.Errorf("a client asking for the challenged scope never gets %s through: %v", tt.tool, trail)
			}
			t.Logf("trail: %v", trail)
		})
	}
}
