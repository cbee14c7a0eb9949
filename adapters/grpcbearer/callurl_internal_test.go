package grpcbearer

import (
	"net/url"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/internal/authority"
)

func TestPlainMethod(t *testing.T) {
	for _, c := range []struct {
		m  string
		ok bool
	}{
		{"/grpc.testing.TestService/UnaryCall", true},
		{"/pkg.v1.Service/Do_It-2", true},
		{"", false},
		{"/", false},
		{"//M", false},
		{"/S/", false},
		{"S/M", false},
		{"/S/M/", false},
		{"/S/x/M", false},
		{"/S/M?", false},
		{"/S/M#x", false},
		{"/S/M%2F", false},
		{"/../M", false},
		{"/S/..", false},
		{"/./M", false},
		{"/S/M\x00", false},
		{"/S/M N", false},
	} {
		if got := plainMethod(c.m); got != c.ok {
			t.Errorf("plainMethod(%q) = %v, want %v", c.m, got, c.ok)
		}
	}
}

// FuzzCallURL: whatever the :authority and the full method, a URL that
// callURL builds names exactly that host and that path, as a URL parser
// reads it: nothing the client wrote becomes a query, a fragment, a
// userinfo or another path.
func FuzzCallURL(f *testing.F) {
	for _, s := range [][2]string{
		{"api.example.com:443", "/pkg.S/M"}, {"host/pkg.S/Other?", "/pkg.S/M"}, {"[::1]:1", "/a/b"},
		{"h#", "/S/M"}, {"u@h", "/S/M"}, {"h", "/S/../M"}, {"h", "/S/M?x"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, auth, method string) {
		if !authority.Plain(auth) || !plainMethod(method) {
			return
		}
		u, err := url.Parse("http://" + auth + method)
		if err != nil {
			t.Fatalf("%q%q: %v", auth, method, err)
		}
		if u.Host != auth || u.Path != method || u.RawPath != "" || u.User != nil ||
			u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "" {
			t.Fatalf("%q%q parses as host %q path %q (raw %q) user %v query %q fragment %q",
				auth, method, u.Host, u.Path, u.RawPath, u.User, u.RawQuery, u.Fragment)
		}
		if strings.Contains(method, "/./") || strings.Contains(method, "/../") || strings.HasSuffix(method, "/..") {
			t.Fatalf("%q has a dot segment", method)
		}
	})
}
