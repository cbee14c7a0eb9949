package mcpbearer

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	segjson "github.com/segmentio/encoding/json"

	"github.com/bearerguard/bearerguard/internal/tokenkey"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// maxReadAhead bounds the body Protect reads to find tool calls: the SDK's
// default request size limit. A larger body is passed on unread; the SDK
// refuses it, or Middleware checks its calls.
const maxReadAhead = mcp.DefaultMaxRequestBodyBytes

// decided is the SDK's clock skew for a token the guard accepted: the
// validator has checked "exp" with its own clock and leeway, so the SDK
// must not decide again with another.
const decided = 100 * 365 * 24 * time.Hour

// passKey carries what Protect hands the SDK through its own middleware.
type passKey struct{}

// pass is the decision Protect made for one request: the TokenInfo for
// the SDK, and the request's own header, which the SDK's middleware does
// not see.
type pass struct {
	info   *auth.TokenInfo
	header http.Header
}

// sdkHeader is the only header the SDK's auth.RequireBearerToken sees: it
// parses "Bearer <token>" only, and the guard has already decided on the
// real one (which may be DPoP, or a query, form or cookie token). Each
// request gets its own copy.
var sdkHeader = http.Header{"Authorization": {"Bearer decided-by-bearerguard"}}

// Protect returns next (an MCP SDK HTTP handler, such as
// mcp.NewStreamableHTTPHandler's) behind the guard: a request without a
// valid token, or without what [WithRequirement] asks for, is answered by
// the guard (401 with resource_metadata, 403, 400, 503); a POST calling a
// tool without the scopes [WithToolScopes] declared is answered 403
// insufficient_scope. Accepted requests reach next with the token's
// [auth.TokenInfo] in their context, where the SDK reads it
// (req.Extra.TokenInfo in handlers, session binding to its UserID).
//
// Protect's tool check reads the body ahead of the SDK, with the SDK's
// own JSON library and member names, to answer with HTTP 403 and a
// challenge the client can step up with. It is not the authoritative
// check: a body too large to read ahead, or one the SDK reads in a way
// this reading did not foresee, can pass it. With [WithToolScopes], always
// install [Guard.Middleware] on the server too: it checks every call on
// the SDK's own decoding.
//
// It panics on a Guard [New] did not build (check New's error): the SDK
// recovers no panic, so at install rather than at the first request.
//
// A stream the client keeps open for server messages ends when its token
// stops being accepted: the context of a GET (a session's stream) and of
// a POST calling subscriptions/listen (or too large to read ahead) has
// the token's expiry plus the validator's leeway as its deadline, so that
// the stream does not outlive the token; the client opens another with
// its new token. Other POSTs (a tool call, whose work the server bounds)
// have no such deadline: a call made with a valid token is not cut, and
// its result not lost, because the token expires while it runs. A token
// without "exp" sets no deadline; [Guard.Verifier] sets none either.
//
// validator.FromContext finds no token in the context next receives: the
// SDK keeps the context of a session's first request for the whole
// session. Handlers read the current token with [TokenFromContext] or
// [Token].
//
// Serve the streamable handler, not the SDK's legacy SSE one
// (mcp.NewSSEHandler). That one binds no session to its caller: behind
// Protect each POST is still authorized by its own token, but a caller
// with any valid token who learns another session's id (128 random bits,
// sent on that session's stream and in the query of its POSTs, so in
// access logs that keep queries) can post into it, and the answers go to
// that stream. Its messages also reach tool handlers without a token, so
// [Guard.Middleware] refuses every tool that needs a scope.
func (g *Guard) Protect(next http.Handler) http.Handler {
	g.mustBeBuilt()
	// The SDK's own middleware is the only way to put a TokenInfo where the
	// SDK looks for it; it is given the decision already made.
	sdk := auth.RequireBearerToken(passed, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true, ClockSkew: decided})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := r.Context().Value(passKey{}).(*pass)
			restored := *r
			// A stateful session keeps its first request's context: let it
			// keep no reference to the request's headers (its token).
			restored.Header, p.header = p.header, nil
			next.ServeHTTP(w, &restored)
		}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A POST may call tools: when its token lacks the endpoint's own
		// scopes, the refusal names the scopes of the tools it calls too
		// (RFC 6750 §3.1: every scope the request needs), so the guard
		// first authenticates it only, and the endpoint's requirement is
		// checked once the body is read.
		endpointLater := len(g.tools) > 0 && r.Method == http.MethodPost && !g.req.IsZero()
		req := g.req
		if endpointLater {
			req = scopes.Requirement{}
		}
		r, tok, ok := g.guard.Authorize(w, r, req, g.route...)
		if !ok {
			return
		}
		// stream: whether the request may be a stream of server messages
		// the client keeps open (a session's GET, subscriptions/listen).
		stream := r.Method != http.MethodPost
		if r.Method == http.MethodPost {
			var body []byte
			if r, body, ok = readAhead(w, r); !ok {
				return
			}
			if endpointLater && g.req.NeededBy(tok) != nil {
				g.refuseEndpoint(w, r, body)
				return
			}
			// A body too large to read ahead is judged a stream: it
			// loses nothing but a tool call's result at token expiry.
			stream = body == nil || opensStream(body)
			if len(g.tools) > 0 && body != nil && !g.checkTools(w, r, tok, body) {
				return
			}
		}
		p := &pass{info: g.tokenInfo(tok, presentedIn(r)), header: r.Header}
		// Hide the request's token, and the guard's binding of it, from
		// the context the SDK may keep for a whole session: a handler's
		// sub-request through another guard over the same validator
		// would otherwise reuse the first request's token.
		ctx := context.WithValue(tokenkey.Hide(r.Context()), passKey{}, p)
		if stream && !tok.Expiry.IsZero() {
			// A stream of server messages (a session's GET, or a POST
			// calling subscriptions/listen) lasts as long as the client
			// keeps it: it ends when its token would no longer be
			// accepted, and the client opens another with its new
			// token.
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, tok.Expiry.Add(g.leeway()))
			defer cancel()
		}
		r = r.WithContext(ctx)
		r.Header = sdkHeader.Clone() // per request: nothing one request's handlers write reaches another's
		sdk.ServeHTTP(w, r)
	})
}

