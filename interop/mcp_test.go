package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	mcpapi "github.com/bearerguard/bearerguard/examples/mcp/api"
	"github.com/bearerguard/bearerguard/examples/setup"
)

// mcpSession is one session of node/mcp-client.mjs (see there).
type mcpSession struct {
	Name     string    `json:"name"`
	Token    string    `json:"token,omitempty"`
	OAuth    *mcpOAuth `json:"oauth,omitempty"`
	Calls    []mcpCall `json:"calls,omitempty"`
	Discover bool      `json:"discover,omitempty"`
}

type mcpOAuth struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	Issuer       string `json:"issuer"`
	Scope        string `json:"scope,omitempty"`
	Token        string `json:"token,omitempty"`
}

type mcpCall struct {
	Tool string         `json:"tool"`
	Args map[string]any `json:"args,omitempty"`
}

// mcpError is an error as the TypeScript SDK threw it.
type mcpError struct {
	Name    string `json:"name"`
	Code    any    `json:"code"`
	Message string `json:"message"`
}

// mcpResult is what node/mcp-client.mjs reports for one session.
type mcpResult struct {
	Connected    bool      `json:"connected"`
	ConnectError *mcpError `json:"connectError"`
	Tools        []string  `json:"tools"`
	Calls        []struct {
		Tool              string           `json:"tool"`
		IsError           bool             `json:"isError"`
		StructuredContent *setup.DataReply `json:"structuredContent"`
		Text              string           `json:"text"`
		Error             *mcpError        `json:"error"`
	} `json:"calls"`
	Discovery *struct {
		ResourceMetadataURL string         `json:"resourceMetadataUrl"`
		Scope               string         `json:"scope"`
		ChallengeError      string         `json:"challengeError"`
		ResourceMetadata    map[string]any `json:"resourceMetadata"`
		AuthorizationServer struct {
			Issuer        string `json:"issuer"`
			TokenEndpoint string `json:"token_endpoint"`
		} `json:"authorizationServer"`
		Failure *mcpError `json:"failure"`
	} `json:"discovery"`
	Requests []mcpRequest `json:"requests"`
}

// mcpRequest is one HTTP exchange of a session.
type mcpRequest struct {
	Method          string            `json:"method"`
	URL             string            `json:"url"`
	Status          int               `json:"status"`
	Authorization   string            `json:"authorization"`
	WWWAuthenticate string            `json:"wwwAuthenticate"`
	ContentType     string            `json:"contentType"`
	Form            map[string]string `json:"form"`
}

func (r mcpResult) String() string {
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b)
}

