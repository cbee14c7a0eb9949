package httpname

import "testing"

func TestToken(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"X-SSL-Client-Cert", true}, {"x-forwarded-client-cert", true}, {"a!#$%&'*+-.^_`|~9", true},
		{"", false}, {"X SSL", false}, {"X-Cert:", false}, {"X-Cért", false}, {"X\tY", false}, {"(x)", false},
	} {
		if got := Token(tt.in); got != tt.ok {
			t.Errorf("Token(%q) = %v, want %v", tt.in, got, tt.ok)
		}
	}
}

func TestReserved(t *testing.T) {
	for _, name := range []string{"Authorization", "authorization", "DPoP", "dpop", "Cookie", "host", "Proxy-Authorization",
		"Content-Length", "transfer-encoding", "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "upgrade"} {
		if !Reserved(name) {
			t.Errorf("Reserved(%q) = false", name)
		}
	}
	for _, name := range []string{"X-SSL-Client-Cert", "X-Forwarded-Client-Cert", "Set-Cookie2", "Hostname", "X-Authorization"} {
		if Reserved(name) {
			t.Errorf("Reserved(%q) = true", name)
		}
	}
}
