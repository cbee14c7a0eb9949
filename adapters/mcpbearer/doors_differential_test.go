package mcpbearer_test

// A generated differential between mcpbearer's door and the reference door.
// One validator configuration, one httpbearer guard (realm "orders",
// public URL https://api.example.com, resource_metadata) is put behind:
//
//	mcp       Guard.Protect (WithRequirement read:data, WithToolScopes
//	          write_data: write:data) around the SDK's streamable handler
//	          (stateless, JSON answers) on /mcp, Middleware installed
//	reference httpbearer: guard.Require on /mcp, needing read:data, or
//	          read:data and write:data for a POST calling write_data (every
//	          scope the request needs: what the README says Protect's
//	          challenge names)
//
// each on a real loopback server. A seeded generator (the root module's
// e2e_doors_test.go, copied in small: tokens of every kind, presentations
// mutating the Authorization and DPoP headers, the query, the body) builds
// requests; every POST without a form body carries a JSON-RPC tools/call of
// read_data or write_data, or a batch calling both. Answers are compared
// on: allowed or not, status, WWW-Authenticate (parsed), DPoP-Nonce
// (present) and Retry-After. Besides, no tool call Protect lets through
// may be refused by Middleware (the two checks agree), and Protect's own
// tool check must have refused some calls.
//
// The one normalisation: a request the guard let through to the SDK's
// handler is a pass, whatever the SDK then answered (405 to a GET of a
// stateless server, 400 to a form body): the reference's handler answers
// 200. Both doors share the guard, so resource_metadata is in both
// challenges and compared as it is.
//
// Stacks: dpop-allowed, dpop-off, nonces, query-tokens, dpop-required,
// then the issuer stopped mid-run (keys-down) and a key set that never
// loaded.
//
// Run with -short for fewer requests, and under -race.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/mcpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/doortest"
	"github.com/bearerguard/bearerguard/resourcemeta"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

const (
	ddSeed   = 20261203
	ddHost   = "api.example.com"
	ddPublic = "https://" + ddHost
	ddHTU    = ddPublic + "/mcp" // also the audience: MCP tokens are for the endpoint's URI
	ddRealm  = "orders"
	// ddReached marks an answer of the SDK's handler: the guard let the request through.
	ddReached = "X-Diff-Reached"
)

type ddHeader struct{ name, value string }

type ddRequest struct {
	label   string
	method  string
	query   string
	body    string // a form body, from the presentation
	tool    string // a POST without a form body calls this tool
	headers func() []ddHeader
}

// ddStack is one validator configuration behind both doors.
type ddStack struct {
	name          string
	mcp           *ddClient
	refRead       *ddClient // /mcp needs read:data
	refReadWrite  *ddClient // /mcp needs read:data write:data
	nonce         string
	sdkToolErrors int // tools/call Protect passed and Middleware refused
	toolRefusals  int // 403s of Protect's own tool check (a JSON-RPC body)
}

// ddOutcome is a door's answer (see doortest.Outcome).
type ddOutcome = doortest.Outcome

func newDDStack(t *testing.T, name string, keys validator.KeySource, issURL string, gopts []httpbearer.Option, vopts ...validator.Option) *ddStack {
	t.Helper()
	v, err := validator.New(append([]validator.Option{validator.WithIssuer(issURL, keys), validator.WithAudience(ddHTU)}, vopts...)...)
	if err != nil {
		t.Fatal(err)
	}
	md, err := resourcemeta.New(ddHTU, resourcemeta.WithAuthorizationServers(issURL), resourcemeta.FromValidator(v))
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpbearer.New(v, append([]httpbearer.Option{httpbearer.WithRealm(ddRealm), httpbearer.WithPublicURL(ddPublic),
		httpbearer.WithResourceMetadata(md.URL())}, gopts...)...)
	if err != nil {
		t.Fatal(err)
	}
	mg, err := mcpbearer.New(g, mcpbearer.WithRequirement(scopes.All("read:data")),
		mcpbearer.WithToolScopes("write_data", scopes.All("write:data")))
	if err != nil {
		t.Fatal(err)
	}
	ms := mcp.NewServer(&mcp.Implementation{Name: "diff", Version: "v0.0.1"}, nil)
	ms.AddReceivingMiddleware(mg.Middleware())
	for _, tool := range []string{"read_data", "write_data"} {
		ms.AddTool(&mcp.Tool{Name: tool, InputSchema: json.RawMessage(`{"type":"object"}`)},
			func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: tool}}}, nil
			})
	}
	sdk := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return ms },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true})
	reached := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(ddReached, "1")
		sdk.ServeHTTP(w, r)
	})
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	serve := func(h http.Handler) *ddClient {
		mux := http.NewServeMux()
		mux.Handle("/mcp", h)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		c := &ddClient{doortest.Client{Addr: srv.Listener.Addr().String()}}
		t.Cleanup(c.Close)
		return c
	}
	return &ddStack{name: name,
		mcp:          serve(mg.Protect(reached)),
		refRead:      serve(g.Require(scopes.All("read:data"), ok)),
		refReadWrite: serve(g.Require(scopes.All("read:data", "write:data"), ok)),
	}
}

