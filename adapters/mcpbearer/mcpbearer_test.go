package mcpbearer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/mcpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/resourcemeta"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// dpopAlgs is the "algs" attribute of every DPoP challenge: the default.
var dpopAlgs = func() string {
	var algs []string
	for _, a := range validator.DefaultAlgorithms {
		algs = append(algs, string(a))
	}
	return strings.Join(algs, " ")
}()

// server is an MCP server on loopback protected by mcpbearer, with three
// tools: read_data (read:data), write_data (write:data), and whoami (any
// valid token), which reports what its handler sees.
type server struct {
	iss      *bearertest.Issuer
	srv      *httptest.Server
	resource string // the MCP endpoint's URL, the validator's audience
	md       *resourcemeta.Document
	retries  int // the client's MaxRetries; 0: none (-1 to the SDK)
}

type serverConfig struct {
	stateless, jsonResponse bool
	verifier                bool // auth.RequireBearerToken with Guard.Verifier instead of Protect
	maxBody                 int64
	opts                    []mcpbearer.Option
	validator               []validator.Option
}

// whoami is what the whoami tool's handler sees.
type whoami struct {
	FromContext     []string       `json:"from_context"`       // mcpbearer.TokenFromContext
	FromRequest     []string       `json:"from_request"`       // mcpbearer.Token(req)
	ValidatorCtx    []string       `json:"validator_ctx"`      // validator.FromContext(ctx)
	SDKContext      []string       `json:"sdk_context"`        // auth.TokenInfoFromContext(ctx): the session's first request's
	UserID          string         `json:"user_id"`            // req.Extra.TokenInfo.UserID
	Expiration      int64          `json:"expiration"`         // req.Extra.TokenInfo.Expiration
	Claims          map[string]any `json:"claims"`             // req.Extra.TokenInfo.Extra, less the token
	TokenInExtraKey bool           `json:"token_in_extra_key"` // Extra[TokenExtraKey] is the *validator.Token
}

func scopesOf(tok *validator.Token, ok bool) []string {
	if !ok {
		return nil
	}
	return tok.Scopes.List()
}

func newServer(t testing.TB, iss *bearertest.Issuer, c serverConfig) *server {
	t.Helper()
	hs := httptest.NewUnstartedServer(nil)
	s := &server{iss: iss, srv: hs, resource: "http://" + hs.Listener.Addr().String() + "/mcp"}
	keys := iss.KeySet(t)
	v, err := validator.New(append([]validator.Option{validator.WithIssuer(iss.URL, keys), validator.WithAudience(s.resource)}, c.validator...)...)
	if err != nil {
		t.Fatal(err)
	}
	s.md, err = resourcemeta.New(s.resource, resourcemeta.WithAuthorizationServers(iss.URL),
		resourcemeta.WithScopes("read:data", "write:data"), resourcemeta.FromValidator(v))
	if err != nil {
		t.Fatal(err)
	}
	guard, err := httpbearer.New(v, httpbearer.WithRealm("mcp"), httpbearer.WithResourceMetadata(s.md.URL()))
	if err != nil {
		t.Fatal(err)
	}
	mg, err := mcpbearer.New(guard, append([]mcpbearer.Option{
		mcpbearer.WithToolScopes("read_data", scopes.All("read:data")),
		mcpbearer.WithToolScopes("write_data", scopes.All("write:data")),
	}, c.opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ms := mcp.NewServer(&mcp.Implementation{Name: "test", Version: "v0.0.1"}, nil)
	ms.AddReceivingMiddleware(mg.Middleware())
	for _, name := range []string{"read_data", "write_data"} {
		ms.AddTool(&mcp.Tool{Name: name, InputSchema: json.RawMessage(`{"type":"object"}`)}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			tok, _ := mcpbearer.TokenFromContext(ctx)
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name + " by " + tok.Subject}}}, nil
		})
	}
	ms.AddTool(&mcp.Tool{Name: "whoami", InputSchema: json.RawMessage(`{"type":"object"}`)}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var w whoami
		w.FromContext = scopesOf(mcpbearer.TokenFromContext(ctx))
		w.FromRequest = scopesOf(mcpbearer.Token(req))
		w.ValidatorCtx = scopesOf(validator.FromContext(ctx))
		if ti := auth.TokenInfoFromContext(ctx); ti != nil {
			w.SDKContext = ti.Scopes
		}
		if ti := req.Extra.TokenInfo; ti != nil {
			w.UserID, w.Expiration = ti.UserID, ti.Expiration.Unix()
			w.Claims = make(map[string]any)
			for k, v := range ti.Extra {
				if k == mcpbearer.TokenExtraKey {
					_, w.TokenInExtraKey = v.(*validator.Token)
					continue
				}
				w.Claims[k] = v
			}
		}
		b, _ := json.Marshal(w)
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}}, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return ms },
		&mcp.StreamableHTTPOptions{Stateless: c.stateless, JSONResponse: c.jsonResponse, MaxRequestBodyBytes: c.maxBody})
	mux := http.NewServeMux()
	mux.Handle(s.md.Path(), s.md)
	if c.verifier {
		mux.Handle("/mcp", auth.RequireBearerToken(mg.Verifier(), &auth.RequireBearerTokenOptions{ResourceMetadataURL: s.md.URL()})(h))
	} else {
		mux.Handle("/mcp", mg.Protect(h))
	}
	hs.Config.Handler = mux
	hs.Start()
	t.Cleanup(hs.Close)
	return s
}

