package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/leakcheck"
)

// inspectProc is "bearerguard inspect" running in the test, as a user
// starts it: through run, with flags.
type inspectProc struct {
	t      *testing.T
	base   string // http://127.0.0.1:port
	page   string // the page's path with its key, as printed
	host   string
	csrf   string
	out    *signalWriter
	errOut *signalWriter
}

// signalWriter collects a command's output and hands its first line over
// once written.
type signalWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	first chan string
	sent  bool
}

func newSignalWriter() *signalWriter { return &signalWriter{first: make(chan string, 1)} }

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if line, _, ok := strings.Cut(w.buf.String(), "\n"); ok && !w.sent {
		w.sent = true
		w.first <- line
	}
	return len(p), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

var pageURL = regexp.MustCompile(`open (http://[^/\s]+)(/\?key=[A-Za-z0-9_-]{43}) in a browser`)
var csrfMeta = regexp.MustCompile(`<meta name="bearerguard-csrf" content="([^"]+)">`)

// startInspect runs the command with args until the test ends, and loads
// the page as a browser would, for its anti-CSRF token.
func startInspect(t *testing.T, client *http.Client, args ...string) *inspectProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &inspectProc{t: t, out: newSignalWriter(), errOut: newSignalWriter()}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"inspect"}, args...), nil, p.out, p.errOut, client) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("inspect exited %d: %s", code, p.errOut.String())
		}
	})
	select {
	case line := <-p.out.first:
		m := pageURL.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("first line %q names no URL", line)
		}
		u, _ := url.Parse(m[1])
		p.base, p.page, p.host = m[1], m[2], u.Host
	case code := <-done:
		t.Fatalf("inspect exited %d: %s", code, p.errOut.String())
	case <-time.After(30 * time.Second): // a bound, not a wait: the line comes at once
		t.Fatalf("inspect printed no address: %s", p.errOut.String())
	}
	resp, body := p.do(http.MethodGet, p.page, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d", resp.StatusCode)
	}
	m := csrfMeta.FindSubmatch(body)
	if m == nil {
		t.Fatalf("the page has no anti-CSRF token")
	}
	p.csrf = string(m[1])
	return p
}

