package interop

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bearerguard/bearerguard/examples/setup"
)

// The Node stack of issue 21: an Express authorization server on the npm
// oauth2-server package (node/oauth2-server-as.mjs) issuing opaque tokens,
// with a hand-written RFC 7662 route that sends no "aud", and callers as
// Node shops write them (node/axios-caller.mjs). The suite runs once per
// package version.
const (
	// oauth2ServerLifetime is the accessTokenLifetime, in seconds, of the
	// authorization server the expiry case runs against: short (real apps
	// use 3600, as the server of the other cases does) so that expiry is
	// seen within a few seconds.
	oauth2ServerLifetime = 3
	// oauth2ServerCacheTTL is the examples' --introspection-cache-ttl: a
	// revoked token is refused at most this late.
	oauth2ServerCacheTTL = time.Second

	o2ReadClient, o2ReadSecret = "svc-read", "svc-read-secret-value"
	o2RWClient, o2RWSecret     = "svc-rw", "svc-rw-secret-value"
	// The API's secret has the characters client_secret_basic form-encodes
	// (RFC 6749 §2.3.1): a base64 secret's "+/=", and ":", "%", a space.
	o2APIClient, o2APISecret = "orders-api", "orders+api/introspection=secret: 100% ok"
)

// oauth2ServerPackages are the package versions the suite runs against.
var oauth2ServerPackages = []string{"oauth2-server", "@node-oauth/oauth2-server"}

// startOAuth2Server starts node/oauth2-server-as.mjs on pkg, issuing
// tokens for lifetime seconds, and returns its base URL; it stops when the
// test ends. It may run on a goroutine of its own: it reports failures as
// errors, not with t.Fatal.
func startOAuth2Server(t *testing.T, node, pkg string, lifetime int) (string, error) {
	cfg := map[string]any{
		"package":             pkg,
		"accessTokenLifetime": lifetime,
		"clients": []map[string]string{
			{"id": o2ReadClient, "secret": o2ReadSecret, "scope": "read:data"},
			{"id": o2RWClient, "secret": o2RWSecret, "scope": "read:data write:data"},
		},
		"resourceServers": []map[string]string{{"id": o2APIClient, "secret": o2APISecret}},
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	path := filepath.Join(t.TempDir(), "as.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return "", err
	}
	// startProcess fails the test if the server exits or is not ready
	// within 30 s, and stops it when the test ends.
	return startProcess(t, "oauth2-server-as", exec.Command(node, "node/oauth2-server-as.mjs", path), "READY "), nil
}

// o2Token is an oauth2-server token response.
type o2Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
	issued      time.Time
}

// callerToken gets a token with node/axios-caller.mjs (mode axios or
// simple-oauth2). It may run on a goroutine of its own.
func callerToken(node, mode, base, clientID, secret, scope string) (o2Token, error) {
	out, err := exec.Command(node, "node/axios-caller.mjs", mode, base+"/oauth/token", clientID, secret, scope).Output()
	if err != nil {
		return o2Token{}, fmt.Errorf("node caller (%s): %w", mode, err)
	}
	var tok o2Token
	if err := json.Unmarshal(out, &tok); err != nil || tok.AccessToken == "" {
		return o2Token{}, fmt.Errorf("node caller (%s) printed an unexpected token response (%d bytes)", mode, len(out))
	}
	tok.issued = time.Now() // a little after, in fact
	return tok, nil
}

// revokeAt revokes token at the authorization server, as its client.
func revokeAt(t *testing.T, base, clientID, secret, token string) {
	t.Helper()
	form := url.Values{"token": {token}, "client_id": {clientID}, "client_secret": {secret}}
	resp, err := http.PostForm(base+"/oauth/revoke", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: %s", resp.Status)
	}
}

