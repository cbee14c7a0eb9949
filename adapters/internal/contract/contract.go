// Package contract is the test suite every adapter must pass: the same
// requests, the same RFC 6750 answers, whatever the framework. For tests.
package contract

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/validator"
)

// Audience is the audience the contract's validator expects.
const Audience = "orders"

// DPoPChallenge is the DPoP challenge that follows the Bearer one in every
// answer of a validator with the default DPoP mode (allowed).
const DPoPChallenge = `, DPoP realm="orders", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"`

// Reply is what the adapter's handlers answer on success: the subject as
// the framework's accessor sees it and as validator.FromContext sees it.
type Reply struct {
	Subject    string `json:"subject"`
	CtxSubject string `json:"ctx_subject"`
	Anonymous  bool   `json:"anonymous"`
}

// Build returns the adapter's handler with these routes, all answering
// JSON Reply on success:
//
//	GET  /data      requires read:data
//	POST /data      requires write:data
//	GET  /either    requires read:data or admin (any-of)
//	GET  /any       requires any valid token
//	GET  /optional  anonymous allowed; a present token must be valid
//	GET  /strong    requires read:data and the step-up StrongAuth
//	GET  /mixed     requires Mixed (scope read:data or role Data.Read)
//	GET  /privileged requires Privileged (a role, and a permission or a claim)
type Build func(t *testing.T, g *httpbearer.Guard) http.Handler

type fixture struct {
	iss *bearertest.Issuer
	v   *validator.Validator
}

func newFixture(t *testing.T) *fixture {
	iss := bearertest.NewIssuer(t)
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience(Audience))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{iss: iss, v: v}
}

func (f *fixture) token(t *testing.T, scope string, opts ...bearertest.MintOption) string {
	return f.iss.Mint(t, bearertest.Claims{"aud": Audience, "scope": scope, "sub": "svc-" + strings.ReplaceAll(scope, ":", "-")}, opts...)
}

func serve(t *testing.T, build Build, g *httpbearer.Guard) *httptest.Server {
	srv := httptest.NewServer(build(t, g))
	t.Cleanup(srv.Close)
	return srv
}

