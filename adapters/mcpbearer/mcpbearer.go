package mcpbearer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// TokenExtraKey is the key of the [*validator.Token] in the Extra map of
// the [auth.TokenInfo] this package makes. Every other key is a claim of
// the token; a claim of this name, should a token carry one, is replaced.
const TokenExtraKey = "github.com/bearerguard/bearerguard/validator.Token"

// CodeInsufficientScope is the JSON-RPC error code of the body of a 403
// insufficient_scope answer to a tools/call: the HTTP status, an
// application code outside the range JSON-RPC reserves (-32768 to -32000),
// where the SDKs define codes of their own (to the Go SDK's client,
// -32003 means its connection is closing). Clients act on the HTTP status
// and the WWW-Authenticate challenge; the body lets SDK clients report the
// refusal for the call that caused it and keep their session.
const CodeInsufficientScope = 403

// Guard protects an MCP server's HTTP handler with an [httpbearer.Guard],
// and enforces per-tool scopes. Build one with [New]; it is immutable and
// safe for concurrent use.
type Guard struct {
	guard  *httpbearer.Guard
	req    scopes.Requirement
	route  []httpbearer.RouteOption
	tools  map[string]scopes.Requirement
	names  []string // tool names in declaration order, for Scopes
	userID func(*validator.Token) string
}

// leeway is the clock skew the guard's validator allows on "exp" (the
// default when it does not say).
func (g *Guard) leeway() time.Duration {
	if l, ok := g.guard.Validator().(interface{ Leeway() time.Duration }); ok {
		return l.Leeway()
	}
	return validator.DefaultLeeway
}

// Option configures a [Guard]. Options only record, and [New] checks them
// all together and reports every problem at once; the one exception is
// route options no token could meet, which panic when [WithRequirement]
// is called, as [httpbearer.WithStepUp] does.
type Option func(*config)

type config struct {
	req    scopes.Requirement
	route  []httpbearer.RouteOption
	reqSet bool
	tools  map[string]scopes.Requirement
	names  []string
	userID func(*validator.Token) string
	errs   []error
}

// WithToolScopes requires what req asks for to call the named tool:
// scopes, or roles and permissions, which a token has only as its issuer's
// role claims give them (validator.IssuerRoleClaims, the providers'
// presets); without those, a role requirement refuses every call.
// A call without them is answered 403 insufficient_scope by
// [Guard.Protect], and with a tool error by [Guard.Middleware]. Tools
// without requirements need only a valid token (and what
// [WithRequirement] asks for every request). Repeat for every tool.
//
// A name with white space, control or format characters (a byte order
// mark, a zero-width space), or that is not UTF-8, is refused: no tool is
// called by it (MCP tool names are letters, digits, "_", "-" and "."), so
// the tool meant ("whoami", not "whoami " read from a file) would be left
// to any valid token.
func WithToolScopes(tool string, req scopes.Requirement) Option {
	return func(c *config) {
		switch _, dup := c.tools[tool]; {
		case tool == "":
			c.errs = append(c.errs, errors.New("WithToolScopes: empty tool name"))
		case !plausibleToolName(tool):
			c.errs = append(c.errs, fmt.Errorf("WithToolScopes(%q): white space, control or format characters, or bytes that are not UTF-8 in a tool name", tool))
		case req.IsZero():
			c.errs = append(c.errs, fmt.Errorf("WithToolScopes(%q): no scope required", tool))
		case dup:
			c.errs = append(c.errs, fmt.Errorf("WithToolScopes(%q): tool given twice", tool))
		default:
			if c.tools == nil {
				c.tools = make(map[string]scopes.Requirement)
			}
			c.tools[tool] = req
			c.names = append(c.names, tool)
		}
	}
}

// WithRequirement requires the scopes req asks for, and what opts add
// (such as [httpbearer.WithStepUp]), on every request to the protected
// handler: the MCP endpoint's own requirement. The default is any valid
// token. Given twice, it is a configuration error: a second would silently
// replace the first. It panics, as [httpbearer.RouteOptions] does, if
// opts cannot all be met.
func WithRequirement(req scopes.Requirement, opts ...httpbearer.RouteOption) Option {
	rt := httpbearer.RouteOptions(opts...) // options that cannot all be met panic here, as httpbearer's do, not on a request
	return func(c *config) {
		if c.reqSet {
			c.errs = append(c.errs, errors.New("WithRequirement given twice"))
		}
		c.req, c.route, c.reqSet = req, []httpbearer.RouteOption{rt}, true
	}
}