// introspectAt asks the authorization server's RFC 7662 route about token,
// as the API does (client_secret_basic), and describes the answer: its
// members and their JSON types (never the token).
func introspectAt(t *testing.T, base, token string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(o2APIClient), url.QueryEscape(o2APISecret)) // RFC 6749 §2.3.1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != 200 {
		t.Fatalf("introspection: %s, %v", resp.Status, err)
	}
	if _, ok := answer["aud"]; ok {
		t.Errorf("the introspection route sent aud: this suite is about servers that do not")
	}
	var members []string
	for _, k := range slices.Sorted(maps.Keys(answer)) {
		switch v := answer[k].(type) {
		case bool:
			members = append(members, fmt.Sprintf("%s: %v", k, v))
		case float64:
			members = append(members, k+": number")
		case string:
			members = append(members, k+": string")
		default:
			members = append(members, fmt.Sprintf("%s: %T", k, v))
		}
	}
	return "{" + strings.Join(members, ", ") + "}"
}

// o2Answer is what an example answered: the status and, on a refusal, the
// error code of its challenge.
type o2Answer struct {
	status       int
	code         string // the challenge's error="…", "" when none
	cacheControl string
	clientID     string
}

func (a o2Answer) String() string {
	s := fmt.Sprint(a.status)
	if a.code != "" {
		s += " " + a.code
	}
	if a.cacheControl == "private" {
		s += " (Cache-Control: private)"
	}
	return s
}

func o2Call(t *testing.T, srv *httptest.Server, method, path string, h http.Header) o2Answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply setup.DataReply
	_ = json.NewDecoder(resp.Body).Decode(&reply)
	a := o2Answer{status: resp.StatusCode, cacheControl: resp.Header.Get("Cache-Control"), clientID: reply.ClientID}
	if _, rest, ok := strings.Cut(resp.Header.Get("WWW-Authenticate"), `error="`); ok {
		a.code, _, _ = strings.Cut(rest, `"`)
	}
	return a
}

func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

// until calls f every 50 ms until it returns a refusal (401) or deadline
// passes, and returns the last answer and when it came.
func until(deadline time.Time, f func() o2Answer) (o2Answer, time.Time) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		a := f()
		now := time.Now()
		if a.status == http.StatusUnauthorized || now.After(deadline) {
			return a, now
		}
		<-tick.C
	}
}

// o2Results records what each package version answered, per case, for the
// test log (and the closing note).
type o2Results struct {
	mu    sync.Mutex
	cases []string
	got   map[string]map[string]string // case → package → answers
}

func (r *o2Results) record(pkg, name, answer string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got == nil {
		r.got = map[string]map[string]string{}
	}
	if r.got[name] == nil {
		r.got[name] = map[string]string{}
		r.cases = append(r.cases, name)
	}
	if prev := r.got[name][pkg]; prev != "" && prev != answer {
		answer = prev + "; " + answer
	} else if prev == answer {
		return
	}
	r.got[name][pkg] = answer
}

func (r *o2Results) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| case | %s |\n| --- |%s\n", strings.Join(oauth2ServerPackages, " | "), strings.Repeat(" --- |", len(oauth2ServerPackages)))
	for _, c := range r.cases {
		row := []string{c}
		for _, pkg := range oauth2ServerPackages {
			row = append(row, r.got[c][pkg])
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(row, " | "))
	}
	return b.String()
}

// TestOAuth2ServerOpaqueTokens runs the net/http, Gin and Echo examples in
// introspection-only mode (--introspection-only, no --issuer,
// --introspection-audience-optional) against the Express authorization
// server, once with oauth2-server 3.1.1 and once with
// @node-oauth/oauth2-server 5.x, with tokens from axios (client_id and
// client_secret in the form) and simple-oauth2 (authorizationMethod
// 'body'). Every example, with both package versions: the right scopes are
// accepted; a read-only token writing is 403 insufficient_scope; a revoked
// token is refused within --introspection-cache-ttl; a token is refused
// once accessTokenLifetime (3 s here) has passed; a token in the query
// string is accepted only with --allow-query-token (with Cache-Control:
// private), and refused 400 when it also comes in the header.
func TestOAuth2ServerOpaqueTokens(t *testing.T) {
	node := requireNode(t)
	gin.SetMode(gin.TestMode)
	var results o2Results
	for _, pkg := range oauth2ServerPackages {
		t.Run(pkg, func(t *testing.T) { runOAuth2Server(t, node, pkg, &results) })
	}
	t.Logf("what each package version answered (same answers from net/http, Gin and Echo unless noted):\n%s", results.table())
}