// mint returns a token for the server's resource with the given scope and
// claims over the issuer's defaults.
func (s *server) mint(t testing.TB, scope string, claims bearertest.Claims, opts ...bearertest.MintOption) string {
	all := bearertest.Claims{"aud": s.resource, "scope": scope}
	for k, v := range claims {
		all[k] = v
	}
	return s.iss.Mint(t, all, opts...)
}

// exchange is an HTTP exchange the client made.
type exchange struct {
	method    string
	status    int
	challenge string
}

// client is the SDK's client over streamable HTTP, with an http.Client
// that adds the current token (Bearer, or DPoP with a fresh proof) and
// records every exchange.
type client struct {
	mu        sync.Mutex
	token     string
	dpop      *bearertest.DPoPKey
	exchanges []exchange
	base      http.RoundTripper
	t         testing.TB
}

func (c *client) setToken(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = tok
}

func (c *client) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	tok, key := c.token, c.dpop
	c.mu.Unlock()
	req = req.Clone(req.Context())
	switch {
	case tok == "":
	case key != nil:
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", key.MustProof(c.t, req.Method, req.URL.String(), tok))
	default:
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.base.RoundTrip(req)
	if err == nil {
		c.mu.Lock()
		c.exchanges = append(c.exchanges, exchange{req.Method, resp.StatusCode, resp.Header.Get("WWW-Authenticate")})
		c.mu.Unlock()
	}
	return resp, err
}

// last returns the last exchange with the given status.
func (c *client) last(status int) (exchange, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.exchanges) - 1; i >= 0; i-- {
		if c.exchanges[i].status == status {
			return c.exchanges[i], true
		}
	}
	return exchange{}, false
}

func (s *server) connect(t testing.TB, c *client) (*mcp.ClientSession, error) {
	t.Helper()
	c.t = t
	c.base = http.DefaultTransport
	retries := s.retries
	if retries == 0 {
		retries = -1
	}
	transport := &mcp.StreamableClientTransport{Endpoint: s.resource, HTTPClient: &http.Client{Transport: c}, MaxRetries: retries}
	mc := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "v0.0.1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := mc.Connect(ctx, transport, nil)
	if err == nil {
		t.Cleanup(func() { _ = cs.Close() })
	}
	return cs, err
}

func call(t testing.TB, cs *mcp.ClientSession, tool string) (*mcp.CallToolResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: map[string]any{}})
}

func text(r *mcp.CallToolResult) string {
	if r == nil || len(r.Content) != 1 {
		return ""
	}
	if tc, ok := r.Content[0].(*mcp.TextContent); ok {
		return tc.Text
	}
	return ""
}

// The SDK's client calls tools through Protect: allowed with the tool's
// scope, refused with HTTP 403 insufficient_scope and the guard's
// challenge without it, after which the session keeps working; in
// stateful and stateless mode.
func TestToolScopes(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	for _, mode := range []serverConfig{{}, {stateless: true}, {stateless: true, jsonResponse: true}} {
		s := newServer(t, iss, mode)
		for _, tt := range []struct {
			scope   string
			allowed []string
			refused []string
		}{
			{"read:data", []string{"read_data", "whoami"}, []string{"write_data"}},
			{"write:data", []string{"write_data"}, []string{"read_data"}},
			{"read:data write:data", []string{"read_data", "write_data"}, nil},
			{"profile", []string{"whoami"}, []string{"read_data", "write_data"}},
		} {
			name := tt.scope
			if mode.stateless {
				name += " stateless"
			}
			if mode.jsonResponse {
				name += " json"
			}
			t.Run(name, func(t *testing.T) {
				c := &client{token: s.mint(t, tt.scope, bearertest.Claims{"sub": "alice"})}
				cs, err := s.connect(t, c)
				if err != nil {
					t.Fatal(err)
				}
				for _, tool := range tt.refused {
					res, err := call(t, cs, tool)
					var we *jsonrpc.Error
					if err == nil || !errors.As(err, &we) || we.Code != mcpbearer.CodeInsufficientScope || !strings.Contains(we.Message, "insufficient_scope") {
						t.Errorf("%s: %v %v, want a JSON-RPC error %d", tool, text(res), err, mcpbearer.CodeInsufficientScope)
					}
					need := strings.TrimSuffix(tool, "_data") + ":data"
					want := `Bearer realm="mcp", error="insufficient_scope", error_description="The access token lacks a required scope", scope="` + need +
						`", resource_metadata="` + s.md.URL() + `", DPoP realm="mcp", algs="` + dpopAlgs + `", resource_metadata="` + s.md.URL() + `"`
					if ex, ok := c.last(403); !ok || ex.challenge != want {
						t.Errorf("%s: 403 challenge %q\n want %q", tool, ex.challenge, want)
					}
				}
				for _, tool := range tt.allowed {
					res, err := call(t, cs, tool)
					if err != nil || res.IsError || (tool != "whoami" && text(res) != tool+" by alice") {
						t.Errorf("%s: %q %v", tool, text(res), err)
					}
				}
			})
		}
	}
}

