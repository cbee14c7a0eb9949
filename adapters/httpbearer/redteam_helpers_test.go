package httpbearer_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

const rtIssuer = "https://id.example.com/"

// rtValidator is a validator over one Ed25519 key, and a minter of tokens
// with arbitrary claims signed by it (the authorization server).
func rtValidator(t *testing.T, opts ...validator.Option) (*validator.Validator, func(claims map[string]any) string) {
	t.Helper()
	v, sign := rtRawValidator(t, opts...)
	mint := func(extra map[string]any) string {
		c := map[string]any{"iss": rtIssuer, "aud": "orders", "sub": "victim", "client_id": "victim",
			"scope": "read:data", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "jti": "rt"}
		for k, val := range extra {
			c[k] = val
		}
		b, _ := json.Marshal(c)
		return sign(string(b))
	}
	return v, mint
}

// rtRawValidator signs arbitrary payload bytes (duplicate names and all)
// as the trusted authorization server.
func rtRawValidator(t *testing.T, opts ...validator.Option) (*validator.Validator, func(payload string) string) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	key, err := validator.NewKey("raw", pub, validator.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	v, err := validator.New(append([]validator.Option{validator.WithIssuer(rtIssuer, validator.NewKeys(key)), validator.WithAudience("orders")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v, func(payload string) string {
		enc := base64.RawURLEncoding
		in := enc.EncodeToString([]byte(`{"alg":"EdDSA","kid":"raw","typ":"at+jwt"}`)) + "." + enc.EncodeToString([]byte(payload))
		return in + "." + enc.EncodeToString(ed25519.Sign(priv, []byte(in)))
	}
}

// rtCert is a self-signed client certificate (RFC 8705 §2.2) with the
// given subject and SANs.
func rtCert(t *testing.T, subject pkix.Name, uris []string, dns []string) *x509.Certificate {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subject, DNSNames: dns,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	for _, s := range uris {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, u)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// envoyXFCC renders the element Envoy's ConnectionManagerUtility::
// mutateXfccRequestHeader writes for a peer certificate with
// set_current_client_cert_details {cert, subject, uri, dns}: By, Hash,
// then Cert, Subject, URI, DNS in that order, joined with ';'. Cert and
// Subject are quoted; URI and DNS are written as they are in the
// certificate, unquoted (Envoy: "TODO(myidpt): Handle the special
// characters in By and URI fields").
func envoyXFCC(c *x509.Certificate, subjectRFC2253 string) string {
	sum := sha256.Sum256(c.Raw)
	parts := []string{"By=spiffe://cluster.local/ns/api/sa/gateway", "Hash=" + hex.EncodeToString(sum[:]),
		`Cert="` + bearertest.EscapedPEM(c) + `"`, `Subject="` + subjectRFC2253 + `"`}
	if len(c.URIs) == 0 {
		parts = append(parts, "URI=")
	}
	for _, u := range c.URIs {
		parts = append(parts, "URI="+u.String())
	}
	for _, d := range c.DNSNames {
		parts = append(parts, "DNS="+d)
	}
	return strings.Join(parts, ";")
}

func rtX5T(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// rtServe serves GET /data behind g, answering the subject.
func rtServe(t *testing.T, g *httpbearer.Guard) *httptest.Server {
	srv := httptest.NewServer(g.Require(scopes.All("read:data"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := validator.FromContext(r.Context())
		_, _ = w.Write([]byte(tok.Subject))
	})))
	t.Cleanup(srv.Close)
	return srv
}

func rtDo(t *testing.T, srv *httptest.Server, method, path string, h http.Header) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}
