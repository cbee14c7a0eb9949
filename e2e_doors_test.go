package bearerguard_test

// A generated differential across every door. One validator configuration
// (a bearertest issuer with RS256 and ES256 keys, one audience, a route
// needing read:data) is put behind every entry point of the root module:
//
//	net/http   adapters/httpbearer: guard.Require on GET/POST /data
//	gin        adapters/ginbearer: auth.Require on /data
//	echo       adapters/echobearer: auth.Require on /data
//	nginx      forwardauth.NginxHandler (X-Original-*), as auth_request asks
//	traefik    forwardauth.TraefikHandler (X-Forwarded-*), as ForwardAuth asks
//	envoy-http forwardauth.EnvoyHTTPHandler("/envoy"), as ext_authz's HTTP service asks
//	envoy-grpc forwardauth.EnvoyServer on a real gRPC listener, as ext_authz's gRPC service asks
//
// each on a real loopback server. A seeded generator (doorsSeed) builds
// thousands of client requests from a pool of tokens (valid, wrong scope,
// expired, nbf ahead, wrong aud/iss, bad signature, alg none, unknown kid,
// DPoP-bound) and a list of presentations (mutations of the header, the
// query, the body, DPoP proofs); every request goes through every door and
// the answers are compared on: allowed or not, status, WWW-Authenticate
// (parsed: scheme, error, scope, realm, algs, and whether error_description
// is present), DPoP-Nonce (present or not) and Retry-After.
//
// Each door is sent the request exactly as its gateway would forward the
// client's request (see the door's send function); how a door answers the
// client is normalised in one place, outcomeOf / grpcOutcome, per the
// README: the forward-auth front ends answer with the status the gateway
// passes on (nginx's 400 and 503 through the README's error_page location,
// so no status is changed), and a request that Go's HTTP server refuses
// before any door runs (a control character in a header) is a transport
// refusal, compared among the HTTP doors only: Envoy's codec refuses the
// same bytes before ext_authz.
//
// Stacks: "dpop-allowed" (the defaults), "dpop-off" (WithDPoP(DPoPOff)),
// "nonces" (WithDPoPNonces), "query-tokens" (httpbearer.WithQueryToken), and, after those, the issuer's server is
// stopped mid-run ("keys-down": loaded keys stay, an unknown kid is 401)
// and a stack whose key set never loaded ("keys-never-loaded": 503 with
// Retry-After for any token that must be checked).

