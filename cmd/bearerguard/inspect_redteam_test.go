package main

// Red-team tests of "bearerguard inspect". Tests named ...Holds pin what
// was attacked without success; the others pin findings since fixed
// (SECURITY.md 47-50).

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/leakcheck"
)

func rtSeg(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestRedteamInspectCrossOriginHolds: what a web page in the developer's
// browser can send to the page's server, without the key or the anti-CSRF
// token, is refused, and nothing of the answers is readable cross-origin.
func TestRedteamInspectCrossOriginHolds(t *testing.T) {
	leakcheck.Check(t)
	iss := bearertest.NewIssuer(t)
	p := startInspect(t, iss.Client(), "--issuer", iss.URL, "--audience", "orders")
	_, port, _ := net.SplitHostPort(p.host)
	body := []byte(`{"token":"x.y.z","audience":"orders"}`)
	cases := []struct {
		name   string
		method string
		path   string
		hdr    map[string]string
		status int
	}{
		{"CORS preflight", "OPTIONS", "/api/inspect", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-bearerguard-csrf,content-type"}, 405},
		{"PNA preflight", "OPTIONS", "/api/inspect", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Private-Network": "true"}, 405},
		{"simple text/plain POST, right origin header forged by page impossible", "POST", "/api/inspect", map[string]string{"Origin": "https://evil.example", "Content-Type": "text/plain", csrfHeader: ""}, 403},
		{"same-site fetch", "POST", "/api/inspect", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"origin with trailing slash", "POST", "/api/inspect", map[string]string{"Origin": p.base + "/"}, 403},
		{"origin https", "POST", "/api/inspect", map[string]string{"Origin": strings.Replace(p.base, "http:", "https:", 1)}, 403},
		{"Host with trailing dot", "GET", p.page, map[string]string{"Host": "127.0.0.1.:" + port}, 421},
		{"Host in hex", "GET", p.page, map[string]string{"Host": "0x7f000001:" + port}, 421},
		{"Host decimal", "GET", p.page, map[string]string{"Host": "2130706433:" + port}, 421},
		{"Host without port", "GET", p.page, map[string]string{"Host": "127.0.0.1"}, 421},
		{"Host upper-case name", "GET", p.page, map[string]string{"Host": "LOCALHOST:" + port}, 421},
		{"rebinding with key", "GET", p.page, map[string]string{"Host": "attacker.example:" + port}, 421},
		{"asset with rebinding", "GET", "/inspect.js", map[string]string{"Host": "attacker.example:" + port}, 421},
		{"key in another case", "GET", "/?KEY=" + strings.TrimPrefix(p.page, "/?key="), nil, 403},
		{"key as path", "GET", "/" + strings.TrimPrefix(p.page, "/?key="), nil, 404},
		{"index.html", "GET", "/index.html", nil, 404},
		{"API via HEAD", "HEAD", "/api/inspect", nil, 405},
		{"API with trailing slash", "POST", "/api/inspect/", nil, 404},
		{"API double slash", "POST", "//api/inspect", nil, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			if tc.method == "POST" {
				b = body
			}
			resp, got := p.do(tc.method, tc.path, b, tc.hdr)
			if resp.StatusCode != tc.status {
				t.Errorf("%s %s = %d %s, want %d", tc.method, tc.path, resp.StatusCode, got, tc.status)
			}
			for k := range resp.Header {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Errorf("CORS header %s: %q", k, resp.Header.Get(k))
				}
			}
			if resp.Header.Get("Cross-Origin-Resource-Policy") != "same-origin" {
				t.Errorf("CORP %q", resp.Header.Get("Cross-Origin-Resource-Policy"))
			}
			if strings.Contains(string(got), p.csrf) {
				t.Errorf("answer leaks the anti-CSRF token")
			}
		})
	}
}

// TestRedteamInspectPersonalClaimsRedacted: with "Show personal data"
// unticked, the report should carry no personal data of the token's
// subject. The deny list misses personal claims of the very providers
// --provider supports (Entra v1 "ipaddr", Okta "uid", Cognito
// "cognito:username", Entra "login_hint"/"verified_primary_email", an
// Auth0 namespaced email).
func TestRedteamInspectPersonalClaimsRedacted(t *testing.T) {
	leakcheck.Check(t)
	iss := bearertest.NewIssuer(t)
	p := startInspect(t, iss.Client(), "--issuer", iss.URL, "--audience", "orders")
	personal := map[string]string{
		"ipaddr":                           "203.0.113.77",       // Entra v1 access tokens: the user's IP
		"uid":                              "00u1secretokta",     // Okta: the user's id
		"cognito:username":                 "carol-cognito",      // Cognito
		"login_hint":                       "carol-login-hint",   // Entra
		"verified_primary_email":           "carol@primary.test", // Entra
		"https://example.com/claims/email": "carol@namespaced.test",
		"onprem_sid":                       "S-1-5-21-42",
	}
	claims := bearertest.Claims{"aud": "orders", "sub": "carol-sub"}
	for k, v := range personal {
		claims[k] = v
	}
	tok := iss.Mint(t, claims)
	_, raw := p.inspect(map[string]any{"token": tok, "audience": "orders"})
	if strings.Contains(string(raw), "carol-sub") {
		t.Fatalf("sub shown unredacted") // control: the deny list works for sub
	}
	for k, v := range personal {
		if strings.Contains(string(raw), v) {
			t.Errorf("personal claim %q shown with reveal_personal=false: %q", k, v)
		}
	}
}

// TestRedteamInspectIntrospectedJWTClaimsLabel: a JWT-shaped token decided
// by introspection (no --issuer) has its claims decoded locally, never
// verified; the report still says token.verified=true, which the page
// shows as "Claims (verified)" over claims the issuer never vouched for.
func TestRedteamInspectIntrospectedJWTClaimsLabel(t *testing.T) {
	leakcheck.Check(t)
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "api", Secret: "api-secret"})
	// The issuer vouches for bob with scope read.
	iss.SetIntrospectionHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"active":true,"sub":"bob","aud":"orders","scope":"read","exp":4102444800}`)
	}))
	p := startInspect(t, iss.Client(), "--introspection-url", iss.IntrospectionURL(), "--client-id", "api", "--client-secret", "api-secret", "--audience", "orders")
	// An unsigned JWT-shaped token whose payload claims admin.
	forged := rtSeg(map[string]any{"alg": "none"}) + "." + rtSeg(map[string]any{"sub": "mallory", "scope": "admin", "aud": "orders", "role": "superuser"}) + ".x"
	rep, raw := p.inspect(map[string]any{"token": forged, "audience": "orders", "reveal_personal": true})
	shown := false
	for _, c := range rep.Claims {
		if c.Name == "role" && strings.Contains(c.Value, "superuser") {
			shown = true
		}
	}
	if shown && rep.Token.Verified {
		t.Errorf("the token's own (unsigned) claims are reported as verified (page title \"Claims (verified)\"):\n%s", raw)
	}
}

// TestRedteamInspectTokenLeavesProcess: the page and --help say the token
// "goes only to this process" / "is sent only to it"; with an
// introspection endpoint configured, every pasted token, including a JWT
// of an unrelated issuer, is POSTed to that endpoint.
func TestRedteamInspectTokenLeavesProcess(t *testing.T) {
	leakcheck.Check(t)
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "api", Secret: "api-secret"})
	var got atomic.Value
	got.Store("")
	iss.SetIntrospectionHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		got.Store(r.PostForm.Get("token"))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"active":false}`)
	}))
	other := bearertest.NewIssuer(t)
	p := startInspect(t, iss.Client(), "--issuer", iss.URL, "--introspection-url", iss.IntrospectionURL(), "--client-id", "api", "--client-secret", "api-secret", "--audience", "orders")
	_, page := p.do("GET", p.page, nil, nil)
	claim := strings.Contains(string(page), "the token is sent only to it,") // unqualified
	for _, tok := range []string{"opaque-prod-token-123456", other.Mint(t, bearertest.Claims{"aud": "orders"})} {
		got.Store("")
		_, raw := p.inspect(map[string]any{"token": tok, "audience": "orders"})
		if strings.Contains(string(raw)+string(page), "api-secret") {
			t.Errorf("the client secret is shown")
		}
		if got.Load().(string) == tok && claim {
			t.Errorf("the page says \"the token is sent only to it\", but token %.20s… was POSTed to the introspection endpoint", tok)
		}
	}
}

