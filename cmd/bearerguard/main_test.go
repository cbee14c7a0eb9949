package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/leakcheck"
	"github.com/bearerguard/bearerguard/validator"
)

func TestDemo(t *testing.T) {
	leakcheck.Check(t)
	rep, err := runDemo(t.Context())
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
	if !strings.Contains(out.String(), "10/10 scenarios behaved as expected") || strings.Contains(out.String(), "eyJ") {
		t.Errorf("transcript:\n%s", out.String())
	}
	out.Reset()
	if code := run(t.Context(), []string{"demo", "--json"}, nil, &out, &errOut, nil); code != 0 {
		t.Fatalf("demo --json exit %d", code)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || !rep.OK || rep.Total != 10 {
		t.Errorf("demo --json: %v %+v", err, rep)
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
		{"garbage", append(base, "not-a-token"), "", 1, []string{"INVALID", "opaque (not a JWT)"}},
		{"opaque via introspection", append(base, "--introspection-url", iss.IntrospectionURL(), "--client-id", "api", "--client-secret", "api-secret", opaque), "", 0, []string{"VALID (via introspection)", "opaque (not a JWT)"}},
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
	if _, err := runDemo(ctx); err == nil || !errors.Is(err, context.Canceled) {
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
