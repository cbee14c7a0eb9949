// Package doortest holds what the generated differentials across the
// library's doors share (e2e_doors_test.go in the root, and the
// doors_differential tests of adapters/grpcbearer and adapters/mcpbearer,
// which are modules of their own and cannot import another package's test
// files): a pool of tokens of every kind the doors must tell apart, the
// mutations the generators apply to them, and a strict reader that puts a
// WWW-Authenticate answer in one canonical form for comparison. For tests
// only.
package doortest

import (
	"bufio"
	"bytes"
	"crypto"
	crand "crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

// Tokens is a pool of tokens, three of each kind, for one issuer and
// audience: kinds every door must accept (valid-*, expired-within-leeway),
// refuse for their scope (wrong-scope, no-scope), or refuse as invalid
// (expired, nbf-future, wrong-aud, wrong-iss, bad-signature, alg-none,
// unknown-kid), and tokens bound to Bound's DPoP key.
type Tokens struct {
	Kinds []string            // in the order added
	Pool  map[string][]string // kind → tokens
	Bound *bearertest.DPoPKey // the key DPoP-bound tokens are bound to
	Other *bearertest.DPoPKey // another client's key
}

// NewTokens mints the pool for iss and audience, scope read:data; forger
// signs the bad-signature tokens under iss's RS256 key id.
func NewTokens(t testing.TB, iss *bearertest.Issuer, audience string, forger *rsa.PrivateKey) *Tokens {
	t.Helper()
	tk := &Tokens{Pool: map[string][]string{},
		Bound: bearertest.MustDPoPKey(t, validator.ES256), Other: bearertest.MustDPoPKey(t, validator.ES256)}
	claims := func(extra ...any) bearertest.Claims {
		c := bearertest.Claims{"aud": audience, "scope": "read:data", "sub": "user-1"}
		for i := 0; i+1 < len(extra); i += 2 {
			c[extra[i].(string)] = extra[i+1]
		}
		return c
	}
	rsKid := iss.CurrentKeyID(validator.RS256)
	now := time.Now().Unix()
	tk.Add("valid-rs256", func(int) string { return iss.Mint(t, claims()) })
	tk.Add("valid-es256", func(int) string { return iss.Mint(t, claims(), bearertest.WithAlgorithm(validator.ES256)) })
	tk.Add("valid-more-scopes", func(int) string { return iss.Mint(t, claims("scope", "read:data write:data")) })
	tk.Add("valid-scp-array", func(int) string { return iss.Mint(t, claims("scope", nil, "scp", []string{"read:data"})) })
	tk.Add("expired-within-leeway", func(int) string { return iss.Mint(t, claims(), bearertest.ExpiresIn(-5*time.Second)) })
	tk.Add("wrong-scope", func(int) string { return iss.Mint(t, claims("scope", "write:data")) })
	tk.Add("no-scope", func(int) string { return iss.Mint(t, claims("scope", nil)) })
	tk.Add("expired", func(int) string { return iss.Mint(t, claims(), bearertest.ExpiresIn(-time.Hour)) })
	tk.Add("nbf-future", func(int) string { return iss.Mint(t, claims("nbf", now+3600)) })
	tk.Add("wrong-aud", func(int) string { return iss.Mint(t, claims("aud", "https://other.example.com")) })
	tk.Add("wrong-iss", func(int) string { return iss.Mint(t, claims("iss", "https://evil.example.com")) })
	tk.Add("bad-signature", func(i int) string {
		return jwstest.Token(jwstest.JSON(map[string]any{"alg": "RS256", "kid": rsKid, "typ": "at+jwt"}),
			jwstest.JSON(map[string]any{"iss": iss.URL, "aud": audience, "scope": "read:data", "sub": "user-1",
				"iat": now, "exp": now + 3600, "jti": fmt.Sprint("forged-", i)}),
			jwstest.RS(forger, crypto.SHA256))
	})
	tk.Add("alg-none", func(i int) string {
		return jwstest.Token(`{"alg":"none","typ":"at+jwt"}`,
			jwstest.JSON(map[string]any{"iss": iss.URL, "aud": audience, "scope": "read:data", "sub": "user-1",
				"iat": now, "exp": now + 3600, "jti": fmt.Sprint("none-", i)}), jwstest.Fixed(nil))
	})
	tk.Add("unknown-kid", func(i int) string {
		return iss.Mint(t, claims(), bearertest.WithKeyID(fmt.Sprintf("unknown-%d", i)))
	})
	tk.Add("dpop-bound", func(int) string { return iss.Mint(t, claims(), bearertest.BoundToKey(tk.Bound)) })
	tk.Add("dpop-bound-wrong-scope", func(int) string {
		return iss.Mint(t, claims("scope", "write:data"), bearertest.BoundToKey(tk.Bound))
	})
	return tk
}

// Issuer starts the issuer a differential runs on (RS256 and ES256 keys),
// its key set, and the pool of tokens for audience. The key set refetches
// at most hourly: a token whose signature fails under a known kid makes it
// refetch, and during an outage the caller waiting on a failed refetch is
// answered 503 and the others 401 (SECURITY.md 88), so with the default
// interval which door met that refetch would depend on how fast the run
// went (the race detector).
func Issuer(t testing.TB, audience string) (*bearertest.Issuer, *jwks.Set, *Tokens) {
	t.Helper()
	iss := bearertest.NewIssuer(t)
	iss.Rotate(t, validator.ES256)
	forger, err := rsa.GenerateKey(crand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return iss, iss.KeySet(t, jwks.WithMinRefetchInterval(time.Hour)), NewTokens(t, iss, audience, forger)
}

// Add adds a kind of token to the pool, three minted by mint.
func (tk *Tokens) Add(kind string, mint func(i int) string) {
	tk.Kinds = append(tk.Kinds, kind)
	for i := range 3 {
		tk.Pool[kind] = append(tk.Pool[kind], mint(i))
	}
}

// Retarget returns a smaller pool of the same kinds' shapes minted by iss
// (another issuer: one whose key set never loaded), with the same DPoP
// keys; its alg-none tokens are tk's.
func (tk *Tokens) Retarget(t testing.TB, iss *bearertest.Issuer, audience string) *Tokens {
	t.Helper()
	out := &Tokens{Pool: map[string][]string{}, Bound: tk.Bound, Other: tk.Other}
	c := bearertest.Claims{"aud": audience, "scope": "read:data", "sub": "user-1"}
	out.Kinds = []string{"valid-rs256", "wrong-scope", "expired", "dpop-bound", "alg-none"}
	for i := range 3 {
		out.Pool["valid-rs256"] = append(out.Pool["valid-rs256"], iss.Mint(t, c))
		out.Pool["wrong-scope"] = append(out.Pool["wrong-scope"], iss.Mint(t, bearertest.Claims{"aud": audience, "scope": "write:data"}))
		out.Pool["expired"] = append(out.Pool["expired"], iss.Mint(t, c, bearertest.ExpiresIn(-time.Hour)))
		out.Pool["dpop-bound"] = append(out.Pool["dpop-bound"], iss.Mint(t, c, bearertest.BoundToKey(tk.Bound)))
		out.Pool["alg-none"] = append(out.Pool["alg-none"], tk.Pool["alg-none"][i])
	}
	return out
}

// Flip replaces one byte of tok, at random, with another base64url
// character.
func Flip(tok string, rnd *rand.Rand) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := []byte(tok)
	i, j := rnd.Intn(len(b)), rnd.Intn(len(alphabet))
	if alphabet[j] == b[i] {
		j = (j + 1) % len(alphabet)
	}
	b[i] = alphabet[j]
	return string(b)
}

// Insert puts s into tok at a random place.
func Insert(tok, s string, rnd *rand.Rand) string {
	i := rnd.Intn(len(tok) + 1)
	return tok[:i] + s + tok[i:]
}

// NormChallenge parses WWW-Authenticate (RFC 9110 §11.6.1) and renders it
// canonically: schemes in lower case, parameter names in lower case and
// sorted, error_description as present or not. A value that does not
// parse is kept raw with a marker, so that it never compares equal to a
// well-formed one.
func NormChallenge(values []string) string {
	if len(values) == 0 {
		return ""
	}
	cs, err := parseChallenges(strings.Join(values, ", "))
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

type challenge struct {
	scheme string
	params map[string]string
}

// parseChallenges is a strict reader of a challenge list: comma-separated
// challenges, each a scheme followed by auth-params (token68 is not used by
// Bearer or DPoP and is refused).
func parseChallenges(s string) ([]challenge, error) {
	p := &chParser{s: s}
	var out []challenge
	for {
		p.ows()
		if p.eof() {
			break
		}
		if p.peek() == ',' {
			p.i++
			continue
		}
		scheme := p.token()
		if scheme == "" {
			return nil, fmt.Errorf("no scheme at %d", p.i)
		}
		c := challenge{scheme: strings.ToLower(scheme), params: map[string]string{}}
		// auth-params: 1*SP then name=value, separated by commas; a
		// comma followed by "token SP" or "token ," or end starts the
		// next challenge.
		if !p.eof() && p.peek() != ' ' && p.peek() != ',' {
			return nil, fmt.Errorf("bad character after scheme %q", scheme)
		}
		for {
			save := p.i
			p.ows()
			if p.eof() {
				break
			}
			if p.peek() == ',' {
				p.i++
				p.ows()
				save = p.i
			}
			name := p.token()
			p.bws()
			if name == "" || p.eof() || p.peek() != '=' {
				p.i = save // the next challenge's scheme
				break
			}
			p.i++
			p.bws()
			var val string
			if !p.eof() && p.peek() == '"' {
				v, err := p.quoted()
				if err != nil {
					return nil, err
				}
				val = v
			} else {
				val = p.token()
				if val == "" {
					return nil, fmt.Errorf("empty value of %q", name)
				}
			}
			n := strings.ToLower(name)
			if _, dup := c.params[n]; dup {
				return nil, fmt.Errorf("parameter %q twice in %s", n, scheme)
			}
			c.params[n] = val
			p.ows()
			if !p.eof() && p.peek() != ',' {
				return nil, fmt.Errorf("junk after %s at %d", n, p.i)
			}
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no challenge")
	}
	return out, nil
}

type chParser struct {
	s string
	i int
}

func (p *chParser) eof() bool  { return p.i >= len(p.s) }
func (p *chParser) peek() byte { return p.s[p.i] }
func (p *chParser) ows() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.i++
	}
}
func (p *chParser) bws() { p.ows() }
func (p *chParser) token() string {
	start := p.i
	for !p.eof() && isTchar(p.peek()) {
		p.i++
	}
	return p.s[start:p.i]
}
func (p *chParser) quoted() (string, error) {
	p.i++ // opening quote
	var b strings.Builder
	for !p.eof() {
		c := p.peek()
		p.i++
		switch {
		case c == '"':
			return b.String(), nil
		case c == '\\':
			if p.eof() {
				return "", fmt.Errorf("dangling escape")
			}
			b.WriteByte(p.peek())
			p.i++
		case c < 0x20 && c != '\t' || c == 0x7f:
			return "", fmt.Errorf("control character in quoted string")
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("unterminated quoted string")
}

func isTchar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// Client sends HTTP/1.1 requests to Addr over one kept-alive connection,
// each header line exactly as given (a Go http.Client would canonicalize
// names, refuse some values, and add lines of its own).
type Client struct {
	Addr string
	conn net.Conn
	br   *bufio.Reader
}

// Close closes the connection, if one is open.
func (c *Client) Close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}

// Do sends the request line, lines (each "Name: value"), a Content-Length
// when body is not empty, and body; it returns the response, whose body
// it has read (returned) and closed. A kept-alive connection the server
// had closed is dialled again once.
func (c *Client) Do(t testing.TB, method, target string, lines []string, body string) (*http.Response, []byte) {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", method, target)
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	for attempt := 0; ; attempt++ {
		fresh := false
		if c.conn == nil {
			conn, err := net.Dial("tcp", c.Addr)
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
			c.Close()
			if fresh || attempt > 0 {
				t.Fatalf("%s %s: %v", method, target, err)
			}
			continue // a kept-alive connection the server had closed
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Close {
			c.Close()
		}
		return resp, rb
	}
}

// Outcome is a door's answer to one request, in the terms the doors must
// agree on.
type Outcome struct {
	Pass       bool
	Status     int
	Challenge  string // WWW-Authenticate as NormChallenge renders it; "" for none
	Nonce      bool   // a DPoP-Nonce was sent
	RetryAfter string
	Transport  bool // refused by the HTTP server before any door ran
}

// String renders o for a mismatch report.
func (o Outcome) String() string {
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

// StatKey is the kind of answer o is: its status and the challenge's
// error code ("401 invalid_token"), or "transport".
func (o Outcome) StatKey() string {
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

// DeadIssuer returns an issuer closed at once, and a key set of its that
// never loaded: every token it signs must be answered 503.
func DeadIssuer(t testing.TB) (*bearertest.Issuer, *jwks.Set) {
	t.Helper()
	dead := bearertest.NewIssuer(t)
	keys, err := jwks.New(dead.JWKSURL(), jwks.WithHTTPClient(dead.Client()))
	dead.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = keys.Close() })
	return dead, keys
}

// Kinds are the kinds of answer (Outcome.StatKey) every door of a
// differential must have given: agreement proves little otherwise (a door
// not wired, a generator that stopped reaching a case).
var Kinds = []string{"200", "400 invalid_request", "401", "401 invalid_token", "401 invalid_dpop_proof",
	"401 use_dpop_nonce", "403 insufficient_scope", "503"}

// Stats counts, per door, the kinds of answer it gave.
type Stats map[string]int

// Add counts o as an answer of door.
func (s Stats) Add(door string, o Outcome) { s[door+" "+o.StatKey()]++ }

// Check logs the counts, and fails t for each door that never gave one of
// Kinds.
func (s Stats) Check(t testing.TB, doors ...string) {
	t.Helper()
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("  %-40s %d", k, s[k])
	}
	for _, door := range doors {
		for _, kind := range Kinds {
			if s[door+" "+kind] == 0 {
				t.Errorf("door %s never answered %q", door, kind)
			}
		}
	}
}

// Report fails t with one block per distinct mismatch (each a readable
// block: the request and every door's answer), with how often it came.
func Report(t testing.TB, mismatches []string) {
	t.Helper()
	if len(mismatches) == 0 {
		return
	}
	count := map[string]int{}
	var order []string
	for _, m := range mismatches {
		if count[m] == 0 {
			order = append(order, m)
		}
		count[m]++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests answered differently by the doors (%d distinct):\n", len(mismatches), len(order))
	for _, m := range order {
		fmt.Fprintf(&b, "x%d %s", count[m], m)
	}
	t.Error(b.String())
}