// TestRedteamInspectDefaultPortHost: on --addr 127.0.0.1:80 a browser
// sends "Host: 127.0.0.1" (no default port) and "Origin:
// http://127.0.0.1"; the server answers 421 to its own page.
func TestRedteamInspectDefaultPortHost(t *testing.T) {
	var f validateFlags
	s, err := newInspectServer(&f, nil, "127.0.0.1:80", false)
	if err != nil {
		t.Fatal(err)
	}
	if !s.hostAllowed("127.0.0.1") {
		t.Errorf("Host 127.0.0.1 refused for a server bound to 127.0.0.1:80")
	}
	if s.hostAllowed("evil.example") || s.hostAllowed("127.0.0.1:81") {
		t.Errorf("other hosts allowed")
	}
}

// TestRedteamInspectWorstCaseCostHolds: the largest request the API
// admits (64 KiB: a JWT with tens of thousands of scopes and a 4 KiB
// requirement) costs milliseconds, and the answer stays bounded.
func TestRedteamInspectWorstCaseCostHolds(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	p := startInspect(t, iss.Client(), "--issuer", iss.URL, "--audience", "orders")
	const alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var have []string
	for i := 0; len(strings.Join(have, " ")) < 44000; i++ {
		have = append(have, string([]byte{alpha[i%62], alpha[i/62%62], alpha[i/3844%62]}))
	}
	var need []string
	for i := 0; len(strings.Join(need, " ")) < 4000; i++ {
		need = append(need, "Z"+string([]byte{alpha[i%62], alpha[i/62%62]}))
	}
	tok := rtSeg(map[string]any{"alg": "RS256", "kid": "k"}) + "." + rtSeg(map[string]any{"iss": iss.URL, "aud": "orders", "scope": strings.Join(have, " ")}) + ".c2ln"
	b, _ := json.Marshal(map[string]any{"token": tok, "audience": "orders", "scopes": strings.Join(need, " ")})
	t.Logf("body %d bytes, %d scopes in token, %d required", len(b), len(have), len(need))
	start := time.Now()
	resp, got := p.do("POST", "/api/inspect", b, nil)
	took := time.Since(start)
	t.Logf("status %d, answer %d bytes, took %v", resp.StatusCode, len(got), took)
	if took > 2*time.Second {
		t.Errorf("one request took %v", took)
	}
	// Escaping amplification: a claim of "<" characters.
	lt := rtSeg(map[string]any{"alg": "RS256"}) + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+strings.Repeat("<", 23000)+`","aud":"`+strings.Repeat("<", 23000)+`"}`)) + ".c2ln"
	b = []byte(`{"token":"` + lt + `","audience":"orders"}`)
	resp, got = p.do("POST", "/api/inspect", b, nil)
	t.Logf("'<' claims: body %d bytes, status %d, answer %d bytes (x%.1f)", len(b), resp.StatusCode, len(got), float64(len(got))/float64(len(b)))
	if len(got) > 16*len(b) {
		t.Errorf("an answer of %d bytes for a request of %d", len(got), len(b))
	}
}