func guard(t *testing.T, v httpbearer.TokenValidator, opts ...httpbearer.Option) *httpbearer.Guard {
	g, err := httpbearer.New(v, append([]httpbearer.Option{httpbearer.WithRealm("orders")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, srv *httptest.Server, method, path string, header http.Header, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}
}

func auth(vals ...string) http.Header { return http.Header{"Authorization": vals} }

// Run runs the contract against build, and the nested-guard cases against
// nested.
func Run(t *testing.T, build Build, nested BuildNested) {
	f := newFixture(t)
	read := f.token(t, "read:data")
	write := f.token(t, "write:data")
	admin := f.token(t, "admin")
	expired := f.token(t, "read:data", bearertest.ExpiresIn(-time.Hour))
	tampered := read[:len(read)-6] + "AAAAAA"
	srv := serve(t, build, guard(t, f.v))

	const bare = `Bearer realm="orders"`
	invalidRequest := func(desc string) string {
		return `Bearer realm="orders", error="invalid_request", error_description="` + desc + `"`
	}
	const malformedHeader = "The Authorization header is malformed"

	tests := []struct {
		name        string
		method      string
		path        string
		header      http.Header
		body        string
		status      int
		challenge   string // exact WWW-Authenticate, or "" for none
		wantSubject string
		anonymous   bool
	}{
		{"valid token", "GET", "/data", auth("Bearer " + read), "", 200, "", "svc-read-data", false},
		{"lowercase scheme", "GET", "/data", auth("bearer " + read), "", 200, "", "svc-read-data", false},
		{"uppercase scheme", "GET", "/data", auth("BEARER " + read), "", 200, "", "svc-read-data", false},
		{"several spaces", "GET", "/data", auth("Bearer    " + read), "", 200, "", "svc-read-data", false},
		{"POST needs write:data", "POST", "/data", auth("Bearer " + write), "", 200, "", "svc-write-data", false},
		{"any-of first", "GET", "/either", auth("Bearer " + read), "", 200, "", "svc-read-data", false},
		{"any-of second", "GET", "/either", auth("Bearer " + admin), "", 200, "", "svc-admin", false},
		{"any valid token", "GET", "/any", auth("Bearer " + admin), "", 200, "", "svc-admin", false},
		{"no token", "GET", "/data", nil, "", 401, bare, "", false},
		{"other scheme", "GET", "/data", auth("Basic dXNlcjpwYXNz"), "", 401, bare, "", false},
		{"scheme prefix of another", "GET", "/data", auth("BearerX " + read), "", 401, bare, "", false},
		{"Bearer alone", "GET", "/data", auth("Bearer"), "", 400, invalidRequest(malformedHeader), "", false},
		{"Bearer and spaces", "GET", "/data", auth("Bearer   "), "", 400, invalidRequest(malformedHeader), "", false},
		{"tab separator", "GET", "/data", auth("Bearer\t" + read), "", 400, invalidRequest(malformedHeader), "", false},
		{"two headers", "GET", "/data", auth("Bearer "+read, "Bearer "+read), "", 400, invalidRequest("The access token was sent more than once"), "", false},
		{"non-b64token characters", "GET", "/data", auth("Bearer abc$def"), "", 400, invalidRequest(malformedHeader), "", false},
		{"token then more text", "GET", "/data", auth("Bearer " + read + " extra"), "", 400, invalidRequest(malformedHeader), "", false},
		{"two tokens", "GET", "/data", auth("Bearer " + read + "," + read), "", 400, invalidRequest(malformedHeader), "", false},
		{"query token not enabled", "GET", "/data?access_token=" + url.QueryEscape(read), nil, "", 400, invalidRequest("The access token must be sent in the Authorization header"), "", false},
		{"expired", "GET", "/data", auth("Bearer " + expired), "", 401, `Bearer realm="orders", error="invalid_token", error_description="The access token expired"`, "", false},
		{"tampered", "GET", "/data", auth("Bearer " + tampered), "", 401, `Bearer realm="orders", error="invalid_token", error_description="The access token signature is invalid"`, "", false},
		{"garbage token", "GET", "/data", auth("Bearer abc.def.ghi"), "", 401, `Bearer realm="orders", error="invalid_token", error_description="The access token is malformed"`, "", false},
		{"missing scope", "GET", "/data", auth("Bearer " + write), "", 403, `Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read:data"`, "", false},
		{"missing scope on POST", "POST", "/data", auth("Bearer " + read), "", 403, `Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a required scope", scope="write:data"`, "", false},
		{"missing any-of", "GET", "/either", auth("Bearer " + write), "", 403, `Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read:data admin"`, "", false},
		{"optional, anonymous", "GET", "/optional", nil, "", 200, "", "", true},
		{"optional, valid", "GET", "/optional", auth("Bearer " + read), "", 200, "", "svc-read-data", false},
		{"optional, invalid", "GET", "/optional", auth("Bearer " + expired), "", 401, `Bearer realm="orders", error="invalid_token", error_description="The access token expired"`, "", false},
		{"optional, malformed", "GET", "/optional", auth("Bearer"), "", 400, invalidRequest(malformedHeader), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, srv, tt.method, tt.path, tt.header, tt.body)
			check(t, r, tt.status, tt.challenge, tt.wantSubject, tt.anonymous)
		})
	}

	t.Run("query token when enabled", func(t *testing.T) {
		srv := serve(t, build, guard(t, f.v, httpbearer.WithQueryToken()))
		r := do(t, srv, "GET", "/data?access_token="+url.QueryEscape(read), nil, "")
		check(t, r, 200, "", "svc-read-data", false)
		// RFC 6750 §2.3: the answer to a URL carrying a token is private.
		if got := r.header.Values("Cache-Control"); len(got) != 1 || got[0] != "private" {
			t.Errorf("query token accepted: Cache-Control %q, want private", got)
		}
		if got := do(t, srv, "GET", "/data", auth("Bearer "+read), "").header.Get("Cache-Control"); got != "" {
			t.Errorf("header token accepted: Cache-Control %q, want none", got)
		}
		if got := do(t, srv, "POST", "/data?access_token="+url.QueryEscape(read), nil, "").header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("query token refused (403): Cache-Control %q, want no-store", got)
		}
		r = do(t, srv, "GET", "/data?access_token="+url.QueryEscape(read), auth("Bearer "+read), "")
		check(t, r, 400, invalidRequest("The access token was sent more than once"), "", false)
		r = do(t, srv, "GET", "/data?access_token=a&access_token=b", nil, "")
		check(t, r, 400, invalidRequest("The access token was sent more than once"), "", false)
	})

	t.Run("form token when enabled", func(t *testing.T) {
		srv := serve(t, build, guard(t, f.v, httpbearer.WithFormToken()))
		form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		check(t, do(t, srv, "POST", "/data", form, "access_token="+url.QueryEscape(write)), 200, "", "svc-write-data", false)
		both := form.Clone()
		both.Set("Authorization", "Bearer "+write)
		check(t, do(t, srv, "POST", "/data", both, "access_token="+url.QueryEscape(write)), 400, invalidRequest("The access token was sent more than once"), "", false)
	})

	t.Run("cookie when enabled", func(t *testing.T) {
		srv := serve(t, build, guard(t, f.v, httpbearer.WithCookie("at")))
		check(t, do(t, srv, "GET", "/data", http.Header{"Cookie": {"at=" + read}}, ""), 200, "", "svc-read-data", false)
	})

	t.Run("keys never reachable", func(t *testing.T) {
		down := bearertest.NewIssuer(t)
		down.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "upstream detail", http.StatusBadGateway)
		}))
		v, err := validator.New(validator.WithIssuer(down.URL, down.KeySet(t)), validator.WithAudience(Audience))
		if err != nil {
			t.Fatal(err)
		}
		srv := serve(t, build, guard(t, v))
		tok := down.Mint(t, bearertest.Claims{"aud": Audience, "scope": "read:data"})
		r := do(t, srv, "GET", "/data", auth("Bearer "+tok), "")
		check(t, r, 503, "", "", false)
		if r.header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
		if strings.Contains(string(r.body), "upstream detail") {
			t.Errorf("body leaks upstream content: %s", r.body)
		}
	})

	nestedCases(t, f, build, nested)
	wrappedCases(t, f, build)
	t.Run("extraction", func(t *testing.T) { extractionCases(t, build) })
	dpopCases(t, f, build)
	stepUpCases(t, f, build)
	t.Run("scopes_supported", func(t *testing.T) { scopesCases(t, f, build) })
	t.Run("requirements", func(t *testing.T) { requirementCases(t, f, build) })

	t.Run("hooks", func(t *testing.T) {
		var mu sync.Mutex
		var seen []int
		g := guard(t, f.v,
			httpbearer.WithObserver(func(r *http.Request, err error, c validator.Challenge) {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, c.Status)
			}),
			httpbearer.WithErrorBody(func(w http.ResponseWriter, r *http.Request, c validator.Challenge) {
				w.WriteHeader(c.Status)
				_, _ = io.WriteString(w, "custom:"+c.Code)
			}))
		srv := serve(t, build, g)
		r := do(t, srv, "GET", "/data", auth("Bearer "+expired), "")
		if r.status != 401 || string(r.body) != "custom:invalid_token" || !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
			t.Errorf("custom body: %d %q %q", r.status, r.body, r.header.Get("WWW-Authenticate"))
		}
		do(t, srv, "GET", "/data", nil, "")
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 2 || seen[0] != 401 || seen[1] != 401 {
			t.Errorf("observer saw %v", seen)
		}
	})
}