// send gives r to the MCP door and to the reference door for what r needs.
func (s *ddStack) send(t *testing.T, r ddRequest) (mcpAnswer, ref ddOutcome) {
	target := "/mcp"
	if r.query != "" {
		target += "?" + r.query
	}
	body, ctype := r.body, "application/x-www-form-urlencoded"
	if r.method == http.MethodPost && body == "" && r.tool != "" {
		call := func(id int, tool string) string {
			return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":{}}}`, id, tool)
		}
		if r.tool == "batch" { // a JSON-RPC batch calling both tools
			body = "[" + call(7, "read_data") + "," + call(8, "write_data") + "]"
		} else {
			body = call(7, r.tool)
		}
		ctype = "application/json"
	}
	refDoor := s.refRead
	if r.method == http.MethodPost && r.body == "" && (r.tool == "write_data" || r.tool == "batch") {
		refDoor = s.refReadWrite
	}
	base := []ddHeader{{"Host", ddHost}, {"Accept", "application/json, text/event-stream"}}
	if body != "" {
		base = append(base, ddHeader{"Content-Type", ctype})
	}
	var sdkBody []byte
	mcpAnswer = s.mcp.do(t, r.method, target, append(base, r.headers()...), body, &sdkBody)
	if mcpAnswer.Status == http.StatusForbidden && (bytes.HasPrefix(sdkBody, []byte(`{"jsonrpc"`)) || bytes.HasPrefix(sdkBody, []byte(`[{"jsonrpc"`))) {
		s.toolRefusals++
	}
	if mcpAnswer.Pass && r.method == http.MethodPost && r.body == "" && r.tool != "" && bytes.Contains(sdkBody, []byte(`"isError":true`)) {
		s.sdkToolErrors++
	}
	ref = refDoor.do(t, r.method, target, append(base, r.headers()...), body, nil)
	return mcpAnswer, ref
}

// ---- the HTTP client (header lines exactly as written) and answers ----

type ddClient struct{ doortest.Client }

func (c *ddClient) do(t *testing.T, method, target string, hs []ddHeader, body string, respBody *[]byte) ddOutcome {
	t.Helper()
	lines := make([]string, 0, len(hs))
	for _, h := range hs {
		lines = append(lines, h.name+": "+h.value)
	}
	resp, rb := c.Do(t, method, target, lines, body)
	if respBody != nil {
		*respBody = rb
	}
	return ddOutcomeOf(resp)
}

// ddOutcomeOf reads an answer. The SDK's handler answered a request the
// guard let through (the normalisation: a pass, whatever its status); a
// 200 of the reference is a pass; a refusal without Cache-Control:
// no-store, which every bearerguard answer has, came from Go's HTTP server.
func ddOutcomeOf(resp *http.Response) ddOutcome {
	if resp.Header.Get(ddReached) != "" || resp.StatusCode == http.StatusOK {
		return ddOutcome{Pass: true, Status: http.StatusOK}
	}
	o := ddOutcome{Status: resp.StatusCode}
	if resp.Header.Get("Cache-Control") != "no-store" {
		o.Transport = true
		return o
	}
	o.Challenge = doortest.NormChallenge(resp.Header.Values("Www-Authenticate"))
	o.Nonce = resp.Header.Get("Dpop-Nonce") != ""
	o.RetryAfter = strings.Join(resp.Header.Values("Retry-After"), ",")
	return o
}