import (
	"bytes"
	"fmt"
	mrand "math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/bearerguard/bearerguard/adapters/echobearer"
	"github.com/bearerguard/bearerguard/adapters/ginbearer"
	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/internal/doortest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// doorsSeed makes the generated requests the same on every run.
const doorsSeed = 20261203

const (
	doorsHost   = "api.example.com"
	doorsPublic = "https://" + doorsHost
	doorsHTU    = doorsPublic + "/data"
	doorsRealm  = "orders"
)

// doorsRules: /data needs read:data, every method, as the adapters' routes.
const doorsRules = `
default: deny
routes:
  - name: data
    path: /data
    scopes: [read:data]
`

// doorHeader is one header line as the client sends it.
type doorHeader struct{ name, value string }

// doorRequest is one client request to https://api.example.com/data.
// headers is called once per door: DPoP proofs are single-use, so each
// door gets a fresh proof built the same way.
type doorRequest struct {
	label  string
	method string
	query  string // raw query, without '?'
	body   string // a form body (POST only), never seen by forward auth
	// rawHeaders: Envoy's gRPC check request carries the headers in
	// header_map with raw values (encode_raw_headers), not the headers map.
	rawHeaders bool
	headers    func() []doorHeader
}

// door sends one request the way its gateway forwards it.
type door struct {
	name string
	send func(t *testing.T, r doorRequest, hs []doorHeader) (doorOutcome, bool) // false: not sendable this way
}

// doorStack is one validator configuration behind every door.
type doorStack struct {
	name   string
	doors  []door
	direct string // the net/http door's address
	nonce  string // the current DPoP nonce, for the nonces stack
}

// ---- building the doors ----

// doorOutcome is a door's answer (see doortest.Outcome).
type doorOutcome = doortest.Outcome

func newDoorStack(t *testing.T, name string, keys validator.KeySource, issURL string, vopts ...validator.Option) *doorStack {
	t.Helper()
	return newDoorStackWith(t, name, keys, issURL, nil, vopts...)
}

// newDoorStackWith is newDoorStack with more options for the guard.
func newDoorStackWith(t *testing.T, name string, keys validator.KeySource, issURL string, gopts []httpbearer.Option, vopts ...validator.Option) *doorStack {
	t.Helper()
	v, err := validator.New(append([]validator.Option{validator.WithIssuer(issURL, keys), validator.WithAudience(audience)}, vopts...)...)
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpbearer.New(v, append([]httpbearer.Option{httpbearer.WithRealm(doorsRealm), httpbearer.WithPublicURL(doorsPublic)}, gopts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
	need := scopes.All("read:data")

	mux := http.NewServeMux()
	mux.Handle("/data", g.Require(need, http.HandlerFunc(ok)))

	gin.SetMode(gin.ReleaseMode)
	ga, err := ginbearer.New(g)
	if err != nil {
		t.Fatal(err)
	}
	ge := gin.New()
	ge.Any("/data", ga.Require(need), func(c *gin.Context) { c.Status(http.StatusOK) })

	ea, err := echobearer.New(g)
	if err != nil {
		t.Fatal(err)
	}
	ee := echo.New()
	ee.HideBanner, ee.HidePort = true, true
	ee.Any("/data", func(c echo.Context) error { return c.NoContent(http.StatusOK) }, ea.Require(need))

	rules, err := forwardauth.ParseRules([]byte(doorsRules))
	if err != nil {
		t.Fatal(err)
	}
	d, err := forwardauth.New(g, rules)
	if err != nil {
		t.Fatal(err)
	}

	s := &doorStack{name: name}
	direct := doorServer(t, mux)
	s.direct = direct.Addr
	s.doors = []door{
		adapterDoorOn(direct, "net/http"),
		adapterDoor(t, "gin", ge),
		adapterDoor(t, "echo", ee),
		nginxDoor(t, d.NginxHandler()),
		traefikDoor(t, d.TraefikHandler()),
		envoyHTTPDoor(t, d.EnvoyHTTPHandler("/envoy")),
		envoyGRPCDoor(t, d),
	}
	return s
}

func doorServer(t *testing.T, h http.Handler) *rawClient {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := &rawClient{doortest.Client{Addr: srv.Listener.Addr().String()}}
	t.Cleanup(c.Close)
	return c
}

func target(r doorRequest) string {
	if r.query != "" {
		return "/data?" + r.query
	}
	return "/data"
}

// adapterDoor: the client's request itself.
func adapterDoor(t *testing.T, name string, h http.Handler) door {
	return adapterDoorOn(doorServer(t, h), name)
}

func adapterDoorOn(c *rawClient, name string) door {
	return door{name, func(t *testing.T, r doorRequest, hs []doorHeader) (doorOutcome, bool) {
		hs = append([]doorHeader{{"Host", doorsHost}}, hs...)
		return c.do(t, r.method, target(r), hs, r.body), true
	}}
}

// nginxDoor: the README's auth_request location: GET /nginx with the
// X-Original-* headers set, the client's headers passed on, no body.
func nginxDoor(t *testing.T, h http.Handler) door {
	c := doorServer(t, h)
	return door{"nginx", func(t *testing.T, r doorRequest, hs []doorHeader) (doorOutcome, bool) {
		all := []doorHeader{{"Host", "bearerguard"}, {"X-Original-Method", r.method}, {"X-Original-URI", target(r)},
			{"X-Original-Host", doorsHost + ":443"}, {"X-Original-Proto", "https"}}
		return c.do(t, "GET", "/nginx", append(all, hs...), ""), true
	}}
}

// traefikDoor: ForwardAuth: GET with X-Forwarded-*, the client's headers.
func traefikDoor(t *testing.T, h http.Handler) door {
	c := doorServer(t, h)
	return door{"traefik", func(t *testing.T, r doorRequest, hs []doorHeader) (doorOutcome, bool) {
		all := []doorHeader{{"Host", "bearerguard"}, {"X-Forwarded-Method", r.method}, {"X-Forwarded-Uri", target(r)},
			{"X-Forwarded-Host", doorsHost}, {"X-Forwarded-Proto", "https"}}
		return c.do(t, "GET", "/traefik", append(all, hs...), ""), true
	}}
}

// envoyHTTPDoor: ext_authz's HTTP service: the original method, Host and
// path after /envoy, the headers of the README's allowed_headers (the
// token's, the override headers, names with a byte other than a letter,
// digit or '-'), no body.
func envoyHTTPDoor(t *testing.T, h http.Handler) door {
	c := doorServer(t, h)
	return door{"envoy-http", func(t *testing.T, r doorRequest, hs []doorHeader) (doorOutcome, bool) {
		all := []doorHeader{{"Host", doorsHost}, {"X-Forwarded-Proto", "https"}}
		for _, x := range hs {
			switch n := strings.ToLower(x.name); {
			case n == "authorization", n == "dpop", n == "x-http-method-override", n == "x-http-method", n == "x-method-override",
				n == "x-forwarded-host", n == "forwarded", n == "x-original-url", n == "x-rewrite-url",
				strings.Trim(n, "abcdefghijklmnopqrstuvwxyz0123456789-") != "": // the safe_regex pattern
				all = append(all, x)
			}
		}
		return c.do(t, r.method, "/envoy"+target(r), all, ""), true
	}}
}

// envoyGRPCDoor: ext_authz's gRPC service on a real listener. The check
// request is what Envoy builds: header names in lower case, values with
// their surrounding whitespace removed (as Envoy's codec stores them), a
// repeated header's values joined with ",".
func envoyGRPCDoor(t *testing.T, d *forwardauth.Decider) door {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	authv3.RegisterAuthorizationServer(srv, d.EnvoyServer())
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := authv3.NewAuthorizationClient(conn)
	return door{"envoy-grpc", func(t *testing.T, r doorRequest, hs []doorHeader) (doorOutcome, bool) {
		hr := &authv3.AttributeContext_HttpRequest{Method: r.method, Host: doorsHost, Path: target(r), Scheme: "https"}
		raw := r.rawHeaders
		for _, x := range hs {
			if !utf8.ValidString(x.value) {
				raw = true // not a proto3 string: only encode_raw_headers can carry it
			}
		}
		if raw {
			// encode_raw_headers: header_map, one entry per field line, the value in raw_value.
			hr.HeaderMap = &corev3.HeaderMap{}
			for _, x := range hs {
				hr.HeaderMap.Headers = append(hr.HeaderMap.Headers, &corev3.HeaderValue{Key: strings.ToLower(x.name), RawValue: []byte(strings.Trim(x.value, " \t"))})
			}
		} else {
			m := map[string]string{}
			for _, x := range hs {
				n, v := strings.ToLower(x.name), strings.Trim(x.value, " \t")
				if old, ok := m[n]; ok {
					v = old + "," + v
				}
				m[n] = v
			}
			hr.Headers = m
		}
		req := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{Http: hr}}}
		resp, err := client.Check(t.Context(), req)
		if err != nil {
			t.Fatalf("envoy-grpc %s: %v", r.label, err)
		}
		return grpcOutcome(resp), true
	}}
}

// ---- the one place answers are normalised ----

// outcomeOf reads an HTTP door's answer. A 200 is a pass (the adapters'
// handler ran, or a front end allowed). A refusal that does not carry
// Cache-Control: no-store, which every bearerguard answer does, came from
// Go's HTTP server before any door ran.
func outcomeOf(resp *http.Response) doorOutcome {
	o := doorOutcome{Status: resp.StatusCode, Pass: resp.StatusCode == http.StatusOK}
	if !o.Pass && resp.Header.Get("Cache-Control") != "no-store" {
		o.Transport = true
		return o
	}
	o.Challenge = doortest.NormChallenge(resp.Header.Values("Www-Authenticate"))
	o.Nonce = resp.Header.Get("Dpop-Nonce") != ""
	o.RetryAfter = strings.Join(resp.Header.Values("Retry-After"), ",")
	return o
}

// grpcOutcome reads a CheckResponse as the answer Envoy gives the client:
// OK passes; a denied_response's status and headers are the client's.
func grpcOutcome(resp *authv3.CheckResponse) doorOutcome {
	if codes.Code(resp.GetStatus().GetCode()) == codes.OK && resp.GetOkResponse() != nil {
		return doorOutcome{Pass: true, Status: http.StatusOK}
	}
	dr := resp.GetDeniedResponse()
	h := http.Header{}
	for _, hv := range dr.GetHeaders() {
		// OVERWRITE_IF_EXISTS_OR_ADD, as each entry asks.
		h.Set(hv.GetHeader().GetKey(), hv.GetHeader().GetValue())
	}
	o := doorOutcome{Status: int(dr.GetStatus().GetCode())}
	o.Challenge = doortest.NormChallenge(h.Values("Www-Authenticate"))
	o.Nonce = h.Get("Dpop-Nonce") != ""
	o.RetryAfter = strings.Join(h.Values("Retry-After"), ",")
	return o
}

// ---- a raw HTTP/1.1 client: header lines exactly as written ----

type rawClient struct{ doortest.Client }

func (c *rawClient) do(t *testing.T, method, target string, hs []doorHeader, body string) doorOutcome {
	t.Helper()
	lines := make([]string, 0, len(hs)+1)
	for _, h := range hs {
		lines = append(lines, h.name+": "+h.value)
	}
	if body != "" {
		lines = append(lines, "Content-Type: application/x-www-form-urlencoded")
	}
	resp, _ := c.Do(t, method, target, lines, body)
	return outcomeOf(resp)
}

// ---- the generator ----

// presentations: how a request carries its token. Each takes the token,
// the generator's random source and the stack (for a nonce), and
// fills in the request.
type presentation struct {
	name string
	make func(tok string, rnd *mrand.Rand, tk *doortest.Tokens, s *doorStack) doorRequest
}

func authOnly(v string) func() []doorHeader {
	return func() []doorHeader { return []doorHeader{{"Authorization", v}} }
}

// proofFor builds a DPoP proof for the request as a client would, then
// lets mutate change it.
func proofFor(t *testing.T, key *bearertest.DPoPKey, method, htu, tok string, opts ...bearertest.ProofOption) string {
	return key.MustProof(t, method, htu, tok, opts...)
}

func doorPresentations(t *testing.T) []presentation {
	get := func(h func() []doorHeader) doorRequest { return doorRequest{method: "GET", headers: h} }
	nonceOpt := func(s *doorStack) []bearertest.ProofOption {
		if s.nonce == "" {
			return nil
		}
		return []bearertest.ProofOption{bearertest.ProofNonce(s.nonce)}
	}
	ps := []presentation{
		{"bearer", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("Bearer " + tok))
		}},
		{"bearer-any-method", func(tok string, rnd *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			m := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}[rnd.Intn(7)]
			return doorRequest{method: m, headers: authOnly("Bearer " + tok)}
		}},
		{"header-name-case", func(tok string, rnd *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			n := []string{"authorization", "AUTHORIZATION", "AuThOrIzAtIoN"}[rnd.Intn(3)]
			return get(func() []doorHeader { return []doorHeader{{n, "Bearer " + tok}} })
		}},
		{"query-variants", func(tok string, rnd *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			q := []string{"x=1;y=2", "access_token=", "access_token", "a=%zz", "ACCESS_TOKEN=" + tok, "x=1&access_token=" + tok + "&access_token=" + tok,
				"access_token=" + tok + "%20x", "x=%E2%82%AC", "access_token%3D" + tok, "x=1&&&", "q=a+b"}[rnd.Intn(11)]
			return doorRequest{method: "GET", query: q, headers: authOnly("Bearer " + tok)}
		}},
		{"bearer-post", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return doorRequest{method: "POST", headers: authOnly("Bearer " + tok)}
		}},
		{"scheme-lower", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("bearer " + tok))
		}},
		{"scheme-upper", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("BEARER " + tok))
		}},
		{"two-spaces", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("Bearer  " + tok))
		}},
		{"tab", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("Bearer\t" + tok))
		}},
		{"tab-after-space", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("Bearer \t" + tok))
		}},
		{"trailing-space", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("Bearer " + tok + "  "))
		}},
		{"trailing-tab", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("Bearer " + tok + "\t"))
		}},
		{"leading-space", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("  Bearer " + tok))
		}},
		{"trailing-text", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("Bearer " + tok + " x"))
		}},
		{"scheme-only", func(string, *mrand.Rand, *doortest.Tokens, *doorStack) doorRequest { return get(authOnly("Bearer")) }},
		{"scheme-space", func(string, *mrand.Rand, *doortest.Tokens, *doorStack) doorRequest { return get(authOnly("Bearer ")) }},
		{"no-space", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("Bearer" + tok))
		}},
		{"comma-list", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("Bearer " + tok + ", Bearer " + tok))
		}},
		{"no-header", func(string, *mrand.Rand, *doortest.Tokens, *doorStack) doorRequest {
			return get(func() []doorHeader { return nil })
		}},
		{"empty-header", func(string, *mrand.Rand, *doortest.Tokens, *doorStack) doorRequest { return get(authOnly("")) }},
		{"basic", func(string, *mrand.Rand, *doortest.Tokens, *doorStack) doorRequest {
			return get(authOnly("Basic dXNlcjpwYXNz"))
		}},
		{"flipped-byte", func(tok string, rnd *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("Bearer " + doortest.Flip(tok, rnd)))
		}},
		{"truncated", func(tok string, rnd *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("Bearer " + tok[:1+rnd.Intn(len(tok)-1)]))
		}},
		{"padded", func(tok string, rnd *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("Bearer " + tok + strings.Repeat("=", 1+rnd.Intn(2))))
		}},
		{"non-ascii", func(tok string, rnd *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("Bearer " + doortest.Insert(tok, []string{"é", "ü", "Ω", "\u00a0"}[rnd.Intn(4)], rnd)))
		}},
		{"invalid-utf8", func(tok string, rnd *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("Bearer " + doortest.Insert(tok, "\xff", rnd)))
		}},
		{"control-char", func(tok string, rnd *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("Bearer " + doortest.Insert(tok, []string{"\x01", "\x7f", "\x0b", "\x1f"}[rnd.Intn(4)], rnd)))
		}},
		{"very-long", func(tok string, rnd *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			n := []int{8 << 10, 9000, 20000, 70000}[rnd.Intn(4)]
			return get(authOnly("Bearer " + tok + strings.Repeat("A", max(0, n-len(tok)))))
		}},
		{"two-headers", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(func() []doorHeader {
				return []doorHeader{{"Authorization", "Bearer " + tok}, {"Authorization", "Bearer " + tok}}
			})
		}},
		{"two-headers-one-basic", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(func() []doorHeader {
				return []doorHeader{{"Authorization", "Bearer " + tok}, {"Authorization", "Basic dXNlcjpwYXNz"}}
			})
		}},
		{"query-and-header", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return doorRequest{method: "GET", query: "access_token=" + tok, headers: authOnly("Bearer " + tok)}
		}},
		{"query-only-variants", func(tok string, rnd *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			q := []string{"access_token=" + tok, "x=1&access_token=" + tok, "access%5Ftoken=" + tok, "access_token=" + tok + "&access_token=" + tok,
				"access_token=" + tok + "&x=%zz", "access_token=" + tok + ";x=1", "access_token=" + url.QueryEscape(tok+"é"), "access_token=+" + tok,
				"access_token=" + tok + "%20", "ACCESS_TOKEN=" + tok, "access_token[]=" + tok}[rnd.Intn(11)]
			return doorRequest{method: "GET", query: q, headers: func() []doorHeader { return nil }}
		}},
		{"query-only", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return doorRequest{method: "GET", query: "access_token=" + tok, headers: func() []doorHeader { return nil }}
		}},
		{"query-escaped-name", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return doorRequest{method: "GET", query: "x=1&access%5Ftoken=" + tok, headers: authOnly("Bearer " + tok)}
		}},
		{"form-and-header", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return doorRequest{method: "POST", body: "access_token=" + tok, headers: authOnly("Bearer " + tok)}
		}},
		// DPoP
		{"dpop-scheme-no-proof", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("DPoP " + tok))
		}},
		{"dpop-scheme-lower-no-proof", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(authOnly("dpop " + tok))
		}},
		{"dpop-proof", func(tok string, _ *mrand.Rand, tk *doortest.Tokens, s *doorStack) doorRequest {
			return get(func() []doorHeader {
				return []doorHeader{{"Authorization", "DPoP " + tok}, {"DPoP", proofFor(t, tk.Bound, "GET", doorsHTU, tok, nonceOpt(s)...)}}
			})
		}},
		{"dpop-proof-post", func(tok string, _ *mrand.Rand, tk *doortest.Tokens, s *doorStack) doorRequest {
			return doorRequest{method: "POST", headers: func() []doorHeader {
				return []doorHeader{{"Authorization", "DPoP " + tok}, {"DPoP", proofFor(t, tk.Bound, "POST", doorsHTU, tok, nonceOpt(s)...)}}
			}}
		}},
		{"dpop-proof-no-nonce", func(tok string, _ *mrand.Rand, tk *doortest.Tokens, _ *doorStack) doorRequest {
			return get(func() []doorHeader {
				return []doorHeader{{"Authorization", "DPoP " + tok}, {"DPoP", proofFor(t, tk.Bound, "GET", doorsHTU, tok)}}
			})
		}},
		{"dpop-proof-stale-nonce", func(tok string, _ *mrand.Rand, tk *doortest.Tokens, _ *doorStack) doorRequest {
			return get(func() []doorHeader {
				return []doorHeader{{"Authorization", "DPoP " + tok}, {"DPoP", proofFor(t, tk.Bound, "GET", doorsHTU, tok, bearertest.ProofNonce("stale-nonce"))}}
			})
		}},
		{"dpop-proof-bearer-scheme", func(tok string, _ *mrand.Rand, tk *doortest.Tokens, s *doorStack) doorRequest {
			return get(func() []doorHeader {
				return []doorHeader{{"Authorization", "Bearer " + tok}, {"DPoP", proofFor(t, tk.Bound, "GET", doorsHTU, tok, nonceOpt(s)...)}}
			})
		}},
		{"dpop-proof-alone", func(tok string, _ *mrand.Rand, tk *doortest.Tokens, s *doorStack) doorRequest {
			return get(func() []doorHeader {
				return []doorHeader{{"DPoP", proofFor(t, tk.Bound, "GET", doorsHTU, tok, nonceOpt(s)...)}}
			})
		}},
		{"dpop-two-proofs", func(tok string, _ *mrand.Rand, tk *doortest.Tokens, s *doorStack) doorRequest {
			return get(func() []doorHeader {
				return []doorHeader{{"Authorization", "DPoP " + tok}, {"DPoP", proofFor(t, tk.Bound, "GET", doorsHTU, tok, nonceOpt(s)...)},
					{"DPoP", proofFor(t, tk.Bound, "GET", doorsHTU, tok, nonceOpt(s)...)}}
			})
		}},
		{"dpop-two-proofs-one-line", func(tok string, _ *mrand.Rand, tk *doortest.Tokens, s *doorStack) doorRequest {
			return get(func() []doorHeader {
				return []doorHeader{{"Authorization", "DPoP " + tok}, {"DPoP", proofFor(t, tk.Bound, "GET", doorsHTU, tok, nonceOpt(s)...) + ", " +
					proofFor(t, tk.Bound, "GET", doorsHTU, tok, nonceOpt(s)...)}}
			})
		}},
		{"dpop-proof-flipped", func(tok string, rnd *mrand.Rand, tk *doortest.Tokens, s *doorStack) doorRequest {
			seed := rnd.Int63()
			return get(func() []doorHeader {
				p := proofFor(t, tk.Bound, "GET", doorsHTU, tok, nonceOpt(s)...)
				return []doorHeader{{"Authorization", "DPoP " + tok}, {"DPoP", doortest.Flip(p, mrand.New(mrand.NewSource(seed)))}}
			})
		}},
		{"dpop-proof-wrong-method", func(tok string, _ *mrand.Rand, tk *doortest.Tokens, s *doorStack) doorRequest {
			return get(func() []doorHeader {
				return []doorHeader{{"Authorization", "DPoP " + tok}, {"DPoP", proofFor(t, tk.Bound, "POST", doorsHTU, tok, nonceOpt(s)...)}}
			})
		}},
		{"dpop-proof-wrong-url", func(tok string, _ *mrand.Rand, tk *doortest.Tokens, s *doorStack) doorRequest {
			return get(func() []doorHeader {
				return []doorHeader{{"Authorization", "DPoP " + tok}, {"DPoP", proofFor(t, tk.Bound, "GET", doorsPublic+"/other", tok, nonceOpt(s)...)}}
			})
		}},
		{"dpop-proof-other-key", func(tok string, _ *mrand.Rand, tk *doortest.Tokens, s *doorStack) doorRequest {
			return get(func() []doorHeader {
				return []doorHeader{{"Authorization", "DPoP " + tok}, {"DPoP", proofFor(t, tk.Other, "GET", doorsHTU, tok, nonceOpt(s)...)}}
			})
		}},
		{"dpop-proof-other-token", func(tok string, _ *mrand.Rand, tk *doortest.Tokens, s *doorStack) doorRequest {
			return get(func() []doorHeader {
				return []doorHeader{{"Authorization", "DPoP " + tok}, {"DPoP", proofFor(t, tk.Bound, "GET", doorsHTU, tok+"x", nonceOpt(s)...)}}
			})
		}},
		{"dpop-proof-and-query", func(tok string, _ *mrand.Rand, tk *doortest.Tokens, s *doorStack) doorRequest {
			return doorRequest{method: "GET", query: "access_token=" + tok, headers: func() []doorHeader {
				return []doorHeader{{"Authorization", "DPoP " + tok}, {"DPoP", proofFor(t, tk.Bound, "GET", doorsHTU, tok, nonceOpt(s)...)}}
			}}
		}},
		{"dpop-scheme-tab", func(tok string, _ *mrand.Rand, tk *doortest.Tokens, s *doorStack) doorRequest {
			return get(func() []doorHeader {
				return []doorHeader{{"Authorization", "DPoP\t" + tok}, {"DPoP", proofFor(t, tk.Bound, "GET", doorsHTU, tok, nonceOpt(s)...)}}
			})
		}},
		{"dpop-scheme-only", func(string, *mrand.Rand, *doortest.Tokens, *doorStack) doorRequest { return get(authOnly("DPoP")) }},
		{"dpop-empty-proof", func(tok string, _ *mrand.Rand, _ *doortest.Tokens, _ *doorStack) doorRequest {
			return get(func() []doorHeader { return []doorHeader{{"Authorization", "DPoP " + tok}, {"DPoP", ""}} })
		}},
	}
	return ps
}