// Without a token, or with one for another resource, expired or forged,
// the client cannot connect; the 401 names the metadata document, which
// the SDK's own discovery accepts for the endpoint.
func TestRefusedTokens(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s := newServer(t, iss, serverConfig{})
	valid := s.mint(t, "read:data", nil)
	mdAttr := `resource_metadata="` + s.md.URL() + `"`
	for _, tt := range []struct {
		name, token, challenge string
	}{
		{"no token", "", `Bearer realm="mcp", ` + mdAttr + `, DPoP realm="mcp", algs="` + dpopAlgs + `", ` + mdAttr},
		{"another resource", iss.Mint(t, bearertest.Claims{"aud": "https://other.example.com/mcp", "scope": "read:data"}),
			`Bearer realm="mcp", error="invalid_token", error_description="The access token is not meant for this resource", ` + mdAttr + `, DPoP realm="mcp", algs="` + dpopAlgs + `", ` + mdAttr},
		{"expired", s.mint(t, "read:data", nil, bearertest.ExpiresIn(-time.Hour)),
			`Bearer realm="mcp", error="invalid_token", error_description="The access token expired", ` + mdAttr + `, DPoP realm="mcp", algs="` + dpopAlgs + `", ` + mdAttr},
		{"forged", valid[:len(valid)-4] + "AAAA",
			`Bearer realm="mcp", error="invalid_token", error_description="The access token signature is invalid", ` + mdAttr + `, DPoP realm="mcp", algs="` + dpopAlgs + `", ` + mdAttr},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &client{token: tt.token}
			if _, err := s.connect(t, c); err == nil {
				t.Fatal("connected")
			}
			ex, ok := c.last(401)
			if !ok || ex.challenge != tt.challenge {
				t.Errorf("challenge %q\n want %q", ex.challenge, tt.challenge)
			}
		})
	}
	prm, err := oauthex.GetProtectedResourceMetadata(t.Context(), s.md.URL(), s.resource, http.DefaultClient)
	if err != nil || !slices.Equal(prm.AuthorizationServers, []string{iss.URL}) || !slices.Equal(prm.ScopesSupported, []string{"read:data", "write:data"}) {
		t.Errorf("metadata %+v, %v", prm, err)
	}
}

// In a stateful session the SDK runs handlers in the context of the
// session's first request: Middleware gives each handler its own
// request's token, and the session stays bound to its user.
func TestTokenPerRequest(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s := newServer(t, iss, serverConfig{})
	first := s.mint(t, "profile", bearertest.Claims{"sub": "alice", "tenant": "acme"})
	c := &client{token: first}
	cs, err := s.connect(t, c)
	if err != nil {
		t.Fatal(err)
	}
	see := func() whoami {
		t.Helper()
		res, err := call(t, cs, "whoami")
		var w whoami
		if err != nil || json.Unmarshal([]byte(text(res)), &w) != nil {
			t.Fatalf("whoami: %q %v", text(res), err)
		}
		return w
	}
	w := see()
	if w.UserID != `sub "alice" iss "`+iss.URL+`"` || w.Claims["tenant"] != "acme" || w.Claims["sub"] != "alice" || !w.TokenInExtraKey || w.Expiration < time.Now().Unix() {
		t.Errorf("token info: %+v", w)
	}
	c.setToken(s.mint(t, "profile read:data", bearertest.Claims{"sub": "alice"}))
	w = see()
	want := []string{"profile", "read:data"}
	if !slices.Equal(w.FromContext, want) || !slices.Equal(w.FromRequest, want) || !slices.Equal(w.ValidatorCtx, want) {
		t.Errorf("second request: handler sees %+v, want %v", w, want)
	}
	// The SDK's own context lookup still sees the first request's token:
	// the reason handlers must not use it.
	// If this changes, the package documentation's warning can go.
	if !slices.Equal(w.SDKContext, []string{"profile"}) {
		t.Errorf("auth.TokenInfoFromContext in a handler: %v, want the first request's [profile]", w.SDKContext)
	}
	if res, err := call(t, cs, "read_data"); err != nil || text(res) != "read_data by alice" {
		t.Errorf("read_data with the new token: %q %v", text(res), err)
	}
	c.setToken(s.mint(t, "read:data", bearertest.Claims{"sub": "mallory"}))
	if _, err := call(t, cs, "whoami"); err == nil {
		t.Error("another user's token was accepted in alice's session")
	}
	if ex, ok := c.last(403); !ok || ex.challenge != "" {
		t.Errorf("session hijack: %+v, want the SDK's 403", ex)
	}
}