// passed is the SDK's token verifier under Protect: it returns the
// TokenInfo of the decision Protect made, never anything else.
func passed(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
	if p, ok := ctx.Value(passKey{}).(*pass); ok && p.info != nil {
		return p.info, nil
	}
	return nil, auth.ErrInvalidToken
}

// toolCall is a tools/call request found in a POST body.
type toolCall struct {
	id   jsonrpc.ID
	tool string
}

// readAhead reads the body of r, up to maxReadAhead, and gives it back to
// r unchanged. body is nil when r has a body larger than that (passed on
// unread: the SDK refuses it) and empty when it has none. It returns false
// when it has answered.
func readAhead(w http.ResponseWriter, r *http.Request) (_ *http.Request, body []byte, ok bool) {
	if r.Body == nil || r.Body == http.NoBody {
		return r, []byte{}, true
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxReadAhead+1))
	if err != nil {
		http.Error(w, "failed to read body", http.StatusBadRequest)
		return nil, nil, false
	}
	rest := r.Body
	r.Body = readCloser{io.MultiReader(bytes.NewReader(body), rest), rest}
	if len(body) > maxReadAhead {
		return r, nil, true
	}
	return r, body, true
}

// opensStream reports whether a POST body, read as the SDK reads it (see
// toolCalls), has a subscriptions/listen request: a stream of server
// messages the client keeps open. A message that is not JSON-RPC, or a
// batch the SDK refuses, opens none.
func opensStream(body []byte) bool {
	msg := new(rpcMessage)
	listen := false
	eachMessage(body, func(raw []byte) {
		*msg = rpcMessage{}
		if _, err := segjson.Parse(raw, msg, readFlags); err != nil {
			return
		}
		if m, ok := rawString(msg.Method); ok && m == "subscriptions/listen" {
			listen = true
		}
	})
	return listen
}

