// Package httpname checks HTTP header names given in configuration: the
// one definition of a header name (an RFC 9110 token), and of the names
// that never carry a forwarded value, for every option or flag that names
// a header.
package httpname

import (
	"net/http"
	"strings"
)

// Token reports whether s is an RFC 9110 token, the grammar of a header
// name: one or more tchars.
func Token(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// reserved are the headers that carry the client's own credentials, or
// that Go and proxies handle themselves (Host is taken out of the header
// map; hop-by-hop headers are dropped on the way).
var reserved = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Dpop": true, "Cookie": true, "Host": true,
	"Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Keep-Alive": true,
	"Proxy-Connection": true, "Te": true, "Trailer": true, "Upgrade": true,
}

// Reserved reports whether name, in any case, is a header no gateway
// forwards a value in: the client's credentials (Authorization, DPoP,
// Cookie), Host, and the hop-by-hop and framing headers. A forwarded
// value (a client certificate, say) read from one of them would be the
// client's own, or never there.
func Reserved(name string) bool { return reserved[http.CanonicalHeaderKey(name)] }
