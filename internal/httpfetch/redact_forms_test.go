package httpfetch

import (
	"strings"
	"testing"
)

// The opaque form ("https:user:pw@host", finding 96) is hidden, but the
// same typo with one or three slashes parses as a host-less URL whose
// *path* holds the user info, and Redact keeps paths. WHATWG parsers
// (browsers, Node, most HTTP tools) read "https:/user:pw@host/..." as user
// info and host. A password with an unescaped "/" or "#" after digits also
// parses as a port, the rest going to the path (or dropped as a fragment).
// And a bare query part followed by ";name=value" is kept as a "name".
func TestRedactHostlessAndOddForms(t *testing.T) {
	for _, in := range []string{
		"https:/rs:HUNTER2@as.example.com/introspect",
		"https:///rs:HUNTER2@as.example.com/introspect",
		"redis:/:HUNTER2@redis.internal:6379/0",
		"https://rs:1234/HUNTER2@as.example.com/introspect",
		"https://rs:1234#HUNTER2@as.example.com/introspect", // keeps "1234", the password's start
		"https://as.example.com/jwks?HUNTER2;v=2",
	} {
		got := Redact(in)
		if strings.Contains(got, "HUNTER2") || strings.Contains(got, "1234") {
			t.Errorf("Redact(%q) = %q", in, got)
		}
	}
}

// CheckURL, the check every URL option runs, quotes the typo'd URL whole.
func TestCheckURLQuotesHostlessUserInfo(t *testing.T) {
	_, err := CheckURL("https:/rs:HUNTER2@as.example.com/introspect", false)
	if err == nil || strings.Contains(err.Error(), "HUNTER2") {
		t.Errorf("CheckURL error: %v", err)
	}
}