// checkTools refuses the request r, whose body is body, when it calls a
// tool whose requirement tok does not meet. It returns false when it has
// answered.
func (g *Guard) checkTools(w http.ResponseWriter, r *http.Request, tok *validator.Token, body []byte) bool {
	// A batch may call one tool many times: each tool is judged once, and
	// its requirement joins need once, so the work is linear in the batch
	// and need is bounded by the tools configured.
	// need starts with the endpoint's own requirement: the challenge names
	// every scope the request needs (RFC 6750 §3.1), not only those the
	// token lacks, or a client that asks for what it names loses what it
	// had and is refused again.
	need := g.req
	var refused []toolCall
	verdicts := make(map[string]toolVerdict)
	for _, c := range toolCalls(body) {
		req, ok := g.tools[c.tool]
		if !ok {
			continue
		}
		v, judged := verdicts[c.tool]
		if !judged {
			// MissingFrom is nil when req is met, and may be empty but
			// non-nil when it is not (a clause of roles only).
			if needed := req.NeededBy(tok); needed != nil {
				v = toolVerdict{refused: true, scope: strings.Join(needed, " ")}
			}
			// Every tool called joins need, the allowed ones too: a
			// token of exactly the challenge's scopes must pass the
			// whole request.
			need = need.And(req)
			verdicts[c.tool] = v
		}
		if v.refused {
			refused = append(refused, c)
		}
	}
	if len(refused) == 0 {
		return true
	}
	g.refuseTools(w, r, tok, need, verdicts, refused, body)
	return false
}

// refuseEndpoint answers a POST, whose body is body (nil when too large
// to read ahead), from a token that lacks the endpoint's own requirement:
// the guard's refusal, naming what the endpoint and every tool the body
// calls need.
func (g *Guard) refuseEndpoint(w http.ResponseWriter, r *http.Request, body []byte) {
	need := g.req
	called := make(map[string]bool)
	for _, c := range toolCalls(body) {
		if req, ok := g.tools[c.tool]; ok && !called[c.tool] {
			called[c.tool] = true // each tool once: need is bounded by the tools configured
			need = need.And(req)
		}
	}
	if _, _, ok := g.guard.Authorize(w, r, need, g.route...); ok {
		// need holds the endpoint's requirement, which the token does not
		// meet: unreachable, but never pass a request on unchecked.
		http.Error(w, "forbidden", http.StatusForbidden)
	}
}

// toolVerdict is what a token's scopes say of one tool: refused, and then
// the scopes it lacks (the scope attribute of the refusal), or allowed.
type toolVerdict struct {
	refused bool
	scope   string
}

type readCloser struct {
	io.Reader
	io.Closer
}

// toolCalls returns the tools/call requests of a JSON-RPC message or
// batch, read as the SDK reads them: each message with the SDK's own JSON
// library (segmentio/encoding), member names matched exactly
// ("Method" is not "method"; encoding/json would match it, and a
// member in another case could hide a call), the last of duplicate
// members winning, and only the body's first JSON value, what follows it
// ignored. Anything it cannot decode yields nothing: the SDK refuses it,
// or Middleware, which sees the SDK's decoding, decides.
//
// A batch is read one element at a time, and reading stops at the first
// element that is not an object: the SDK refuses a batch with any
// element that does not decode as a message, so none of its calls run.
// A batch of 4 MiB of numbers costs one element, not two million.
func toolCalls(body []byte) []toolCall {
	var out []toolCall
	msg := new(rpcMessage) // one for every element: nothing allocated per element
	if _, ok := eachMessage(body, func(raw []byte) {
		if c, ok := toolCallIn(raw, msg); ok {
			out = append(out, c)
		}
	}); !ok {
		return nil
	}
	return out
}

