package resourcemeta_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/resourcemeta"
)

// FuzzWellKnownURL checks, for any resource WellKnownURL accepts, that
// the metadata URL is a URL of the same scheme and host whose path starts
// with the well-known path, with the resource's path and query after it,
// and that New accepts the same resource and serves its document there.
//
//	go test -run '^$' -fuzz FuzzWellKnownURL -fuzztime 60s ./resourcemeta/
func FuzzWellKnownURL(f *testing.F) {
	for _, s := range []string{"https://a.example/mcp", "https://xn--bcher-kva.example/x?y", "https://[::1]:1/a%20b",
		"http://127.0.0.1:8080/", "https://a.0x/", "https://xn--a.b/", "https://a..b./%2e/", "https://[fe80::1%25x]/",
		"https://1.2.3.4.:65536/", "https://xn--4db.1a/", "https://a/%", "https://%/", `https://a"b/`, "https://a]b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		wk, err := resourcemeta.WellKnownURL(s)
		if err != nil {
			return
		}
		res, _ := url.Parse(s)
		u, err := url.Parse(wk)
		if err != nil {
			t.Fatalf("WellKnownURL(%q) = %q, which does not parse: %v", s, wk, err)
		}
		if u.Scheme != res.Scheme || u.Host != res.Host || u.RawQuery != res.RawQuery {
			t.Fatalf("WellKnownURL(%q) = %q: another scheme, host or query", s, wk)
		}
		path := res.EscapedPath()
		if path == "/" {
			path = ""
		}
		if u.EscapedPath() != resourcemeta.WellKnownPath+path {
			t.Fatalf("WellKnownURL(%q) = %q: path %q, want %q", s, wk, u.EscapedPath(), resourcemeta.WellKnownPath+path)
		}
		if strings.ContainsAny(wk, " \"<>\\^`{|}#") {
			t.Fatalf("WellKnownURL(%q) = %q holds a character a client would rewrite", s, wk)
		}
		d, err := resourcemeta.New(s, resourcemeta.WithAuthorizationServers("https://id.example.com/"))
		if err != nil {
			t.Fatalf("WellKnownURL accepts %q, New refuses it: %v", s, err)
		}
		if d.URL() != wk {
			t.Fatalf("New(%q).URL() = %q, WellKnownURL %q", s, d.URL(), wk)
		}
	})
}
