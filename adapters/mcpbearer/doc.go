// Package mcpbearer makes a Model Context Protocol server built with the
// official Go SDK (github.com/modelcontextprotocol/go-sdk) an OAuth 2.0
// resource server as the MCP authorization specification describes: every
// HTTP request carries an access token issued for the server's canonical
// URI, a request without one is answered 401 with resource_metadata (RFC
// 9728), and a tool called without the scope it needs is answered 403
// insufficient_scope with the scopes to step up to.
//
//	md, err := resourcemeta.New("https://mcp.example.com/mcp", // the canonical URI; check err
//		resourcemeta.WithAuthorizationServers(issuer),
//		resourcemeta.WithScopes("read:data", "write:data"),
//		resourcemeta.FromValidator(v))                      // v: validator.WithAudience("https://mcp.example.com/mcp")
//	guard, err := httpbearer.New(v, httpbearer.WithResourceMetadata(md.URL())) // check err
//	mg, err := mcpbearer.New(guard, // check err: a Guard New did not build panics at install
//		mcpbearer.WithToolScopes("read_data", scopes.All("read:data")),
//		mcpbearer.WithToolScopes("write_data", scopes.All("write:data")))
//	server := mcp.NewServer(impl, nil)
//	server.AddReceivingMiddleware(mg.Middleware())
//	mux.Handle(md.Path(), md)
//	mux.Handle("/mcp", mg.Protect(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
//		&mcp.StreamableHTTPOptions{SessionTimeout: 10 * time.Minute}))) // idle sessions end
//
// # Audience
//
// An MCP client asks for tokens for the server's canonical URI (RFC 8707
// resource indicators: the URL of the MCP endpoint, such as
// https://mcp.example.com/mcp), so the validator's audience is that URI,
// which is also the metadata document's resource: configure both with it.
// The package never widens what the validator accepts; a token for another
// resource is refused with 401 invalid_token.
//
// # What runs where
//
// [Guard.Protect] runs the httpbearer guard on every HTTP request (token
// extraction, DPoP and certificate binding, the endpoint's own requirement,
// RFC 6750 answers with resource_metadata), then hands the SDK an
// [auth.TokenInfo] in the request's context, as the SDK's own
// auth.RequireBearerToken would: its Scopes, Expiration (the token's
// "exp"), UserID (the subject, else the client, with the issuer; the SDK
// binds stateful sessions to it: see [WithUserID]) and Extra (every claim
// of the token, and the [*validator.Token] under [TokenExtraKey]).
//
// Tool scopes are checked twice. Protect reads the JSON-RPC body of each
// POST (up to [mcp.DefaultMaxRequestBodyBytes]; only when tools have
// scopes) and answers a tools/call
// whose tool needs scopes the token lacks with HTTP 403 and the guard's
// challenge: WWW-Authenticate: Bearer error="insufficient_scope",
// scope="…", resource_metadata="…", so that a client can step up (MCP
// authorization, "Scope Challenge Handling"). The body is a JSON-RPC error
// response for the call ([CodeInsufficientScope]; it replaces the guard's
// error body), so that SDK clients report the refusal for that call and
// keep their connection. Then
// [Guard.Middleware], on the SDK server, checks every tools/call again on
// the SDK's own decoding of the request, and answers a call without its
// scopes with a tool error result (IsError): the authoritative check,
// which holds even where the HTTP check could not decide (a body too large
// to read ahead, a parser difference, a transport other than HTTP).
//
// # The token in tool handlers
//
// Read it with [TokenFromContext] (with Middleware installed) or [Token]
// (from the request's Extra.TokenInfo). Do not use validator.FromContext or
// auth.TokenInfoFromContext on a handler's context: in a stateful session
// the SDK runs every handler in the context of the HTTP request that
// created the session, so a token found there is that first request's,
// not the current one's. Protect hides the HTTP request's token from
// validator.FromContext for this reason, and Middleware puts the current
// request's token back.
//
// # Sessions
//
// A stateful session keeps memory and a goroutine in the SDK until it is
// closed; the SDK closes idle ones only with
// mcp.StreamableHTTPOptions.SessionTimeout, so set it. The guard checks who
// opens a session, not how many: one caller with one valid token can open
// thousands a second. Limit session creation per client in front of the
// server, or serve Stateless when no tool needs server-to-client requests.
package mcpbearer
