package bearertest

// Certificate-bound tokens (RFC 8705): a client CA, client certificates,
// their thumbprints, and the headers TLS-terminating proxies forward them
// in.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// certValidity is how long CA and client certificates are valid, from an
// hour before they are made.
const certValidity = 365 * 24 * time.Hour

// ClientCA is a certificate authority for TLS client certificates: a
// server that trusts [ClientCA.Pool] accepts the certificates it issues.
// Its methods are safe for concurrent use.
type ClientCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewClientCA makes a self-signed CA with an ECDSA P-256 key, valid for a
// year. Its T form is [MustClientCA].
func NewClientCA() (*ClientCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("bearertest: client CA: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "bearertest client CA " + randomID()},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("bearertest: client CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("bearertest: client CA: %w", err)
	}
	return &ClientCA{cert: cert, key: key}, nil
}

// Certificate returns the CA's own certificate.
func (ca *ClientCA) Certificate() *x509.Certificate { return ca.cert }

// Pool returns a new pool holding the CA's certificate, for a server's
// tls.Config.ClientCAs.
func (ca *ClientCA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pool
}

// Issue makes a client certificate for commonName with a new ECDSA P-256
// key, signed by the CA, for TLS client authentication
// (ExtKeyUsageClientAuth) and valid for a year or until the CA expires. It
// returns it as a tls.Certificate, for a client's
// tls.Config.Certificates, and parsed, for [CertThumbprint] and
// [BoundToCertificate]. Its T form is [ClientCA.MustIssue].
func (ca *ClientCA) Issue(commonName string) (tls.Certificate, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("bearertest: issuing a client certificate: %w", err)
	}
	now := time.Now()
	notAfter := now.Add(certValidity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("bearertest: issuing a client certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("bearertest: issuing a client certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf, nil
}

// randomSerial returns a random positive 128-bit serial number.
func randomSerial() *big.Int {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[0] &= 0x7f
	b[0] |= 0x01 // nonzero
	return new(big.Int).SetBytes(b[:])
}

// CertThumbprint returns the RFC 8705 §3.1 "x5t#S256" of cert: the
// base64url SHA-256 of its DER encoding, without padding.
func CertThumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// BoundToCertificate binds a minted token to a client certificate (RFC
// 8705 §3.1): it adds "cnf": {"x5t#S256": CertThumbprint(cert)} to the
// token and so to its introspection answer. With [BoundToKey], both
// members go in the one "cnf"; a "cnf" in the claims replaces it. cert
// must not be nil.
//
// [Issuer.OpaqueToken] takes no options: give it the claim instead,
// Claims{"cnf": map[string]any{"x5t#S256": CertThumbprint(cert)}}.
func BoundToCertificate(cert *x509.Certificate) MintOption {
	x5t := CertThumbprint(cert)
	return func(c *mintConfig) { c.confirm("x5t#S256", x5t) }
}

// XFCCHeader returns cert as Envoy forwards a client certificate in the
// x-forwarded-client-cert header when configured to forward "Cert":
// Hash=<hex SHA-256 of the DER>;Cert="<URL-encoded PEM>", with the PEM
// encoded as by [EscapedPEM].
func XFCCHeader(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return `Hash=` + hex.EncodeToString(sum[:]) + `;Cert="` + EscapedPEM(cert) + `"`
}

// EscapedPEM returns cert's PEM encoding URL-encoded, as nginx's
// $ssl_client_escaped_cert renders it: the PEM's newlines, spaces, "+",
// "/" and "=" become %0A, %20, %2B, %2F and %3D (every byte but the
// unreserved characters of RFC 3986 is escaped), which is also how Envoy
// encodes it. url.QueryUnescape and url.PathUnescape both decode it.
func EscapedPEM(cert *x509.Certificate) string {
	const hexDigits = "0123456789ABCDEF"
	p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	var b strings.Builder
	b.Grow(len(p) * 3 / 2)
	for _, c := range p {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		}
	}
	return b.String()
}