// do sends a request to the page's server; header values replace the
// defaults a browser's fetch from the page would send.
func (p *inspectProc) do(method, path string, body []byte, header map[string]string) (*http.Response, []byte) {
	p.t.Helper()
	req, err := http.NewRequestWithContext(p.t.Context(), method, p.base+path, bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Origin", p.base)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(csrfHeader, p.csrf)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp, b
}

// inspect posts fields to the API and decodes the report.
func (p *inspectProc) inspect(fields map[string]any) (*inspectReport, []byte) {
	p.t.Helper()
	b, _ := json.Marshal(fields)
	resp, body := p.do(http.MethodPost, "/api/inspect", b, nil)
	if resp.StatusCode != http.StatusOK {
		p.t.Fatalf("POST /api/inspect = %d: %s", resp.StatusCode, body)
	}
	var rep inspectReport
	if err := json.Unmarshal(body, &rep); err != nil {
		p.t.Fatalf("report: %v\n%s", err, body)
	}
	return &rep, body
}

func checkByID(rep *inspectReport, id string) (checkRow, bool) {
	for _, c := range rep.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return checkRow{}, false
}

func answerHeader(rep *inspectReport, name string) string {
	for _, h := range rep.Answer.Headers {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

// issuerKeyThumbprint computes the RFC 7638 thumbprint of kid from the
// issuer's published JWKS, independently of the code under test.
func issuerKeyThumbprint(t *testing.T, iss *bearertest.Issuer, kid string) string {
	t.Helper()
	resp, err := iss.Client().Get(iss.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct{ Keys []map[string]any }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if k["kid"] == kid {
			return jwkThumbprint(k)
		}
	}
	t.Fatalf("kid %q not in the JWKS", kid)
	return ""
}

// TestInspectVerdicts posts tokens from a real issuer to the page's API
// and checks the decision, the answer the API would send, and the verdict
// and reason of the check that decides, as well as those that pass.
func TestInspectVerdicts(t *testing.T) {
	leakcheck.Check(t)
	// Everything logged anywhere in the process, at every level: no token
	// may appear in it.
	logs := newSignalWriter()
	prev, prevOut, prevFlags := slog.Default(), log.Writer(), log.Flags()
	slog.SetDefault(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() {
		// SetDefault also points package log at the handler: undo both.
		slog.SetDefault(prev)
		log.SetOutput(prevOut)
		log.SetFlags(prevFlags)
	})
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "api", Secret: "api-secret"})
	down := bearertest.NewIssuer(t)
	down.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	kid := iss.CurrentKeyID("RS256")
	thumb := issuerKeyThumbprint(t, iss, kid)
	now := time.Now()

	good := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "alice@example.com"})
	otherSig := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "other"})
	forged := good[:strings.LastIndexByte(good, '.')] + otherSig[strings.LastIndexByte(otherSig, '.'):]
	key := bearertest.MustDPoPKey(t, "")
	bound := iss.Mint(t, bearertest.Claims{"aud": "orders"}, bearertest.BoundToKey(key))
	revoked := iss.Opaque(t, bearertest.Claims{"aud": "orders"})
	iss.Revoke(revoked)
	introDown := bearertest.NewIssuer(t)
	introDown.AddClient(bearertest.ClientConfig{ID: "api", Secret: "api-secret"})
	introDown.SetIntrospectionHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	const apiURL = "https://api.example/orders"
	proof := key.MustProof(t, "GET", apiURL, bound)
	otherURLProof := key.MustProof(t, "GET", "https://api.example/other", bound)
	expiredBound := iss.Mint(t, bearertest.Claims{"aud": "orders"}, bearertest.BoundToKey(key), bearertest.ExpiresIn(-time.Hour))
	expiredProof := key.MustProof(t, "GET", apiURL, expiredBound)
	tokens := map[string]string{
		"valid":                      good,
		"expired":                    iss.Mint(t, bearertest.Claims{"aud": "orders"}, bearertest.ExpiresIn(-10*time.Minute)),
		"not yet valid":              iss.Mint(t, bearertest.Claims{"aud": "orders", "nbf": now.Add(10 * time.Minute).Unix()}),
		"issued ahead":               iss.Mint(t, bearertest.Claims{"aud": "orders", "iat": now.Add(20 * time.Second).Unix()}),
		"wrong audience":             iss.Mint(t, bearertest.Claims{"aud": "payments"}),
		"unknown key":                iss.Mint(t, bearertest.Claims{"aud": "orders"}, bearertest.WithKeyID("rotated-away")),
		"bad signature":              forged,
		"missing scope":              good,
		"keys unavailable":           down.Mint(t, bearertest.Claims{"aud": "orders"}),
		"rfc9068 type":               iss.Mint(t, bearertest.Claims{"aud": "orders"}, bearertest.WithHeader("typ", "JWT")),
		"dpop downgrade":             bound,
		"opaque active":              iss.Opaque(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "email": "alice@example.com", "username": "alice"}),
		"opaque inactive":            revoked,
		"introspection unavailable":  introDown.Opaque(t, bearertest.Claims{"aud": "orders"}),
		"dpop with its proof":        bound,
		"dpop proof for another URL": bound,
		"dpop off, expired token":    expiredBound,
	}
	base := []string{"--issuer", iss.URL, "--audience", "orders"}
	intro := append(append([]string{}, base...), "--introspection-url", iss.IntrospectionURL(), "--client-id", "api", "--client-secret", "api-secret")
	p := startInspect(t, iss.Client(), base...)
	pDown := startInspect(t, iss.Client(), "--issuer", down.URL, "--audience", "orders", "--timeout", "3s")
	pIntro := startInspect(t, iss.Client(), intro...)
	pIntroDown := startInspect(t, introDown.Client(), "--introspection-url", introDown.IntrospectionURL(), "--client-id", "api", "--client-secret", "api-secret", "--audience", "orders")

	type want struct {
		decision string
		status   int
		header   string // in WWW-Authenticate (or Retry-After for 503)
		row      string // the deciding row
		verdict  string
		reason   string
		pass     []string // rows that must pass
	}
	tests := []struct {
		name   string
		p      *inspectProc
		fields map[string]any
		want   want
	}{
		{"valid", p, nil, want{"valid", 200, "", "", "", "", []string{rowFormat, rowIssuer, rowSignature, rowExpiry, rowIssuedAt, rowAudience, rowBinding}}},
		{"expired", p, nil, want{"invalid", 401, `error_description="The access token expired"`, rowExpiry, verdictFail, "expired 10 min ago", []string{rowSignature, rowAudience}}},
		{"not yet valid", p, nil, want{"invalid", 401, `error_description="The access token is not valid yet"`, rowNotBefore, verdictFail, "not valid until", []string{rowSignature, rowExpiry}}},
		{"issued ahead", p, nil, want{"valid", 200, "", rowIssuedAt, verdictPass, "the clocks differ, within the leeway 1 min", []string{rowSignature}}},
		{"wrong audience", p, nil, want{"invalid", 401, `error_description="The access token is not meant for this resource"`, rowAudience, verdictFail, `meant for "payments", not for this API ("orders")`, []string{rowSignature, rowExpiry}}},
		{"unknown key", p, nil, want{"invalid", 401, `error_description="The access token was signed with an unknown key"`, rowSignature, verdictFail, `no key in the issuer's set has kid "rotated-away"`, []string{rowIssuer}}},
		{"bad signature", p, nil, want{"invalid", 401, `error_description="The access token signature is invalid"`, rowSignature, verdictFail, "the signature does not verify", []string{rowIssuer}}},
		{"missing scope", p, map[string]any{"scopes": "read:data write:data"}, want{"invalid", 403, `error="insufficient_scope", error_description="The access token lacks a required scope", scope="read:data write:data"`, rowScopes, verdictFail, "lacks write:data; the token has read:data", []string{rowSignature, rowAudience, rowBinding}}},
		{"keys unavailable", pDown, nil, want{"undecided", 503, "", rowSignature, verdictUnknown, "could not be fetched", []string{rowIssuer}}},
		{"rfc9068 type", p, map[string]any{"rfc9068": true}, want{"invalid", 401, `error="invalid_token"`, rowType, verdictFail, `typ "JWT"`, []string{rowSignature}}},
		{"dpop downgrade", p, nil, want{"invalid", 401, `error_description="The access token is bound to a key or certificate the request does not prove"`, rowBinding, verdictFail, "downgrade to Bearer", []string{rowSignature, rowAudience}}},
		{"opaque active", pIntro, map[string]any{"scopes": "read:data"}, want{"valid", 200, "", rowIntrospection, verdictPass, "active: true", []string{rowFormat, rowAudience, rowScopes}}},
		{"introspection unavailable", pIntroDown, nil, want{"undecided", 503, "", rowIntrospection, verdictUnknown, "could not be asked", []string{rowFormat}}},
		{"dpop with its proof", p, map[string]any{"dpop_proof": proof, "method": "GET", "url": apiURL}, want{"valid", 200, "", rowBinding, verdictPass, "the DPoP proof matches its key, this request and this token", []string{rowSignature}}},
		{"dpop proof for another URL", p, map[string]any{"dpop_proof": otherURLProof, "method": "GET", "url": apiURL}, want{"invalid", 401, `DPoP realm="orders", error="invalid_dpop_proof", error_description="The DPoP proof does not match this request"`, rowBinding, verdictFail, "htu: the proof is for https://api.example/other, the request went to " + apiURL, []string{rowSignature, rowAudience}}},
		// The API answers for the scheme it does not accept; the rows also
		// show that the token itself has expired.
		{"dpop off, expired token", p, map[string]any{"dpop": "off", "dpop_proof": expiredProof, "method": "GET", "url": apiURL}, want{"invalid", 401, `Bearer realm="orders"`, rowExpiry, verdictFail, "expired 1 h ago", []string{rowSignature}}},
		{"opaque inactive", pIntro, nil, want{"invalid", 401, `error_description="The access token is not active"`, rowIntrospection, verdictFail, "active: false", []string{rowFormat}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := map[string]any{"token": tokens[tt.name], "audience": "orders", "leeway": "1m", "dpop": "allowed"}
			for k, v := range tt.fields {
				fields[k] = v
			}
			rep, raw := tt.p.inspect(fields)
			t.Logf("took %s, %d outgoing request(s)", rep.Took, len(rep.Outgoing))
			w := tt.want
			if rep.Decision != w.decision || rep.Answer.Status != w.status {
				t.Fatalf("decision %q, answer %d; want %q, %d\n%s", rep.Decision, rep.Answer.Status, w.decision, w.status, raw)
			}
			if w.status == http.StatusServiceUnavailable {
				if answerHeader(rep, "Retry-After") == "" || answerHeader(rep, "WWW-Authenticate") != "" {
					t.Errorf("503 answer headers %v, want Retry-After and no challenge", rep.Answer.Headers)
				}
			} else if got := answerHeader(rep, "WWW-Authenticate"); !strings.Contains(got, w.header) || (w.header == "") != (got == "") {
				t.Errorf("WWW-Authenticate %q, want %q", got, w.header)
			}
			if w.row != "" {
				c, ok := checkByID(rep, w.row)
				if !ok || c.Verdict != w.verdict || !strings.Contains(c.Reason, w.reason) {
					t.Errorf("row %s = %+v, want %s with %q\n%s", w.row, c, w.verdict, w.reason, raw)
				}
			}
			for _, id := range w.pass {
				if c, ok := checkByID(rep, id); !ok || c.Verdict != verdictPass {
					t.Errorf("row %s = %+v, want pass", id, c)
				}
			}
			if w.decision == "valid" {
				for _, c := range rep.Checks {
					if c.Verdict == verdictFail || c.Verdict == verdictUnknown {
						t.Errorf("valid token, but row %+v", c)
					}
				}
			} else {
				failed := 0
				for _, c := range rep.Checks {
					if c.Verdict == verdictFail || c.Verdict == verdictUnknown {
						failed++
					}
				}
				if failed == 0 {
					t.Errorf("refused token, but no row fails:\n%s", raw)
				}
			}
			secrets := []string{tokens[tt.name], "api-secret"}
			if pf, ok := tt.fields["dpop_proof"].(string); ok {
				secrets = append(secrets, pf)
			}
			for _, secret := range secrets {
				if bytes.Contains(raw, []byte(secret)) {
					t.Fatalf("the report contains the token or the client secret")
				}
			}
			for _, o := range rep.Outgoing {
				if !strings.HasPrefix(o.URL, iss.URL) && !strings.HasPrefix(o.URL, down.URL) && !strings.HasPrefix(o.URL, introDown.URL) {
					t.Errorf("outgoing request to %s, not the configured issuer", o.URL)
				}
			}
			if len(rep.Outgoing) == 0 {
				t.Errorf("no outgoing request recorded")
			}
		})
	}

	t.Run("key facts", func(t *testing.T) {
		rep, _ := p.inspect(map[string]any{"token": good, "audience": "orders", "leeway": "1m"})
		k := rep.Key
		if k == nil || !k.Matched || k.KeyID != kid || k.Algorithm != "RS256" || k.Thumbprint != thumb || k.Type != "RSA" || k.Fetched == "" || k.SetKeys < 1 {
			t.Fatalf("key %+v, want kid %q RS256 thumbprint %s, fetched", k, kid, thumb)
		}
		if !rep.Token.Verified || rep.Token.Format != "jwt" {
			t.Errorf("token facts %+v", rep.Token)
		}
		var exp, sub *claimRow
		for i, c := range rep.Claims {
			switch c.Name {
			case "exp":
				exp = &rep.Claims[i]
			case "sub":
				sub = &rep.Claims[i]
			}
		}
		if exp == nil || !strings.HasSuffix(exp.When, "UTC, in 1 h") && !strings.HasSuffix(exp.When, "UTC, in 59 min") {
			t.Errorf("exp row %+v, want the time in words", exp)
		}
		if sub == nil || !sub.Redacted || sub.Value != redactedValue {
			t.Errorf("sub row %+v, want redacted", sub)
		}
		if !strings.Contains(rep.Clock.Skew, "No sign of clock skew") {
			t.Errorf("skew %q", rep.Clock.Skew)
		}
	})

	t.Run("introspection answer redacted unless asked", func(t *testing.T) {
		tok := tokens["opaque active"]
		for _, reveal := range []bool{false, true} {
			_, raw := pIntro.inspect(map[string]any{"token": tok, "audience": "orders", "reveal_personal": reveal})
			rep := &inspectReport{}
			json.Unmarshal(raw, rep)
			if rep.Intro == nil || rep.Intro.Active == nil || !*rep.Intro.Active {
				t.Fatalf("introspection %+v", rep.Intro)
			}
			shown := bytes.Contains(raw, []byte("alice@example.com"))
			if shown != reveal || (rep.Intro.Redacted > 0) == reveal {
				t.Errorf("reveal %v: personal data shown %v, %d redacted\n%s", reveal, shown, rep.Intro.Redacted, raw)
			}
		}
	})

	if out := p.out.String() + p.errOut.String() + pIntro.out.String() + pIntro.errOut.String(); strings.Contains(out, good) || strings.Contains(out, "eyJ") {
		t.Errorf("the command printed a token:\n%s", out)
	}
	if l := logs.String(); strings.Contains(l, "eyJ") || strings.Contains(l, tokens["opaque active"]) || strings.Contains(l, "api-secret") {
		t.Errorf("a token or secret was logged:\n%s", l)
	}
	t.Logf("%d bytes logged, no token among them", len(logs.String()))
}

