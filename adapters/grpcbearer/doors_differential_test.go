package grpcbearer_test

// A generated differential between grpcbearer's door and the reference
// door. One validator configuration (realm "orders", public URL
// https://api.example.com, the grpc.health.v1.Health service needing
// read:data) is put behind:
//
//	grpc      grpcbearer.Interceptor (ServerOptions) on a real gRPC server
//	          on a loopback listener: the unary Check and the
//	          server-streaming Watch of grpc.health.v1.Health
//	reference httpbearer: guard.Require(read:data) on the same paths
//	          (/grpc.health.v1.Health/Check, …/Watch), POST, as a gRPC call
//	          is an HTTP POST to its full method name
//
// A seeded generator (the root module's e2e_doors_test.go, copied in
// small: tokens of every kind, presentations mutating the authorization
// and dpop values, two tokens, two proofs on two values and joined with
// ',' on one) builds requests; each goes to both doors, and the answers
// are compared on: allowed or not, status, WWW-Authenticate (parsed),
// DPoP-Nonce (present) and Retry-After.
//
// The one normalisation is the README's table ("Answers" in the package
// documentation): a gRPC status is the HTTP status of its code (OK a pass,
// InvalidArgument 400, Unauthenticated 401, PermissionDenied 403,
// Unavailable 503; any other code is kept as itself and never equals an
// HTTP answer), and the "www-authenticate", "dpop-nonce" and
// "retry-after" trailers are the headers of those names. The gRPC request
// carries what a gRPC client can send: metadata keys in lower case (the
// header's name in any case becomes "authorization"), and a request with a
// value outside printable ASCII (grpc-go refuses to send it: a tab, a
// control character, non-ASCII) goes to neither door.
//
// Stacks: dpop-allowed, dpop-off, nonces, dpop-required,
// htu-from-authority (no WithBaseURL / WithPublicURL), then the issuer
// stopped mid-run (keys-down) and a key set that never loaded.
//
// Run with -short for fewer calls, and under -race.