// eachMessage calls fn with each message of a JSON-RPC message or batch
// (see toolCalls), in order, and reports whether body is a batch. ok is
// false when the batch has an element that is not an object, is not
// JSON, or does not close: the SDK runs none of its calls.
func eachMessage(body []byte, fn func(raw []byte)) (batch, ok bool) {
	trimmed := bytes.TrimLeft(body, space)
	if len(trimmed) == 0 || trimmed[0] != '[' {
		fn(trimmed)
		return false, true
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if _, err := dec.Token(); err != nil { // [
		return true, false
	}
	var skip struct{}
	for dec.More() {
		// The next element must be an object: skip the space and the
		// comma the decoder has not read yet, and look.
		next := bytes.TrimLeft(trimmed[dec.InputOffset():], space+",")
		if len(next) == 0 || next[0] != '{' {
			return true, false
		}
		start := len(trimmed) - len(next)
		// Any object decodes into struct{} (its members skipped, nothing
		// allocated): this finds where the element ends.
		if dec.Decode(&skip) != nil {
			return true, false // not JSON
		}
		fn(trimmed[start:dec.InputOffset()])
	}
	// The array closes; what follows it is ignored, as the SDK does.
	if _, err := dec.Token(); err != nil {
		return true, false
	}
	return true, true
}

// requestIDs returns the ids of the requests (messages with a method and
// a valid id; notifications have none) of a JSON-RPC message or batch, in
// order, and whether it is a batch: every request of a refused batch is
// answered, so that none waits for an answer that never comes (JSON-RPC
// 2.0 §6).
func requestIDs(body []byte) (ids []jsonrpc.ID, batch bool) {
	msg := new(rpcMessage)
	batch, _ = eachMessage(body, func(raw []byte) {
		if id, ok := requestIn(raw, msg); ok {
			ids = append(ids, id)
		}
	})
	return ids, batch
}

// requestIn returns the id of the JSON-RPC request at the start of raw,
// read as toolCallIn reads one, if it is a request with a valid id.
func requestIn(raw []byte, msg *rpcMessage) (jsonrpc.ID, bool) {
	*msg = rpcMessage{}
	if _, err := segjson.Parse(raw, msg, readFlags); err != nil {
		return jsonrpc.ID{}, false
	}
	if _, ok := rawString(msg.Method); !ok {
		return jsonrpc.ID{}, false
	}
	if msg.JSONRPC != "2.0" {
		return jsonrpc.ID{}, false // the SDK refuses it: no answer of ours
	}
	return validID(msg.ID)
}

// space is JSON's white space.
const space = " \t\r\n"

// rpcMessage is what toolCalls reads of a JSON-RPC message: every member
// raw (left in the body, not copied), so that no value can be of the wrong
// type, and each decoded only when it may be what a call needs; but
// "jsonrpc" decoded into a string, as the SDK decodes it, so that a later
// null leaves it as it was for both.
type rpcMessage struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  json.RawMessage `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// toolParams is what toolCalls reads of a tools/call's params: "name"
// decoded into a string, as the SDK decodes it (mcp.CallToolParamsRaw),
// so that duplicate members resolve alike. A later "name": null leaves a
// string as it was; read raw, it would be the null, and the call the
// SDK runs would go unseen.
type toolParams struct {
	Name string `json:"name"`
}

// readFlags read as the SDK does (exact member names), and leave raw
// values in the body.
const readFlags = segjson.DontMatchCaseInsensitiveStructFields | segjson.DontCopyRawMessage

// toolCallIn returns the tools/call request that the JSON-RPC message at
// the start of raw is, if it is one with a valid id; msg is where it is
// read, overwritten.
func toolCallIn(raw []byte, msg *rpcMessage) (toolCall, bool) {
	*msg = rpcMessage{}
	if _, err := segjson.Parse(raw, msg, readFlags); err != nil {
		return toolCall{}, false
	}
	if method, ok := rawString(msg.Method); !ok || method != "tools/call" {
		return toolCall{}, false
	}
	rid, ok := validID(msg.ID)
	if !ok {
		return toolCall{}, false
	}
	var params toolParams
	if len(msg.Params) == 0 || msg.Params[0] != '{' {
		return toolCall{}, false // the SDK refuses a call without its params object
	}
	if _, err := segjson.Parse(msg.Params, &params, readFlags); err != nil {
		return toolCall{}, false // the SDK cannot decode it either: no call
	}
	return toolCall{id: rid, tool: params.Name}, true
}

// validID decodes a request's id: a string or a number.
func validID(raw json.RawMessage) (jsonrpc.ID, bool) {
	if len(raw) == 0 || raw[0] != '"' && raw[0] != '-' && !('0' <= raw[0] && raw[0] <= '9') {
		return jsonrpc.ID{}, false // null, an object, an array, a bool: no valid id
	}
	var id any
	if _, err := segjson.Parse(raw, &id, 0); err != nil {
		return jsonrpc.ID{}, false
	}
	rid, err := jsonrpc.MakeID(id)
	if err != nil || !rid.IsValid() {
		return jsonrpc.ID{}, false
	}
	return rid, true
}

// rawString decodes a raw JSON value that must be a string.
func rawString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if _, err := segjson.Parse(raw, &s, 0); err != nil {
		return "", false
	}
	return s, true
}

// refuseTools answers tool calls tok lacks the scopes for: the guard's own
// 403 insufficient_scope answer for need (WWW-Authenticate with realm,
// scope and resource_metadata, the DPoP challenge, Cache-Control; seen by
// its observer), with a JSON-RPC error response for each call as the body.
func (g *Guard) refuseTools(w http.ResponseWriter, r *http.Request, tok *validator.Token, need scopes.Requirement, verdicts map[string]toolVerdict, calls []toolCall, body []byte) {
	c := &capture{header: make(http.Header)}
	if _, _, ok := g.guard.Authorize(c, r, need); ok || c.status == 0 {
		// The guard decides on the same token and scopes: unreachable.
		c.status = http.StatusForbidden
	}
	h := w.Header()
	for k, v := range c.header {
		if k != "Content-Type" && k != "Content-Length" {
			h[k] = v
		}
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(c.status)
	ids, batch := requestIDs(body)
	_, _ = w.Write(scopeErrors(calls, verdicts, ids, batch))
}

// scopeErrors is the JSON-RPC body of a refusal: an error response for
// each refused call, with the scopes its tool needs, and, in a batch, for
// every other request of it too (none of them runs: each is told so
// rather than left without an answer; the challenge names the scopes the
// whole request needs); an array for a batch, as JSON-RPC 2.0 §6 answers
// one.
func scopeErrors(calls []toolCall, verdicts map[string]toolVerdict, ids []jsonrpc.ID, batch bool) []byte {
	var out [][]byte
	add := func(id jsonrpc.ID, message, scope string) {
		data, _ := json.Marshal(map[string]string{"error": "insufficient_scope", "scope": scope})
		b, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Error: &jsonrpc.Error{
			Code: CodeInsufficientScope, Message: message, Data: data,
		}})
		if err == nil {
			out = append(out, b)
		}
	}
	refusedID := make(map[jsonrpc.ID]toolCall, len(calls))
	for _, c := range calls {
		refusedID[c.id] = c
	}
	if !batch {
		for _, c := range calls {
			add(c.id, insufficientScope(c.tool, verdicts[c.tool].scope), verdicts[c.tool].scope)
		}
		if len(out) > 0 {
			return append(out[0], '\n')
		}
	}
	// Each id once (a client sending one twice gets one answer for it),
	// and the requests not run told so briefly, without data: the answer
	// to a large batch stays within a small multiple of its size.
	answered := make(map[jsonrpc.ID]bool, len(ids))
	for _, id := range ids {
		if answered[id] {
			continue
		}
		answered[id] = true
		if c, ok := refusedID[id]; ok {
			add(id, insufficientScope(c.tool, verdicts[c.tool].scope), verdicts[c.tool].scope)
		} else if b, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Error: &jsonrpc.Error{Code: CodeInsufficientScope, Message: notRunMessage}}); err == nil {
			out = append(out, b)
		}
	}
	for _, c := range calls { // refused calls the SDK would not even read are answered all the same
		if !answered[c.id] {
			answered[c.id] = true
			add(c.id, insufficientScope(c.tool, verdicts[c.tool].scope), verdicts[c.tool].scope)
		}
	}
	return append(append([]byte{'['}, append(bytes.Join(out, []byte{','}), ']')...), '\n')
}

// capture is the ResponseWriter the guard writes a refusal into, so that
// Protect can send the guard's status and headers with a JSON-RPC body.
type capture struct {
	header http.Header
	status int
}

func (c *capture) Header() http.Header { return c.header }

func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *capture) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return len(b), nil
}
