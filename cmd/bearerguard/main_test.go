package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/leakcheck"
	"github.com/bearerguard/bearerguard/validator"
)

func TestDemo(t *testing.T) {
	leakcheck.Check(t)
	rep, err := runDemo(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		status    int
		challenge string
		via       string
	}{
		{200, "", ""},
		{401, `Bearer realm="orders"`, ""},
		{200, "", "jwt"},
		{401, `error="invalid_token", error_description="The access token signature is invalid"`, ""},
		{403, `error="insufficient_scope", error_description="The access token lacks a required scope", scope="write:data"`, ""},
		{201, "", "jwt"},
		{401, `error_description="The access token expired"`, ""},
		{400, `error="invalid_request"`, ""},
		{200, "", "introspection"},
		{401, `error_description="The access token is not active"`, ""},
		{200, "", "jwt"},
		{401, `DPoP realm="orders", error="invalid_dpop_proof", error_description="The DPoP proof was already used"`, ""},
		{401, `Bearer realm="orders", error="invalid_token", error_description="The access token is bound to a key or certificate the request does not prove"`, ""},
		{401, `Bearer realm="reports", resource_metadata="http://127.0.0.1:`, ""},
		{200, "", ""},
	}
	if len(rep.Scenarios) != len(want) {
		t.Fatalf("%d scenarios, want %d", len(rep.Scenarios), len(want))
	}
	for i, w := range want {
		s := rep.Scenarios[i]
		if s.Status != w.status || !s.OK || !strings.Contains(s.WWWAuthenticate, w.challenge) {
			t.Errorf("scenario %d %q: %d %q ok=%v, want %d with %q", i+1, s.Title, s.Status, s.WWWAuthenticate, s.OK, w.status, w.challenge)
		}
		if w.via != "" {
			var body struct{ Via string }
			if json.Unmarshal(s.Body, &body) != nil || body.Via != w.via {
				t.Errorf("scenario %d: body %s, want via %q", i+1, s.Body, w.via)
			}
		}
	}
	if !rep.OK || rep.Passed != rep.Total {
		t.Errorf("report: %d/%d, ok %v", rep.Passed, rep.Total, rep.OK)
	}
}

