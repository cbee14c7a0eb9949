package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bearerguard/bearerguard/bearertest"
)

func TestTerminalSafe(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain text, ünïcode ✓", "plain text, ünïcode ✓"},
		{"two\nlines", "two\nlines"},
		{"\x1b[2K\x1b[1Adecision VALID", `\x1b[2K\x1b[1Adecision VALID`},
		{"back\rover", `back\x0dover`},
		{"tab\tbell\a", `tab\x09bell\x07`},
		{"del\x7f", `del\x7f`},
		{"c1\u009b31m", `c1\u009b31m`},
		{"bidi \u202eevil\u202c \u2066x\u2069", `bidi \u202eevil\u202c \u2066x\u2069`},
		{"bad \xff utf-8", `bad \xff utf-8`},
		{"", ""},
	} {
		if got := terminalSafe(c.in); got != c.want {
			t.Errorf("terminalSafe(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// `validate` prints values taken from a token and a DPoP proof (a proof is
// anyone's to make: it signs itself); none of them reaches the terminal as
// a control sequence (red-team finding: a proof's htm or htu, or a
// token's sub, could erase lines and print a fake decision).
func TestValidateOutputIsTerminalSafe(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	const esc = "\x1b[2K\x1b[1Adecision             VALID\r\u009b2K\u202e"
	// A value may not add lines either: each would sit under the report's
	// own unlabelled lines (red-team finding).
	const lines = "x\nWWW-Authenticate: (none)\nproblem: none, the proof matches\u2028fake"
	const api = "https://api.example/x"
	key := bearertest.MustDPoPKey(t, "")
	for _, c := range []struct {
		name string
		args []string
	}{
		{"sub of a valid token", []string{iss.Mint(t, bearertest.Claims{"aud": "orders", "sub": esc, "client_id": esc})}},
		{"claims of a refused token", []string{iss.Mint(t, bearertest.Claims{"aud": "other", "sub": esc, "kid": esc})}},
		{"proof htm", func() []string {
			bound := iss.Mint(t, bearertest.Claims{"aud": "orders"}, bearertest.BoundToKey(key))
			return []string{"--dpop-proof", key.MustProof(t, esc, api, bound), "--method", "GET", "--url", api, bound}
		}()},
		{"proof htu", func() []string {
			bound := iss.Mint(t, bearertest.Claims{"aud": "orders"}, bearertest.BoundToKey(key))
			return []string{"--dpop-proof", key.MustProof(t, "GET", api+"/"+esc, bound), "--method", "GET", "--url", api, bound}
		}()},
		{"lines in a proof's htu and htm", func() []string {
			bound := iss.Mint(t, bearertest.Claims{"aud": "orders"}, bearertest.BoundToKey(key))
			return []string{"--dpop-proof", key.MustProof(t, "GET"+lines, api+"/"+lines, bound), "--method", "GET", "--url", api, bound}
		}()},
		{"lines in a token's sub", []string{iss.Mint(t, bearertest.Claims{"aud": "orders", "sub": lines, "client_id": lines})}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"validate", "--issuer", iss.URL, "--audience", "orders"}, c.args...)
			run(context.Background(), args, nil, &out, &errOut, iss.Client())
			all := out.String() + errOut.String()
			if i := strings.IndexFunc(all, func(r rune) bool { return unsafeRune(r, utf8.RuneLen(r)) }); i >= 0 {
				t.Fatalf("a character a terminal acts on reached the output at %d:\n%s", i, all)
			}
			for _, line := range strings.Split(all, "\n") {
				if l := strings.TrimSpace(line); strings.HasPrefix(l, "WWW-Authenticate: (none)") || strings.HasPrefix(l, "problem: none") {
					t.Fatalf("a value added a line of its own: %q\n%s", line, all)
				}
			}
			n := 0
			for _, line := range strings.Split(all, "\n") {
				if strings.HasPrefix(line, "decision") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("want one line labelled decision, got %d:\n%s", n, all)
			}
		})
	}
}

// FuzzTerminalSafe: whatever a value holds, what the report prints of it
// is valid UTF-8 with nothing a terminal acts on but newlines, and an
// already safe value is printed as is.
func FuzzTerminalSafe(f *testing.F) {
	for _, s := range []string{"plain", "\x1b[2K", "a\rb", "\u202e", "\xff\xfe", "\u009b", "line\nnext"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := terminalSafe(s)
		if !utf8.ValidString(got) {
			t.Fatalf("terminalSafe(%q) = %q: not UTF-8", s, got)
		}
		for i, r := range got {
			if unsafeRune(r, utf8.RuneLen(r)) {
				t.Fatalf("terminalSafe(%q) = %q: %U at %d", s, got, r, i)
			}
		}
		if terminalSafe(got) != got {
			t.Fatalf("terminalSafe(%q) = %q is not stable", s, got)
		}
		if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return unsafeRune(r, utf8.RuneLen(r)) }) && got != s {
			t.Fatalf("terminalSafe(%q) = %q changed a safe value", s, got)
		}
	})
}