// A stateful session is bound to one principal: the SDK refuses a request
// in it whose UserID differs, and binds nothing when the UserID is empty.
// So no token can name nobody, a client and a user never share a UserID,
// and neither do subjects of two issuers (red-team findings).
func TestSessionBinding(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	other := bearertest.NewIssuer(t)
	for _, c := range []struct {
		name           string
		opts           []mcpbearer.Option
		opener, intrud bearertest.Claims
		intruderIssuer *bearertest.Issuer
	}{
		{name: "a token naming nobody",
			opener: bearertest.Claims{"sub": nil, "client_id": nil}, intrud: bearertest.Claims{"sub": "mallory"}},
		{name: "another token naming nobody",
			opener: bearertest.Claims{"sub": nil, "client_id": nil}, intrud: bearertest.Claims{"sub": nil, "client_id": nil, "jti": "other"}},
		{name: "a client named as the user",
			opener: bearertest.Claims{"sub": "alice", "client_id": "webapp"}, intrud: bearertest.Claims{"sub": nil, "client_id": "alice"}},
		{name: "the same subject from another issuer",
			opener: bearertest.Claims{"sub": "1001"}, intrud: bearertest.Claims{"sub": "1001"}, intruderIssuer: other},
		{name: "WithUserID giving an empty UserID", opts: []mcpbearer.Option{mcpbearer.WithUserID(func(*validator.Token) string { return "" })},
			opener: bearertest.Claims{"sub": "alice"}, intrud: bearertest.Claims{"sub": "mallory"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newServer(t, iss, serverConfig{opts: c.opts, validator: []validator.Option{validator.WithIssuer(other.URL, other.KeySet(t))}})
			cl, cs := openSession(t, s, s.mint(t, "read:data", c.opener))
			// The opener's next token keeps the session when the opener is
			// named (a subject or a client); a token naming nobody, or an
			// empty custom UserID, binds the session to that token alone.
			cl.setToken(s.mint(t, "read:data", c.opener))
			res, err := call(t, cs, "read_data")
			if named := c.opts == nil && (c.opener["sub"] != nil || c.opener["client_id"] != nil); named != (err == nil) {
				t.Fatalf("the opener's next token (named %v): %q %v", named, text(res), err)
			}
			cl.setToken(s.mint(t, "read:data", c.opener))
			ti := c.intruderIssuer
			if ti == nil {
				ti = iss
			}
			all := bearertest.Claims{"aud": s.resource, "scope": "read:data"}
			for k, v := range c.intrud {
				all[k] = v
			}
			intrude(t, cl, cs, ti.Mint(t, all))
		})
	}
}

// openSession connects a client with token and has it call a tool.
func openSession(t *testing.T, s *server, token string) (*client, *mcp.ClientSession) {
	t.Helper()
	cl := &client{token: token}
	cs, err := s.connect(t, cl)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := call(t, cs, "read_data"); err != nil || res.IsError {
		t.Fatalf("the opener's own call: %q %v", text(res), err)
	}
	return cl, cs
}

// intrude calls a tool in cl's session with another principal's token: the
// SDK must answer 403.
func intrude(t *testing.T, cl *client, cs *mcp.ClientSession, token string) {
	t.Helper()
	cl.setToken(token)
	if res, err := call(t, cs, "read_data"); err == nil {
		t.Fatalf("another principal used the session: %q", text(res))
	}
	if ex, ok := cl.last(403); !ok || ex.challenge != "" {
		t.Errorf("want the SDK's 403 for the intruder, got %+v", ex)
	}
}

// Two tokens naming nobody whose claims are the same to the byte (no jti,
// the same iat and exp; ES256 signatures differ) are two principals: the
// session one opens is refused to the other (red-team finding).
func TestSessionBindingIdenticalClaims(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	for _, cfg := range []serverConfig{{}, {verifier: true}} {
		t.Run(fmt.Sprintf("verifier=%v", cfg.verifier), func(t *testing.T) {
			s := newServer(t, iss, cfg)
			now := time.Now().Unix()
			claims := bearertest.Claims{"sub": nil, "client_id": nil, "jti": nil, "iat": now, "exp": now + 3600}
			opener := s.mint(t, "read:data", claims, bearertest.WithAlgorithm(validator.ES256))
			intruder := s.mint(t, "read:data", claims, bearertest.WithAlgorithm(validator.ES256))
			if opener == intruder {
				t.Fatal("the two tokens are one")
			}
			cl, cs := openSession(t, s, opener)
			intrude(t, cl, cs, intruder)
		})
	}
}