// ---- the generator (the root's e2e_doors_test.go, for /mcp) ----

type ddPresentation struct {
	name string
	make func(tok string, rnd *mrand.Rand, tk *doortest.Tokens, s *ddStack) ddRequest
}

func ddPresentations(t *testing.T) []ddPresentation {
	hs := func(kv ...string) func() []ddHeader {
		return func() []ddHeader {
			var out []ddHeader
			for i := 0; i+1 < len(kv); i += 2 {
				out = append(out, ddHeader{kv[i], kv[i+1]})
			}
			return out
		}
	}
	auth := func(v string) func() []ddHeader { return hs("Authorization", v) }
	nonce := func(s *ddStack) []bearertest.ProofOption {
		if s.nonce == "" {
			return nil
		}
		return []bearertest.ProofOption{bearertest.ProofNonce(s.nonce)}
	}
	// bearer: a presentation of the Authorization header alone, method m.
	bearer := func(name, m string, value func(tok string, rnd *mrand.Rand) string) ddPresentation {
		return ddPresentation{name, func(tok string, rnd *mrand.Rand, _ *doortest.Tokens, _ *ddStack) ddRequest {
			return ddRequest{method: m, headers: auth(value(tok, rnd))}
		}}
	}
	// dpop: "DPoP <token>" with proofs built per door, on method m.
	dpop := func(name, m, query string, scheme string, proofs func(tok string, tk *doortest.Tokens, s *ddStack) []string) ddPresentation {
		return ddPresentation{name, func(tok string, _ *mrand.Rand, tk *doortest.Tokens, s *ddStack) ddRequest {
			return ddRequest{method: m, query: query, headers: func() []ddHeader {
				out := []ddHeader{{"Authorization", scheme + tok}}
				for _, p := range proofs(tok, tk, s) {
					out = append(out, ddHeader{"DPoP", p})
				}
				return out
			}}
		}}
	}
	proof := func(k func(tk *doortest.Tokens) *bearertest.DPoPKey, m, htu, suffix string, withNonce bool, opts ...bearertest.ProofOption) func(string, *doortest.Tokens, *ddStack) []string {
		return func(tok string, tk *doortest.Tokens, s *ddStack) []string {
			all := slices.Clip(opts)
			if withNonce {
				all = append(all, nonce(s)...)
			}
			return []string{k(tk).MustProof(t, m, htu, tok+suffix, all...)}
		}
	}
	bound := func(tk *doortest.Tokens) *bearertest.DPoPKey { return tk.Bound }
	other := func(tk *doortest.Tokens) *bearertest.DPoPKey { return tk.Other }
	id := func(tok string, _ *mrand.Rand) string { return "Bearer " + tok }
	return []ddPresentation{
		bearer("bearer", "GET", id),
		bearer("bearer-post", "POST", id),
		bearer("bearer-post-2", "POST", id), // twice: more valid calls reach the tool check
		{"bearer-any-method", func(tok string, rnd *mrand.Rand, _ *doortest.Tokens, _ *ddStack) ddRequest {
			m := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}[rnd.Intn(7)]
			return ddRequest{method: m, headers: auth("Bearer " + tok)}
		}},
		{"header-name-case", func(tok string, rnd *mrand.Rand, _ *doortest.Tokens, _ *ddStack) ddRequest {
			n := []string{"authorization", "AUTHORIZATION", "AuThOrIzAtIoN"}[rnd.Intn(3)]
			return ddRequest{method: "POST", headers: hs(n, "Bearer "+tok)}
		}},
		bearer("scheme-lower", "POST", func(tok string, _ *mrand.Rand) string { return "bearer " + tok }),
		bearer("scheme-upper", "GET", func(tok string, _ *mrand.Rand) string { return "BEARER " + tok }),
		bearer("two-spaces", "POST", func(tok string, _ *mrand.Rand) string { return "Bearer  " + tok }),
		bearer("tab", "GET", func(tok string, _ *mrand.Rand) string { return "Bearer\t" + tok }),
		bearer("trailing-space", "POST", func(tok string, _ *mrand.Rand) string { return "Bearer " + tok + "  " }),
		bearer("leading-space", "GET", func(tok string, _ *mrand.Rand) string { return "  Bearer " + tok }),
		bearer("trailing-text", "POST", func(tok string, _ *mrand.Rand) string { return "Bearer " + tok + " x" }),
		bearer("scheme-only", "GET", func(string, *mrand.Rand) string { return "Bearer" }),
		bearer("scheme-space", "POST", func(string, *mrand.Rand) string { return "Bearer " }),
		bearer("no-space", "GET", func(tok string, _ *mrand.Rand) string { return "Bearer" + tok }),
		bearer("comma-list", "POST", func(tok string, _ *mrand.Rand) string { return "Bearer " + tok + ", Bearer " + tok }),
		bearer("empty-header", "GET", func(string, *mrand.Rand) string { return "" }),
		bearer("basic", "POST", func(string, *mrand.Rand) string { return "Basic dXNlcjpwYXNz" }),
		bearer("flipped-byte", "POST", func(tok string, rnd *mrand.Rand) string { return "Bearer " + doortest.Flip(tok, rnd) }),
		bearer("truncated", "GET", func(tok string, rnd *mrand.Rand) string { return "Bearer " + tok[:1+rnd.Intn(len(tok)-1)] }),
		bearer("padded", "POST", func(tok string, rnd *mrand.Rand) string { return "Bearer " + tok + strings.Repeat("=", 1+rnd.Intn(2)) }),
		bearer("non-ascii", "GET", func(tok string, rnd *mrand.Rand) string {
			return "Bearer " + doortest.Insert(tok, []string{"é", "Ω", "\u00a0"}[rnd.Intn(3)], rnd)
		}),
		bearer("control-char", "POST", func(tok string, rnd *mrand.Rand) string {
			return "Bearer " + doortest.Insert(tok, []string{"\x01", "\x7f", "\x1f"}[rnd.Intn(3)], rnd)
		}),
		bearer("very-long", "POST", func(tok string, rnd *mrand.Rand) string {
			return "Bearer " + tok + strings.Repeat("A", max(0, []int{8 << 10, 9000, 20000}[rnd.Intn(3)]-len(tok)))
		}),
		{"no-header", func(string, *mrand.Rand, *doortest.Tokens, *ddStack) ddRequest {
			return ddRequest{method: "GET", headers: hs()}
		}},
		{"no-header-post", func(string, *mrand.Rand, *doortest.Tokens, *ddStack) ddRequest {
			return ddRequest{method: "POST", headers: hs()}
		}},
		{"two-headers", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *ddStack) ddRequest {
			return ddRequest{method: "POST", headers: hs("Authorization", "Bearer "+tok, "Authorization", "Bearer "+tok)}
		}},
		{"two-headers-one-basic", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *ddStack) ddRequest {
			return ddRequest{method: "POST", headers: hs("Authorization", "Bearer "+tok, "Authorization", "Basic dXNlcjpwYXNz")}
		}},
		{"query-and-header", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *ddStack) ddRequest {
			return ddRequest{method: "POST", query: "access_token=" + tok, headers: auth("Bearer " + tok)}
		}},
		{"query-only", func(tok string, rnd *mrand.Rand, _ *doortest.Tokens, _ *ddStack) ddRequest {
			q := []string{"access_token=" + tok, "x=1&access_token=" + tok, "access_token=" + tok + "&access_token=" + tok,
				"access%5Ftoken=" + tok, "ACCESS_TOKEN=" + tok}[rnd.Intn(5)]
			return ddRequest{method: []string{"GET", "POST"}[rnd.Intn(2)], query: q, headers: hs()}
		}},
		{"form-and-header", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *ddStack) ddRequest {
			return ddRequest{method: "POST", body: "access_token=" + tok, headers: auth("Bearer " + tok)}
		}},
		// DPoP
		{"dpop-scheme-no-proof", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *ddStack) ddRequest {
			return ddRequest{method: "POST", headers: auth("DPoP " + tok)}
		}},
		bearer("dpop-scheme-only", "GET", func(string, *mrand.Rand) string { return "DPoP" }),
		dpop("dpop-proof", "GET", "", "DPoP ", proof(bound, "GET", ddHTU, "", true)),
		dpop("dpop-proof-post", "POST", "", "DPoP ", proof(bound, "POST", ddHTU, "", true)),
		dpop("dpop-proof-post-2", "POST", "", "DPoP ", proof(bound, "POST", ddHTU, "", true)), // twice, as bearer-post
		dpop("dpop-proof-lower-scheme", "POST", "", "dpop ", proof(bound, "POST", ddHTU, "", true)),
		dpop("dpop-proof-no-nonce", "POST", "", "DPoP ", proof(bound, "POST", ddHTU, "", false)),
		dpop("dpop-proof-stale-nonce", "POST", "", "DPoP ", proof(bound, "POST", ddHTU, "", false, bearertest.ProofNonce("stale-nonce"))),
		dpop("dpop-proof-bearer-scheme", "POST", "", "Bearer ", proof(bound, "POST", ddHTU, "", true)),
		{"dpop-proof-alone", func(tok string, _ *mrand.Rand, tk *doortest.Tokens, s *ddStack) ddRequest {
			return ddRequest{method: "POST", headers: func() []ddHeader {
				return []ddHeader{{"DPoP", tk.Bound.MustProof(t, "POST", ddHTU, tok, nonce(s)...)}}
			}}
		}},
		dpop("dpop-two-proofs", "POST", "", "DPoP ", func(tok string, tk *doortest.Tokens, s *ddStack) []string {
			return []string{tk.Bound.MustProof(t, "POST", ddHTU, tok, nonce(s)...), tk.Bound.MustProof(t, "POST", ddHTU, tok, nonce(s)...)}
		}),
		dpop("dpop-two-proofs-one-line", "POST", "", "DPoP ", func(tok string, tk *doortest.Tokens, s *ddStack) []string {
			return []string{tk.Bound.MustProof(t, "POST", ddHTU, tok, nonce(s)...) + ", " + tk.Bound.MustProof(t, "POST", ddHTU, tok, nonce(s)...)}
		}),
		{"dpop-proof-flipped", func(tok string, rnd *mrand.Rand, tk *doortest.Tokens, s *ddStack) ddRequest {
			seed := rnd.Int63()
			return ddRequest{method: "POST", headers: func() []ddHeader {
				p := tk.Bound.MustProof(t, "POST", ddHTU, tok, nonce(s)...)
				return []ddHeader{{"Authorization", "DPoP " + tok}, {"DPoP", doortest.Flip(p, mrand.New(mrand.NewSource(seed)))}}
			}}
		}},
		dpop("dpop-proof-wrong-method", "POST", "", "DPoP ", proof(bound, "GET", ddHTU, "", true)),
		dpop("dpop-proof-wrong-url", "POST", "", "DPoP ", proof(bound, "POST", ddPublic+"/other", "", true)),
		dpop("dpop-proof-other-key", "POST", "", "DPoP ", proof(other, "POST", ddHTU, "", true)),
		dpop("dpop-proof-other-token", "POST", "", "DPoP ", proof(bound, "POST", ddHTU, "x", true)),
		dpop("dpop-proof-and-query", "POST", "access_token=QUERYTOKEN", "DPoP ", proof(bound, "POST", ddHTU, "", true)),
		dpop("dpop-scheme-tab", "POST", "", "DPoP\t", proof(bound, "POST", ddHTU, "", true)),
		dpop("dpop-empty-proof", "POST", "", "DPoP ", func(string, *doortest.Tokens, *ddStack) []string { return []string{""} }),
	}
}