func TestDemoCommandOutput(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"demo"}, nil, &out, &errOut, nil); code != 0 {
		t.Fatalf("demo exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "15/15 scenarios behaved as expected") || strings.Contains(out.String(), "eyJ") {
		t.Errorf("transcript:\n%s", out.String())
	}
	out.Reset()
	if code := run(t.Context(), []string{"demo", "--json"}, nil, &out, &errOut, nil); code != 0 {
		t.Fatalf("demo --json exit %d", code)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || !rep.OK || rep.Total != 15 || rep.DPoPKey == "" {
		t.Errorf("demo --json: %v %+v", err, rep)
	}
}

// demo --metrics prints the series the scenarios moved, each by the
// expected count, with no token in a label.
func TestDemoMetrics(t *testing.T) {
	leakcheck.Check(t)
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"demo", "--metrics"}, nil, &out, &errOut, nil); code != 0 {
		t.Fatalf("demo --metrics exit %d: %s", code, errOut.String())
	}
	_, table, ok := strings.Cut(out.String(), "Metrics the scenarios produced (OpenTelemetry, as its Prometheus exporter names them):\n\n")
	if !ok {
		t.Fatalf("no metrics table:\n%s", out.String())
	}
	values := map[string]string{}
	for line := range strings.Lines(table) {
		f := strings.Fields(line)
		if len(f) != 2 || !strings.HasPrefix(f[0], "bearerguard_") {
			t.Errorf("table line %q", line)
			continue
		}
		values[f[0]] = f[1]
	}
	for series, want := range map[string]string{
		`bearerguard_decisions_total{outcome="allow",reason="none",source="jwt"}`:              "4", // 3, 5 (then refused for scope), 6, 11
		`bearerguard_decisions_total{outcome="allow",reason="none",source="introspection"}`:    "1",
		`bearerguard_decisions_total{outcome="deny",reason="signature",source="jwt"}`:          "1",
		`bearerguard_decisions_total{outcome="deny",reason="expired",source="jwt"}`:            "1",
		`bearerguard_decisions_total{outcome="deny",reason="inactive",source="introspection"}`: "1",
		`bearerguard_decisions_total{outcome="deny",reason="proof_replayed",source="jwt"}`:     "1",
		`bearerguard_decisions_total{outcome="deny",reason="bound_token",source="jwt"}`:        "1",
		`bearerguard_validation_duration_seconds_count{outcome="allow",source="jwt"}`:          "4",
		`bearerguard_token_cache_events_total{event="hit"}`:                                    "1", // the read:data JWT, again in 5
		`bearerguard_introspection_requests_total{result="active"}`:                            "1",
		`bearerguard_introspection_requests_total{result="inactive"}`:                          "1",
		`bearerguard_introspection_duration_seconds_count{result="active"}`:                    "1",
		`bearerguard_jwks_fetches_total{result="ok"}`:                                          "2", // start; the forged signature under a known kid (a new key under it?)
	} {
		if got := values[series]; got != want {
			t.Errorf("%s = %q, want %s", series, got, want)
		}
	}
	var keys, age bool
	for series := range values {
		keys = keys || strings.HasPrefix(series, `bearerguard_jwks_keys{source="https://127.0.0.1:`)
		age = age || strings.HasPrefix(series, `bearerguard_jwks_age_seconds{source="https://127.0.0.1:`)
	}
	if !keys || !age || strings.Contains(table, "eyJ") || strings.Contains(table, "error") {
		t.Errorf("metrics table:\n%s", table)
	}

	out.Reset()
	if code := run(t.Context(), []string{"demo", "--json", "--metrics"}, nil, &out, &errOut, nil); code != 0 {
		t.Fatalf("demo --json --metrics exit %d", code)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Metrics) != len(values) {
		t.Fatalf("demo --json --metrics: %v, %d samples, want %d", err, len(rep.Metrics), len(values))
	}
	for _, s := range rep.Metrics {
		if s.Name == "bearerguard_decisions_total" && s.Labels["outcome"] == "allow" && s.Labels["source"] == "jwt" && s.Value != 4 {
			t.Errorf("JSON sample %+v", s)
		}
	}
	// Without --metrics, neither the table nor the field.
	out.Reset()
	if code := run(t.Context(), []string{"demo", "--json"}, nil, &out, &errOut, nil); code != 0 || strings.Contains(out.String(), `"metrics"`) {
		t.Errorf("demo --json without --metrics: %d, metrics present: %v", code, strings.Contains(out.String(), `"metrics"`))
	}
}

type result struct {
	code           int
	stdout, stderr string
}

func validate(t *testing.T, client *http.Client, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), append([]string{"validate"}, args...), strings.NewReader(stdin), &out, &errOut, client)
	return result{code, out.String(), errOut.String()}
}

