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
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	mrand "math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
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
	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/jwks"
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

type ddOutcome struct {
	Pass       bool
	Status     int
	Challenge  string
	Nonce      bool
	RetryAfter string
	Transport  bool // refused by Go's HTTP server before any door ran
}

func (o ddOutcome) String() string {
	if o.Transport {
		return fmt.Sprintf("%d (HTTP server refused before the door)", o.Status)
	}
	s := fmt.Sprintf("pass=%v %d", o.Pass, o.Status)
	if o.Challenge != "" {
		s += " WWW-Authenticate[" + o.Challenge + "]"
	}
	if o.Nonce {
		s += " DPoP-Nonce"
	}
	if o.RetryAfter != "" {
		s += " Retry-After=" + o.RetryAfter
	}
	return s
}

func (o ddOutcome) statKey() string {
	if o.Transport {
		return "transport"
	}
	k := fmt.Sprint(o.Status)
	if i := strings.Index(o.Challenge, "error="); i >= 0 {
		e := o.Challenge[i+6:]
		k += " " + e[:strings.IndexAny(e+" }", " }")]
	}
	return k
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
	s.ref = &ddClient{addr: hs.Listener.Addr().String()}
	t.Cleanup(s.ref.close)
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
	o.Challenge = ddNormChallenge(trailer.Get("www-authenticate"))
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
	o.Challenge = ddNormChallenge(resp.Header.Values("Www-Authenticate"))
	o.Nonce = resp.Header.Get("Dpop-Nonce") != ""
	o.RetryAfter = strings.Join(resp.Header.Values("Retry-After"), ",")
	return o
}

// ---- the HTTP client (header lines exactly as written) and answers ----

type ddClient struct {
	addr string
	conn net.Conn
	br   *bufio.Reader
}

func (c *ddClient) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}

