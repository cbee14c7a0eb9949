package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/bearerguard/bearerguard/adapters/mcpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/examples/exampletest"
	"github.com/bearerguard/bearerguard/examples/mcp/api"
	"github.com/bearerguard/bearerguard/examples/setup"
)

//go:embed testdata/metadata.json
var golden string

// service is the example on loopback, configured from flags as the
// command is: --issuer and --audience (the endpoint's URL), the resource
// defaulting to the audience.
type service struct {
	iss      *bearertest.Issuer
	base     string // http://127.0.0.1:port
	resource string // base + /mcp
	mdURL    string
}

func start(t *testing.T) *service {
	t.Helper()
	iss := bearertest.NewIssuer(t)
	s := &service{iss: iss}
	srv, cfg := exampletest.ServeAt(t, api.New, iss, func(base string) setup.Config {
		cfg, err := setup.Parse("mcp", []string{"--issuer", iss.URL, "--audience", base + api.Path}, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	})
	s.base, s.resource, s.mdURL = srv.URL, cfg.Resource, cfg.MetadataURL()
	if s.resource != s.base+api.Path || s.mdURL != s.base+"/.well-known/oauth-protected-resource/mcp" {
		t.Fatalf("resource %q, metadata %q", s.resource, s.mdURL)
	}
	return s
}

// recorder is the http.Client transport of the SDK's client: it adds the
// token, and records the answers' statuses and challenges.
type recorder struct {
	token string
	mu    sync.Mutex
	seen  map[int]string // status → the last WWW-Authenticate with it
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		r.mu.Lock()
		if r.seen == nil {
			r.seen = make(map[int]string)
		}
		r.seen[resp.StatusCode] = resp.Header.Get("WWW-Authenticate")
		r.mu.Unlock()
	}
	return resp, err
}

func (r *recorder) challenge(status int) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.seen[status]
	return c, ok
}

func (s *service) connect(t *testing.T, rec *recorder) (*mcp.ClientSession, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	transport := &mcp.StreamableClientTransport{Endpoint: s.resource, HTTPClient: &http.Client{Transport: rec}, MaxRetries: -1}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "example-test", Version: "v0.0.1"}, nil).Connect(ctx, transport, nil)
	if err == nil {
		t.Cleanup(func() { _ = cs.Close() })
	}
	return cs, err
}

func (s *service) challenge(code, desc, scope string) string {
	md := `resource_metadata="` + s.mdURL + `"`
	bearer := `Bearer realm="` + s.resource + `"`
	if code != "" {
		bearer += `, error="` + code + `", error_description="` + desc + `"`
	}
	if scope != "" {
		bearer += `, scope="` + scope + `"`
	}
	return bearer + ", " + md + `, DPoP realm="` + s.resource + `", algs="` + exampletest.DPoPAlgs + `", ` + md
}

// The SDK's client calls both tools with and without their scopes: a call
// without its scope is answered 403 insufficient_scope with the scope to
// step up to, and the session goes on.
func TestTools(t *testing.T) {
	s := start(t)
	for _, tt := range []struct {
		scope   string
		allowed []string
		refused []string
	}{
		{"read:data", []string{"read_data"}, []string{"write_data"}},
		{"write:data", []string{"write_data"}, []string{"read_data"}},
		{"read:data write:data", []string{"read_data", "write_data"}, nil},
		{"profile", nil, []string{"read_data", "write_data"}},
	} {
		t.Run(tt.scope, func(t *testing.T) {
			rec := &recorder{token: s.iss.Mint(t, bearertest.Claims{"aud": s.resource, "scope": tt.scope, "sub": "svc-agent", "client_id": "agent"})}
			cs, err := s.connect(t, rec)
			if err != nil {
				t.Fatal(err)
			}
			tools, err := cs.ListTools(t.Context(), nil)
			if err != nil || len(tools.Tools) != 2 {
				t.Fatalf("tools/list: %v %v", tools, err)
			}
			for _, tool := range tt.refused {
				_, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tool, Arguments: args(tool)})
				var we *jsonrpc.Error
				if !errors.As(err, &we) || we.Code != mcpbearer.CodeInsufficientScope {
					t.Errorf("%s: %v, want JSON-RPC error %d", tool, err, mcpbearer.CodeInsufficientScope)
				}
				scope := strings.TrimSuffix(tool, "_data") + ":data"
				want := s.challenge("insufficient_scope", "The access token lacks a required scope", scope)
				if got, _ := rec.challenge(403); got != want {
					t.Errorf("%s: 403 %q\n want %q", tool, got, want)
				}
			}
			for _, tool := range tt.allowed {
				res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tool, Arguments: args(tool)})
				if err != nil || res.IsError {
					t.Fatalf("%s: %v %v", tool, res, err)
				}
				var reply setup.DataReply
				b, _ := json.Marshal(res.StructuredContent)
				if json.Unmarshal(b, &reply) != nil || reply.Subject != "svc-agent" || reply.ClientID != "agent" ||
					!slices.Equal(reply.Scopes, strings.Fields(tt.scope)) || reply.Stored != (tool == "write_data") {
					t.Errorf("%s: %s", tool, b)
				}
			}
		})
	}
}

