package mcpbearer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/mcpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// Protect hides from the context the SDK keeps for a stateful session the
// httpbearer binding of the session's first request, not only its token
// key. Every tool call of the session runs on that context: an in-process
// sub-request a tool built on its ctx, through a Guard over the same
// validator, was decided on the first request's token, without
// credentials, with that token's scopes, after it expired (SECURITY.md
// 108).
func TestProtectSessionHidesFirstBinding(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	hs := httptest.NewUnstartedServer(nil)
	resource := "http://" + hs.Listener.Addr().String() + "/mcp"
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience(resource), validator.WithLeeway(0))
	if err != nil {
		t.Fatal(err)
	}
	guard, err := httpbearer.New(v, httpbearer.WithRealm("mcp"))
	if err != nil {
		t.Fatal(err)
	}
	mg, err := mcpbearer.New(guard)
	if err != nil {
		t.Fatal(err)
	}
	// The application's REST API, behind the same Guard, called in
	// process by a tool.
	type seen struct {
		Status int      `json:"status"`
		Scopes []string `json:"scopes"`
		Exp    int64    `json:"exp"`
	}
	api := guard.Require(scopes.All("admin"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := validator.FromContext(r.Context())
		_ = json.NewEncoder(w).Encode(seen{Status: 200, Scopes: tok.Scopes.List(), Exp: tok.Expiry.Unix()})
	}))
	ms := mcp.NewServer(&mcp.Implementation{Name: "t", Version: "v0"}, nil)
	ms.AddReceivingMiddleware(mg.Middleware())
	ms.AddTool(&mcp.Tool{Name: "probe", InputSchema: json.RawMessage(`{"type":"object"}`)}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		// A sub-request with NO credentials, on the tool's context.
		sub, _ := http.NewRequestWithContext(ctx, "GET", "http://internal/api", nil)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, sub)
		out := rec.Body.String()
		if rec.Code != 200 {
			out = `{"status":` + itoa(rec.Code) + `}`
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: out}}}, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return ms }, nil)
	hs.Config.Handler = mg.Protect(h)
	hs.Start()
	t.Cleanup(hs.Close)

	mint := func(scope string, d time.Duration) string {
		return iss.Mint(t, bearertest.Claims{"aud": resource, "scope": scope, "sub": "alice"}, bearertest.ExpiresIn(d))
	}
	first := mint("admin", 2*time.Second) // opens the session
	cl := &client{token: first}
	// The session's GET stream ends with the first token (Protect): the
	// client opens another with its current one, as SDK clients do.
	s := &server{iss: iss, resource: resource, retries: 3}
	cs, err := s.connect(t, cl)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	cl.setToken(mint("read:data", time.Hour)) // the caller's current token: no admin
	time.Sleep(1000 * time.Millisecond)       // the first token has expired
	res, err := call(t, cs, "probe")
	if err != nil {
		t.Fatal(err)
	}
	var got seen
	_ = json.Unmarshal([]byte(text(res)), &got)
	t.Logf("sub-request without credentials, current token read:data: %s", text(res))
	if got.Status == 200 {
		t.Errorf("the inner Guard accepted a credential-less sub-request with the session's first token (scopes %v, exp %s, %s ago)",
			got.Scopes, time.Unix(got.Exp, 0).Format(time.TimeOnly), time.Since(time.Unix(got.Exp, 0)).Round(time.Second))
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// A Guard New did not build (its error dropped: a tool name WithToolScopes
// refuses, say) panics where it is installed. The SDK recovers no panic in
// its middleware: the first tools/call ended the process (SECURITY.md
// 108).
func TestUnbuiltGuardPanicsAtInstall(t *testing.T) {
	bad, err := mcpbearer.New(nil)
	if bad != nil || err == nil {
		t.Fatal("expected New to fail")
	}
	var zeroHTTP httpbearer.Guard
	if _, err := mcpbearer.New(&zeroHTTP); err == nil || !strings.Contains(err.Error(), "httpbearer.New did not build") {
		t.Errorf("New over a zero httpbearer Guard: %v", err)
	}
	for name, g := range map[string]*mcpbearer.Guard{"nil": bad, "zero": {}} {
		for what, install := range map[string]func(){
			"Middleware": func() { g.Middleware() },
			"Protect":    func() { g.Protect(http.NotFoundHandler()) },
			"Verifier":   func() { g.Verifier() },
		} {
			func() {
				defer func() {
					if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "not built by New") {
						t.Errorf("%s Guard: %s installed without a word: %v", name, what, p)
					}
				}()
				install()
			}()
		}
	}
}