// TestRedteamInspectHangingIssuerHolds: clients that give up while the
// issuer hangs free their slot, and nothing is left running.
func TestRedteamInspectHangingIssuerHolds(t *testing.T) {
	leakcheck.Check(t)
	iss := bearertest.NewIssuer(t)
	release := make(chan struct{})
	var hung atomic.Int32
	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hung.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	p := startInspect(t, iss.Client(), "--issuer", iss.URL, "--audience", "orders", "--timeout", "30s")
	defer close(release)
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders"})
	b, _ := json.Marshal(map[string]any{"token": tok, "audience": "orders"})
	// inspect posts b, giving up after d.
	inspect := func(d time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", p.base+"/api/inspect", bytes.NewReader(b))
		req.Header.Set("Origin", p.base)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(csrfHeader, p.csrf)
		if resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req); err == nil {
			resp.Body.Close()
		}
	}
	done := make(chan struct{})
	for i := 0; i < 3*maxConcurrentInspections; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			inspect(300 * time.Millisecond)
		}()
	}
	for i := 0; i < 3*maxConcurrentInspections; i++ {
		<-done
	}
	t.Logf("JWKS requests hung: %d", hung.Load())
	// The slots are free again: a fresh inspection gets one at once
	// (its JWKS fetch hangs until the 30 s timeout, so give up at 2 s and
	// check it reached the issuer).
	before := hung.Load()
	inspect(2 * time.Second)
	if hung.Load() == before {
		t.Errorf("slots not freed: a new inspection never reached the issuer")
	}
}