// TestInspectRefusals: requests the page would never send are refused
// before anything is read or fetched.
func TestInspectRefusals(t *testing.T) {
	leakcheck.Check(t)
	iss := bearertest.NewIssuer(t)
	p := startInspect(t, iss.Client(), "--issuer", iss.URL, "--audience", "orders")
	body, _ := json.Marshal(map[string]any{"token": iss.Mint(t, bearertest.Claims{"aud": "orders"}), "audience": "orders"})
	_, port, _ := net.SplitHostPort(p.host)
	tests := []struct {
		name   string
		method string
		path   string
		body   []byte
		header map[string]string
		status int
	}{
		{"no anti-CSRF token", "POST", "/api/inspect", body, map[string]string{csrfHeader: ""}, 403},
		{"wrong anti-CSRF token", "POST", "/api/inspect", body, map[string]string{csrfHeader: strings.Repeat("A", len(p.csrf))}, 403},
		{"anti-CSRF token of another length", "POST", "/api/inspect", body, map[string]string{csrfHeader: p.csrf + "x"}, 403},
		{"no Origin", "POST", "/api/inspect", body, map[string]string{"Origin": ""}, 403},
		{"another Origin", "POST", "/api/inspect", body, map[string]string{"Origin": "http://evil.example"}, 403},
		{"null Origin", "POST", "/api/inspect", body, map[string]string{"Origin": "null"}, 403},
		{"cross-site fetch", "POST", "/api/inspect", body, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"form post", "POST", "/api/inspect", body, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"GET of the API", "GET", "/api/inspect", nil, nil, 405},
		{"rebound name, page", "GET", "/", nil, map[string]string{"Host": "evil.example:" + port}, 421},
		{"rebound name, API", "POST", "/api/inspect", body, map[string]string{"Host": "evil.example:" + port, "Origin": "http://evil.example:" + port}, 421},
		{"localhost is not the bound address", "GET", "/", nil, map[string]string{"Host": "localhost:" + port}, 421},
		{"another port", "GET", "/", nil, map[string]string{"Host": "127.0.0.1:1"}, 421},
		{"body too large", "POST", "/api/inspect", bytes.Repeat([]byte(" "), maxInspectBody+1), nil, 413},
		{"unknown field", "POST", "/api/inspect", []byte(`{"token":"x","audience":"orders","issuer":"https://evil.example"}`), nil, 400},
		{"two values", "POST", "/api/inspect", []byte(`{"token":"x","audience":"orders"} {}`), nil, 400},
		{"no audience", "POST", "/api/inspect", []byte(`{"token":"x"}`), nil, 400},
		{"bad leeway", "POST", "/api/inspect", []byte(`{"token":"x","audience":"orders","leeway":"-1s"}`), nil, 400},
		{"proof without URL", "POST", "/api/inspect", []byte(`{"token":"x","audience":"orders","dpop_proof":"a.b.c"}`), nil, 400},
		{"unknown path", "GET", "/.env", nil, nil, 404},
		{"page without its key", "GET", "/", nil, nil, 403},
		{"page with another key", "GET", "/?key=" + strings.Repeat("A", 43), nil, nil, 403},
		{"page with its key twice", "GET", p.page + "&" + strings.TrimPrefix(p.page, "/?"), nil, nil, 403},
	}
	jwksBefore := iss.JWKSRequests()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := p.do(tt.method, tt.path, tt.body, tt.header)
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, resp.StatusCode, got, tt.status)
			}
			if bytes.Contains(got, []byte("eyJ")) {
				t.Errorf("the refusal echoes the token: %s", got)
			}
			checkSecurityHeaders(t, resp)
		})
	}
	if n := iss.JWKSRequests() - jwksBefore; n != 0 {
		t.Errorf("refused requests made %d JWKS requests", n)
	}
	t.Run("the page's own request is accepted", func(t *testing.T) {
		if resp, got := p.do("POST", "/api/inspect", body, nil); resp.StatusCode != 200 {
			t.Fatalf("= %d %s", resp.StatusCode, got)
		}
	})
	t.Run("page and assets", func(t *testing.T) {
		for _, path := range []string{p.page, "/inspect.js", "/inspect.css"} {
			resp, got := p.do("GET", path, nil, nil)
			if resp.StatusCode != 200 || len(got) == 0 {
				t.Fatalf("GET %s = %d", path, resp.StatusCode)
			}
			checkSecurityHeaders(t, resp)
			if bytes.Contains(got, []byte("http://")) || bytes.Contains(got, []byte("https://")) && path != p.page {
				t.Errorf("%s refers to another origin", path)
			}
		}
		_, page := p.do("GET", p.page, nil, nil)
		for _, bad := range []string{"<script>", "style=", "onclick", "onload", "<style"} {
			if bytes.Contains(page, []byte(bad)) {
				t.Errorf("the page has inline %q, which its CSP forbids", bad)
			}
		}
	})
}

func checkSecurityHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": contentSecurityPolicy,
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
}

// TestInspectAddress: the page binds loopback only, unless told.
func TestInspectAddress(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	base := []string{"inspect", "--issuer", iss.URL, "--audience", "orders"}
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0", "example.com:0"} {
		t.Run("refuses "+addr, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(t.Context(), append(base, "--addr", addr), nil, &out, &errOut, iss.Client())
			if code != exitUsage || !strings.Contains(errOut.String(), "--allow-remote") || out.Len() != 0 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want a refusal naming --allow-remote", code, out.String(), errOut.String())
			}
		})
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "127.0.0.2:0"} {
		t.Run("binds "+addr, func(t *testing.T) {
			ln, err := listenInspect(t.Context(), addr, false)
			if err != nil {
				t.Fatal(err)
			}
			ln.Close()
		})
	}
	t.Run("allow-remote", func(t *testing.T) {
		ln, err := listenInspect(t.Context(), "0.0.0.0:0", true)
		if err != nil {
			t.Fatal(err)
		}
		ln.Close()
		p := startInspect(t, iss.Client(), "--issuer", iss.URL, "--audience", "orders", "--addr", "0.0.0.0:0", "--allow-remote")
		if !strings.Contains(p.errOut.String(), "WARNING") {
			t.Errorf("no warning for a non-loopback address: %q", p.errOut.String())
		}
		_, port, _ := net.SplitHostPort(p.host)
		// An IP literal with the port is this server; a name never is.
		if resp, _ := p.do("GET", p.page, nil, map[string]string{"Host": "127.0.0.1:" + port}); resp.StatusCode != 200 {
			t.Errorf("Host 127.0.0.1:%s = %d", port, resp.StatusCode)
		}
		if resp, _ := p.do("GET", "/", nil, map[string]string{"Host": "evil.example:" + port}); resp.StatusCode != 421 {
			t.Errorf("Host evil.example = %d, want 421", resp.StatusCode)
		}
	})
	t.Run("help", func(t *testing.T) {
		t.Setenv("BEARERGUARD_CLIENT_SECRET", "env-secret-value")
		var out, errOut bytes.Buffer
		if code := run(t.Context(), []string{"inspect", "--help"}, nil, &out, &errOut, nil); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if help := errOut.String(); !strings.Contains(help, "-allow-remote") || !strings.Contains(help, "-addr") || strings.Contains(help, "env-secret-value") {
			t.Errorf("help:\n%s", help)
		}
	})
	t.Run("settings validate would refuse", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run(t.Context(), []string{"inspect", "--issuer", "http://id.example.com/", "--audience", "orders"}, nil, &out, &errOut, iss.Client())
		if code != exitUsage || !strings.Contains(errOut.String(), "http://id.example.com/") || out.Len() != 0 {
			t.Fatalf("exit %d, stdout %q, stderr %q; want the plain-HTTP issuer refused before serving", code, out.String(), errOut.String())
		}
	})
	t.Run("no token argument, no proof flag", func(t *testing.T) {
		for _, extra := range [][]string{{"sometoken"}, {"--dpop-proof", "a.b.c", "--url", "https://api.example/"}} {
			var out, errOut bytes.Buffer
			if code := run(t.Context(), append(base, extra...), nil, &out, &errOut, iss.Client()); code != exitUsage {
				t.Errorf("%v: exit %d, want %d", extra, code, exitUsage)
			}
		}
	})
}