// A DPoP-bound token works with a proof per request, and is refused as a
// Bearer token: the guard's binding checks apply to MCP requests.
func TestDPoP(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s := newServer(t, iss, serverConfig{})
	key := bearertest.MustDPoPKey(t, validator.ES256)
	bound := s.mint(t, "read:data", bearertest.Claims{"sub": "alice"}, bearertest.BoundToKey(key))
	cs, err := s.connect(t, &client{token: bound, dpop: key})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := call(t, cs, "read_data"); err != nil || text(res) != "read_data by alice" {
		t.Errorf("read_data: %q %v", text(res), err)
	}
	c := &client{token: bound}
	if _, err := s.connect(t, c); err == nil {
		t.Error("a DPoP-bound token was accepted as a Bearer token")
	}
	if ex, _ := c.last(401); !strings.Contains(ex.challenge, `error="invalid_token"`) {
		t.Errorf("bound token as Bearer: %+v", ex)
	}
}

// WithRequirement applies to every request to the endpoint.
func TestRequirement(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s := newServer(t, iss, serverConfig{opts: []mcpbearer.Option{mcpbearer.WithRequirement(scopes.All("mcp"))}})
	c := &client{token: s.mint(t, "read:data", nil)}
	if _, err := s.connect(t, c); err == nil {
		t.Fatal("connected without the endpoint's scope")
	}
	if ex, _ := c.last(403); !strings.Contains(ex.challenge, `scope="mcp"`) {
		t.Errorf("challenge %+v", ex)
	}
	if _, err := s.connect(t, &client{token: s.mint(t, "mcp read:data", nil)}); err != nil {
		t.Error(err)
	}
}