// args are a tool's arguments.
func args(tool string) map[string]any {
	if tool == "write_data" {
		return map[string]any{"value": "v"}
	}
	return map[string]any{}
}

// Without a token the client gets 401 with resource_metadata, and the
// document at that URL is the golden one and passes the SDK's own
// discovery checks for the endpoint; a token for another audience, or an
// expired one, is refused; /healthz is open.
func TestRefused(t *testing.T) {
	s := start(t)
	for _, tt := range []struct {
		name, token, challenge string
	}{
		{"no token", "", s.challenge("", "", "")},
		{"another audience", s.iss.Mint(t, bearertest.Claims{"aud": "https://other.example.com/mcp", "scope": "read:data write:data"}),
			s.challenge("invalid_token", "The access token is not meant for this resource", "")},
		{"the audience without its path", s.iss.Mint(t, bearertest.Claims{"aud": s.base, "scope": "read:data"}),
			s.challenge("invalid_token", "The access token is not meant for this resource", "")},
		{"expired", s.iss.Mint(t, bearertest.Claims{"aud": s.resource, "scope": "read:data"}, bearertest.ExpiresIn(-time.Hour)),
			s.challenge("invalid_token", "The access token expired", "")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{token: tt.token}
			if _, err := s.connect(t, rec); err == nil {
				t.Fatal("connected")
			}
			if got, _ := rec.challenge(401); got != tt.challenge {
				t.Errorf("401 %q\n want %q", got, tt.challenge)
			}
		})
	}

	rec := &recorder{}
	_, _ = s.connect(t, rec)
	c, _ := rec.challenge(401)
	mdURL := exampletest.ChallengeParam(c, "resource_metadata")
	resp, err := http.Get(mdURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := exampletest.Golden(golden, s.resource, s.iss.URL)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || string(body) != want {
		t.Errorf("GET %s: %d\n%s\nwant\n%s", mdURL, resp.StatusCode, body, want)
	}
	prm, err := oauthex.GetProtectedResourceMetadata(t.Context(), mdURL, s.resource, http.DefaultClient)
	if err != nil || !slices.Equal(prm.AuthorizationServers, []string{s.iss.URL}) || !slices.Equal(prm.ScopesSupported, []string{"read:data", "write:data"}) {
		t.Errorf("the SDK's discovery: %+v, %v", prm, err)
	}

	resp, err = http.Get(s.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /healthz: %d", resp.StatusCode)
	}
}

func TestNeedsResource(t *testing.T) {
	_, _, err := api.New(setup.Config{Issuer: "https://id.example.com/", Audience: "orders"}, nil)
	if err == nil || !strings.Contains(err.Error(), "--resource") {
		t.Errorf("without a resource: %v", err)
	}
}

// Without an issuer (--introspection-only makes it optional), MCP clients
// could not find the authorization server; query tokens are forbidden by
// MCP. Both are refused at start.
func TestNeedsIssuerRefusesQueryTokens(t *testing.T) {
	const resource = "https://mcp.example.com/mcp"
	for _, tt := range []struct {
		cfg  setup.Config
		want string
	}{
		{setup.Config{Resource: resource, Audience: resource, IntrospectionOnly: true, IntrospectionURL: "https://id.example.com/introspect", ClientID: "c", ClientSecret: "s"}, "--issuer"},
		{setup.Config{Issuer: "https://id.example.com/", Resource: resource, Audience: resource, AllowQueryToken: true}, "--allow-query-token"},
	} {
		if _, _, err := api.New(tt.cfg, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("api.New(%+v) = %v, want an error naming %s", tt.cfg, err, tt.want)
		}
	}
}