func ddGenerate(rnd *mrand.Rand, n int, tk *doortest.Tokens, ps []ddPresentation, s *ddStack) []ddRequest {
	out := make([]ddRequest, 0, n)
	for range n {
		kind := tk.Kinds[rnd.Intn(len(tk.Kinds))]
		tok := tk.Pool[kind][rnd.Intn(len(tk.Pool[kind]))]
		p := ps[rnd.Intn(len(ps))]
		r := p.make(tok, rnd, tk, s)
		r.tool = []string{"read_data", "write_data", "write_data", "batch"}[rnd.Intn(4)]
		r.label = kind + " × " + p.name
		if r.method == http.MethodPost && r.body == "" {
			r.label += " → " + r.tool
		}
		out = append(out, r)
	}
	return out
}

func TestDoorsDifferentialMCP(t *testing.T) {
	start := time.Now()
	n := 1500 // per stack
	if testing.Short() {
		n = 200
	}
	rnd := mrand.New(mrand.NewSource(ddSeed))
	iss, keys, tk := doortest.Issuer(t, ddHTU)
	// A bound token with the tool's scope too: a DPoP tool call that passes.
	tk.Add("dpop-bound-more-scopes", func(int) string {
		return iss.Mint(t, bearertest.Claims{"aud": ddHTU, "scope": "read:data write:data", "sub": "user-1"}, bearertest.BoundToKey(tk.Bound))
	})
	ps := ddPresentations(t)

	stacks := []*ddStack{
		newDDStack(t, "dpop-allowed", keys, iss.URL, nil),
		newDDStack(t, "dpop-off", keys, iss.URL, nil, validator.WithDPoP(validator.DPoPOff)),
		newDDStack(t, "nonces", keys, iss.URL, nil, validator.WithDPoPNonces(bytes.Repeat([]byte{7}, 32), 0)),
		newDDStack(t, "query-tokens", keys, iss.URL, []httpbearer.Option{httpbearer.WithQueryToken()}),
		newDDStack(t, "dpop-required", keys, iss.URL, nil, validator.WithDPoP(validator.DPoPRequired)),
	}
	stacks[2].nonce = ddLearnNonce(t, stacks[2], tk)

	stats := doortest.Stats{}
	var ms []string
	total := 0
	run := func(s *ddStack, reqs []ddRequest) {
		for _, r := range reqs {
			m, ref := s.send(t, r)
			stats.Add("mcp", m)
			stats.Add("reference", ref)
			if m != ref {
				ms = append(ms, fmt.Sprintf("[%s] %s\n    mcp       %s\n    reference %s\n", s.name, r.label, m, ref))
			}
		}
		total += len(reqs)
	}
	for _, s := range stacks {
		run(s, ddGenerate(rnd, n, tk, ps, s))
	}
	iss.Close() // the issuer goes down mid-run: the loaded keys stay in force
	stacks[0].name += "/keys-down"
	run(stacks[0], ddGenerate(rnd, n/2, tk, ps, stacks[0]))

	dead, deadKeys := doortest.DeadIssuer(t)
	never := newDDStack(t, "keys-never-loaded", deadKeys, dead.URL, nil)
	run(never, ddGenerate(rnd, n/3, tk.Retarget(t, dead, ddHTU), ps, never))

	t.Logf("%d requests through mcpbearer.Protect and httpbearer in %v", total, time.Since(start).Round(time.Millisecond))
	stats.Check(t, "mcp", "reference")
	toolRefusals := 0
	for _, s := range append(stacks, never) {
		toolRefusals += s.toolRefusals
		if s.sdkToolErrors > 0 {
			t.Errorf("%s: %d tool calls Protect let through were refused by Middleware", s.name, s.sdkToolErrors)
		}
	}
	if toolRefusals == 0 {
		t.Errorf("Protect's tool check never refused a call (403 with a JSON-RPC body)")
	}
	t.Logf("  403s of Protect's tool check: %d", toolRefusals)
	doortest.Report(t, ms)
}

// ddLearnNonce asks the reference door with a proof without a nonce and
// returns the DPoP-Nonce it answers (the same validator: valid for both).
func ddLearnNonce(t *testing.T, s *ddStack, tk *doortest.Tokens) string {
	t.Helper()
	tok := tk.Pool["dpop-bound"][0]
	req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+s.refRead.Addr+"/mcp", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = ddHost
	req.Header.Set("Authorization", "DPoP "+tok)
	req.Header.Set("DPoP", tk.Bound.MustProof(t, "GET", ddHTU, tok))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	nonce := resp.Header.Get("DPoP-Nonce")
	if nonce == "" {
		t.Fatalf("nonces stack: %d without DPoP-Nonce", resp.StatusCode)
	}
	return nonce
}