// Where Protect does not check tool scopes (the SDK's own middleware with
// Verifier, or a body too large to read ahead), Middleware refuses the
// call with a tool error before the tool runs.
func TestMiddlewareBackstop(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	refusedBy := func(t *testing.T, cs *mcp.ClientSession) {
		t.Helper()
		res, err := call(t, cs, "write_data")
		if err != nil || !res.IsError || text(res) != `insufficient_scope: tool "write_data" needs the scope write:data` {
			t.Errorf("write_data: %q %v", text(res), err)
		}
		if res, err := call(t, cs, "read_data"); err != nil || res.IsError {
			t.Errorf("read_data: %q %v", text(res), err)
		}
	}
	t.Run("verifier", func(t *testing.T) {
		s := newServer(t, iss, serverConfig{verifier: true})
		cs, err := s.connect(t, &client{token: s.mint(t, "read:data", bearertest.Claims{"sub": "alice", "tenant": "acme"})})
		if err != nil {
			t.Fatal(err)
		}
		refusedBy(t, cs)
		res, _ := call(t, cs, "whoami")
		var w whoami
		if json.Unmarshal([]byte(text(res)), &w) != nil || w.UserID != `sub "alice" iss "`+iss.URL+`"` || w.Claims["tenant"] != "acme" || !slices.Equal(w.FromContext, []string{"read:data"}) {
			t.Errorf("whoami under Verifier: %q", text(res))
		}
	})
	t.Run("large body", func(t *testing.T) {
		s := newServer(t, iss, serverConfig{stateless: true, jsonResponse: true, maxBody: 2 * mcp.DefaultMaxRequestBodyBytes})
		tok := s.mint(t, "read:data", nil)
		pad := strings.Repeat("x", mcp.DefaultMaxRequestBodyBytes)
		status, _, body := post(t, s, tok, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"write_data","arguments":{"pad":"`+pad+`"}}}`)
		if status != 200 || !strings.Contains(body, `"isError":true`) || !strings.Contains(body, "insufficient_scope") {
			t.Errorf("large tools/call: %d %.200s", status, body)
		}
	})
}

// post sends one raw JSON-RPC POST to the endpoint.
func post(t *testing.T, s *server, token, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", s.resource, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// The HTTP answers to raw JSON-RPC requests: 403 with one error response
// per refused call of a batch; requests Protect cannot decode reach the
// SDK, which answers them.
func TestRawRequests(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s := newServer(t, iss, serverConfig{stateless: true, jsonResponse: true})
	read := s.mint(t, "read:data", nil)
	call := func(id int, tool string) string {
		return `{"jsonrpc":"2.0","id":` + string(rune('0'+id)) + `,"method":"tools/call","params":{"name":"` + tool + `","arguments":{}}}`
	}
	for _, tt := range []struct {
		name, body string
		status     int
		wantBody   string
	}{
		{"refused call", call(1, "write_data"), 403,
			`{"jsonrpc":"2.0","id":1,"error":{"code":403,"message":"insufficient_scope: tool \"write_data\" needs the scope write:data","data":{"error":"insufficient_scope","scope":"write:data"}}}` + "\n"},
		{"batch", "[" + call(1, "read_data") + "," + call(2, "write_data") + "," + call(3, "write_data") + "]", 403,
			`[{"jsonrpc":"2.0","id":1,"error":{"code":403,"message":"insufficient_scope: not run: another call of this batch was refused"}},` +
				`{"jsonrpc":"2.0","id":2,"error":{"code":403,"message":"insufficient_scope: tool \"write_data\" needs the scope write:data","data":{"error":"insufficient_scope","scope":"write:data"}}},` +
				`{"jsonrpc":"2.0","id":3,"error":{"code":403,"message":"insufficient_scope: tool \"write_data\" needs the scope write:data","data":{"error":"insufficient_scope","scope":"write:data"}}}]` + "\n"},
		// A batch is answered with an array, even of one (JSON-RPC 2.0 §6),
		// and every request of it gets an answer, once per id; a
		// notification, and a message the SDK would refuse, none.
		{"batch with a repeated id and a message of another version", "[" + call(1, "write_data") + "," + call(2, "read_data") + "," + call(2, "read_data") +
			`,{"jsonrpc":"1.0","id":3,"method":"ping"}]`, 403,
			`[{"jsonrpc":"2.0","id":1,"error":{"code":403,"message":"insufficient_scope: tool \"write_data\" needs the scope write:data","data":{"error":"insufficient_scope","scope":"write:data"}}},` +
				`{"jsonrpc":"2.0","id":2,"error":{"code":403,"message":"insufficient_scope: not run: another call of this batch was refused"}}]` + "\n"},
		{"batch of one refused call, and a notification", "[" + call(1, "write_data") + `,{"jsonrpc":"2.0","method":"notifications/progress","params":{}}]`, 403,
			`[{"jsonrpc":"2.0","id":1,"error":{"code":403,"message":"insufficient_scope: tool \"write_data\" needs the scope write:data","data":{"error":"insufficient_scope","scope":"write:data"}}}]` + "\n"},
		// The SDK ignores what follows the first JSON value: so does
		// Protect, which skipped such a call and let it reach the SDK
		// (SECURITY.md 109).
		{"refused call, data after it", call(1, "write_data") + " x", 403, ""},
		{"refused call, a second one after it", call(1, "write_data") + call(2, "read_data"), 403, ""},
		{"batch, data after it", "[" + call(1, "write_data") + "]]", 403, ""},
		// Members in another case are other members to the SDK, and now
		// to Protect too: encoding/json matched them, and one of another
		// type, or the last of two, hid the call from Protect
		// (SECURITY.md 110).
		{"refused call, Method beside method", `{"jsonrpc":"2.0","id":1,"method":"tools/call","Method":"ping","params":{"name":"write_data"}}`, 403, ""},
		{"refused call, METHOD of another type", `{"jsonrpc":"2.0","id":1,"method":"tools/call","METHOD":1,"params":{"name":"write_data"}}`, 403, ""},
		{"refused call, ID of another type", `{"jsonrpc":"2.0","id":1,"ID":{},"method":"tools/call","params":{"name":"write_data"}}`, 403, ""},
		{"refused call, Params after params", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_data"},"Params":{"name":"x"}}`, 403, ""},
		{"refused call, a folded params after params", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_data"},"param\u017f":{"name":"x"}}`, 403, ""},
		{"refused call, NAME of another type", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_data","NAME":7}}`, 403, ""},
		// A later "name": null leaves the SDK's string as it was: Protect
		// read the null and let the call reach its tool (SECURITY.md 140).
		{"refused call, a null name after it", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_data","arguments":{},"name":null}}`, 403, ""},
		{"refused call in a batch, a null name after it", `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_data","name":null}}]`, 403, ""},
		{"allowed call", call(1, "read_data"), 200, ""},
		{"not JSON", "{", 400, ""},
		{"unknown tool", call(1, "nope"), 200, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := post(t, s, read, tt.body)
			if status != tt.status || (tt.wantBody != "" && body != tt.wantBody) {
				t.Errorf("%d %s\n want %d %s", status, body, tt.status, tt.wantBody)
			}
			wantScope := `scope="write:data"`
			if r, w := strings.Index(tt.body, "read_data"), strings.Index(tt.body, "write_data"); r >= 0 && strings.HasPrefix(tt.body, "[") {
				// Every scope the whole batch needs, in the order its calls name them.
				wantScope = `scope="read:data write:data"`
				if w < r {
					wantScope = `scope="write:data read:data"`
				}
			}
			if status == 403 && (h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" || !strings.Contains(h.Get("WWW-Authenticate"), wantScope)) {
				t.Errorf("403 headers %v", h)
			}
		})
	}
}

