package validator

import (
	"net/url"
	"strings"
)

// normalizeHTU reduces an http(s) URI to the form RFC 9449 §4.3 compares:
// query and fragment removed, then RFC 3986 §6.2.2 syntax-based and §6.2.3
// scheme-based normalization: scheme and host in lower case, the default
// port dropped, percent-encodings in upper case and of unreserved
// characters decoded, dot segments removed, an empty path made "/". It
// reports false for anything that is not an absolute http or https URI
// with a host. Nothing else is normalized: a host with a trailing dot, or
// another port, is another URI.
func normalizeHTU(s string) (string, bool) { return normalizeURI(s, false) }

// normalizeRequestURL is normalizeHTU for the URL a request addressed: a
// path with dot segments (also escaped) is refused, not resolved, since
// routers that do not resolve them (Gin, Echo) serve another resource
// than the one the resolved URI names.
func normalizeRequestURL(s string) (string, bool) { return normalizeURI(s, true) }

func normalizeURI(s string, noDots bool) (string, bool) {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", false
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port := u.Port(); port != "" && !(scheme == "http" && port == "80") && !(scheme == "https" && port == "443") {
		host += ":" + port
	}
	path, ok := normalizePercent(u.EscapedPath())
	if !ok {
		return "", false
	}
	if clean := removeDotSegments(path); clean != path {
		if noDots {
			return "", false
		}
		path = clean
	}
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, true
}

// normalizePercent upper-cases percent-encodings and decodes those of
// unreserved characters (RFC 3986 §6.2.2.1–2).
func normalizePercent(p string) (string, bool) {
	if !strings.Contains(p, "%") {
		return p, true
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			b.WriteByte(p[i])
			continue
		}
		if i+2 >= len(p) || unhex(p[i+1]) < 0 || unhex(p[i+2]) < 0 {
			return "", false
		}
		c := byte(unhex(p[i+1])<<4 | unhex(p[i+2]))
		if isUnreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteString(strings.ToUpper(p[i+1 : i+3]))
		}
		i += 2
	}
	return b.String(), true
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// removeDotSegments is RFC 3986 §5.2.4, linear in the path's length.
func removeDotSegments(p string) string {
	if !strings.Contains(p, ".") {
		return p
	}
	var out []string
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		switch seg {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	r := strings.Join(out, "/")
	if strings.HasPrefix(p, "/") && !strings.HasPrefix(r, "/") {
		r = "/" + r
	}
	return r
}