// generate returns n requests drawn from tokens × presentations.
func generateDoorRequests(t *testing.T, rnd *mrand.Rand, n int, tk *doortest.Tokens, ps []presentation, s *doorStack) []doorRequest {
	out := make([]doorRequest, 0, n)
	for range n {
		kind := tk.Kinds[rnd.Intn(len(tk.Kinds))]
		pool := tk.Pool[kind]
		tok := pool[rnd.Intn(len(pool))]
		p := ps[rnd.Intn(len(ps))]
		r := p.make(tok, rnd, tk, s)
		r.label = kind + " × " + p.name
		r.rawHeaders = rnd.Intn(2) == 0
		out = append(out, r)
	}
	return out
}

// doorMismatch is one request on which the doors disagreed.
type doorMismatch struct {
	stack, label string
	answers      map[string]doorOutcome
}

// runDoors sends every request through every door of s, counting each
// label in seen and each answer in stats, and returns the requests on
// which the doors disagreed, one block each.
func runDoors(t *testing.T, s *doorStack, reqs []doorRequest, seen map[string]int, stats doortest.Stats) []string {
	t.Helper()
	var out []string
	for _, r := range reqs {
		answers := map[string]doorOutcome{}
		for _, d := range s.doors {
			o, ok := d.send(t, r, r.headers())
			if ok {
				answers[d.name] = o
			}
		}
		seen[s.name+": "+r.label]++
		for name, o := range answers {
			stats.Add(name, o)
		}
		if !doorsAgree(answers) {
			out = append(out, doorMismatch{s.name, r.label, answers}.String())
		}
	}
	return out
}