func (c *ddClient) do(t *testing.T, method, target string, hs []ddHeader, body string, respBody *[]byte) ddOutcome {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", method, target)
	for _, h := range hs {
		fmt.Fprintf(&b, "%s: %s\r\n", h.name, h.value)
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	for attempt := 0; ; attempt++ {
		fresh := false
		if c.conn == nil {
			conn, err := net.Dial("tcp", c.addr)
			if err != nil {
				t.Fatal(err)
			}
			c.conn, c.br, fresh = conn, bufio.NewReader(conn), true
		}
		_ = c.conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, err := c.conn.Write(b.Bytes())
		var resp *http.Response
		if err == nil {
			resp, err = http.ReadResponse(c.br, &http.Request{Method: method})
		}
		if err != nil {
			c.close()
			if fresh || attempt > 0 {
				t.Fatalf("%s %s: %v", method, target, err)
			}
			continue // a kept-alive connection the server had closed
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if respBody != nil {
			*respBody = rb
		}
		if resp.Close {
			c.close()
		}
		return ddOutcomeOf(resp)
	}
}

// ddNormChallenge parses WWW-Authenticate (RFC 9110 §11.6.1) and renders
// it canonically: schemes and parameter names in lower case, parameters
// sorted, error_description present or not. One that does not parse is
// kept raw with a marker.
func ddNormChallenge(values []string) string {
	if len(values) == 0 {
		return ""
	}
	cs, err := ddParseChallenges(strings.Join(values, ", "))
	if err != nil {
		return "MALFORMED(" + err.Error() + "): " + strings.Join(values, " | ")
	}
	var parts []string
	for _, c := range cs {
		var ps []string
		for k, v := range c.params {
			if k == "error_description" {
				v = "…"
			}
			ps = append(ps, k+"="+v)
		}
		sort.Strings(ps)
		parts = append(parts, c.scheme+"{"+strings.Join(ps, " ")+"}")
	}
	return strings.Join(parts, " ")
}

type ddChallenge struct {
	scheme string
	params map[string]string
}

// ddParseChallenges is a strict reader of a challenge list (auth-params
// only; token68 is refused).
func ddParseChallenges(s string) ([]ddChallenge, error) {
	i := 0
	eof := func() bool { return i >= len(s) }
	ows := func() {
		for !eof() && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	token := func() string {
		start := i
		for !eof() && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", s[i]) >= 0) {
			i++
		}
		return s[start:i]
	}
	quoted := func() (string, error) {
		i++
		var b strings.Builder
		for !eof() {
			c := s[i]
			i++
			switch {
			case c == '"':
				return b.String(), nil
			case c == '\\':
				if eof() {
					return "", fmt.Errorf("dangling escape")
				}
				b.WriteByte(s[i])
				i++
			case c < 0x20 && c != '\t' || c == 0x7f:
				return "", fmt.Errorf("control character in quoted string")
			default:
				b.WriteByte(c)
			}
		}
		return "", fmt.Errorf("unterminated quoted string")
	}
	var out []ddChallenge
	for {
		ows()
		if eof() {
			break
		}
		if s[i] == ',' {
			i++
			continue
		}
		scheme := token()
		if scheme == "" {
			return nil, fmt.Errorf("no scheme at %d", i)
		}
		c := ddChallenge{scheme: strings.ToLower(scheme), params: map[string]string{}}
		if !eof() && s[i] != ' ' && s[i] != ',' {
			return nil, fmt.Errorf("bad character after scheme %q", scheme)
		}
		for {
			save := i
			ows()
			if eof() {
				break
			}
			if s[i] == ',' {
				i++
				ows()
				save = i
			}
			name := token()
			ows()
			if name == "" || eof() || s[i] != '=' {
				i = save // the next challenge's scheme
				break
			}
			i++
			ows()
			var val string
			if !eof() && s[i] == '"' {
				v, err := quoted()
				if err != nil {
					return nil, err
				}
				val = v
			} else if val = token(); val == "" {
				return nil, fmt.Errorf("empty value of %q", name)
			}
			n := strings.ToLower(name)
			if _, dup := c.params[n]; dup {
				return nil, fmt.Errorf("parameter %q twice in %s", n, scheme)
			}
			c.params[n] = val
			ows()
			if !eof() && s[i] != ',' {
				return nil, fmt.Errorf("junk after %s at %d", n, i)
			}
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no challenge")
	}
	return out, nil
}

// ddFlip changes one base64url character; it draws from rnd exactly twice.
func ddFlip(tok string, rnd *mrand.Rand) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := []byte(tok)
	i, j := rnd.Intn(len(b)), rnd.Intn(len(alphabet))
	if alphabet[j] == b[i] {
		j = (j + 1) % len(alphabet)
	}
	b[i] = alphabet[j]
	return string(b)
}

func ddInsert(tok, s string, rnd *mrand.Rand) string {
	i := rnd.Intn(len(tok) + 1)
	return tok[:i] + s + tok[i:]
}

// ---- the generator (the root's e2e_doors_test.go, for gRPC calls) ----

type ddTokens struct {
	kinds        []string
	pool         map[string][]string
	bound, other *bearertest.DPoPKey
}

func newDDTokens(t *testing.T, iss *bearertest.Issuer, forger *rsa.PrivateKey) *ddTokens {
	t.Helper()
	tk := &ddTokens{pool: map[string][]string{},
		bound: bearertest.MustDPoPKey(t, validator.ES256), other: bearertest.MustDPoPKey(t, validator.ES256)}
	claims := func(extra ...any) bearertest.Claims {
		c := bearertest.Claims{"aud": ddAudience, "scope": "read:data", "sub": "user-1"}
		for i := 0; i+1 < len(extra); i += 2 {
			c[extra[i].(string)] = extra[i+1]
		}
		return c
	}
	rsKid := iss.CurrentKeyID(validator.RS256)
	now := time.Now().Unix()
	add := func(kind string, mint func(i int) string) {
		tk.kinds = append(tk.kinds, kind)
		for i := range 3 {
			tk.pool[kind] = append(tk.pool[kind], mint(i))
		}
	}
	add("valid-rs256", func(int) string { return iss.Mint(t, claims()) })
	add("valid-es256", func(int) string { return iss.Mint(t, claims(), bearertest.WithAlgorithm(validator.ES256)) })
	add("valid-more-scopes", func(int) string { return iss.Mint(t, claims("scope", "read:data write:data")) })
	add("valid-scp-array", func(int) string { return iss.Mint(t, claims("scope", nil, "scp", []string{"read:data"})) })
	add("expired-within-leeway", func(int) string { return iss.Mint(t, claims(), bearertest.ExpiresIn(-5*time.Second)) })
	add("wrong-scope", func(int) string { return iss.Mint(t, claims("scope", "write:data")) })
	add("no-scope", func(int) string { return iss.Mint(t, claims("scope", nil)) })
	add("expired", func(int) string { return iss.Mint(t, claims(), bearertest.ExpiresIn(-time.Hour)) })
	add("nbf-future", func(int) string { return iss.Mint(t, claims("nbf", now+3600)) })
	add("wrong-aud", func(int) string { return iss.Mint(t, claims("aud", "https://other.example.com")) })
	add("wrong-iss", func(int) string { return iss.Mint(t, claims("iss", "https://evil.example.com")) })
	add("bad-signature", func(i int) string {
		return jwstest.Token(jwstest.JSON(map[string]any{"alg": "RS256", "kid": rsKid, "typ": "at+jwt"}),
			jwstest.JSON(map[string]any{"iss": iss.URL, "aud": ddAudience, "scope": "read:data", "sub": "user-1",
				"iat": now, "exp": now + 3600, "jti": fmt.Sprint("forged-", i)}),
			jwstest.RS(forger, crypto.SHA256))
	})
	add("alg-none", func(i int) string {
		return jwstest.Token(`{"alg":"none","typ":"at+jwt"}`,
			jwstest.JSON(map[string]any{"iss": iss.URL, "aud": ddAudience, "scope": "read:data", "sub": "user-1",
				"iat": now, "exp": now + 3600, "jti": fmt.Sprint("none-", i)}), jwstest.Fixed(nil))
	})
	add("unknown-kid", func(i int) string {
		return iss.Mint(t, claims(), bearertest.WithKeyID(fmt.Sprintf("unknown-%d", i)))
	})
	add("dpop-bound", func(int) string { return iss.Mint(t, claims(), bearertest.BoundToKey(tk.bound)) })
	add("dpop-bound-wrong-scope", func(int) string {
		return iss.Mint(t, claims("scope", "write:data"), bearertest.BoundToKey(tk.bound))
	})
	return tk
}

// ddRetarget: valid-looking tokens of the never-loaded issuer.
func ddRetarget(t *testing.T, tk *ddTokens, iss *bearertest.Issuer) *ddTokens {
	out := &ddTokens{pool: map[string][]string{}, bound: tk.bound, other: tk.other,
		kinds: []string{"valid-rs256", "wrong-scope", "expired", "dpop-bound", "alg-none"}}
	c := bearertest.Claims{"aud": ddAudience, "scope": "read:data", "sub": "user-1"}
	for i := range 3 {
		out.pool["valid-rs256"] = append(out.pool["valid-rs256"], iss.Mint(t, c))
		out.pool["wrong-scope"] = append(out.pool["wrong-scope"], iss.Mint(t, bearertest.Claims{"aud": ddAudience, "scope": "write:data"}))
		out.pool["expired"] = append(out.pool["expired"], iss.Mint(t, c, bearertest.ExpiresIn(-time.Hour)))
		out.pool["dpop-bound"] = append(out.pool["dpop-bound"], iss.Mint(t, c, bearertest.BoundToKey(tk.bound)))
		out.pool["alg-none"] = append(out.pool["alg-none"], tk.pool["alg-none"][i])
	}
	return out
}

// ddPresentation makes the metadata of one call from a token; proofs are
// built per door (they are single-use) for the call's htu.
type ddPresentation struct {
	name string
	make func(tok string, rnd *mrand.Rand, tk *ddTokens, s *ddStack) func(htu string) []ddHeader
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
		return ddPresentation{name, func(tok string, rnd *mrand.Rand, _ *ddTokens, _ *ddStack) func(string) []ddHeader {
			return fixed("Authorization", value(tok, rnd))
		}}
	}
	// dpop: authorization "<scheme><token>" and one dpop value per proof.
	dpop := func(name, scheme string, proofs func(tok, htu string, tk *ddTokens, s *ddStack) []string) ddPresentation {
		return ddPresentation{name, func(tok string, _ *mrand.Rand, tk *ddTokens, s *ddStack) func(string) []ddHeader {
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
	proof := func(k func(tk *ddTokens) *bearertest.DPoPKey, m, path, suffix string, withNonce bool, opts ...bearertest.ProofOption) func(string, string, *ddTokens, *ddStack) []string {
		return func(tok, htu string, tk *ddTokens, s *ddStack) []string {
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
	bound := func(tk *ddTokens) *bearertest.DPoPKey { return tk.bound }
	other := func(tk *ddTokens) *bearertest.DPoPKey { return tk.other }
	id := func(tok string, _ *mrand.Rand) string { return "Bearer " + tok }
	return []ddPresentation{
		bearer("bearer", id),
		bearer("bearer-2", id), // twice: more calls with a well-formed value
		{"header-name-case", func(tok string, rnd *mrand.Rand, _ *ddTokens, _ *ddStack) func(string) []ddHeader {
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
		bearer("flipped-byte", func(tok string, rnd *mrand.Rand) string { return "Bearer " + ddFlip(tok, rnd) }),
		bearer("truncated", func(tok string, rnd *mrand.Rand) string { return "Bearer " + tok[:1+rnd.Intn(len(tok)-1)] }),
		bearer("padded", func(tok string, rnd *mrand.Rand) string { return "Bearer " + tok + strings.Repeat("=", 1+rnd.Intn(2)) }),
		bearer("non-ascii", func(tok string, rnd *mrand.Rand) string {
			return "Bearer " + ddInsert(tok, []string{"é", "Ω", "\u00a0"}[rnd.Intn(3)], rnd)
		}),
		bearer("control-char", func(tok string, rnd *mrand.Rand) string {
			return "Bearer " + ddInsert(tok, []string{"\x01", "\x7f", "\x1f"}[rnd.Intn(3)], rnd)
		}),
		bearer("very-long", func(tok string, rnd *mrand.Rand) string {
			return "Bearer " + tok + strings.Repeat("A", max(0, []int{8 << 10, 9000, 20000}[rnd.Intn(3)]-len(tok)))
		}),
		{"no-metadata", func(string, *mrand.Rand, *ddTokens, *ddStack) func(string) []ddHeader { return fixed() }},
		{"two-values", func(tok string, _ *mrand.Rand, _ *ddTokens, _ *ddStack) func(string) []ddHeader {
			return fixed("Authorization", "Bearer "+tok, "Authorization", "Bearer "+tok)
		}},
		{"two-values-one-basic", func(tok string, _ *mrand.Rand, _ *ddTokens, _ *ddStack) func(string) []ddHeader {
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
		{"dpop-proof-alone", func(tok string, _ *mrand.Rand, tk *ddTokens, s *ddStack) func(string) []ddHeader {
			return func(htu string) []ddHeader {
				return []ddHeader{{"DPoP", tk.bound.MustProof(t, "POST", htu, tok, nonce(s)...)}}
			}
		}},
		dpop("dpop-two-proofs", "DPoP ", func(tok, htu string, tk *ddTokens, s *ddStack) []string {
			return []string{tk.bound.MustProof(t, "POST", htu, tok, nonce(s)...), tk.bound.MustProof(t, "POST", htu, tok, nonce(s)...)}
		}),
		dpop("dpop-two-proofs-one-value", "DPoP ", func(tok, htu string, tk *ddTokens, s *ddStack) []string {
			return []string{tk.bound.MustProof(t, "POST", htu, tok, nonce(s)...) + ", " + tk.bound.MustProof(t, "POST", htu, tok, nonce(s)...)}
		}),
		{"dpop-proof-flipped", func(tok string, rnd *mrand.Rand, tk *ddTokens, s *ddStack) func(string) []ddHeader {
			seed := rnd.Int63()
			return func(htu string) []ddHeader {
				p := tk.bound.MustProof(t, "POST", htu, tok, nonce(s)...)
				return []ddHeader{{"Authorization", "DPoP " + tok}, {"DPoP", ddFlip(p, mrand.New(mrand.NewSource(seed)))}}
			}
		}},
		dpop("dpop-proof-wrong-method", "DPoP ", proof(bound, "GET", "", "", true)),
		dpop("dpop-proof-other-method-url", "DPoP ", proof(bound, "POST", "/grpc.health.v1.Health/List", "", true)),
		dpop("dpop-proof-other-key", "DPoP ", proof(other, "POST", "", "", true)),
		dpop("dpop-proof-other-token", "DPoP ", proof(bound, "POST", "", "x", true)),
		dpop("dpop-scheme-tab", "DPoP\t", proof(bound, "POST", "", "", true)),
		dpop("dpop-empty-proof", "DPoP ", func(string, string, *ddTokens, *ddStack) []string { return []string{""} }),
		dpop("dpop-proof-padded", "DPoP ", func(tok, htu string, tk *ddTokens, s *ddStack) []string {
			return []string{" " + tk.bound.MustProof(t, "POST", htu, tok, nonce(s)...) + " "}
		}),
	}
}

func ddGenerate(rnd *mrand.Rand, n int, tk *ddTokens, ps []ddPresentation, s *ddStack) []ddRequest {
	out := make([]ddRequest, 0, n)
	for range n {
		kind := tk.kinds[rnd.Intn(len(tk.kinds))]
		tok := tk.pool[kind][rnd.Intn(len(tk.pool[kind]))]
		p := ps[rnd.Intn(len(ps))]
		r := ddRequest{method: []string{ddCheck, ddWatch}[rnd.Intn(2)], headers: p.make(tok, rnd, tk, s)}
		r.label = kind + " × " + p.name + " → " + r.method
		out = append(out, r)
	}
	return out
}

type ddMismatch struct {
	stack, label string
	grpc, ref    ddOutcome
}

func TestDoorsDifferentialGRPC(t *testing.T) {
	start := time.Now()
	n := 1200 // per stack
	if testing.Short() {
		n = 300
	}
	rnd := mrand.New(mrand.NewSource(ddSeed))
	iss := bearertest.NewIssuer(t)
	iss.Rotate(t, validator.ES256)
	forger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// No refetch may fall in the outage below (SECURITY.md 88): the answers
	// must not depend on timing.
	keys := iss.KeySet(t, jwks.WithMinRefetchInterval(time.Hour))
	tk := newDDTokens(t, iss, forger)
	ps := ddPresentations(t)

	stacks := []*ddStack{
		newDDStack(t, "dpop-allowed", keys, iss.URL),
		newDDStack(t, "dpop-off", keys, iss.URL, validator.WithDPoP(validator.DPoPOff)),
		newDDStack(t, "nonces", keys, iss.URL, validator.WithDPoPNonces(bytes.Repeat([]byte{7}, 32), 0)),
		newDDStack(t, "dpop-required", keys, iss.URL, validator.WithDPoP(validator.DPoPRequired)),
		newDDStackWith(t, "htu-from-authority", true, keys, iss.URL),
	}
	stacks[2].nonce = ddLearnNonce(t, stacks[2], tk)

	stats := map[string]int{}
	var ms []ddMismatch
	total, unsendable := 0, 0
	run := func(s *ddStack, reqs []ddRequest) {
		for _, r := range reqs {
			g, ref, ok := s.send(t, r)
			if !ok {
				unsendable++
				continue
			}
			total++
			stats["grpc "+g.statKey()]++
			stats["reference "+ref.statKey()]++
			if g != ref {
				ms = append(ms, ddMismatch{s.name, r.label, g, ref})
			}
		}
	}
	for _, s := range stacks {
		run(s, ddGenerate(rnd, n, tk, ps, s))
	}
	iss.Close() // the issuer goes down mid-run: the loaded keys stay in force
	stacks[0].name += "/keys-down"
	run(stacks[0], ddGenerate(rnd, n/2, tk, ps, stacks[0]))

	dead := bearertest.NewIssuer(t)
	deadKeys, err := jwks.New(dead.JWKSURL(), jwks.WithHTTPClient(dead.Client()))
	dead.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = deadKeys.Close() })
	never := newDDStack(t, "keys-never-loaded", deadKeys, dead.URL)
	run(never, ddGenerate(rnd, n/3, ddRetarget(t, tk, dead), ps, never))

	t.Logf("%d calls through grpcbearer and httpbearer (%d not sendable by a gRPC client) in %v",
		total, unsendable, time.Since(start).Round(time.Millisecond))
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range stats {
			if !yield(k) {
				return
			}
		}
	}) {
		t.Logf("  %-40s %d", k, stats[k])
	}
	for _, door := range []string{"grpc", "reference"} {
		for _, kind := range []string{"200", "400 invalid_request", "401", "401 invalid_token", "401 invalid_dpop_proof",
			"401 use_dpop_nonce", "403 insufficient_scope", "503"} {
			if stats[door+" "+kind] == 0 {
				t.Errorf("door %s never answered %q", door, kind)
			}
		}
	}
	if len(ms) > 0 {
		count := map[string]int{}
		var order []string
		for _, m := range ms {
			k := fmt.Sprintf("[%s] %s\n    grpc      %s\n    reference %s\n", m.stack, m.label, m.grpc, m.ref)
			if count[k] == 0 {
				order = append(order, k)
			}
			count[k]++
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%d calls answered differently (%d distinct):\n", len(ms), len(order))
		for _, k := range order {
			fmt.Fprintf(&b, "x%d %s", count[k], k)
		}
		t.Error(b.String())
	}
}

// ddLearnNonce asks the reference door with a proof without a nonce and
// returns the DPoP-Nonce it answers (the same validator: valid for both).
func ddLearnNonce(t *testing.T, s *ddStack, tk *ddTokens) string {
	t.Helper()
	tok := tk.pool["dpop-bound"][0]
	req, err := http.NewRequestWithContext(t.Context(), "POST", "http://"+s.ref.addr+ddCheck, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = ddHost
	req.Header.Set("Authorization", "DPoP "+tok)
	req.Header.Set("DPoP", tk.bound.MustProof(t, "POST", ddPublic+ddCheck, tok))
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
