package bearertest_test

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/leakcheck"
)

func TestClientCAIssue(t *testing.T) {
	ca := bearertest.MustClientCA(t)
	otherCA := bearertest.MustClientCA(t)
	cert, leaf := ca.MustIssue(t, "billing")
	_, otherLeaf := ca.MustIssue(t, "billing")

	root := ca.Certificate()
	if !root.IsCA || !root.BasicConstraintsValid || root.Subject.String() != root.Issuer.String() {
		t.Errorf("CA certificate: IsCA %v, basic constraints %v, subject %q, issuer %q", root.IsCA, root.BasicConstraintsValid, root.Subject, root.Issuer)
	}
	if leaf.Subject.CommonName != "billing" || leaf.IsCA {
		t.Errorf("leaf: CN %q, IsCA %v", leaf.Subject.CommonName, leaf.IsCA)
	}
	if leaf.SerialNumber.Cmp(otherLeaf.SerialNumber) == 0 || bytes.Equal(leaf.Raw, otherLeaf.Raw) {
		t.Error("two certificates with one serial number")
	}
	if now := time.Now(); now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) || leaf.NotAfter.After(root.NotAfter) {
		t.Errorf("leaf valid %v to %v, CA until %v", leaf.NotBefore, leaf.NotAfter, root.NotAfter)
	}
	if len(cert.Certificate) != 1 || !bytes.Equal(cert.Certificate[0], leaf.Raw) || cert.Leaf != leaf {
		t.Error("the tls.Certificate is not the leaf")
	}
	if priv, ok := cert.PrivateKey.(crypto.Signer); !ok || !publicEqual(priv.Public(), leaf.PublicKey) {
		t.Errorf("the tls.Certificate's private key %T is not the leaf's", cert.PrivateKey)
	}

	tests := []struct {
		name  string
		roots *x509.CertPool
		usage x509.ExtKeyUsage
		ok    bool
	}{
		{"client auth, own CA", ca.Pool(), x509.ExtKeyUsageClientAuth, true},
		{"client auth, another CA", otherCA.Pool(), x509.ExtKeyUsageClientAuth, false},
		{"server auth, own CA", ca.Pool(), x509.ExtKeyUsageServerAuth, false},
		{"empty pool", x509.NewCertPool(), x509.ExtKeyUsageClientAuth, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := leaf.Verify(x509.VerifyOptions{Roots: tt.roots, KeyUsages: []x509.ExtKeyUsage{tt.usage}})
			if (err == nil) != tt.ok {
				t.Errorf("Verify: %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// A server that requires client certificates from ca.Pool() accepts the
// CA's certificates, sees the thumbprint CertThumbprint gives, and turns
// away others.
func TestClientCertTLS(t *testing.T) {
	leakcheck.Check(t)
	ca := bearertest.MustClientCA(t)
	cert, leaf := ca.MustIssue(t, "billing")
	foreign, _ := bearertest.MustClientCA(t).MustIssue(t, "billing")

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, bearertest.CertThumbprint(r.TLS.PeerCertificates[0]))
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()}
	srv.StartTLS()
	defer srv.Close()

	tests := []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{
		{"issued by the CA", []tls.Certificate{cert}, true},
		{"issued by another CA", []tls.Certificate{foreign}, false},
		{"no certificate", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := srv.Client()
			tr := client.Transport.(*http.Transport).Clone()
			tr.TLSClientConfig.Certificates = tt.certs
			defer tr.CloseIdleConnections()
			client.Transport = tr
			resp, err := client.Get(srv.URL)
			if !tt.ok {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("accepted: %s", resp.Status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if string(body) != bearertest.CertThumbprint(leaf) {
				t.Errorf("the server saw %q, want %q", body, bearertest.CertThumbprint(leaf))
			}
		})
	}
}

func TestCertThumbprint(t *testing.T) {
	_, leaf := bearertest.MustClientCA(t).MustIssue(t, "billing")
	sum := sha256.Sum256(leaf.Raw)
	if got, want := bearertest.CertThumbprint(leaf), base64.RawURLEncoding.EncodeToString(sum[:]); got != want || len(got) != 43 {
		t.Errorf("CertThumbprint = %q, want %q", got, want)
	}
}

// The forwarded forms decode back to the certificate, and encode the PEM
// as Envoy and nginx do.
func TestForwardedCertificate(t *testing.T) {
	_, leaf := bearertest.MustClientCA(t).MustIssue(t, "billing")
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}))
	envoy := strings.NewReplacer("\n", "%0A", " ", "%20", "+", "%2B", "/", "%2F", "=", "%3D").Replace(pemText)

	escaped := bearertest.EscapedPEM(leaf)
	if escaped != envoy {
		t.Errorf("EscapedPEM = %q, want %q", escaped, envoy)
	}
	xfcc := bearertest.XFCCHeader(leaf)
	hash, cert, ok := strings.Cut(xfcc, ";")
	sum := sha256.Sum256(leaf.Raw)
	if !ok || hash != "Hash="+hex.EncodeToString(sum[:]) {
		t.Errorf("XFCC %q: want Hash=<hex SHA-256> first", xfcc)
	}
	quoted, ok := strings.CutPrefix(cert, "Cert=")
	if !ok || len(quoted) < 2 || quoted[0] != '"' || quoted[len(quoted)-1] != '"' || quoted[1:len(quoted)-1] != escaped {
		t.Errorf("XFCC %q: want Cert=\"<escaped PEM>\" second", xfcc)
	}

	tests := []struct {
		name, encoded string
		unescape      func(string) (string, error)
	}{
		{"EscapedPEM, QueryUnescape", escaped, url.QueryUnescape},
		{"EscapedPEM, PathUnescape", escaped, url.PathUnescape},
		{"XFCC Cert, QueryUnescape", strings.Trim(quoted, `"`), url.QueryUnescape},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.ContainsAny(tt.encoded, " \n+/=;,\"") {
				t.Errorf("%q has a character a header or XFCC would mangle", tt.encoded)
			}
			decoded, err := tt.unescape(tt.encoded)
			if err != nil {
				t.Fatal(err)
			}
			block, rest := pem.Decode([]byte(decoded))
			if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 {
				t.Fatalf("pem.Decode: block %v, rest %q", block, rest)
			}
			back, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if !back.Equal(leaf) || bearertest.CertThumbprint(back) != bearertest.CertThumbprint(leaf) {
				t.Error("a different certificate came back")
			}
		})
	}
}