func check(t *testing.T, r response, status int, challenge, subject string, anonymous bool) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d (body %s, WWW-Authenticate %q)", r.status, status, r.body, r.header.Get("WWW-Authenticate"))
	}
	if challenge != "" {
		// DPoP is allowed by default: every challenge is followed by a DPoP
		// one (RFC 9449 §7.1), bare when the request used Bearer.
		challenge += DPoPChallenge
	}
	if got := r.header.Get("WWW-Authenticate"); got != challenge {
		t.Errorf("WWW-Authenticate = %q, want %q", got, challenge)
	}
	if status == 200 {
		var reply Reply
		if err := json.Unmarshal(r.body, &reply); err != nil {
			t.Fatalf("body %s: %v", r.body, err)
		}
		if reply.Subject != subject || reply.CtxSubject != subject || reply.Anonymous != anonymous {
			t.Errorf("reply = %+v, want subject %q in both contexts, anonymous %v", reply, subject, anonymous)
		}
		return
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || body.Error == "" {
		t.Errorf("error body %q: %v", r.body, err)
	}
	if strings.Contains(string(r.body), "eyJ") {
		t.Errorf("error body contains token material: %s", r.body)
	}
}

// Offline returns a validator with a fixed Ed25519 key (no network), and a
// function minting a token for it with the given scope, valid for an hour
// from now. For Example functions and benchmarks.
func Offline() (*validator.Validator, func(scope string) string) {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, "bearerguard example key seed....")
	priv := ed25519.NewKeyFromSeed(seed)
	key, err := validator.NewKey("example", priv.Public(), validator.EdDSA)
	if err != nil {
		panic(err)
	}
	const issuer = "https://id.example.com/"
	v, err := validator.New(validator.WithIssuer(issuer, validator.NewKeys(key)), validator.WithAudience(Audience))
	if err != nil {
		panic(err)
	}
	mint := func(scope string) string {
		enc := base64.RawURLEncoding
		claims, _ := json.Marshal(map[string]any{"iss": issuer, "aud": Audience, "sub": "svc-example", "client_id": "svc-example",
			"scope": scope, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "jti": "example"})
		in := enc.EncodeToString([]byte(`{"alg":"EdDSA","kid":"example","typ":"at+jwt"}`)) + "." + enc.EncodeToString(claims)
		return in + "." + enc.EncodeToString(ed25519.Sign(priv, []byte(in)))
	}
	return v, mint
}
