package mcpbearer_test

// Red-team tests (differential review of the gRPC and MCP surfaces against
// httpbearer). Each fails on the code as reviewed.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/mcpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/h2raw"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// Under Verifier, a key set (or introspection) outage is returned to the SDK
// as the UnavailableError itself, and auth.RequireBearerToken writes
// err.Error() into the 500 body: the cause ("never shown to clients",
// validator.UnavailableError) reaches any caller who sends a token naming
// the issuer, signed or not. httpbearer, Protect and grpcbearer answer the
// fixed "The token cannot be checked right now".
func TestRedteamVerifierDoesNotShowUnavailableCause(t *testing.T) {
	down := bearertest.NewIssuer(t)
	s := newServer(t, down, serverConfig{verifier: true})
	// Any token naming the issuer reaches the key lookup: a forged one does.
	forged := s.mint(t, "read:data", bearertest.Claims{"sub": "mallory"})
	forged = forged[:len(forged)-8] + "AAAAAAAA"
	down.Close() // the issuer's key set cannot be fetched
	status, _, body := post(t, s, forged, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	if status == http.StatusOK {
		t.Fatalf("accepted: %d %s", status, body)
	}
	jwksURL := strings.TrimPrefix(down.JWKSURL(), "https://")
	host := strings.TrimSuffix(jwksURL, "/jwks")
	if strings.Contains(body, host) || strings.Contains(body, "dial tcp") || strings.Contains(body, "connection refused") {
		t.Errorf("the answer to an unauthenticated caller shows the upstream failure: %d %q", status, body)
	}
}

// rtCookieClient sends its token in a cookie, beside a fixed Authorization
// header of another scheme (a site-wide Basic credential in front of the
// server, say).
type rtCookieClient struct {
	mu     sync.Mutex
	token  string
	basic  string
	status []int
}

func (c *rtCookieClient) setToken(tok string) { c.mu.Lock(); c.token = tok; c.mu.Unlock() }

func (c *rtCookieClient) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	tok := c.token
	c.mu.Unlock()
	req = req.Clone(req.Context())
	req.Header.Set("Cookie", "at="+tok)
	if c.basic != "" {
		req.Header.Set("Authorization", c.basic)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		c.mu.Lock()
		c.status = append(c.status, resp.StatusCode)
		c.mu.Unlock()
	}
	return resp, err
}

// A token naming nobody that came in a cookie (or the query, or a form) gets
// a UserID that should be a hash of its issuer and claims (WithUserID's
// documentation). Protect hashes the request's Authorization header instead
// whenever there is one, even of another scheme that carried no token: two
// different tokens naming nobody, sent beside the same "Authorization: Basic
// …" header, get one UserID, and one can use the session the other opened.
// Without that header the same two tokens are told apart (403).
func TestRedteamCookieTokenUserIDIgnoresOtherSchemeHeader(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	hs := httptest.NewUnstartedServer(nil)
	resource := "http://" + hs.Listener.Addr().String() + "/mcp"
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience(resource))
	if err != nil {
		t.Fatal(err)
	}
	guard, err := httpbearer.New(v, httpbearer.WithRealm("mcp"), httpbearer.WithCookie("at"))
	if err != nil {
		t.Fatal(err)
	}
	mg, err := mcpbearer.New(guard)
	if err != nil {
		t.Fatal(err)
	}
	ms := mcp.NewServer(&mcp.Implementation{Name: "test", Version: "v0.0.1"}, nil)
	ms.AddReceivingMiddleware(mg.Middleware())
	ms.AddTool(&mcp.Tool{Name: "whoami", InputSchema: json.RawMessage(`{"type":"object"}`)}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: req.Extra.TokenInfo.UserID}}}, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return ms }, nil)
	mux := http.NewServeMux()
	mux.Handle("/mcp", mg.Protect(h))
	hs.Config.Handler = mux
	hs.Start()
	t.Cleanup(hs.Close)

	nobody := func(jti string) string {
		return iss.Mint(t, bearertest.Claims{"aud": resource, "sub": nil, "client_id": nil, "jti": jti, "scope": "read:data"})
	}
	for _, basic := range []string{"", "Basic c2l0ZTpzaGFyZWQ="} {
		t.Run("authorization="+basic, func(t *testing.T) {
			c := &rtCookieClient{token: nobody("victim"), basic: basic}
			transport := &mcp.StreamableClientTransport{Endpoint: resource, HTTPClient: &http.Client{Transport: c}, MaxRetries: -1}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cs, err := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "v0"}, nil).Connect(ctx, transport, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			if res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}}); err != nil || res.IsError {
				t.Fatalf("the opener's call: %v", err)
			}
			c.setToken(nobody("intruder")) // another token, other claims
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
			if err == nil {
				t.Errorf("another token naming nobody used the session (UserID %q)", text(res))
			}
		})
	}
}