// runMCPClient runs node/mcp-client.mjs against the MCP endpoint url and
// returns one result per session.
func runMCPClient(t *testing.T, url string, sessions []mcpSession) []mcpResult {
	t.Helper()
	node := requireNode(t)
	in, err := json.Marshal(map[string]any{"url": url, "sessions": sessions})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "node/mcp-client.mjs")
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("node/mcp-client.mjs: %v\n%s", err, stderr.Bytes())
	}
	if stderr.Len() > 0 {
		t.Logf("node/mcp-client.mjs stderr: %s", stderr.Bytes())
	}
	var out struct {
		Sessions []mcpResult `json:"sessions"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || len(out.Sessions) != len(sessions) {
		t.Fatalf("node/mcp-client.mjs printed %s (%v)\n%s", stdout.Bytes(), err, stderr.Bytes())
	}
	return out.Sessions
}

// TestMCPAgainstOIDCProvider: the official TypeScript MCP SDK's client
// (npm @modelcontextprotocol/sdk, streamable HTTP) calls examples/mcp,
// configured from flags as the command is (--resource, the audience
// defaulting to it), with tokens node-oidc-provider issues for the MCP
// server's canonical URI (RFC 8707 resource indicator = the endpoint's
// URL, which is also the tokens' "aud"):
//
//   - a read:data token calls read_data; write_data is refused with HTTP
//     403 insufficient_scope (scope write:data, resource_metadata), which
//     the SDK reports as a StreamableHTTPError 403 for that call only: the
//     next call on the same connection succeeds;
//   - without a token the SDK's connect fails with 401; the challenge's
//     resource_metadata, parsed and fetched with the SDK's own functions,
//     names the resource, its scopes and the provider, whose metadata the
//     SDK then finds;
//   - a token issued for another resource is refused with 401
//     invalid_token;
//   - a token without scopes lists the tools and may call neither;
//   - the SDK's own OAuth flow for machine clients
//     (ClientCredentialsProvider) starts without a token, follows the 401's
//     resource_metadata to the provider, gets a token for the resource and
//     calls both tools; given a read:data token first, it answers
//     write_data's 403 by getting a new token and retrying (step-up).
func TestMCPAgainstOIDCProvider(t *testing.T) {
	// The resource is the endpoint's URL: known before the provider starts.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	resource := base + mcpapi.Path
	as := startAuthServerWith(t, providerOptions{resources: map[string]string{resource: resource}}, newSigningKey(t, jwa.RS256))

	cfg, err := setup.Parse("mcp", []string{"--issuer", as.issuer, "--resource", resource, "--insecure-http", "--rfc9068"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	h, closeFn, err := mcpapi.New(cfg, nil)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	mdURL := base + "/.well-known/oauth-protected-resource/mcp"
	if cfg.MetadataURL() != mdURL || cfg.Audience != resource {
		t.Fatalf("metadata URL %q, audience %q", cfg.MetadataURL(), cfg.Audience)
	}

	readOnly := as.goToken(readClientID, "read:data", resource)
	if aud := jwtClaims(t, readOnly)["aud"]; aud != resource {
		t.Fatalf("provider's token for the MCP server: aud %v, want %s", aud, resource)
	}
	elsewhere := as.goToken(rsaClientID, "read:data write:data", jwtResource)
	noScope := as.goToken(rsaClientID, "", resource)
	readFirst := as.goToken(rsaClientID, "read:data", resource)
	oauth := func(token string) *mcpOAuth {
		// The SDK's client-credentials flow sends the configured scope,
		// not the challenge's (see checkStepUp).
		return &mcpOAuth{ClientID: rsaClientID, ClientSecret: clientSecret, Issuer: as.issuer, Scope: "read:data write:data", Token: token}
	}
	read := mcpCall{Tool: "read_data"}
	write := mcpCall{Tool: "write_data", Args: map[string]any{"value": "interop"}}
	sessions := []mcpSession{
		{Name: "read:data token", Token: readOnly, Calls: []mcpCall{read, write, read}},
		{Name: "no token", Discover: true},
		{Name: "token for another resource", Token: elsewhere},
		{Name: "token without scopes", Token: noScope, Calls: []mcpCall{read, write}},
		{Name: "SDK OAuth flow", OAuth: oauth(""), Calls: []mcpCall{read, write}},
		{Name: "SDK OAuth flow, step-up", OAuth: oauth(readFirst), Calls: []mcpCall{read, write, read}},
	}
	results := runMCPClient(t, resource, sessions)

	c := mcpChecker{t: t, resource: resource, mdURL: mdURL}
	for i, s := range sessions {
		r := results[i]
		c.label, c.r = s.Name, r
		switch i {
		case 0: // read:data token
			c.connected()
			c.allowed(0, readClientID, "read:data")
			c.refused(1, 403)
			c.challenge(403, `error="insufficient_scope"`, `scope="write:data"`)
			if e := r.Calls[1].Error; e != nil && !strings.Contains(e.Message, `"code":403`) {
				c.errorf("write_data: the SDK's error does not carry the JSON-RPC error of the body: %s", e.Message)
			}
			c.allowed(2, readClientID, "read:data") // the connection goes on
		case 1: // no token
			c.notConnected(401)
			c.challenge(401)
			if n := len(c.answers(401)); n != 1 || strings.Contains(c.answers(401)[0].WWWAuthenticate, "error=") {
				c.errorf("want one 401 without an error code (RFC 6750 §3.1): %v", c.answers(401))
			}
			c.discovered(as)
		case 2: // token for another resource
			c.notConnected(401)
			c.challenge(401, `error="invalid_token"`)
		case 3: // token without scopes
			c.connected()
			c.refused(0, 403)
			c.refused(1, 403)
		case 4: // SDK OAuth flow
			c.connected()
			c.oauthFlow(as, resource)
			c.allowed(0, rsaClientID, "read:data", "write:data")
			c.allowed(1, rsaClientID, "read:data", "write:data")
			if sc := r.Calls[1].StructuredContent; sc != nil && !sc.Stored {
				c.errorf("write_data did not store: %+v", sc)
			}
		case 5: // step-up
			c.connected()
			c.allowed(0, rsaClientID, "read:data")
			c.challenge(403, `error="insufficient_scope"`, `scope="write:data"`)
			c.stepUp(as, resource)
			c.allowed(1, rsaClientID, "read:data", "write:data")
			c.allowed(2, rsaClientID, "read:data", "write:data")
		}
		if t.Failed() {
			t.Logf("%s: %v", s.Name, r)
			return
		}
	}
}

// mcpChecker checks one session's result.
type mcpChecker struct {
	t               *testing.T
	resource, mdURL string
	label           string
	r               mcpResult
}

func (c *mcpChecker) errorf(format string, args ...any) {
	c.t.Helper()
	c.t.Errorf("%s: %s", c.label, fmt.Sprintf(format, args...))
}

func (c *mcpChecker) connected() {
	c.t.Helper()
	if !c.r.Connected || !slices.Equal(c.r.Tools, []string{"read_data", "write_data"}) {
		c.errorf("connected %v (%+v), tools %v", c.r.Connected, c.r.ConnectError, c.r.Tools)
	}
}

// notConnected checks that the SDK's connect failed with the HTTP status.
func (c *mcpChecker) notConnected(status int) {
	c.t.Helper()
	e := c.r.ConnectError
	if c.r.Connected || e == nil || e.Name != "StreamableHTTPError" || e.Code != float64(status) {
		c.errorf("connect: %+v, want StreamableHTTPError %d", e, status)
	}
}

// allowed checks that call i ran as clientID with exactly scopes.
func (c *mcpChecker) allowed(i int, clientID string, scopes ...string) {
	c.t.Helper()
	if i >= len(c.r.Calls) {
		c.errorf("call %d not made", i)
		return
	}
	call := c.r.Calls[i]
	sc := call.StructuredContent
	if call.Error != nil || call.IsError || sc == nil || sc.ClientID != clientID || !slices.Equal(sc.Scopes, scopes) {
		c.errorf("%s (call %d): error %+v, isError %v %q, reply %+v; want client %s with scopes %v", call.Tool, i, call.Error, call.IsError, call.Text, sc, clientID, scopes)
	}
}

// refused checks that call i failed with the HTTP status, the tool not run.
func (c *mcpChecker) refused(i int, status int) {
	c.t.Helper()
	if i >= len(c.r.Calls) {
		c.errorf("call %d not made", i)
		return
	}
	call := c.r.Calls[i]
	if call.Error == nil || call.Error.Name != "StreamableHTTPError" || call.Error.Code != float64(status) || call.StructuredContent != nil {
		c.errorf("%s (call %d): error %+v, reply %+v; want StreamableHTTPError %d", call.Tool, i, call.Error, call.StructuredContent, status)
	}
}

// answers are the session's MCP endpoint answers with the status.
func (c *mcpChecker) answers(status int) []mcpRequest {
	var out []mcpRequest
	for _, q := range c.r.Requests {
		if q.URL == c.resource && q.Status == status {
			out = append(out, q)
		}
	}
	return out
}

// challenge checks that the session got an answer with the status whose
// Bearer challenge names the realm, resource_metadata and parts.
func (c *mcpChecker) challenge(status int, parts ...string) {
	c.t.Helper()
	answers := c.answers(status)
	if len(answers) == 0 {
		c.errorf("no %d answer", status)
		return
	}
	www := answers[0].WWWAuthenticate
	want := append([]string{`Bearer realm="` + c.resource + `"`, `resource_metadata="` + c.mdURL + `"`}, parts...)
	for _, p := range want {
		if !strings.Contains(www, p) {
			c.errorf("%d WWW-Authenticate %q lacks %s", status, www, p)
		}
	}
	if !strings.HasPrefix(www, "Bearer ") {
		// The SDK reads resource_metadata and scope only from a challenge
		// that starts with Bearer.
		c.errorf("%d WWW-Authenticate %q does not start with the Bearer challenge", status, www)
	}
}

// discovered checks what the SDK's discovery functions found from the 401.
func (c *mcpChecker) discovered(as *authServer) {
	c.t.Helper()
	d := c.r.Discovery
	if d == nil || d.Failure != nil {
		c.errorf("discovery: %+v", d)
		return
	}
	if d.ResourceMetadataURL != c.mdURL {
		c.errorf("the SDK read resource_metadata %q, want %q", d.ResourceMetadataURL, c.mdURL)
	}
	md := d.ResourceMetadata
	if md["resource"] != c.resource || fmt.Sprint(md["authorization_servers"]) != fmt.Sprint([]any{as.issuer}) ||
		fmt.Sprint(md["scopes_supported"]) != "[read:data write:data]" {
		c.errorf("metadata document %v", md)
	}
	if d.AuthorizationServer.Issuer != as.issuer || d.AuthorizationServer.TokenEndpoint != as.endpoint("token_endpoint") {
		c.errorf("the SDK found the authorization server %+v, want %s", d.AuthorizationServer, as.issuer)
	}
}

// tokenRequests are the session's requests to the provider's token endpoint.
func (c *mcpChecker) tokenRequests(as *authServer) []mcpRequest {
	var out []mcpRequest
	for _, q := range c.r.Requests {
		if q.URL == as.endpoint("token_endpoint") {
			out = append(out, q)
		}
	}
	return out
}

// oauthFlow checks the SDK's OAuth flow from no token: 401, the metadata
// document at resource_metadata, the provider's metadata, one token
// request for the resource, then the MCP request again with the token.
func (c *mcpChecker) oauthFlow(as *authServer, resource string) {
	c.t.Helper()
	q := c.r.Requests
	if len(q) < 5 || q[0].URL != resource || q[0].Status != 401 || q[0].Authorization != "" ||
		q[1].URL != c.mdURL || q[1].Status != 200 ||
		!strings.HasPrefix(q[2].URL, as.issuer+"/.well-known/") || q[2].Status != 200 ||
		q[3].URL != as.endpoint("token_endpoint") || q[3].Status != 200 ||
		q[4].URL != resource || q[4].Status != 200 || !strings.HasPrefix(q[4].Authorization, "Bearer ") {
		c.errorf("the SDK's OAuth flow made the requests %+v", q)
		return
	}
	c.challenge(401)
	tr := c.tokenRequests(as)
	if len(tr) != 1 || tr[0].Form["grant_type"] != "client_credentials" || tr[0].Form["resource"] != resource || tr[0].Authorization != "Basic" {
		c.errorf("token requests %+v, want one client_credentials request for %s", tr, resource)
	}
}

// stepUp checks the SDK's answer to the 403: a new token for the resource,
// then the same call again, accepted. The token request carries the
// provider's configured scope: ClientCredentialsProvider (SDK 1.32.2)
// ignores the challenge's scope, which only the authorization-code flow
// uses.
func (c *mcpChecker) stepUp(as *authServer, resource string) {
	c.t.Helper()
	tr := c.tokenRequests(as)
	if len(tr) != 1 || tr[0].Form["resource"] != resource || !slices.Contains(strings.Fields(tr[0].Form["scope"]), "write:data") {
		c.errorf("token requests %+v, want one for %s with write:data", tr, resource)
	}
	q := c.r.Requests
	for i, r := range q {
		if r.URL == resource && r.Status == 403 {
			if i+1 >= len(q) || q[len(q)-1].Status != 200 {
				c.errorf("no accepted request after the 403: %+v", q[i:])
			}
			return
		}
	}
}