func TestValidate(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "api", Secret: "api-secret"})
	other := bearertest.NewIssuer(t)
	good := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "svc-a"})
	expired := iss.Mint(t, bearertest.Claims{"aud": "orders"}, bearertest.ExpiresIn(-time.Hour))
	wrongAud := iss.Mint(t, bearertest.Claims{"aud": "payments"})
	foreign := other.Mint(t, bearertest.Claims{"aud": "orders"})
	opaque := iss.Opaque(t, bearertest.Claims{"aud": "orders", "scope": "read:data"})
	base := []string{"--issuer", iss.URL, "--audience", "orders"}
	kid := iss.CurrentKeyID("RS256")
	secretFile := filepath.Join(t.TempDir(), "client-secret")
	if err := os.WriteFile(secretFile, []byte("api-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  []string
	}{
		{"valid", append(base, good), "", 0, []string{"VALID (via jwt)", `kid "` + kid + `", RS256: matched and verified`, `"sub": "svc-a"`, "svc-a", "read:data", "expires"}},
		{"valid from stdin", append(base, "-"), good + "\n", 0, []string{"VALID"}},
		{"valid with jwks-url", []string{"--issuer", iss.URL, "--jwks-url", iss.JWKSURL(), "--audience", "orders", good}, "", 0, []string{"VALID"}},
		{"scope present", append(base, "--scope", "read:data", good), "", 0, []string{"VALID"}},
		{"scope missing", append(base, "--scope", "write:data", good), "", 1, []string{"INVALID", "403 Forbidden", `scope="write:data"`}},
		{"expired", append(base, expired), "", 1, []string{"INVALID", "401 Unauthorized", `error="invalid_token", error_description="The access token expired"`, "claims (unverified)", "exp", "ago"}},
		{"wrong audience", append(base, wrongAud), "", 1, []string{"INVALID", "not meant for this resource", `"aud": "payments"`}},
		{"unknown issuer", append(base, foreign), "", 1, []string{"INVALID", "untrusted issuer"}},
		// The newcomer's mistake: the issuer with a slash the tokens' iss does not have.
		{"issuer with a slash too many", []string{"--issuer", iss.URL + "/", "--audience", "orders", good}, "", 1, []string{"INVALID", "untrusted issuer",
			"differ only in a trailing slash: give --issuer exactly as the token's iss", "discovery document issuer does not match the configured issuer (got \"" + iss.URL + "\"); "}},
		{"garbage", append(base, "not-a-token"), "", 1, []string{"INVALID", "opaque (not a JWT)"}},
		{"opaque via introspection", append(base, "--introspection-url", iss.IntrospectionURL(), "--client-id", "api", "--client-secret", "api-secret", opaque), "", 0, []string{"VALID (via introspection)", "opaque (not a JWT)"}},
		{"opaque via introspection, secret from a file", append(base, "--introspection-url", iss.IntrospectionURL(), "--client-id", "api", "--client-secret-file", secretFile, opaque), "", 0, []string{"VALID (via introspection)"}},
		{"no token", base, "", 2, nil},
		{"no audience", []string{"--issuer", iss.URL, good}, "", 2, nil},
		{"no key source", []string{"--audience", "orders", good}, "", 2, nil},
		{"introspection without secret", append(base, "--introspection-url", iss.IntrospectionURL(), "--client-id", "api", good), "", 2, nil},
		{"http issuer refused", []string{"--issuer", "http://id.example.com/", "--audience", "orders", good}, "", 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validate(t, iss.Client(), tt.stdin, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
			checkColumns(t, r.stdout)
			for _, secret := range []string{good, expired, wrongAud, foreign, opaque, "api-secret"} {
				if strings.Contains(r.stdout+r.stderr, secret) {
					t.Fatalf("output contains a token or secret:\n%s", r.stdout)
				}
			}
		})
	}
}

// checkColumns fails the test if a line of a validate report leaves the
// value column: every line is "label  value" or a continuation of a value,
// so that each problem of a multi-line error gets its own aligned line.
func checkColumns(t *testing.T, stdout string) {
	t.Helper()
	if stdout == "" {
		return
	}
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if len(line) <= 21 || line[20] != ' ' || line[21] == ' ' && strings.TrimSpace(line[:21]) != "" {
			t.Errorf("line out of the columns: %q\nin:\n%s", line, stdout)
		}
	}
}

// A token whose signature and claims verified is reported as verified even
// when the route's scopes refuse it.
func TestValidateScopeRefusalIsVerified(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "api", Secret: "api-secret"})
	good := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "svc-a"})
	expired := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"}, bearertest.ExpiresIn(-time.Hour))
	opaque := iss.Opaque(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "svc-b"})
	base := []string{"--issuer", iss.URL, "--audience", "orders"}
	intro := append(base, "--introspection-url", iss.IntrospectionURL(), "--client-id", "api", "--client-secret", "api-secret")
	kid := iss.CurrentKeyID("RS256")

	tests := []struct {
		name     string
		args     []string
		code     int
		verified bool
		want     []string
	}{
		{"JWT, scope missing", append(base, "--scope", "write:data", good), 1, true,
			[]string{"403 Forbidden", `kid "` + kid + `", RS256: matched and verified`, "subject              svc-a", "scopes               read:data", "expires"}},
		{"opaque, scope missing", append(intro, "--scope", "write:data", opaque), 1, true,
			[]string{"403 Forbidden", "opaque (not a JWT)", "subject              svc-b", "scopes               read:data"}},
		{"JWT, scope present", append(base, "--scope", "read:data", good), 0, true, []string{"VALID"}},
		{"JWT expired, scope missing", append(base, "--scope", "write:data", expired), 1, false,
			[]string{"401 Unauthorized", "claims (unverified)", `kid "` + kid + `", RS256: found in the issuer's key set`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validate(t, iss.Client(), "", tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
			if got := !strings.Contains(r.stdout, "unverified"); got != tt.verified {
				t.Errorf("reported as verified: %v, want %v:\n%s", got, tt.verified, r.stdout)
			}
			if got := strings.Contains(r.stdout, "\nsubject "); got != tt.verified {
				t.Errorf("verified subject shown: %v, want %v:\n%s", got, tt.verified, r.stdout)
			}
			checkColumns(t, r.stdout)
		})
	}
}