// A DPoP request refused for a tool's scope gets its error on the Bearer
// challenge, where httpbearer puts it on the DPoP challenge for the same
// token and requirement (RFC 9449 §7.1: the scheme the request used).
// Protect's refusal re-authorizes the request through the guard, which
// reuses the binding and reports the scheme as Bearer; a DPoP client that
// steps up reads the DPoP challenge and finds no error and no scope.
func TestRedteamToolRefusalOfDPoPRequestOnDPoPChallenge(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	hs := httptest.NewUnstartedServer(nil)
	base := "http://" + hs.Listener.Addr().String()
	resource := base + "/mcp"
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience(resource))
	if err != nil {
		t.Fatal(err)
	}
	guard, err := httpbearer.New(v, httpbearer.WithRealm("mcp"))
	if err != nil {
		t.Fatal(err)
	}
	mg, err := mcpbearer.New(guard, mcpbearer.WithToolScopes("write_data", scopes.All("write:data")))
	if err != nil {
		t.Fatal(err)
	}
	ms := mcp.NewServer(&mcp.Implementation{Name: "test", Version: "v0.0.1"}, nil)
	ms.AddReceivingMiddleware(mg.Middleware())
	ms.AddTool(&mcp.Tool{Name: "write_data", InputSchema: json.RawMessage(`{"type":"object"}`)}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{}, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return ms }, &mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true})
	mux := http.NewServeMux()
	mux.Handle("/mcp", mg.Protect(h))
	mux.Handle("/direct", guard.Require(scopes.All("write:data"), http.NotFoundHandler())) // the reference
	hs.Config.Handler = mux
	hs.Start()
	t.Cleanup(hs.Close)

	key := bearertest.MustDPoPKey(t, validator.ES256)
	tok := iss.Mint(t, bearertest.Claims{"aud": resource, "sub": "alice", "scope": "read:data"}, bearertest.BoundToKey(key))
	challenge := func(url string) (int, string) {
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_data","arguments":{}}}`
		req, _ := http.NewRequestWithContext(t.Context(), "POST", url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", key.MustProof(t, "POST", url, tok))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
	}
	refStatus, ref := challenge(base + "/direct")
	gotStatus, got := challenge(resource)
	if refStatus != http.StatusForbidden || !strings.Contains(ref, `DPoP realm="mcp", error="insufficient_scope"`) {
		t.Fatalf("reference: %d %q", refStatus, ref)
	}
	if gotStatus != refStatus || got != ref {
		t.Errorf("Protect's tool refusal of a DPoP request:\n %d %q\nhttpbearer, same token and requirement:\n %d %q", gotStatus, got, refStatus, ref)
	}
}

// rtH2Status sends one POST with a JSON body over a fresh h2c connection
// with exactly the :authority given, and reports whether the answer was
// 200.
func rtH2Status(t *testing.T, addr, authority, path string, fields [][2]string, body string) (ok200 bool) {
	t.Helper()
	return h2raw.Do(t, addr, append([][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", path}, {":authority", authority},
		{"content-type", "application/json"}, {"accept", "application/json, text/event-stream"}}, fields...), []byte(body)).Status() == "200"
}

// Over HTTP/2, Protect (through httpbearer) builds a DPoP proof's htu from
// the client's :authority unchecked: "addr/other?" moves it to
// http://addr/other, so a proof made for another path is accepted at the
// MCP endpoint. grpcbearer refuses such an :authority (finding 11).
func TestRedteamProtectCraftedAuthorityOverHTTP2(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	hs := httptest.NewUnstartedServer(nil)
	addr := hs.Listener.Addr().String()
	resource := "http://" + addr + "/mcp"
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience(resource))
	if err != nil {
		t.Fatal(err)
	}
	guard, _ := httpbearer.New(v, httpbearer.WithRealm("mcp"))
	mg, _ := mcpbearer.New(guard)
	ms := mcp.NewServer(&mcp.Implementation{Name: "test", Version: "v0.0.1"}, nil)
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return ms }, &mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true})
	mux := http.NewServeMux()
	mux.Handle("/mcp", mg.Protect(h))
	hs.Config.Handler = mux
	hs.Config.Protocols = new(http.Protocols)
	hs.Config.Protocols.SetUnencryptedHTTP2(true)
	hs.Start()
	t.Cleanup(hs.Close)

	key := bearertest.MustDPoPKey(t, validator.ES256)
	tok := iss.Mint(t, bearertest.Claims{"aud": resource, "sub": "alice", "scope": "read:data"}, bearertest.BoundToKey(key))
	const body = `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`
	if !rtH2Status(t, addr, addr, "/mcp", [][2]string{{"authorization", "DPoP " + tok}, {"dpop", key.MustProof(t, "POST", resource, tok)}}, body) {
		t.Fatal("a proof for this very request was refused")
	}
	other := key.MustProof(t, "POST", "http://"+addr+"/admin/other", tok) // made for another path
	if rtH2Status(t, addr, addr+"/admin/other?", "/mcp", [][2]string{{"authorization", "DPoP " + tok}, {"dpop", other}}, body) {
		t.Error("a proof made for /admin/other was accepted at /mcp (200)")
	}
}