import (
	"bytes"
	"context"
	"fmt"
	mrand "math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bearerguard/bearerguard/adapters/grpcbearer"
	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/doortest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

const (
	ddSeed     = 20261203
	ddHost     = "api.example.com"
	ddPublic   = "https://" + ddHost
	ddRealm    = "orders"
	ddAudience = "https://api.example.com/orders"
	ddCheck    = "/grpc.health.v1.Health/Check"
	ddWatch    = "/grpc.health.v1.Health/Watch"
)

type ddHeader struct{ name, value string }

type ddRequest struct {
	label   string
	method  string // the full method: ddCheck (unary) or ddWatch (a stream)
	headers func(htu string) []ddHeader
}

// ddStack is one validator configuration behind both doors.
type ddStack struct {
	name   string
	health healthpb.HealthClient
	ref    *ddClient
	nonce  string
	base   string // the htu of a method is base + the full method
	host   string // the reference's Host
}

// ddOutcome is a door's answer (see doortest.Outcome).
type ddOutcome = doortest.Outcome

func newDDStack(t *testing.T, name string, keys validator.KeySource, issURL string, vopts ...validator.Option) *ddStack {
	t.Helper()
	return newDDStackWith(t, name, false, keys, issURL, vopts...)
}

// newDDStackWith: fromAuthority leaves grpcbearer.WithBaseURL and
// httpbearer.WithPublicURL out, so that the htu is built from the call's
// :authority (http://127.0.0.1:port, the gRPC listener) and from the
// request's Host, which the reference is sent with the same value.
func newDDStackWith(t *testing.T, name string, fromAuthority bool, keys validator.KeySource, issURL string, vopts ...validator.Option) *ddStack {
	t.Helper()
	v, err := validator.New(append([]validator.Option{validator.WithIssuer(issURL, keys), validator.WithAudience(ddAudience)}, vopts...)...)
	if err != nil {
		t.Fatal(err)
	}
	need := scopes.All("read:data")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &ddStack{name: name, base: ddPublic, host: ddHost}
	gopts := []grpcbearer.Option{grpcbearer.WithRealm(ddRealm), grpcbearer.WithMethods(map[string]scopes.Requirement{"/grpc.health.v1.Health/": need})}
	hopts := []httpbearer.Option{httpbearer.WithRealm(ddRealm)}
	if fromAuthority {
		s.host = l.Addr().String()
		s.base = "http://" + s.host
	} else {
		gopts = append(gopts, grpcbearer.WithBaseURL(ddPublic))
		hopts = append(hopts, httpbearer.WithPublicURL(ddPublic))
	}
	auth, err := grpcbearer.New(v, gopts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(auth.ServerOptions()...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	g, err := httpbearer.New(v, hopts...)
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux := http.NewServeMux()
	mux.Handle("POST "+ddCheck, g.Require(need, ok))
	mux.Handle("POST "+ddWatch, g.Require(need, ok))
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	s.ref = &ddClient{doortest.Client{Addr: hs.Listener.Addr().String()}}
	t.Cleanup(s.ref.Close)
	s.health = healthpb.NewHealthClient(conn)
	return s
}

// grpcSendable reports whether grpc-go sends v as a metadata value: it
// refuses values with bytes outside printable ASCII (0x20-0x7E).
func grpcSendable(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

// send gives r to both doors; ok is false when a gRPC client cannot send it.
func (s *ddStack) send(t *testing.T, r ddRequest) (grpcAnswer, ref ddOutcome, ok bool) {
	htu := s.base + r.method
	probe := r.headers(htu)
	for _, h := range probe {
		if !grpcSendable(h.value) {
			// The premise of skipping it: grpc-go refuses to send it.
			if o := s.call(t, r.method, probe); o.Status != 1000+int(codes.Internal) {
				t.Fatalf("%s: grpc-go sent a value outside printable ASCII: %v", r.label, o)
			}
			return ddOutcome{}, ddOutcome{}, false
		}
	}
	grpcAnswer = s.call(t, r.method, r.headers(htu))
	ref = s.ref.do(t, "POST", r.method, append([]ddHeader{{"Host", s.host}, {"Content-Type", "application/grpc"}}, r.headers(htu)...), "", nil)
	return grpcAnswer, ref, true
}

// call makes the gRPC call with hs as its metadata (keys in lower case).
func (s *ddStack) call(t *testing.T, method string, hs []ddHeader) ddOutcome {
	var kv []string
	for _, h := range hs {
		kv = append(kv, strings.ToLower(h.name), h.value)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs(kv...))
	var trailer metadata.MD
	var err error
	if method == ddCheck {
		_, err = s.health.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Trailer(&trailer))
	} else {
		var stream healthpb.Health_WatchClient
		if stream, err = s.health.Watch(ctx, &healthpb.HealthCheckRequest{}); err == nil {
			if _, err = stream.Recv(); err != nil {
				trailer = stream.Trailer()
			}
		}
	}
	return ddGRPCOutcome(err, trailer)
}

// ddGRPCOutcome is the normalisation: the gRPC code as its HTTP status, the
// trailers as the headers of those names.
func ddGRPCOutcome(err error, trailer metadata.MD) ddOutcome {
	if err == nil {
		return ddOutcome{Pass: true, Status: http.StatusOK}
	}
	st := status.Convert(err)
	o := ddOutcome{}
	switch st.Code() {
	case codes.InvalidArgument:
		o.Status = http.StatusBadRequest
	case codes.Unauthenticated:
		o.Status = http.StatusUnauthorized
	case codes.PermissionDenied:
		o.Status = http.StatusForbidden
	case codes.Unavailable:
		o.Status = http.StatusServiceUnavailable
	default:
		o.Status = 1000 + int(st.Code()) // no HTTP answer: never equal to one
		o.Challenge = "gRPC " + st.Code().String() + ": " + st.Message()
		return o
	}
	o.Challenge = doortest.NormChallenge(trailer.Get("www-authenticate"))
	o.Nonce = len(trailer.Get("dpop-nonce")) > 0 && trailer.Get("dpop-nonce")[0] != ""
	o.RetryAfter = strings.Join(trailer.Get("retry-after"), ",")
	return o
}

// ddOutcomeOf reads the reference's answer: 200 is a pass; a refusal
// without Cache-Control: no-store, which every bearerguard answer has,
// came from Go's HTTP server.
func ddOutcomeOf(resp *http.Response) ddOutcome {
	o := ddOutcome{Status: resp.StatusCode, Pass: resp.StatusCode == http.StatusOK}
	if o.Pass {
		return o
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		o.Transport = true
		return o
	}
	o.Challenge = doortest.NormChallenge(resp.Header.Values("Www-Authenticate"))
	o.Nonce = resp.Header.Get("Dpop-Nonce") != ""
	o.RetryAfter = strings.Join(resp.Header.Values("Retry-After"), ",")
	return o
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

// ---- the generator (the root's e2e_doors_test.go, for gRPC calls) ----

// ddPresentation makes the metadata of one call from a token; proofs are
// built per door (they are single-use) for the call's htu.
type ddPresentation struct {
	name string
	make func(tok string, rnd *mrand.Rand, tk *doortest.Tokens, s *ddStack) func(htu string) []ddHeader
}

func ddPresentations(t *testing.T) []ddPresentation {
	fixed := func(kv ...string) func(string) []ddHeader {
		return func(string) []ddHeader {
			var out []ddHeader
			for i := 0; i+1 < len(kv); i += 2 {
				out = append(out, ddHeader{kv[i], kv[i+1]})
			}
			return out
		}
	}
	nonce := func(s *ddStack) []bearertest.ProofOption {
		if s.nonce == "" {
			return nil
		}
		return []bearertest.ProofOption{bearertest.ProofNonce(s.nonce)}
	}
	bearer := func(name string, value func(tok string, rnd *mrand.Rand) string) ddPresentation {
		return ddPresentation{name, func(tok string, rnd *mrand.Rand, _ *doortest.Tokens, _ *ddStack) func(string) []ddHeader {
			return fixed("Authorization", value(tok, rnd))
		}}
	}
	// dpop: authorization "<scheme><token>" and one dpop value per proof.
	dpop := func(name, scheme string, proofs func(tok, htu string, tk *doortest.Tokens, s *ddStack) []string) ddPresentation {
		return ddPresentation{name, func(tok string, _ *mrand.Rand, tk *doortest.Tokens, s *ddStack) func(string) []ddHeader {
			return func(htu string) []ddHeader {
				out := []ddHeader{{"Authorization", scheme + tok}}
				for _, p := range proofs(tok, htu, tk, s) {
					out = append(out, ddHeader{"DPoP", p})
				}
				return out
			}
		}}
	}
	// proof: one proof by key k for method m at the call's htu (+ path).
	proof := func(k func(tk *doortest.Tokens) *bearertest.DPoPKey, m, path, suffix string, withNonce bool, opts ...bearertest.ProofOption) func(string, string, *doortest.Tokens, *ddStack) []string {
		return func(tok, htu string, tk *doortest.Tokens, s *ddStack) []string {
			all := slices.Clip(opts)
			if withNonce {
				all = append(all, nonce(s)...)
			}
			if path != "" {
				htu = s.base + path
			}
			return []string{k(tk).MustProof(t, m, htu, tok+suffix, all...)}
		}
	}
	bound := func(tk *doortest.Tokens) *bearertest.DPoPKey { return tk.Bound }
	other := func(tk *doortest.Tokens) *bearertest.DPoPKey { return tk.Other }
	id := func(tok string, _ *mrand.Rand) string { return "Bearer " + tok }
	return []ddPresentation{
		bearer("bearer", id),
		bearer("bearer-2", id), // twice: more calls with a well-formed value
		{"header-name-case", func(tok string, rnd *mrand.Rand, _ *doortest.Tokens, _ *ddStack) func(string) []ddHeader {
			return fixed([]string{"authorization", "AUTHORIZATION", "AuThOrIzAtIoN"}[rnd.Intn(3)], "Bearer "+tok)
		}},
		bearer("scheme-lower", func(tok string, _ *mrand.Rand) string { return "bearer " + tok }),
		bearer("scheme-upper", func(tok string, _ *mrand.Rand) string { return "BEARER " + tok }),
		bearer("two-spaces", func(tok string, _ *mrand.Rand) string { return "Bearer  " + tok }),
		bearer("tab", func(tok string, _ *mrand.Rand) string { return "Bearer\t" + tok }),
		bearer("trailing-space", func(tok string, _ *mrand.Rand) string { return "Bearer " + tok + "  " }),
		bearer("leading-space", func(tok string, _ *mrand.Rand) string { return "  Bearer " + tok }),
		bearer("trailing-text", func(tok string, _ *mrand.Rand) string { return "Bearer " + tok + " x" }),
		bearer("scheme-only", func(string, *mrand.Rand) string { return "Bearer" }),
		bearer("scheme-space", func(string, *mrand.Rand) string { return "Bearer " }),
		bearer("no-space", func(tok string, _ *mrand.Rand) string { return "Bearer" + tok }),
		bearer("comma-list", func(tok string, _ *mrand.Rand) string { return "Bearer " + tok + ", Bearer " + tok }),
		bearer("empty-value", func(string, *mrand.Rand) string { return "" }),
		bearer("basic", func(string, *mrand.Rand) string { return "Basic dXNlcjpwYXNz" }),
		bearer("flipped-byte", func(tok string, rnd *mrand.Rand) string { return "Bearer " + doortest.Flip(tok, rnd) }),
		bearer("truncated", func(tok string, rnd *mrand.Rand) string { return "Bearer " + tok[:1+rnd.Intn(len(tok)-1)] }),
		bearer("padded", func(tok string, rnd *mrand.Rand) string { return "Bearer " + tok + strings.Repeat("=", 1+rnd.Intn(2)) }),
		bearer("non-ascii", func(tok string, rnd *mrand.Rand) string {
			return "Bearer " + doortest.Insert(tok, []string{"é", "Ω", "\u00a0"}[rnd.Intn(3)], rnd)
		}),
		bearer("control-char", func(tok string, rnd *mrand.Rand) string {
			return "Bearer " + doortest.Insert(tok, []string{"\x01", "\x7f", "\x1f"}[rnd.Intn(3)], rnd)
		}),
		bearer("very-long", func(tok string, rnd *mrand.Rand) string {
			return "Bearer " + tok + strings.Repeat("A", max(0, []int{8 << 10, 9000, 20000}[rnd.Intn(3)]-len(tok)))
		}),
		{"no-metadata", func(string, *mrand.Rand, *doortest.Tokens, *ddStack) func(string) []ddHeader { return fixed() }},
		{"two-values", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *ddStack) func(string) []ddHeader {
			return fixed("Authorization", "Bearer "+tok, "Authorization", "Bearer "+tok)
		}},
		{"two-values-one-basic", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *ddStack) func(string) []ddHeader {
			return fixed("Authorization", "Bearer "+tok, "Authorization", "Basic dXNlcjpwYXNz")
		}},
		// DPoP
		bearer("dpop-scheme-no-proof", func(tok string, _ *mrand.Rand) string { return "DPoP " + tok }),
		bearer("dpop-scheme-only", func(string, *mrand.Rand) string { return "DPoP" }),
		dpop("dpop-proof", "DPoP ", proof(bound, "POST", "", "", true)),
		dpop("dpop-proof-2", "DPoP ", proof(bound, "POST", "", "", true)), // twice, as bearer
		dpop("dpop-proof-lower-scheme", "dpop ", proof(bound, "POST", "", "", true)),
		dpop("dpop-proof-no-nonce", "DPoP ", proof(bound, "POST", "", "", false)),
		dpop("dpop-proof-stale-nonce", "DPoP ", proof(bound, "POST", "", "", false, bearertest.ProofNonce("stale-nonce"))),
		dpop("dpop-proof-bearer-scheme", "Bearer ", proof(bound, "POST", "", "", true)),
		{"dpop-proof-alone", func(tok string, _ *mrand.Rand, tk *doortest.Tokens, s *ddStack) func(string) []ddHeader {
			return func(htu string) []ddHeader {
				return []ddHeader{{"DPoP", tk.Bound.MustProof(t, "POST", htu, tok, nonce(s)...)}}
			}
		}},
		dpop("dpop-two-proofs", "DPoP ", func(tok, htu string, tk *doortest.Tokens, s *ddStack) []string {
			return []string{tk.Bound.MustProof(t, "POST", htu, tok, nonce(s)...), tk.Bound.MustProof(t, "POST", htu, tok, nonce(s)...)}
		}),
		dpop("dpop-two-proofs-one-value", "DPoP ", func(tok, htu string, tk *doortest.Tokens, s *ddStack) []string {
			return []string{tk.Bound.MustProof(t, "POST", htu, tok, nonce(s)...) + ", " + tk.Bound.MustProof(t, "POST", htu, tok, nonce(s)...)}
		}),
		{"dpop-proof-flipped", func(tok string, rnd *mrand.Rand, tk *doortest.Tokens, s *ddStack) func(string) []ddHeader {
			seed := rnd.Int63()
			return func(htu string) []ddHeader {
				p := tk.Bound.MustProof(t, "POST", htu, tok, nonce(s)...)
				return []ddHeader{{"Authorization", "DPoP " + tok}, {"DPoP", doortest.Flip(p, mrand.New(mrand.NewSource(seed)))}}
			}
		}},
		dpop("dpop-proof-wrong-method", "DPoP ", proof(bound, "GET", "", "", true)),
		dpop("dpop-proof-other-method-url", "DPoP ", proof(bound, "POST", "/grpc.health.v1.Health/List", "", true)),
		dpop("dpop-proof-other-key", "DPoP ", proof(other, "POST", "", "", true)),
		dpop("dpop-proof-other-token", "DPoP ", proof(bound, "POST", "", "x", true)),
		dpop("dpop-scheme-tab", "DPoP\t", proof(bound, "POST", "", "", true)),
		dpop("dpop-empty-proof", "DPoP ", func(string, string, *doortest.Tokens, *ddStack) []string { return []string{""} }),
		dpop("dpop-proof-padded", "DPoP ", func(tok, htu string, tk *doortest.Tokens, s *ddStack) []string {
			return []string{" " + tk.Bound.MustProof(t, "POST", htu, tok, nonce(s)...) + " "}
		}),
	}
}

func ddGenerate(rnd *mrand.Rand, n int, tk *doortest.Tokens, ps []ddPresentation, s *ddStack) []ddRequest {
	out := make([]ddRequest, 0, n)
	for range n {
		kind := tk.Kinds[rnd.Intn(len(tk.Kinds))]
		tok := tk.Pool[kind][rnd.Intn(len(tk.Pool[kind]))]
		p := ps[rnd.Intn(len(ps))]
		r := ddRequest{method: []string{ddCheck, ddWatch}[rnd.Intn(2)], headers: p.make(tok, rnd, tk, s)}
		r.label = kind + " × " + p.name + " → " + r.method
		out = append(out, r)
	}
	return out
}

func TestDoorsDifferentialGRPC(t *testing.T) {
	start := time.Now()
	n := 1200 // per stack
	if testing.Short() {
		n = 300
	}
	rnd := mrand.New(mrand.NewSource(ddSeed))
	iss, keys, tk := doortest.Issuer(t, ddAudience)
	ps := ddPresentations(t)

	stacks := []*ddStack{
		newDDStack(t, "dpop-allowed", keys, iss.URL),
		newDDStack(t, "dpop-off", keys, iss.URL, validator.WithDPoP(validator.DPoPOff)),
		newDDStack(t, "nonces", keys, iss.URL, validator.WithDPoPNonces(bytes.Repeat([]byte{7}, 32), 0)),
		newDDStack(t, "dpop-required", keys, iss.URL, validator.WithDPoP(validator.DPoPRequired)),
		newDDStackWith(t, "htu-from-authority", true, keys, iss.URL),
	}
	stacks[2].nonce = ddLearnNonce(t, stacks[2], tk)

	stats := doortest.Stats{}
	var ms []string
	total, unsendable := 0, 0
	run := func(s *ddStack, reqs []ddRequest) {
		for _, r := range reqs {
			g, ref, ok := s.send(t, r)
			if !ok {
				unsendable++
				continue
			}
			total++
			stats.Add("grpc", g)
			stats.Add("reference", ref)
			if g != ref {
				ms = append(ms, fmt.Sprintf("[%s] %s\n    grpc      %s\n    reference %s\n", s.name, r.label, g, ref))
			}
		}
	}
	for _, s := range stacks {
		run(s, ddGenerate(rnd, n, tk, ps, s))
	}
	iss.Close() // the issuer goes down mid-run: the loaded keys stay in force
	stacks[0].name += "/keys-down"
	run(stacks[0], ddGenerate(rnd, n/2, tk, ps, stacks[0]))

	dead, deadKeys := doortest.DeadIssuer(t)
	never := newDDStack(t, "keys-never-loaded", deadKeys, dead.URL)
	run(never, ddGenerate(rnd, n/3, tk.Retarget(t, dead, ddAudience), ps, never))

	t.Logf("%d calls through grpcbearer and httpbearer (%d not sendable by a gRPC client) in %v",
		total, unsendable, time.Since(start).Round(time.Millisecond))
	stats.Check(t, "grpc", "reference")
	doortest.Report(t, ms)
}

// ddLearnNonce asks the reference door with a proof without a nonce and
// returns the DPoP-Nonce it answers (the same validator: valid for both).
func ddLearnNonce(t *testing.T, s *ddStack, tk *doortest.Tokens) string {
	t.Helper()
	tok := tk.Pool["dpop-bound"][0]
	req, err := http.NewRequestWithContext(t.Context(), "POST", "http://"+s.ref.Addr+ddCheck, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = ddHost
	req.Header.Set("Authorization", "DPoP "+tok)
	req.Header.Set("DPoP", tk.Bound.MustProof(t, "POST", ddPublic+ddCheck, tok))
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