// TestInspectProvider: with --provider, the preset names the issuers,
// keys and audiences; the rows say what its decision shows.
func TestInspectProvider(t *testing.T) {
	leakcheck.Check(t)
	k := bearertest.NewKeycloak(t, "prod")
	p := startInspect(t, k.Client(), "--provider", "keycloak", "--keycloak-url", k.URL, "--keycloak-realm", "prod",
		"--keycloak-azp", "orders-client", "--audience", "orders-api")
	tests := []struct {
		name     string
		token    string
		decision string
		row      string
		verdict  string
		reason   string
		pass     []string
	}{
		{"valid", k.Token(t, bearertest.KeycloakToken{ClientID: "orders-client", Audience: []string{"orders-api"}}), "valid",
			rowPolicy, verdictPass, "keycloak preset", []string{rowIssuer, rowSignature, rowAudience, rowExpiry}},
		{"client not allowed", k.Token(t, bearertest.KeycloakToken{ClientID: "rogue", Audience: []string{"orders-api"}}), "invalid",
			rowPolicy, verdictFail, "not one the issuer's policy allows", []string{rowIssuer, rowSignature}},
		{"wrong audience", k.Token(t, bearertest.KeycloakToken{ClientID: "orders-client", Audience: []string{"billing"}}), "invalid",
			rowAudience, verdictFail, `meant for "billing", which the --provider keycloak preset does not accept`, []string{rowIssuer, rowSignature}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The page sends the audience it shows; a preset's stays as given.
			rep, raw := p.inspect(map[string]any{"token": tt.token, "audience": "ignored-with-a-preset", "leeway": "30s"})
			if rep.Decision != tt.decision {
				t.Fatalf("decision %q, want %q\n%s", rep.Decision, tt.decision, raw)
			}
			if c, ok := checkByID(rep, tt.row); !ok || c.Verdict != tt.verdict || !strings.Contains(c.Reason, tt.reason) {
				t.Errorf("row %s = %+v, want %s with %q\n%s", tt.row, c, tt.verdict, tt.reason, raw)
			}
			for _, id := range tt.pass {
				if c, ok := checkByID(rep, id); !ok || c.Verdict != verdictPass {
					t.Errorf("row %s = %+v, want pass\n%s", id, c, raw)
				}
			}
			if rep.Key == nil || rep.Key.Thumbprint == "" && tt.decision == "valid" {
				t.Errorf("key %+v", rep.Key)
			}
		})
	}
}