// doorsAgree: every door's outcome equal, except that a transport refusal
// (Go's HTTP server) is compared among the HTTP doors only.
func doorsAgree(answers map[string]doorOutcome) bool {
	var ref *doorOutcome
	transport := false
	for _, o := range answers {
		if o.Transport {
			transport = true
		}
	}
	for name, o := range answers {
		if transport && name == "envoy-grpc" {
			continue
		}
		if ref == nil {
			o := o
			ref = &o
			continue
		}
		if o != *ref {
			return false
		}
	}
	return true
}

func (m doorMismatch) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s\n", m.stack, m.label)
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range m.answers {
			if !yield(k) {
				return
			}
		}
	})
	for _, n := range names {
		fmt.Fprintf(&b, "    %-10s %s\n", n, m.answers[n])
	}
	return b.String()
}

func TestDoorsDifferential(t *testing.T) {
	start := time.Now()
	n := 1500 // per stack
	if testing.Short() {
		n = 300
	}
	rnd := mrand.New(mrand.NewSource(doorsSeed))

	iss, keys, tk := doortest.Issuer(t, audience)
	ps := doorPresentations(t)

	nonceKey := bytes.Repeat([]byte{7}, 32)
	stacks := []*doorStack{
		newDoorStack(t, "dpop-allowed", keys, iss.URL),
		newDoorStack(t, "dpop-off", keys, iss.URL, validator.WithDPoP(validator.DPoPOff)),
		newDoorStack(t, "nonces", keys, iss.URL, validator.WithDPoPNonces(nonceKey, 0)),
		newDoorStackWith(t, "query-tokens", keys, iss.URL, []httpbearer.Option{httpbearer.WithQueryToken()}),
	}
	// The nonces stack's client learns the nonce from a first refusal.
	stacks[2].nonce = learnNonce(t, stacks[2], tk.Pool["dpop-bound"][0], tk)

	seen := map[string]int{}
	var ms []string
	stats := doortest.Stats{}
	total := 0
	for _, s := range stacks {
		reqs := generateDoorRequests(t, rnd, n, tk, ps, s)
		ms = append(ms, runDoors(t, s, reqs, seen, stats)...)
		total += len(reqs)
	}

	// The issuer goes down mid-run: the loaded keys stay in force.
	iss.Close()
	for _, s := range stacks[:1] {
		s.name += "/keys-down"
		reqs := generateDoorRequests(t, rnd, n/2, tk, ps, s)
		ms = append(ms, runDoors(t, s, reqs, seen, stats)...)
		total += len(reqs)
	}

	// A key set that never loaded: every token that must be checked is 503.
	dead, deadKeys := doortest.DeadIssuer(t)
	never := newDoorStack(t, "keys-never-loaded", deadKeys, dead.URL)
	reqs := generateDoorRequests(t, rnd, n/3, tk.Retarget(t, dead, audience), ps, never)
	ms = append(ms, runDoors(t, never, reqs, seen, stats)...)
	total += len(reqs)

	t.Logf("%d requests through %d doors (%d distinct stack × token × presentation labels) in %v",
		total, len(stacks[0].doors), len(seen), time.Since(start).Round(time.Millisecond))
	var names []string
	for _, d := range stacks[0].doors {
		names = append(names, d.name)
	}
	stats.Check(t, names...)
	doortest.Report(t, ms)
}