// TestRedteamInspectConcurrentHolds: concurrent inspections of different
// kinds share nothing (run with -race).
func TestRedteamInspectConcurrentHolds(t *testing.T) {
	leakcheck.Check(t)
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "api", Secret: "api-secret"})
	p := startInspect(t, iss.Client(), "--issuer", iss.URL, "--audience", "orders", "--introspection-url", iss.IntrospectionURL(), "--client-id", "api", "--client-secret", "api-secret")
	key := bearertest.MustDPoPKey(t, "")
	bound := iss.Mint(t, bearertest.Claims{"aud": "orders"}, bearertest.BoundToKey(key))
	bodies := []map[string]any{
		{"token": iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "a"}), "audience": "orders", "scopes": "a"},
		{"token": iss.Opaque(t, bearertest.Claims{"aud": "orders"}), "audience": "orders", "reveal_personal": true},
		{"token": bound, "audience": "orders", "dpop_proof": key.MustProof(t, "GET", "https://api.example/x", bound), "url": "https://api.example/x", "dpop": "required"},
		{"token": iss.Mint(t, bearertest.Claims{"aud": "other"}), "audience": "orders", "rfc9068": true, "leeway": "1h"},
	}
	done := make(chan struct{})
	for i := 0; i < 16; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			b, _ := json.Marshal(bodies[i%len(bodies)])
			req, _ := http.NewRequest("POST", p.base+"/api/inspect", bytes.NewReader(b))
			req.Header.Set("Origin", p.base)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(csrfHeader, p.csrf)
			resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	for i := 0; i < 16; i++ {
		<-done
	}
}

// TestRedteamInspectOutgoingPolicyHolds: plain-HTTP endpoints are refused
// at start without --insecure-http; a JWKS endpoint that redirects to
// plain HTTP is not followed; header URLs (jku, x5u) in a
// pasted token are never fetched.
func TestRedteamInspectOutgoingPolicyHolds(t *testing.T) {
	leakcheck.Check(t)
	var plainHits atomic.Int32
	plain := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { plainHits.Add(1) }))
	iss := bearertest.NewIssuer(t)
	for _, args := range [][]string{
		{"--issuer", iss.URL, "--jwks-url", plain + "/jwks", "--audience", "orders"},
		{"--introspection-url", plain + "/introspect", "--client-id", "a", "--client-secret", "b", "--audience", "orders"},
	} {
		var out, errOut bytes.Buffer
		if code := run(t.Context(), append([]string{"inspect"}, args...), nil, &out, &errOut, iss.Client()); code != exitUsage {
			t.Errorf("%v: exit %d, want a refusal", args, code)
		}
	}
	hops := 0
	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hops++
		if r.URL.Query().Get("loop") != "" {
			http.Redirect(w, r, iss.URL+"/jwks?loop=1", http.StatusFound)
			return
		}
		http.Redirect(w, r, plain+"/jwks", http.StatusFound)
	}))
	p := startInspect(t, iss.Client(), "--issuer", iss.URL, "--audience", "orders")
	tok := rtSeg(map[string]any{"alg": "RS256", "kid": "k", "jku": plain + "/jku", "x5u": plain + "/x5u"}) + "." +
		rtSeg(map[string]any{"iss": iss.URL, "aud": "orders", "exp": 4102444800}) + ".c2ln"
	rep, raw := p.inspect(map[string]any{"token": tok, "audience": "orders"})
	if plainHits.Load() != 0 {
		t.Errorf("%d requests reached the plain-HTTP server", plainHits.Load())
	}
	if rep.Decision != "undecided" {
		t.Errorf("decision %q\n%s", rep.Decision, raw)
	}
	for _, o := range rep.Outgoing {
		if strings.HasPrefix(o.URL, "http://") {
			t.Errorf("outgoing %+v", o)
		}
	}
}

func httptestServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Personal claims nested in a non-personal (often namespaced) object are
// redacted too.
func TestRedteamInspectNestedPersonalClaimsRedacted(t *testing.T) {
	claims := map[string]any{
		"https://app.example.com/user": map[string]any{"email": "alice@example.com", "name": "Alice", "plan": "gold"},
		"groups":                       []any{map[string]any{"given_name": "Alice"}},
		"ext":                          map[string]any{"x": 1},
	}
	for _, r := range claimRows(claims, time.Now(), false) {
		if strings.Contains(r.Value, "Alice") || strings.Contains(r.Value, "alice@") {
			t.Errorf("row %q shows nested personal data: %s", r.Name, r.Value)
		}
		if r.Name == "https://app.example.com/user" && (!r.Redacted || !strings.Contains(r.Value, "gold")) {
			t.Errorf("row %q: %s (redacted %v), want the rest shown and the row marked", r.Name, r.Value, r.Redacted)
		}
	}
	for _, r := range claimRows(claims, time.Now(), true) {
		if r.Name == "https://app.example.com/user" && !strings.Contains(r.Value, "alice@example.com") {
			t.Errorf("revealed: %s", r.Value)
		}
	}
}
