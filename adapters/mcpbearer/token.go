package mcpbearer

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bearerguard/bearerguard/validator"
)

// TokenInfo describes tok as the SDK sees tokens: Scopes, Expiration
// ("exp"; zero when absent), UserID ([WithUserID]), and Extra, every claim
// of the token (as encoding/json decodes into an any) and tok itself under
// [TokenExtraKey].
func (g *Guard) TokenInfo(tok *validator.Token) *auth.TokenInfo { return g.tokenInfo(tok, "") }

// tokenInfo is TokenInfo with the request's Authorization header, when the
// token came in it (see tokenUserID).
func (g *Guard) tokenInfo(tok *validator.Token, presented string) *auth.TokenInfo {
	extra := make(map[string]any)
	if tok.Decode(&extra) != nil {
		extra = make(map[string]any) // unreachable: the claims were parsed before
	}
	extra[TokenExtraKey] = tok
	id := g.userID(tok)
	if id == "" {
		id = tokenUserID(tok, presented) // never nobody: see WithUserID
	}
	return &auth.TokenInfo{Scopes: tok.Scopes.List(), Expiration: tok.Expiry, UserID: id, Extra: extra}
}

// Verifier returns a token verifier for the SDK's own middleware,
// auth.RequireBearerToken, for servers that keep it: the token is checked
// by the guard (its validator, and a certificate binding from the
// request's TLS connection or forwarded header), and described as
// [Guard.TokenInfo] does. Errors match auth.ErrInvalidToken (the SDK
// answers 401) or auth.ErrOAuth for a malformed request (400); a key set or
// introspection outage is another error (the SDK answers 500). The SDK
// writes an error's text to the client: it is the fixed description of its
// class, never the cause, which errors.Is and errors.As still find.
//
// The SDK's middleware accepts only the Bearer scheme and writes its own
// answers: [Guard.Protect] does more (DPoP, the RFC 6750 answers with
// resource_metadata, [WithRequirement], 403 for tool scopes) and is the
// better choice. Under Verifier, set RequireBearerTokenOptions.Scopes and
// ResourceMetadataURL yourself; tool scopes are checked by
// [Guard.Middleware] only. It panics on a Guard [New] did not build.
func (g *Guard) Verifier() auth.TokenVerifier {
	g.mustBeBuilt()
	return func(ctx context.Context, _ string, req *http.Request) (*auth.TokenInfo, error) {
		// The guard reads the token from the request, as the SDK did.
		tok, err := g.guard.Authenticate(discard{}, req.WithContext(ctx))
		switch {
		case err == nil:
			return g.tokenInfo(tok, presentedIn(req)), nil
		case errors.Is(err, validator.ErrInvalidRequest):
			return nil, &clientError{auth.ErrOAuth, err}
		case errors.Is(err, validator.ErrUnavailable):
			return nil, &clientError{nil, err}
		}
		return nil, &clientError{auth.ErrInvalidToken, err}
	}
}

// clientError is an error of Verifier's, whose text the SDK writes to the
// client: the fixed description of its class (RFC 6750's
// error_description), never the cause (an unreachable key set's address,
// say); errors.Is and errors.As still see the SDK's kind and the cause.
type clientError struct {
	kind error // auth.ErrInvalidToken, auth.ErrOAuth, or nil (an outage: 500)
	err  error
}

func (e *clientError) Error() string {
	if ve, ok := errors.AsType[*validator.Error](e.err); ok {
		return "bearerguard: " + ve.Description()
	}
	return "bearerguard: the access token cannot be used"
}

func (e *clientError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// discard is the ResponseWriter of Verifier's guard, which only reads.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// tokenKey is the context key of the token Middleware puts in handlers'
// contexts.
type tokenKey struct{}

// Middleware returns middleware for the SDK server
// (server.AddReceivingMiddleware) that gives every handler the token of
// its own request ([TokenFromContext], and validator.FromContext) and
// refuses a tools/call whose tool needs scopes the token lacks
// ([WithToolScopes]) with a tool error result (IsError, "insufficient_scope:
// …"), before the tool runs. A call to such a tool without any token (a
// server not behind [Guard.Protect] or [Guard.Verifier]) is refused alike.
// It panics on a Guard [New] did not build (check New's error): the SDK
// recovers no panic, so at install rather than at the first tool call.
func (g *Guard) Middleware() mcp.Middleware {
	g.mustBeBuilt()
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			tok, _ := Token(req)
			ctx = context.WithValue(validator.NewContext(ctx, tok), tokenKey{}, tok)
			if method != "tools/call" {
				return next(ctx, method, req)
			}
			call, ok := req.(*mcp.CallToolRequest)
			if !ok || call.Params == nil {
				return next(ctx, method, req)
			}
			need, ok := g.tools[call.Params.Name]
			if !ok {
				return next(ctx, method, req)
			}
			if tok == nil {
				return toolError("unauthorized: tool " + strconv.Quote(call.Params.Name) + " needs an access token"), nil
			}
			if needed := need.NeededBy(tok); needed != nil {
				// Every scope the tool needs, those held included, as
				// Protect's answer and challenge name them.
				return toolError(insufficientScope(call.Params.Name, strings.Join(needed, " "))), nil
			}
			return next(ctx, method, req)
		}
	}
}

// notRunMessage answers a request of a batch refused for another call's
// scopes: the challenge (WWW-Authenticate) names what the whole batch
// needs.
const notRunMessage = "insufficient_scope: not run: another call of this batch was refused"

func insufficientScope(tool, scope string) string {
	if scope == "" {
		// A requirement of roles, permissions or claim values only: their
		// names are the issuer's business, not the caller's.
		return "insufficient_scope: tool " + strconv.Quote(tool) + " is not allowed to this token"
	}
	return "insufficient_scope: tool " + strconv.Quote(tool) + " needs the scope " + scope
}

func toolError(text string) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: text}}}
}

// TokenFromContext returns the token of the request a handler serves,
// which [Guard.Middleware] put in its context. Without the middleware it
// finds none.
func TokenFromContext(ctx context.Context) (*validator.Token, bool) {
	tok, ok := ctx.Value(tokenKey{}).(*validator.Token)
	return tok, ok && tok != nil
}

// Token returns the token of an MCP request, from the [auth.TokenInfo] the
// SDK attached to it (req.GetExtra().TokenInfo) when [Guard.Protect] or
// [Guard.Verifier] accepted it.
func Token(req mcp.Request) (*validator.Token, bool) {
	if req == nil {
		return nil, false
	}
	extra := req.GetExtra()
	if extra == nil || extra.TokenInfo == nil {
		return nil, false
	}
	tok, ok := extra.TokenInfo.Extra[TokenExtraKey].(*validator.Token)
	return tok, ok && tok != nil
}
