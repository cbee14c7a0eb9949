package httpbearer_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
)

// WithResourceMetadata refuses URLs that the challenge writer would alter
// in silence (it drops every byte outside %x20-21/%x23-5B/%x5D-7E), which
// would point clients at a different document than configured (for
// ".../café" the one at ".../caf"), and URLs RFC 9728 does not allow
// (user info, a fragment, plain http off loopback).
func TestRedteamResourceMetadataSentAsConfigured(t *testing.T) {
	v, _ := rtValidator(t)
	for _, u := range []string{
		"https://api.example.com/.well-known/oauth-protected-resource/café",
		"https://api.example.com/.well-known/oauth-protected-resource/a b",
		"https://user:pass@api.example.com/.well-known/oauth-protected-resource",
		"https://api.example.com/.well-known/oauth-protected-resource#frag",
		"http://api.example.com/.well-known/oauth-protected-resource",
	} {
		g, err := httpbearer.New(v, httpbearer.WithResourceMetadata(u))
		if err != nil {
			continue
		}
		rec := httptest.NewRecorder()
		g.Handler(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
		h := rec.Header().Get("WWW-Authenticate")
		if !strings.Contains(h, `resource_metadata="`+u+`"`) {
			t.Errorf("WithResourceMetadata(%q) accepted, challenge sends %s", u, h)
		} else {
			t.Errorf("WithResourceMetadata(%q) accepted (user info / fragment / space in a metadata URL)", u)
		}
	}
}