// learnNonce asks the net/http door of s with a proof without a nonce and
// returns the DPoP-Nonce it answers (valid for the test's span: the
// default lifetime is minutes).
func learnNonce(t *testing.T, s *doorStack, tok string, tk *doortest.Tokens) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+s.direct+"/data", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = doorsHost
	req.Header.Set("Authorization", "DPoP "+tok)
	req.Header.Set("DPoP", proofFor(t, tk.Bound, "GET", doorsHTU, tok))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	n := resp.Header.Get("DPoP-Nonce")
	if n == "" {
		t.Fatalf("nonces stack: %d without DPoP-Nonce", resp.StatusCode)
	}
	return n
}

// A client (or a proxy in front of the gateway) that sends its two DPoP
// proofs on one field line, "DPoP: P1, P2", is refused by every door, but
// not the same way: the Envoy gRPC front end splits a DPoP value at ','
// into two proofs (SECURITY.md 120) and refuses at extraction (401
// invalid_dpop_proof, before the token is looked at), while net/http, Gin,
// Echo and the nginx, Traefik and Envoy HTTP front ends read one proof
// and decide on the token first: 401 invalid_token for a token not bound
// to a key, and 503 with Retry-After when the keys cannot be had. Every
// door must answer it as it answers two field lines (all agree on that).
func TestDoorsDPoPProofsOnOneLine(t *testing.T) {
	iss, keys, tk := doortest.Issuer(t, audience)
	live := newDoorStack(t, "dpop-allowed", keys, iss.URL)

	dead, deadKeys := doortest.DeadIssuer(t)
	never := newDoorStack(t, "keys-never-loaded", deadKeys, dead.URL)
	deadTok := dead.Mint(t, bearertest.Claims{"aud": audience, "scope": "read:data"})

	for _, tt := range []struct {
		s   *doorStack
		tok string
	}{
		{live, tk.Pool["valid-rs256"][0]},
		{live, tk.Pool["dpop-bound"][0]},
		{never, deadTok},
	} {
		proof := func() string { return proofFor(t, tk.Bound, "GET", doorsHTU, tt.tok) }
		twoLines := doorRequest{label: "two DPoP lines", method: "GET", headers: func() []doorHeader {
			return []doorHeader{{"Authorization", "DPoP " + tt.tok}, {"DPoP", proof()}, {"DPoP", proof()}}
		}}
		oneLine := doorRequest{label: "two proofs on one DPoP line", method: "GET", headers: func() []doorHeader {
			return []doorHeader{{"Authorization", "DPoP " + tt.tok}, {"DPoP", proof() + ", " + proof()}}
		}}
		for _, raw := range []bool{false, true} {
			twoLines.rawHeaders, oneLine.rawHeaders = raw, raw
			var want doorOutcome
			for i, d := range tt.s.doors {
				o, _ := d.send(t, twoLines, twoLines.headers())
				if i == 0 {
					want = o
				} else if o != want {
					t.Fatalf("%s, two lines: %s answers %v, net/http %v (the premise: they agree)", tt.s.name, d.name, o, want)
				}
			}
			for _, d := range tt.s.doors {
				if o, _ := d.send(t, oneLine, oneLine.headers()); o != want {
					t.Errorf("%s, %s (encode_raw_headers %v): %-10s %v; want %v, as for two lines", tt.s.name, oneLine.label, raw, d.name, o, want)
				}
			}
		}
	}
}