// Keys that cannot be fetched: each problem is printed once, on a line of
// its own, however many parts of the report it bears on.
func TestValidateUnreachableJWKS(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders"})
	foreign := bearertest.NewIssuer(t).Mint(t, bearertest.Claims{"aud": "orders"})
	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	closed := bearertest.NewIssuer(t)
	closedTok := closed.Mint(t, bearertest.Claims{"aud": "orders"})
	closed.Close() // a JWKS nobody listens on at all: discovery fails at both well-known URLs

	tests := []struct {
		name     string
		args     []string
		code     int
		want     []string
		label    string // the line that carries the problems, after "signing keys unavailable: "
		problems int    // lines they take
	}{
		{"JWKS answers 503", []string{"--issuer", iss.URL, "--audience", "orders", tok}, 2,
			[]string{"UNDECIDED", "503 Service Unavailable", "Retry-After", "not checked"}, "reason", 1},
		{"issuer down", []string{"--issuer", closed.URL, "--audience", "orders", "--timeout", "3s", closedTok}, 2,
			[]string{"UNDECIDED", "503 Service Unavailable", "not checked", "JWKS URL was not discovered"}, "reason", 2},
		{"untrusted issuer, keys down", []string{"--issuer", iss.URL, "--audience", "orders", foreign}, 1,
			[]string{"INVALID", "untrusted issuer", "401 Unauthorized"}, "key", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validate(t, iss.Client(), "", tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d:\n%s", r.code, tt.code, r.stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
			checkColumns(t, r.stdout)
			problems := problemLines(r.stdout, tt.label)
			if len(problems) != tt.problems {
				t.Fatalf("%d problem line(s) %q after %q, want %d:\n%s", len(problems), problems, tt.label, tt.problems, r.stdout)
			}
			for _, p := range problems {
				if n := strings.Count(r.stdout, p); n != 1 {
					t.Errorf("problem printed %d times, want once: %q\n%s", n, p, r.stdout)
				}
			}
		})
	}
}

// problemLines returns the text after "signing keys unavailable: " on the
// line labelled label, and the continuation lines of that value.
func problemLines(stdout, label string) []string {
	var out []string
	lines := strings.Split(stdout, "\n")
	for i, line := range lines {
		if strings.TrimSpace(line[:min(len(line), 21)]) != label {
			continue
		}
		_, first, ok := strings.Cut(line, validator.ErrKeysUnavailable.Error()+": ")
		if !ok {
			return nil
		}
		out = append(out, first)
		for _, next := range lines[i+1:] {
			if len(next) <= 21 || strings.TrimSpace(next[:21]) != "" {
				break
			}
			out = append(out, next[21:])
		}
		return out
	}
	return nil
}

// Every problem with the command line is reported in one run, one line
// each: the missing flags, then the values the key set and the
// introspection client refuse.
func TestValidateUsageReportsEveryProblem(t *testing.T) {
	t.Setenv("BEARERGUARD_CLIENT_SECRET", "")
	t.Setenv("BEARERGUARD_CLIENT_SECRET_FILE", "")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"nothing at all", nil, []string{"want exactly one TOKEN argument", "need --issuer, --jwks-url or --introspection-url", "--audience is required"}},
		{"jwks-url alone", []string{"--jwks-url", "https://id.example.com/jwks", "tok"}, []string{"--jwks-url needs --issuer", "--audience is required"}},
		{"introspection without credentials", []string{"--introspection-url", "https://id.example.com/introspect", "tok"}, []string{"--audience is required", "--introspection-url needs --client-id and --client-secret"}},
		{"introspection without secret", []string{"--introspection-url", "https://id.example.com/introspect", "--client-id", "api", "--audience", "orders", "tok"}, []string{"--introspection-url needs --client-secret"}},
		{"two http URLs", []string{"--issuer", "http://id.example.com/", "--introspection-url", "http://id.example.com/introspect", "--client-id", "api", "--client-secret", "s", "--audience", "orders", "tok"},
			[]string{"jwks: invalid configuration: issuer: URL must use https", "introspect: invalid configuration: URL must use https"}},
		{"secret twice", []string{"--introspection-url", "https://id.example.com/introspect", "--client-id", "api", "--client-secret", "s", "--client-secret-file", "/nonexistent", "--audience", "orders", "tok"},
			[]string{"--client-secret and --client-secret-file (or their environment variables) are both set"}},
		{"no secret file", []string{"--introspection-url", "https://id.example.com/introspect", "--client-id", "api", "--client-secret-file", "/nonexistent/secret", "--audience", "orders", "tok"},
			[]string{"--client-secret-file: no such file", "--introspection-url needs --client-secret"}},
		{"bad scope, two tokens", []string{"--issuer", "https://id.example.com/", "--audience", "orders", "--scope", `read"data`, "a", "b"}, []string{"want exactly one TOKEN argument", "--scope: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validate(t, nil, "", tt.args...)
			if r.code != exitUsage || r.stdout != "" {
				t.Fatalf("exit %d, stdout %q; want %d and nothing", r.code, r.stdout, exitUsage)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("%d line(s), want %d:\n%s", len(lines), len(tt.want), r.stderr)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(lines[i], "bearerguard validate: ") || !strings.Contains(lines[i], w) {
					t.Errorf("line %d is %q, want %q", i+1, lines[i], w)
				}
			}
		})
	}
}

