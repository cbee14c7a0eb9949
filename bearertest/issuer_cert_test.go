package bearertest_test

import (
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
)

// An issuer's certificate is its own: not httptest's (one CA whose private
// key every Go installation ships), not a CA at all, and valid for
// loopback names only. Trusting it in another process (the examples'
// --issuer-ca) trusts this issuer and nothing else (red-team finding).
func TestIssuerCertificateIsItsOwn(t *testing.T) {
	a, b := bearertest.NewIssuer(t), bearertest.NewIssuer(t)
	shared := httptest.NewTLSServer(http.NotFoundHandler())
	defer shared.Close()
	cert := a.Certificate()
	switch {
	case cert.Equal(shared.Certificate()):
		t.Fatal("the issuer serves httptest's shared certificate")
	case cert.Equal(b.Certificate()):
		t.Error("two issuers share a certificate")
	case cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign != 0:
		t.Errorf("the certificate can sign others: IsCA %v, key usage %v", cert.IsCA, cert.KeyUsage)
	}
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		if err := cert.VerifyHostname(host); err != nil {
			t.Errorf("not valid for %s: %v", host, err)
		}
	}
	for _, host := range []string{"example.com", "id.example.com", "10.0.0.1"} {
		if cert.VerifyHostname(host) == nil {
			t.Errorf("valid for %s", host)
		}
	}
	if resp, err := a.Client().Get(a.JWKSURL()); err != nil {
		t.Fatalf("the issuer's own client: %v", err)
	} else {
		resp.Body.Close()
	}
}
