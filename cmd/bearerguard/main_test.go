package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/leakcheck"
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
			for _, secret := range []string{good, expired, wrongAud, foreign, opaque, "api-secret"} {
				if strings.Contains(r.stdout+r.stderr, secret) {
					t.Fatalf("output contains a token or secret:\n%s", r.stdout)
				}
			}
		})
	}
}

func TestValidateUnreachableJWKS(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders"})
	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	r := validate(t, iss.Client(), "", "--issuer", iss.URL, "--audience", "orders", tok)
	if r.code != 2 || !strings.Contains(r.stdout, "UNDECIDED") || !strings.Contains(r.stdout, "503 Service Unavailable") || !strings.Contains(r.stdout, "Retry-After") {
		t.Fatalf("exit %d:\n%s", r.code, r.stdout)
	}
	// A JWKS nobody listens on at all.
	iss.Close()
	r = validate(t, iss.Client(), "", "--issuer", iss.URL, "--audience", "orders", "--timeout", "3s", tok)
	if r.code != 2 || !strings.Contains(r.stdout, "UNDECIDED") {
		t.Fatalf("closed issuer: exit %d:\n%s", r.code, r.stdout)
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