func runOAuth2Server(t *testing.T, node, pkg string, results *o2Results) {
	// As apps run it (accessTokenLifetime 3600), and with a short lifetime
	// for the expiry case.
	var base, short string
	var errBase, errShort error
	var wg sync.WaitGroup
	wg.Go(func() { base, errBase = startOAuth2Server(t, node, pkg, 3600) })
	wg.Go(func() { short, errShort = startOAuth2Server(t, node, pkg, oauth2ServerLifetime) })
	wg.Wait()
	if err := errors.Join(errBase, errShort); err != nil {
		t.Fatal(err)
	}

	// Each example three times: without and with --allow-query-token, and
	// against the short-lived server.
	type example struct {
		name              string
		strict, withQuery *httptest.Server
		short             *httptest.Server // against the short-lived server
	}
	var examples []example
	for _, name := range slices.Sorted(maps.Keys(handlers)) {
		e := example{name: name}
		for i, srv := range []**httptest.Server{&e.strict, &e.withQuery, &e.short} {
			as := base
			if srv == &e.short {
				as = short
			}
			args := []string{"--audience", apiAudience, "--introspection-only", "--introspection-audience-optional",
				"--introspection-url", as + "/oauth/introspect", "--client-id", o2APIClient, "--client-secret", o2APISecret,
				"--introspection-cache-ttl", oauth2ServerCacheTTL.String(), "--insecure-http"}
			if i == 1 {
				args = append(args, "--allow-query-token")
			}
			cfg, err := setup.Parse(name, args, func(string) string { return "" }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			h, closeFn, err := handlers[name](cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(closeFn)
			*srv = httptest.NewServer(h)
			t.Cleanup((*srv).Close)
		}
		examples = append(examples, e)
	}

	// Tokens from both callers.
	var read, rw o2Token
	var errRead, errRW error
	wg.Go(func() { read, errRead = callerToken(node, "axios", base, o2ReadClient, o2ReadSecret, "read:data") })
	wg.Go(func() {
		rw, errRW = callerToken(node, "simple-oauth2", base, o2RWClient, o2RWSecret, "read:data write:data")
	})
	wg.Wait()
	if err := errors.Join(errRead, errRW); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s token responses: axios %d-character token, token_type %q, expires_in %d, scope %q; simple-oauth2 %d-character token, expires_in %d, scope %q",
		pkg, len(read.AccessToken), read.TokenType, read.ExpiresIn, read.Scope, len(rw.AccessToken), rw.ExpiresIn, rw.Scope)
	results.record(pkg, "token response (axios, read-only client)", fmt.Sprintf("%d hex chars, expires_in %d, scope %q", len(read.AccessToken), read.ExpiresIn, read.Scope))
	if strings.Count(read.AccessToken, ".") == 2 {
		t.Fatalf("%s issued a JWT-shaped token; this suite is about opaque ones", pkg)
	}
	// The server's own resource check takes the token in the query
	// (allowBearerTokensInQueryString): which is why its callers send it so.
	resp, err := http.Get(base + "/me?access_token=" + url.QueryEscape(read.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	results.record(pkg, "the server's own GET /me, token in the query", fmt.Sprint(resp.StatusCode))
	if resp.StatusCode != 200 {
		t.Errorf("the authorization server's own route refused a query token: %s", resp.Status)
	}
	results.record(pkg, "introspection answer, active", introspectAt(t, base, read.AccessToken))
	results.record(pkg, "introspection answer, unknown token", introspectAt(t, base, strings.Repeat("ab", 20)))
	query := "/data?access_token=" + url.QueryEscape(read.AccessToken)
	cases := []struct {
		name, method, path string
		header             http.Header
		withQuery          bool
		want               o2Answer
	}{
		{"read-only token (axios) GET /data", "GET", "/data", bearer(read.AccessToken), false, o2Answer{status: 200, clientID: o2ReadClient}},
		{"read-write token (simple-oauth2 body) POST /data", "POST", "/data", bearer(rw.AccessToken), false, o2Answer{status: 201, clientID: o2RWClient}},
		{"read-only token POST /data", "POST", "/data", bearer(read.AccessToken), false, o2Answer{status: 403, code: "insufficient_scope", cacheControl: "no-store"}},
		{"unknown token", "GET", "/data", bearer(strings.Repeat("ab", 20)), false, o2Answer{status: 401, code: "invalid_token", cacheControl: "no-store"}},
		{"query token, without --allow-query-token", "GET", query, nil, false, o2Answer{status: 400, code: "invalid_request", cacheControl: "no-store"}},
		{"query token, with --allow-query-token", "GET", query, nil, true, o2Answer{status: 200, clientID: o2ReadClient, cacheControl: "private"}},
		{"header and query token, with --allow-query-token", "GET", query, bearer(read.AccessToken), true, o2Answer{status: 400, code: "invalid_request", cacheControl: "no-store"}},
	}
	for _, e := range examples {
		for _, c := range cases {
			srv := e.strict
			if c.withQuery {
				srv = e.withQuery
			}
			got := o2Call(t, srv, c.method, c.path, c.header)
			results.record(pkg, c.name, got.String())
			if got != c.want {
				t.Errorf("%s, %s: %+v, want %+v", e.name, c.name, got, c.want)
			}
		}
	}
	// Revocation: the read-write token, revoked by its client, is refused
	// by every example within the cache TTL.
	for _, e := range examples {
		if a := o2Call(t, e.strict, "GET", "/data", bearer(rw.AccessToken)); a.status != 200 {
			t.Fatalf("%s: read-write token before revocation: %+v", e.name, a)
		}
	}
	revokeAt(t, base, o2RWClient, o2RWSecret, rw.AccessToken)
	revoked := time.Now()
	firsts := make([]o2Answer, len(examples)) // right after: may still be cached
	for i, e := range examples {
		firsts[i] = o2Call(t, e.strict, "GET", "/data", bearer(rw.AccessToken))
	}
	for i, e := range examples {
		first := firsts[i]
		// The TTL, plus a second for the polling and the introspection
		// round trip on a loaded machine.
		deadline := revoked.Add(oauth2ServerCacheTTL + time.Second)
		a, at := until(deadline, func() o2Answer { return o2Call(t, e.strict, "GET", "/data", bearer(rw.AccessToken)) })
		results.record(pkg, "revoked token (--introspection-cache-ttl 1s)", a.String()+" within TTL + 1 s")
		t.Logf("%s, %s: revoked token right after /oauth/revoke: %d; refused %v after it: %s", pkg, e.name, first.status, at.Sub(revoked).Round(10*time.Millisecond), a)
		if a.status != 401 || a.code != "invalid_token" {
			t.Errorf("%s: revoked token still %+v %v after revocation (cache TTL %v)", e.name, a, at.Sub(revoked), oauth2ServerCacheTTL)
		}
	}

	// Expiry: a token of the short-lived server, accepted at first, is
	// refused once accessTokenLifetime has passed.
	brief, err := callerToken(node, "axios", short, o2ReadClient, o2ReadSecret, "read:data")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range examples {
		if a := o2Call(t, e.short, "GET", "/data", bearer(brief.AccessToken)); a.status != 200 {
			t.Errorf("%s: a token of %ds, just issued: %+v, want 200", e.name, oauth2ServerLifetime, a)
		}
	}
	expires := brief.issued.Add(oauth2ServerLifetime * time.Second)
	for _, e := range examples {
		a, at := until(expires.Add(2*time.Second), func() o2Answer { return o2Call(t, e.short, "GET", "/data", bearer(brief.AccessToken)) })
		results.record(pkg, fmt.Sprintf("token after accessTokenLifetime (%ds)", oauth2ServerLifetime), a.String())
		t.Logf("%s, %s: token of %ds refused %v after the caller got it: %s", pkg, e.name, oauth2ServerLifetime, at.Sub(brief.issued).Round(10*time.Millisecond), a)
		if a.status != 401 || a.code != "invalid_token" {
			t.Errorf("%s: token still %+v %v after the caller got it (lifetime %ds)", e.name, a, at.Sub(brief.issued), oauth2ServerLifetime)
		}
		// "exp" is whole seconds, rounded down, and the caller got the
		// token a little after it was issued: up to 2 s early.
		if at.Before(expires.Add(-2 * time.Second)) {
			t.Errorf("%s: token refused %v after the caller got it, before its lifetime (%ds)", e.name, at.Sub(brief.issued), oauth2ServerLifetime)
		}
	}
}