// WithUserID sets how the [auth.TokenInfo] UserID is derived from a token.
// The SDK binds a stateful session to the UserID of the request that
// created it and refuses requests of another user with 403, so the UserID
// must name one principal across every issuer the validator trusts.
//
// The default names the subject, else the client, and the issuer, each
// quoted, so that no two principals share one: `sub "alice" iss
// "https://id.example.com/"`, `client "billing" iss "https://id.example.com/"`.
// A token with neither gets `token <hash> iss "…"`: under [Guard.Protect]
// and [Guard.Verifier] a hash of the Authorization header it came in, so
// it names that token alone (from a query, form or cookie, and from
// [Guard.TokenInfo] called directly, a hash of its issuer and claims,
// which a token with byte-identical claims shares). The same holds whatever userID
// returns: an empty UserID is replaced by that token identity, since the
// SDK binds a session with an empty UserID to nobody (any token holder
// could use it).
func WithUserID(userID func(tok *validator.Token) string) Option {
	return func(c *config) {
		if userID == nil {
			c.errs = append(c.errs, errors.New("WithUserID: nil function"))
		}
		c.userID = userID
	}
}

// New returns a Guard that authorizes requests with guard. Give guard
// [httpbearer.WithResourceMetadata] so that its 401 and 403 answers point
// MCP clients to the resource's metadata document. guard must be one
// httpbearer.New built: a nil or zero Guard is an error.
func New(guard *httpbearer.Guard, opts ...Option) (*Guard, error) {
	c := config{userID: defaultUserID}
	for _, o := range opts {
		o(&c)
	}
	errs := c.errs
	if guard.Validator() == nil {
		errs = append([]error{errors.New("nil guard, or one httpbearer.New did not build")}, errs...)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("mcpbearer: invalid configuration: %w", errors.Join(errs...))
	}
	return &Guard{guard: guard, req: c.req, route: c.route, tools: c.tools, names: c.names, userID: c.userID}, nil
}

// Scopes lists every scope the endpoint's requirement and the tools'
// requirements name, each once, for the metadata document's
// scopes_supported (resourcemeta.WithScopes).
func (g *Guard) Scopes() []string {
	var out []string
	add := func(req scopes.Requirement) {
		for _, s := range req.Missing(scopes.Set{}) {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	add(g.req)
	for _, name := range g.names {
		add(g.tools[name])
	}
	return out
}

func defaultUserID(tok *validator.Token) string {
	switch {
	case tok.Subject != "":
		return "sub " + strconv.Quote(tok.Subject) + " iss " + strconv.Quote(tok.Issuer)
	case tok.ClientID != "":
		return "client " + strconv.Quote(tok.ClientID) + " iss " + strconv.Quote(tok.Issuer)
	}
	return "" // a token naming nobody: TokenInfo gives it an identity of its own
}

// presentedIn returns the request's Authorization header when the token
// came in it, else "": a cookie or query token beside a header of another
// scheme ("Basic …") is not named by that header. Called for a request
// the guard accepted, the scheme tells: a Bearer or DPoP header beside
// another token, or malformed, was refused (400).
func presentedIn(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if scheme, _, ok := strings.Cut(h, " "); ok && (strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "DPoP")) {
		return h
	}
	return ""
}

// tokenUserID is the UserID of a token that names nobody: the token
// itself, so that a session it opens is bound to it alone, never to
// nobody. presented is the request's Authorization header, when the token
// came in it: its hash names exactly that token. Otherwise (the token in a
// query, form or cookie; TokenInfo called directly) it is a hash of the
// token's issuer and claims.
func tokenUserID(tok *validator.Token, presented string) string {
	h := sha256.New()
	if presented != "" {
		h.Write([]byte("presented\x00"))
		h.Write([]byte(presented))
	} else {
		h.Write([]byte("claims\x00"))
		h.Write([]byte(strconv.Quote(tok.Issuer)))
		h.Write(tok.RawClaims())
	}
	return "token " + hex.EncodeToString(h.Sum(nil)[:16]) + " iss " + strconv.Quote(tok.Issuer)
}

// plausibleToolName reports whether name could name a tool: UTF-8 of
// graphic characters without white space (no control or format
// characters: a byte order mark, a zero-width space). The SDK itself only
// logs names outside MCP's grammar, so others ("files/read") are let
// through.
func plausibleToolName(name string) bool {
	if !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if unicode.IsSpace(r) || !unicode.IsGraphic(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// mustBeBuilt panics when g was not built by [New] (a nil *Guard, whose
// New returned an error that was dropped, or a zero Guard): at start-up,
// where Protect, Verifier and Middleware are installed. The SDK does not
// recover a panic in its middleware: the first tool call would end the
// process.
func (g *Guard) mustBeBuilt() {
	if g == nil || g.guard.Validator() == nil {
		panic("mcpbearer: a Guard not built by New (check New's error)")
	}
}