func TestNew(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience("https://mcp.example.com/mcp"))
	if err != nil {
		t.Fatal(err)
	}
	guard, _ := httpbearer.New(v)
	_, err = mcpbearer.New(nil, mcpbearer.WithToolScopes("", scopes.All("a")), mcpbearer.WithToolScopes("x", scopes.Requirement{}),
		mcpbearer.WithToolScopes("y", scopes.All("a")), mcpbearer.WithToolScopes("y", scopes.All("b")), mcpbearer.WithUserID(nil),
		// A second requirement silently replaced the first: a token
		// without "mcp" opened a session.
		mcpbearer.WithRequirement(scopes.All("mcp")), mcpbearer.WithRequirement(scopes.Requirement{}))
	for _, want := range []string{"nil guard", "empty tool name", `("x"): no scope required`, `("y"): tool given twice`, "WithUserID", "WithRequirement given twice"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	// Names no tool is called by (a space from a config file): the tool
	// meant was left to any valid token (SECURITY.md 104).
	for _, name := range []string{"whoami ", " whoami", "who ami", "whoami\n", "whoami\t", "who\x00ami", "who\u00a0ami", "who\xffami",
		"\ufeffwhoami", "who\u200bami", "who\u2060ami", "who\u00adami"} {
		if _, err := mcpbearer.New(guard, mcpbearer.WithToolScopes(name, scopes.All("admin"))); err == nil || !strings.Contains(err.Error(), "white space, control or format characters") {
			t.Errorf("WithToolScopes(%q): %v", name, err)
		}
	}
	for _, name := range []string{"write_data", "files/read", "ns:tool", "données", "a.b-c"} {
		if _, err := mcpbearer.New(guard, mcpbearer.WithToolScopes(name, scopes.All("admin"))); err != nil {
			t.Errorf("WithToolScopes(%q): %v", name, err)
		}
	}
	g, err := mcpbearer.New(guard, mcpbearer.WithRequirement(scopes.All("mcp")),
		mcpbearer.WithToolScopes("a", scopes.All("read:data")), mcpbearer.WithToolScopes("b", scopes.Any("write:data", "mcp")),
		mcpbearer.WithUserID(func(tok *validator.Token) string { return tok.Issuer + "#" + tok.Subject }))
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Scopes(); !slices.Equal(got, []string{"mcp", "read:data", "write:data"}) {
		t.Errorf("Scopes() = %v", got)
	}
	tok, err := v.Validate(t.Context(), iss.Mint(t, bearertest.Claims{"aud": "https://mcp.example.com/mcp", "scope": "read:data", "sub": "alice", "tenant": "acme"}))
	if err != nil {
		t.Fatal(err)
	}
	ti := g.TokenInfo(tok)
	if ti.UserID != iss.URL+"#alice" || !slices.Equal(ti.Scopes, []string{"read:data"}) || !ti.Expiration.Equal(tok.Expiry) || ti.Extra["tenant"] != "acme" || ti.Extra[mcpbearer.TokenExtraKey] != tok {
		t.Errorf("TokenInfo %+v", ti)
	}
	g, _ = mcpbearer.New(guard)
	noSub, _ := v.Validate(t.Context(), iss.Mint(t, bearertest.Claims{"aud": "https://mcp.example.com/mcp", "sub": nil, "client_id": "billing"}))
	if id := g.TokenInfo(noSub).UserID; id != `client "billing" iss "`+iss.URL+`"` {
		t.Errorf("UserID without sub: %q", id)
	}
}

// Verifier's errors tell the SDK's middleware which status to answer.
func TestVerifier(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	const aud = "https://mcp.example.com/mcp"
	v, _ := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience(aud))
	guard, _ := httpbearer.New(v)
	g, _ := mcpbearer.New(guard)
	verify := g.Verifier()
	for _, tt := range []struct {
		name, header string
		want         error
	}{
		{"valid", "Bearer " + iss.Mint(t, bearertest.Claims{"aud": aud}), nil},
		{"wrong audience", "Bearer " + iss.Mint(t, bearertest.Claims{"aud": "other"}), auth.ErrInvalidToken},
		{"malformed", "Bearer a b", auth.ErrOAuth},
		{"dpop-bound as bearer", "Bearer " + iss.Mint(t, bearertest.Claims{"aud": aud}, bearertest.BoundToKey(bearertest.MustDPoPKey(t, validator.ES256))), auth.ErrInvalidToken},
	} {
		req := httptest.NewRequest("POST", aud, nil)
		req.Header.Set("Authorization", tt.header)
		ti, err := verify(t.Context(), "", req)
		if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) || (err == nil && ti.UserID != `sub "test-client" iss "`+iss.URL+`"`) {
			t.Errorf("%s: %+v, %v; want %v", tt.name, ti, err, tt.want)
		}
	}
}

