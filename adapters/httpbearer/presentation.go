package httpbearer

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/bearerguard/bearerguard/adapters/internal/authority"
	"github.com/bearerguard/bearerguard/internal/trustedproxy"
	"github.com/bearerguard/bearerguard/validator"
)

// requestURL is the URI the client addressed, for a DPoP proof's "htu":
// the configured public URL's scheme, host and path prefix with the
// request's path, or else the scheme of the connection (https with TLS),
// the Host header and the path. X-Forwarded-* headers are never read.
func (g *Guard) requestURL(r *http.Request) string {
	if g.publicURL != nil {
		u := *g.publicURL
		u.Path = strings.TrimSuffix(u.Path, "/") + r.URL.Path
		u.RawPath = ""
		if r.URL.RawPath != "" {
			u.RawPath = strings.TrimSuffix(g.publicURL.EscapedPath(), "/") + r.URL.RawPath
		}
		return u.String()
	}
	if !authority.Plain(r.Host) {
		// Go's HTTP/2 server takes :authority as the client sent it:
		// "api/other?" would move the URL a proof is compared with to
		// another path. No URL: every proof is refused.
		return ""
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}

// CertHeaderFormat names how a TLS-terminating proxy forwards the client
// certificate.
type CertHeaderFormat uint8

const (
	// XFCC is Envoy's x-forwarded-client-cert: elements separated by ',',
	// pairs by ';', the certificate in Cert="<URL-encoded PEM>"; inside
	// double quotes ',' and ';' separate nothing and '\' escapes. The value
	// must be exactly one element with exactly one Cert: configure the
	// proxy to replace the client's header (Envoy's
	// forward_client_cert_details: SANITIZE_SET), not to append to it.
	// Envoy writes a certificate's URI and DNS names unquoted after its
	// Cert, so a client's own certificate could plant a second element or
	// a second Cert; either is refused (400), never read.
	XFCC CertHeaderFormat = iota + 1
	// EscapedPEM is a URL-encoded PEM certificate, as nginx's
	// $ssl_client_escaped_cert.
	EscapedPEM
)

// certHeaderConfig is WithClientCertHeader's configuration.
type certHeaderConfig struct {
	name    string
	format  CertHeaderFormat
	proxies trustedproxy.List
}

// maxCertHeader bounds a forwarded certificate header.
const maxCertHeader = 16 << 10

// errCertHeader reports a forwarded certificate header that cannot be read:
// the request is refused, never treated as if it had no certificate.
var errCertHeader = errors.New("httpbearer: unreadable forwarded client certificate")

// clientCert returns the request's client certificate: the TLS peer's, or
// one forwarded in the configured header by a configured proxy. A
// forwarded header from anywhere else is ignored.
func (g *Guard) clientCert(r *http.Request) (*x509.Certificate, error) {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		return r.TLS.PeerCertificates[0], nil
	}
	c := g.certs
	if c == nil {
		return nil, nil
	}
	vals := r.Header.Values(c.name)
	if len(vals) == 0 || !c.fromProxy(trustedproxy.Remote(r)) {
		return nil, nil
	}
	if len(vals) > 1 || len(vals[0]) > maxCertHeader {
		return nil, validator.ErrMalformedHeader
	}
	cert, err := parseCertHeader(vals[0], c.format)
	if err != nil {
		return nil, validator.ErrMalformedHeader
	}
	return cert, nil
}

func (c *certHeaderConfig) fromProxy(remoteAddr string) bool {
	return c.proxies.ContainsRemote(remoteAddr)
}

// parseCertHeader reads a forwarded certificate in format.
func parseCertHeader(v string, format CertHeaderFormat) (*x509.Certificate, error) {
	escaped := v
	if format == XFCC {
		var ok bool
		if escaped, ok = xfccCert(v); !ok {
			return nil, errCertHeader
		}
	}
	pemText, err := url.QueryUnescape(escaped)
	if err != nil {
		return nil, errCertHeader
	}
	block, rest := pem.Decode([]byte(pemText))
	if block == nil || block.Type != "CERTIFICATE" || strings.TrimSpace(string(rest)) != "" {
		return nil, errCertHeader
	}
	return x509.ParseCertificate(block.Bytes)
}

// xfccCert returns the Cert value (quoted or not) of an XFCC value that is
// exactly one element with exactly one Cert. Inside double quotes ',' and
// ';' separate nothing and a backslash escapes the next byte (Envoy writes
// a '"' in a value as \"); unbalanced quotes are refused.
func xfccCert(v string) (string, bool) {
	var cert string
	found := 0
	quoted := false
	start := 0
	for i := 0; i <= len(v); i++ {
		if i < len(v) {
			switch c := v[i]; {
			case quoted && c == '\\':
				if i++; i == len(v) {
					return "", false // nothing left to escape, the quote never closes
				}
				continue // past the escaped byte, whatever it is
			case c == '"':
				quoted = !quoted
				continue
			case quoted:
				continue
			case c == ',':
				return "", false // a second element
			case c != ';':
				continue
			}
		} else if quoted {
			return "", false
		}
		pair := v[start:i]
		start = i + 1
		k, val, ok := strings.Cut(pair, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "Cert") {
			continue
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		cert = val
		found++
	}
	return cert, found == 1 && cert != ""
}
