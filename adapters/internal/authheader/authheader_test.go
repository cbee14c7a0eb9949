package authheader_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/internal/authheader"
	"github.com/bearerguard/bearerguard/validator"
)

// The Bearer grammar is tested (and fuzzed) through httpbearer's
// parseAuthorization; these cases cover the DPoP scheme and the scheme
// boundary the gRPC adapter relies on too.
func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in, scheme string
		token      string
		matched    bool
		err        error
	}{
		{"Bearer abc", "bearer", "abc", true, nil},
		{"DPoP abc.def-_~+/==", "dpop", "abc.def-_~+/==", true, nil},
		{"dpop   abc", "dpop", "abc", true, nil},
		{"DPoP abc", "bearer", "", false, nil},
		{"DPoPX abc", "dpop", "", false, nil},
		{"DPoP", "dpop", "", true, validator.ErrMalformedHeader},
		{"DPoP\tabc", "dpop", "", true, validator.ErrMalformedHeader},
		{"DPoP abc def", "dpop", "", true, validator.ErrMalformedHeader},
		{"DPoP a=b", "dpop", "", true, validator.ErrMalformedHeader},
		{"", "bearer", "", false, nil},
		// Spaces and tabs around the value are dropped, as HTTP/1.1 does
		// (gRPC and HTTP/2 deliver them).
		{" \tBearer abc \t", "bearer", "abc", true, nil},
		{"Bearer abc ", "bearer", "abc", true, nil},
		{"Bearer ", "bearer", "", true, validator.ErrMalformedHeader},
		{"  Basic abc", "bearer", "", false, nil},
	} {
		tok, matched, err := authheader.Parse(tt.in, tt.scheme)
		if tok != tt.token || matched != tt.matched || !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
			t.Errorf("Parse(%q, %q) = %q, %v, %v; want %q, %v, %v", tt.in, tt.scheme, tok, matched, err, tt.token, tt.matched, tt.err)
		}
	}
}

func TestIsB64Token(t *testing.T) {
	for in, want := range map[string]bool{"a": true, "a==": true, "=": false, "": false, "a=b": false, "a b": false, "é": false} {
		if got := authheader.IsB64Token(in); got != want {
			t.Errorf("IsB64Token(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestIsB64TokenEveryByte puts every byte value at every position of
// tokens of every length up to 40 (the eight-byte steps and the bytes
// after them), with and without padding, and compares with the grammar
// checked one byte at a time.
func TestIsB64TokenEveryByte(t *testing.T) {
	want := func(s string) bool {
		body := strings.TrimRight(s, "=")
		if body == "" {
			return false
		}
		for i := range len(body) {
			c := body[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
				return false
			}
		}
		return true
	}
	for n := 1; n <= 40; n++ {
		for pos := range n {
			for c := range 256 {
				b := []byte(strings.Repeat("a", n))
				b[pos] = byte(c)
				for _, s := range []string{string(b), string(b) + "==", string(b[:pos+1]) + "=" + string(b[pos+1:])} {
					if got := authheader.IsB64Token(s); got != want(s) {
						t.Fatalf("IsB64Token(%q) = %v, want %v", s, got, want(s))
					}
				}
			}
		}
	}
}

// BenchmarkParse parses the Authorization value of a typical JWT access
// token (about 800 bytes).
func BenchmarkParse(b *testing.B) {
	v := "Bearer " + strings.Repeat("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.", 22) + "sig_-"
	for b.Loop() {
		if _, ok, err := authheader.Parse(v, "bearer"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// TestProof: exactly one DPoP proof, whether two come on two field lines
// or on one, joined with "," as a proxy combining lines writes them (RFC
// 9110 §5.3).
func TestProof(t *testing.T) {
	for _, tt := range []struct {
		name  string
		vals  []string
		proof string
		ok    bool
	}{
		{"none", nil, "", true},
		{"one", []string{"a.b.c"}, "a.b.c", true},
		{"empty value", []string{""}, "", true},
		{"two lines", []string{"a.b.c", "d.e.f"}, "", false},
		{"two on one line", []string{"a.b.c, d.e.f"}, "", false},
		{"joined without space", []string{"a.b.c,d.e.f"}, "", false},
		{"a lone comma", []string{","}, "", false},
		{"spaces around", []string{" \ta.b.c \t"}, "a.b.c", true},
		{"spaces only", []string{" "}, "", true},
	} {
		proof, ok := authheader.Proof(tt.vals)
		if proof != tt.proof || ok != tt.ok {
			t.Errorf("%s: Proof(%q) = %q, %v; want %q, %v", tt.name, tt.vals, proof, ok, tt.proof, tt.ok)
		}
	}
}