// The demo reports a failure as an error, with nothing left running.
func TestDemoCanceled(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := runDemo(ctx, false); err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("runDemo with a canceled context: %v, want context.Canceled", err)
	}
}

func TestCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"version"}, nil, &out, &errOut, nil); code != 0 || !strings.HasPrefix(out.String(), "bearerguard ") {
		t.Errorf("version: %d %q", code, out.String())
	}
	for _, args := range [][]string{{"--help"}, {"demo", "--help"}, {"validate", "--help"}} {
		out.Reset()
		errOut.Reset()
		if code := run(t.Context(), args, nil, &out, &errOut, nil); code != 0 || out.Len()+errOut.Len() == 0 {
			t.Errorf("%v: exit %d, no help", args, code)
		}
	}
	if code := run(t.Context(), nil, nil, &out, &errOut, nil); code != 2 {
		t.Errorf("no command: exit %d", code)
	}
	if code := run(t.Context(), []string{"frobnicate"}, nil, &out, &errOut, nil); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
}

// validate explains sender-constrained tokens: what the token is bound to,
// the proof's key, and which binding check failed, one line per problem.
func TestValidateDPoP(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	key := bearertest.MustDPoPKey(t, validator.ES256)
	other := bearertest.MustDPoPKey(t, validator.EdDSA)
	sameAlg := bearertest.MustDPoPKey(t, validator.ES256)
	window := (validator.DefaultProofWindow + validator.DefaultLeeway).String()
	jkt, otherJKT := key.Thumbprint(), other.Thumbprint()
	ca := bearertest.MustClientCA(t)
	_, leaf := ca.MustIssue(t, "billing")
	_, stranger := ca.MustIssue(t, "stranger")
	dir := t.TempDir()
	certFile := writeCert(t, dir, "billing.pem", leaf)
	strangerFile := writeCert(t, dir, "stranger.pem", stranger)

	const api = "https://api.example.com/data"
	bound := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "svc-dpop"}, bearertest.BoundToKey(key))
	plain := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "svc-plain"})
	certBound := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "svc-mtls"}, bearertest.BoundToCertificate(leaf))
	expiredBound := iss.Mint(t, bearertest.Claims{"aud": "orders"}, bearertest.BoundToKey(key), bearertest.ExpiresIn(-time.Hour))
	iss.AddClient(bearertest.ClientConfig{ID: "api", Secret: "api-secret"})
	opaqueBound := iss.Opaque(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "svc-opaque", "cnf": map[string]any{"jkt": jkt}})
	nonceKey := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes
	nonceKeyFile := filepath.Join(t.TempDir(), "nonce-key")
	if err := os.WriteFile(nonceKeyFile, []byte(nonceKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"--issuer", iss.URL, "--audience", "orders"}
	dpop := func(proof string, args ...string) []string {
		return append(append(slices.Clone(base), "--dpop-proof", proof, "--url", api), args...)
	}
	good := key.MustProof(t, "GET", api, bound)
	proofs := []string{good}
	proof := func(k *bearertest.DPoPKey, method, url, token string, opts ...bearertest.ProofOption) string {
		p := k.MustProof(t, method, url, token, opts...)
		proofs = append(proofs, p)
		return p
	}

	tests := []struct {
		name     string
		args     []string
		code     int
		want     []string
		problems []string // the problem lines, in order
	}{
		{"bound token with its proof", dpop(good, bound), 0,
			[]string{"VALID (via jwt)", "Authorization: DPoP, with a DPoP proof, for GET " + api, "DPoP key, cnf.jkt " + jkt,
				"ES256, thumbprint " + jkt + " (the token's key)", "htm GET, htu " + api + ", ath of this token, no nonce", "proof iat", "subject              svc-dpop"}, nil},
		{"proof of another key", dpop(proof(other, "GET", api, bound), bound), 1,
			[]string{"INVALID", `DPoP realm="orders", error="invalid_token", error_description="The access token is not bound to the presented key"`,
				"EdDSA, thumbprint " + otherJKT + " (not the token's key)", "subject              svc-dpop"},
			[]string{"proof of another key: the proof's key has thumbprint " + otherJKT + ", the token is bound to " + jkt}},
		{"proof for another URL", dpop(proof(key, "GET", "https://api.example.com/other", bound), bound), 1,
			[]string{"INVALID", `error="invalid_dpop_proof", error_description="The DPoP proof does not match this request"`, "DPoP proof not for this request"},
			[]string{"htu: the proof is for https://api.example.com/other, the request went to " + api}},
		{"bound token without a proof", append(slices.Clone(base), bound), 1,
			[]string{"INVALID", `Bearer realm="orders", error="invalid_token", error_description="The access token is bound to a key or certificate the request does not prove"`,
				"Authorization: Bearer", "binding              DPoP key, cnf.jkt " + jkt, "subject              svc-dpop"},
			[]string{`downgrade to Bearer: the token is bound to a DPoP key, so it must be sent as "Authorization: DPoP" with a proof of that key (--dpop-proof, --method, --url), never as Bearer`}},
		{"proof for another method, URL and token", dpop(proof(key, "POST", "http://api.example.com/data", plain), bound), 1,
			[]string{"INVALID", "ath of another token"},
			[]string{"htm: the proof is for method POST, the request's is GET", "htu: the proof is for http://api.example.com/data, the request went to " + api,
				"ath: the proof was made for another access token (its ath is not this token's hash)"}},
		{"proof for another method, given", dpop(proof(key, "POST", api, bound), "--method", "POST", bound), 0, []string{"VALID", "for POST " + api}, nil},
		{"URL normalized", dpop(proof(key, "GET", "https://API.example.com:443/data?x=1", bound), bound), 0, []string{"VALID"}, nil},
		{"stale proof", dpop(proof(key, "GET", api, bound, bearertest.ProofIssuedAt(time.Now().Add(-10*time.Minute))), bound), 1,
			[]string{"INVALID", "DPoP proof outside its time window", " ago; proofs are accepted within " + window + " of the clock"},
			[]string{"iat: the proof was made 10m"}},
		{"proof from the future", dpop(proof(key, "GET", api, bound, bearertest.ProofIssuedAt(time.Now().Add(10*time.Minute))), bound), 1,
			[]string{"INVALID", " in the future; proofs are accepted within " + window + " of the clock"}, []string{"iat: the proof is dated "}},
		{"proof signed by another key", dpop(proof(key, "GET", api, bound, bearertest.ProofSignedBy(sameAlg)), bound), 1,
			[]string{"INVALID", "DPoP proof signature invalid"}, []string{"bad proof signature: the proof is not signed by the key in its own jwk header"}},
		{"proof's alg does not fit its key", dpop(proof(key, "GET", api, bound, bearertest.ProofSignedBy(other)), bound), 1,
			[]string{"INVALID", "malformed DPoP proof"}, []string{`malformed proof: its alg "EdDSA" does not fit its jwk (a EC P-256 key)`}},
		{"proof without ath", dpop(proof(key, "GET", api, bound, bearertest.ProofClaims(map[string]any{"ath": nil, "jti": nil})), bound), 1,
			[]string{"INVALID", "malformed DPoP proof", "no ath"}, []string{"malformed proof: it lacks jti, ath"}},
		{"proof of the wrong type", dpop(proof(key, "GET", api, bound, bearertest.ProofHeader("typ", "JWT")), bound), 1,
			[]string{"INVALID"}, []string{`malformed proof: its typ is "JWT", not "dpop+jwt"`}},
		{"proof is not a JWS", dpop("not-a-proof", bound), 1,
			[]string{"INVALID", "thumbprint (none"}, []string{"malformed proof: it is not a compact JWS (three parts separated by dots)"}},
		{"plain token with a proof", dpop(proof(key, "GET", api, plain), plain), 1,
			[]string{"INVALID", "binding              none: a plain bearer token", "(the token is not bound to a key)"},
			[]string{"not DPoP-bound: the token is not bound to a key, so it cannot be sent with the DPoP scheme; send it as Bearer, or get a DPoP-bound token"}},
		{"expired bound token with its proof", dpop(proof(key, "GET", api, expiredBound), expiredBound), 1,
			[]string{"INVALID", "token expired", "binding (unverified) DPoP key, cnf.jkt " + jkt, "claims (unverified)"}, nil},
		{"DPoP required, Bearer", append(slices.Clone(base), "--dpop", "required", plain), 1,
			[]string{"INVALID", `WWW-Authenticate: DPoP realm="orders", error="invalid_token"`, "subject              svc-plain"},
			[]string{"DPoP required: the API refuses Bearer tokens (--dpop required); send a DPoP-bound token with a proof of its key"}},
		{"DPoP required, expired Bearer", append(slices.Clone(base), "--dpop", "required", expiredBound), 1,
			[]string{"INVALID", "claims (unverified)"},
			[]string{"DPoP required: the API refuses Bearer tokens (--dpop required); send a DPoP-bound token with a proof of its key",
				"the token itself is refused too: bearerguard: token expired"}},
		{"DPoP off", dpop(proof(key, "GET", api, bound), "--dpop", "off", bound), 1,
			[]string{"INVALID", "401 Unauthorized"}, []string{"DPoP off: the API does not accept the DPoP scheme (--dpop off)"}},
		{"nonce required", dpop(proof(key, "GET", api, bound), "--dpop-nonce-key", nonceKey, bound), 1,
			[]string{"INVALID", `error="use_dpop_nonce"`, "DPoP-Nonce: "},
			[]string{"nonce required: the API requires a server nonce and the proof has none; retry with the DPoP-Nonce value above"}},
		{"nonce required, key from a file", dpop(proof(key, "GET", api, bound), "--dpop-nonce-key-file", nonceKeyFile, bound), 1,
			[]string{"INVALID", `error="use_dpop_nonce"`, "DPoP-Nonce: "},
			[]string{"nonce required: the API requires a server nonce and the proof has none; retry with the DPoP-Nonce value above"}},
		{"foreign nonce", dpop(proof(key, "GET", api, bound, bearertest.ProofNonce("bm90LWEtbm9uY2U")), "--dpop-nonce-key", nonceKey, bound), 1,
			[]string{"INVALID", "a nonce"},
			[]string{"nonce: the proof's nonce is not a current one from this API; retry with the DPoP-Nonce value above"}},
		{"certificate-bound token with its certificate", append(slices.Clone(base), "--client-cert", certFile, certBound), 0,
			[]string{"VALID", "over mutual TLS", "client certificate, cnf x5t#S256 " + bearertest.CertThumbprint(leaf), "CN=billing, x5t#S256 " + bearertest.CertThumbprint(leaf) + " (the token's certificate)"}, nil},
		{"certificate-bound token without a certificate", append(slices.Clone(base), certBound), 1,
			[]string{"INVALID", "no client certificate"},
			[]string{"no client certificate: the token is bound to a certificate (cnf x5t#S256), so the request must come over mutual TLS with it (--client-cert)"}},
		{"certificate-bound token with another certificate", append(slices.Clone(base), "--client-cert", strangerFile, certBound), 1,
			[]string{"INVALID", "(not the token's certificate)"},
			[]string{"another certificate: the client certificate's x5t#S256 is " + bearertest.CertThumbprint(stranger) + ", the token is bound to " + bearertest.CertThumbprint(leaf)}},
		{"bound opaque token with its proof", dpop(proof(key, "GET", api, opaqueBound), "--introspection-url", iss.IntrospectionURL(), "--client-id", "api", "--client-secret", "api-secret", opaqueBound), 0,
			[]string{"VALID (via introspection)", "opaque (not a JWT)", "binding              DPoP key, cnf.jkt " + jkt, "(the token's key)", "subject              svc-opaque"}, nil},
		{"bound opaque token as Bearer", append(slices.Clone(base), "--introspection-url", iss.IntrospectionURL(), "--client-id", "api", "--client-secret", "api-secret", opaqueBound), 1,
			[]string{"INVALID: the token itself is good, but refused for how it was presented", "binding              DPoP key, cnf.jkt " + jkt},
			[]string{"downgrade to Bearer: "}},
		{"plain token", append(slices.Clone(base), plain), 0, []string{"VALID", "Authorization: Bearer, no client certificate", "binding              none: a plain bearer token"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validate(t, iss.Client(), "", tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
			checkColumns(t, r.stdout)
			// Each problem line starts with the one wanted (times vary).
			if got := labelled(r.stdout, "problem"); !slices.EqualFunc(got, tt.problems, strings.HasPrefix) {
				t.Errorf("problem lines:\n%s\nwant:\n%s\nin:\n%s", strings.Join(got, "\n"), strings.Join(tt.problems, "\n"), r.stdout)
			}
			for _, secret := range append([]string{bound, plain, certBound, expiredBound, opaqueBound, "api-secret"}, proofs...) {
				if strings.Contains(r.stdout+r.stderr, secret) {
					t.Fatalf("output contains a token or proof:\n%s", r.stdout)
				}
				if _, sig, ok := strings.Cut(secret[strings.Index(secret, ".")+1:], "."); ok && sig != "" && strings.Contains(r.stdout, sig) {
					t.Fatalf("output contains a signature:\n%s", r.stdout)
				}
			}
		})
	}
}

func TestValidateDPoPUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"proof without URL", []string{"--dpop-proof", "p"}, []string{"--dpop-proof needs --url"}},
		{"method and URL without proof", []string{"--method", "POST", "--url", "https://api.example.com/data"}, []string{"--method and --url describe the request a DPoP proof is for: give --dpop-proof too"}},
		{"bad URL and method", []string{"--dpop-proof", "p", "--url", "/data", "--method", "GET /"}, []string{`--method "GET /" is not an HTTP method`, `--url "/data" is not an absolute http or https URL`}},
		{"bad mode, short nonce key, missing certificate", []string{"--dpop", "sometimes", "--dpop-nonce-key", "c2hvcnQ=", "--client-cert", filepath.Join(t.TempDir(), "none.pem")},
			[]string{`--dpop "sometimes" is not off, allowed or required`, "--dpop-nonce-key (or its file or environment variable) must be at least 32 bytes", "--client-cert: open "}},
		{"nonce key twice, client secret file missing", []string{"--dpop-nonce-key", "c2hvcnQ=", "--dpop-nonce-key-file", "/nonexistent", "--client-secret-file", "/nonexistent/secret"},
			[]string{"--client-secret-file: no such file", "--dpop-nonce-key and --dpop-nonce-key-file (or their environment variables) are both set", "--dpop-nonce-key (or its file"}},
		{"nonce key file missing", []string{"--dpop-nonce-key-file", "/nonexistent/key"}, []string{"--dpop-nonce-key-file: no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validate(t, nil, "", append([]string{"--issuer", "https://id.example.com/", "--audience", "orders"}, append(tt.args, "tok")...)...)
			if r.code != exitUsage || r.stdout != "" {
				t.Fatalf("exit %d, stdout %q; want %d and nothing", r.code, r.stdout, exitUsage)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("%d line(s), want %d:\n%s", len(lines), len(tt.want), r.stderr)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("line %d is %q, want %q", i+1, lines[i], w)
				}
			}
			if strings.Contains(r.stderr, "c2hvcnQ=") {
				t.Errorf("the nonce key is echoed: %s", r.stderr)
			}
		})
	}
}

// --help never prints the secrets taken from the environment.
func TestValidateHelpHidesSecrets(t *testing.T) {
	t.Setenv("BEARERGUARD_CLIENT_SECRET", "s3cret-from-env")
	t.Setenv("BEARERGUARD_DPOP_NONCE_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	r := validate(t, nil, "", "--help")
	if r.code != 0 || !strings.Contains(r.stderr, "-client-secret") {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "s3cret-from-env") || strings.Contains(r.stderr, "MDEyMzQ1") {
		t.Errorf("--help prints a secret:\n%s", r.stderr)
	}
}

// labelled returns the value of the line labelled label and its
// continuation lines.
func labelled(stdout, label string) []string {
	var out []string
	lines := strings.Split(stdout, "\n")
	for i, line := range lines {
		if len(line) <= 21 || strings.TrimSpace(line[:21]) != label {
			continue
		}
		out = append(out, line[21:])
		for _, next := range lines[i+1:] {
			if len(next) <= 21 || strings.TrimSpace(next[:21]) != "" {
				break
			}
			out = append(out, next[21:])
		}
		return out
	}
	return nil
}

func writeCert(t *testing.T, dir, name string, cert *x509.Certificate) string {
	t.Helper()
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}
