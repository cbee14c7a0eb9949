package contract

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/jwstest"
)

// dpopKey is a client's DPoP key; proofs are built with internal/jwstest,
// independently of the code under test.
type dpopKey struct {
	priv *ecdsa.PrivateKey
	jwk  map[string]any
	jkt  string
}

func newDPoPKey(t *testing.T) dpopKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pt, _ := k.PublicKey.Bytes()
	x, y := jwstest.Encode(pt[1:33]), jwstest.Encode(pt[33:])
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	return dpopKey{priv: k, jwk: map[string]any{"kty": "EC", "crv": "P-256", "x": x, "y": y}, jkt: jwstest.Encode(sum[:])}
}

var proofSeq atomic.Int64

func (k dpopKey) proof(method, htu, token string) string {
	sum := sha256.Sum256([]byte(token))
	claims := jwstest.JSON(map[string]any{"jti": "p" + strconv.FormatInt(proofSeq.Add(1), 10), "htm": method, "htu": htu,
		"iat": time.Now().Unix(), "ath": jwstest.Encode(sum[:])})
	return jwstest.Token(jwstest.JSON(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": k.jwk}), claims, jwstest.ES(k.priv, crypto.SHA256))
}

func dpopHeader(token string, proofs ...string) http.Header {
	return http.Header{"Authorization": {"DPoP " + token}, "Dpop": proofs}
}

// dpopCases checks sender-constrained tokens through the adapter (issue
// 15): DPoP-bound tokens with their proofs, replay, the Bearer downgrade,
// the proof's URL behind a proxy, and certificate-bound tokens over mutual
// TLS and through a trusted proxy's header.
func dpopCases(t *testing.T, f *fixture, build Build) {
	const algs = `algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"`
	dpopErr := func(code, desc string) string {
		return `Bearer realm="orders", DPoP realm="orders", error="` + code + `", error_description="` + desc + `", ` + algs
	}
	key, other := newDPoPKey(t), newDPoPKey(t)
	bound := f.iss.Mint(t, bearertest.Claims{"aud": Audience, "scope": "read:data", "sub": "svc-dpop", "cnf": map[string]any{"jkt": key.jkt}})
	plain := f.token(t, "read:data")
	srv := serve(t, build, guard(t, f.v))
	htu := srv.URL + "/data"

	replayed := key.proof("GET", htu, bound)
	tests := []struct {
		name      string
		header    http.Header
		status    int
		challenge string // exact, "" to check only the status
		subject   string
	}{
		{"bound token with its proof", dpopHeader(bound, key.proof("GET", htu, bound)), 200, "", "svc-dpop"},
		{"proof used once", dpopHeader(bound, replayed), 200, "", "svc-dpop"},
		{"proof replayed", dpopHeader(bound, replayed), 401, dpopErr("invalid_dpop_proof", "The DPoP proof was already used"), ""},
		{"bound token as Bearer", auth("Bearer " + bound), 401, `Bearer realm="orders", error="invalid_token", error_description="The access token is bound to a key or certificate the request does not prove", DPoP realm="orders", ` + algs, ""},
		{"proof of another key", dpopHeader(bound, other.proof("GET", htu, bound)), 401, dpopErr("invalid_token", "The access token is not bound to the presented key"), ""},
		{"plain token with DPoP", dpopHeader(plain, key.proof("GET", htu, plain)), 401, dpopErr("invalid_token", "The access token is not bound to the presented key"), ""},
		{"no proof", dpopHeader(bound), 401, dpopErr("invalid_dpop_proof", "Exactly one DPoP proof is required"), ""},
		{"two proofs", dpopHeader(bound, key.proof("GET", htu, bound), key.proof("GET", htu, bound)), 401, dpopErr("invalid_dpop_proof", "Exactly one DPoP proof is required"), ""},
		{"proof for another method", dpopHeader(bound, key.proof("POST", htu, bound)), 401, dpopErr("invalid_dpop_proof", "The DPoP proof does not match this request"), ""},
		{"proof for another URL", dpopHeader(bound, key.proof("GET", srv.URL+"/other", bound)), 401, dpopErr("invalid_dpop_proof", "The DPoP proof does not match this request"), ""},
		{"proof for https", dpopHeader(bound, key.proof("GET", strings.Replace(htu, "http:", "https:", 1), bound)), 401, dpopErr("invalid_dpop_proof", "The DPoP proof does not match this request"), ""},
		{"proof for another token", dpopHeader(bound, key.proof("GET", htu, plain)), 401, dpopErr("invalid_dpop_proof", "The DPoP proof does not match this request"), ""},
		{"DPoP scheme, malformed", http.Header{"Authorization": {"DPoP"}}, 400, "", ""},
		{"plain Bearer still works", auth("Bearer " + plain), 200, "", "svc-read-data"},
	}
	for _, tt := range tests {
		t.Run("dpop/"+tt.name, func(t *testing.T) {
			r := do(t, srv, "GET", "/data", tt.header, "")
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d (%s, %q)", r.status, tt.status, r.body, r.header.Get("WWW-Authenticate"))
			}
			if tt.challenge != "" && r.header.Get("WWW-Authenticate") != tt.challenge {
				t.Errorf("WWW-Authenticate = %q\n                want %q", r.header.Get("WWW-Authenticate"), tt.challenge)
			}
			if tt.status == 200 {
				check(t, r, 200, "", tt.subject, false)
			}
		})
	}

	t.Run("dpop/public URL behind a proxy", func(t *testing.T) {
		const public = "https://api.example.com/v1"
		srv := serve(t, build, guard(t, f.v, httpbearer.WithPublicURL(public)))
		check(t, do(t, srv, "GET", "/data", dpopHeader(bound, key.proof("GET", public+"/data", bound)), ""), 200, "", "svc-dpop", false)
		r := do(t, srv, "GET", "/data", dpopHeader(bound, key.proof("GET", srv.URL+"/data", bound)), "")
		if r.status != 401 {
			t.Errorf("proof for the internal URL: %d", r.status)
		}
		// Forwarded headers are not trusted for the URL.
		h := dpopHeader(bound, key.proof("GET", "https://evil.example/data", bound))
		h.Set("X-Forwarded-Host", "evil.example")
		h.Set("X-Forwarded-Proto", "https")
		if r := do(t, srv, "GET", "/data", h, ""); r.status != 401 {
			t.Errorf("X-Forwarded-* trusted: %d", r.status)
		}
	})

	t.Run("mtls", func(t *testing.T) { mtlsCases(t, f, build) })
}

// mtlsCases: certificate-bound tokens over mutual TLS, and through a
// trusted TLS-terminating proxy's header.
func mtlsCases(t *testing.T, f *fixture, build Build) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(cn string, serial int64) tls.Certificate {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(der)
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k, Leaf: leaf}
	}
	client, stranger := issue("billing", 2), issue("stranger", 3)
	sum := sha256.Sum256(client.Leaf.Raw)
	tok := f.iss.Mint(t, bearertest.Claims{"aud": Audience, "scope": "read:data", "sub": "svc-mtls", "cnf": map[string]any{"x5t#S256": jwstest.Encode(sum[:])}})

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv := httptest.NewUnstartedServer(build(t, guard(t, f.v)))
	srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	call := func(cert *tls.Certificate) int {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		if cert != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
		}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/data", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		name string
		cert *tls.Certificate
		want int
	}{
		{"its certificate", &client, 200},
		{"another certificate", &stranger, 401},
		{"no certificate", nil, 401},
	} {
		if got := call(tt.cert); got != tt.want {
			t.Errorf("mTLS, %s: %d, want %d", tt.name, got, tt.want)
		}
	}

	// Behind a TLS-terminating proxy: the certificate comes in a header,
	// trusted only from the configured proxy addresses.
	escaped := url.QueryEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: client.Leaf.Raw})))
	xfcc := `Hash=abc;Cert="` + escaped + `";Subject="CN=billing"`
	for _, tt := range []struct {
		name    string
		opt     httpbearer.Option
		header  string
		value   string
		want    int
		wantErr bool
	}{
		{"XFCC from a trusted proxy", httpbearer.WithClientCertHeader("X-Forwarded-Client-Cert", httpbearer.XFCC, "127.0.0.0/8", "::1"), "X-Forwarded-Client-Cert", xfcc, 200, false},
		{"escaped PEM from a trusted proxy", httpbearer.WithClientCertHeader("X-SSL-Client-Cert", httpbearer.EscapedPEM, "127.0.0.1", "::1"), "X-SSL-Client-Cert", escaped, 200, false},
		{"header from an untrusted address", httpbearer.WithClientCertHeader("X-SSL-Client-Cert", httpbearer.EscapedPEM, "10.9.9.9"), "X-SSL-Client-Cert", escaped, 401, false},
		{"garbage header from a trusted proxy", httpbearer.WithClientCertHeader("X-SSL-Client-Cert", httpbearer.EscapedPEM, "127.0.0.1", "::1"), "X-SSL-Client-Cert", "not-a-cert", 400, false},
	} {
		t.Run("mtls/"+tt.name, func(t *testing.T) {
			srv := serve(t, build, guard(t, f.v, tt.opt))
			r := do(t, srv, "GET", "/data", http.Header{"Authorization": {"Bearer " + tok}, tt.header: {tt.value}}, "")
			if r.status != tt.want {
				t.Errorf("status %d, want %d (%s)", r.status, tt.want, r.body)
			}
		})
	}
}