// countingBody records how much of a request body was read.
type countingBody struct {
	r io.Reader
	n int
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func (c *countingBody) Close() error { return nil }

// An unauthenticated caller cannot make Protect read (and buffer) a body:
// the guard answers before the per-tool read-ahead.
func TestNoReadAheadBeforeAuthentication(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s := newServer(t, iss, serverConfig{stateless: true, jsonResponse: true})
	for _, token := range []string{"", "forged.token.value"} {
		body := &countingBody{r: strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_data"}}` + strings.Repeat(" ", 4<<20))}
		req := httptest.NewRequest("POST", s.resource, nil)
		req.Body = body
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		s.srv.Config.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized || body.n != 0 {
			t.Errorf("token %q: %d after reading %d body bytes, want 401 and none", token, rec.Code, body.n)
		}
	}
}

// A tool may require a scope or a claim value (the requirement language of
// issue 20): the token is checked as a whole, not its scopes alone, and a
// refusal names only the scope alternative.
func TestToolRequirementTerms(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s := newServer(t, iss, serverConfig{opts: []mcpbearer.Option{
		mcpbearer.WithToolScopes("whoami", scopes.AnyOf(scopes.Scope("profile"), scopes.Claim("/groups", "readers"))),
	}})
	for _, tt := range []struct {
		name    string
		scope   string
		claims  bearertest.Claims
		allowed bool
	}{
		{"scope", "profile", nil, true},
		{"claim value", "read:data", bearertest.Claims{"groups": []string{"readers"}}, true},
		{"neither", "read:data", bearertest.Claims{"groups": []string{"writers"}}, false},
		{"value in another claim", "read:data", bearertest.Claims{"roles": []string{"readers"}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &client{token: s.mint(t, tt.scope, tt.claims)}
			cs, err := s.connect(t, c)
			if err != nil {
				t.Fatal(err)
			}
			res, err := call(t, cs, "whoami")
			if tt.allowed {
				if err != nil || res.IsError {
					t.Fatalf("whoami refused: %q %v", text(res), err)
				}
				return
			}
			var we *jsonrpc.Error
			if err == nil || !errors.As(err, &we) || we.Code != mcpbearer.CodeInsufficientScope {
				t.Fatalf("whoami: %q %v, want JSON-RPC error %d", text(res), err, mcpbearer.CodeInsufficientScope)
			}
			if ex, ok := c.last(403); !ok || !strings.Contains(ex.challenge, `scope="profile"`) || strings.Contains(ex.challenge, "readers") {
				t.Errorf("403 challenge %q, want scope=\"profile\" and no claim value", ex.challenge)
			}
		})
	}
}

// A batch calling one refused tool many times costs work linear in the
// batch: each tool is judged once. Folding every refused call into the
// challenge's requirement copied the clauses so far each time, and one
// 4 MiB batch of 64,000 calls by any valid token took ~28 s and ~47 GiB of
// allocation. Allocation is compared, not time: 8× the calls must not cost
// much more than 8× the bytes.
func TestToolBatchLinear(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s := newServer(t, iss, serverConfig{stateless: true, jsonResponse: true})
	read := s.mint(t, "read:data", nil)
	run := func(n int) uint64 {
		calls := make([]string, n)
		for i := range calls {
			calls[i] = `{"jsonrpc":"2.0","id":` + strconv.Itoa(i) + `,"method":"tools/call","params":{"name":"write_data"}}`
		}
		body := "[" + strings.Join(calls, ",") + "]"
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		status, _, resp := post(t, s, read, body)
		runtime.ReadMemStats(&m1)
		if status != http.StatusForbidden || strings.Count(resp, `"code":403`) != n {
			t.Fatalf("batch of %d refused calls: %d with %d errors, want 403 and one each", n, status, strings.Count(resp, `"code":403`))
		}
		return m1.TotalAlloc - m0.TotalAlloc
	}
	run(200) // warm up
	a1, a2 := run(500), run(4000)
	if ratio := float64(a2) / float64(a1); ratio > 20 {
		t.Errorf("8x the calls allocated %.0fx the bytes (%d MiB for %d calls): super-linear", ratio, a2>>20, 4000)
	}
}

// A tool whose requirement names no scope (a claim value here; roles and
// permissions alike) is refused in a batch as alone: its missing scopes
// are an empty list, which is still a refusal.
func TestToolBatchScopelessRequirement(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s := newServer(t, iss, serverConfig{stateless: true, jsonResponse: true, opts: []mcpbearer.Option{
		mcpbearer.WithToolScopes("whoami", scopes.AllOf(scopes.Claim("/groups", "admins"))),
	}})
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`
	for _, body := range []string{call, "[" + call + "," + call + "]"} {
		if status, _, resp := post(t, s, s.mint(t, "read:data", nil), body); status != http.StatusForbidden || !strings.Contains(resp, `tool \"whoami\" is not allowed to this token`) {
			t.Errorf("%.40s…: %d %.200s, want 403 insufficient_scope", body, status, resp)
		}
	}
	if status, _, resp := post(t, s, s.mint(t, "read:data", bearertest.Claims{"groups": []string{"admins"}}), call); status != http.StatusOK {
		t.Errorf("with the claim: %d %.200s, want 200", status, resp)
	}
}
