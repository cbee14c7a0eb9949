// Package exampletest checks that an example service serves the shared
// contract against a bearertest issuer. For tests.
package exampletest

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/internal/testcert"
	"github.com/bearerguard/bearerguard/validator"
)

// DPoPAlgs is the "algs" attribute of the examples' DPoP challenges: every
// asymmetric algorithm, the default.
const DPoPAlgs = "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"

// NewHandler is an example's handler constructor.
type NewHandler func(setup.Config, *http.Client) (http.Handler, func(), error)

// Run starts the example's handler against a fresh issuer and checks the
// contract: GET /healthz open; GET /data needs read:data; POST /data needs
// write:data; RFC 6750 answers otherwise. Sender-constrained tokens too:
// DPoP-bound tokens (RFC 9449) with each DPoP setting, server nonces and a
// public URL, and certificate-bound tokens (RFC 8705) over mutual TLS.
func Run(t *testing.T, newHandler NewHandler) {
	iss := bearertest.NewIssuer(t)
	for _, jwksURL := range []string{"", iss.JWKSURL()} { // discovery, then an explicit JWKS URL
		name := "discovery"
		if jwksURL != "" {
			name = "jwks-url"
		}
		t.Run(name, func(t *testing.T) {
			cfg := setup.Config{Issuer: iss.URL, Audience: "orders", JWKSURL: jwksURL, Leeway: 0}
			srv := serve(t, newHandler, cfg, iss)
			check(t, srv, iss)
		})
	}
	t.Run("introspection", func(t *testing.T) {
		iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "orders-secret"})
		cfg := setup.Config{Issuer: iss.URL, Audience: "orders", IntrospectionURL: iss.IntrospectionURL(), ClientID: "orders-api", ClientSecret: "orders-secret"}
		srv := serve(t, newHandler, cfg, iss)
		opaque := iss.Opaque(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "client_id": "reports"})
		r := call(t, srv, "GET", "/data", opaque)
		var reply setup.DataReply
		if r.status != 200 || json.Unmarshal(r.body, &reply) != nil || reply.ClientID != "reports" {
			t.Errorf("opaque token: %d %s", r.status, r.body)
		}
		iss.Revoke(opaque)
		other := iss.Opaque(t, bearertest.Claims{"aud": "orders", "scope": "write:data"})
		if r := call(t, srv, "GET", "/data", other); r.status != 403 {
			t.Errorf("opaque token without the scope: %d", r.status)
		}
		if r := call(t, srv, "GET", "/data", "opaque-unknown"); r.status != 401 || !strings.Contains(r.challenge, "invalid_token") {
			t.Errorf("unknown opaque token: %d %q", r.status, r.challenge)
		}
	})
	t.Run("introspection audience optional", func(t *testing.T) {
		iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "orders-secret"})
		noAud := iss.Opaque(t, bearertest.Claims{"scope": "read:data"})
		wrongAud := iss.Opaque(t, bearertest.Claims{"aud": "admin", "scope": "read:data"})
		jwtNoAud := iss.Mint(t, bearertest.Claims{"scope": "read:data"})
		for _, tt := range []struct {
			optional bool
			token    string
			status   int
		}{
			{false, noAud, 401},
			{true, noAud, 200},
			{true, wrongAud, 401},
			{true, jwtNoAud, 401},
		} {
			cfg := setup.Config{Issuer: iss.URL, Audience: "orders", IntrospectionURL: iss.IntrospectionURL(), ClientID: "orders-api",
				ClientSecret: "orders-secret", IntrospectionAudienceOptional: tt.optional}
			srv := serve(t, newHandler, cfg, iss)
			if r := call(t, srv, "GET", "/data", tt.token); r.status != tt.status {
				t.Errorf("audience optional %v: %d, want %d (%q)", tt.optional, r.status, tt.status, r.challenge)
			}
		}
	})
	t.Run("rfc9068", func(t *testing.T) {
		cfg := setup.Config{Issuer: iss.URL, Audience: "orders", RFC9068: true}
		srv := serve(t, newHandler, cfg, iss)
		jwt := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"}, bearertest.WithHeader("typ", "JWT"))
		if r := call(t, srv, "GET", "/data", jwt); r.status != 401 || !strings.Contains(r.challenge, `error="invalid_token"`) {
			t.Errorf("typ JWT in RFC 9068 mode: %d %q", r.status, r.challenge)
		}
		at := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"})
		if r := call(t, srv, "GET", "/data", at); r.status != 200 {
			t.Errorf("at+jwt in RFC 9068 mode: %d %s", r.status, r.body)
		}
	})
	t.Run("dpop", func(t *testing.T) { checkDPoP(t, newHandler, iss) })
	t.Run("mtls", func(t *testing.T) { checkMTLS(t, newHandler, iss) })
}

// serve starts the example's handler for cfg behind a test server, both
// stopped when the test ends.
func serve(t *testing.T, newHandler NewHandler, cfg setup.Config, iss *bearertest.Issuer) *httptest.Server {
	t.Helper()
	h, closeFn, err := newHandler(cfg, iss.Client())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

type result struct {
	status    int
	challenge string
	nonce     string // the DPoP-Nonce header
	body      []byte
}

func call(t *testing.T, srv *httptest.Server, method, path, token string) result {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return do(t, srv.Client(), method, srv.URL+path, h)
}

// do sends a request with header h.
func do(t *testing.T, client *http.Client, method, url string, h http.Header) result {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(req.Header, h)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("DPoP-Nonce"), b}
}

func check(t *testing.T, srv *httptest.Server, iss *bearertest.Issuer) {
	read := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "svc-reader", "client_id": "reader"})
	write := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "write:data", "sub": "svc-writer", "client_id": "writer"})
	other := iss.Mint(t, bearertest.Claims{"aud": "payments", "scope": "read:data"})

	if r := call(t, srv, "GET", "/healthz", ""); r.status != 200 {
		t.Errorf("GET /healthz = %d", r.status)
	}
	r := call(t, srv, "GET", "/data", read)
	var reply setup.DataReply
	if r.status != 200 || json.Unmarshal(r.body, &reply) != nil || reply.Subject != "svc-reader" || reply.ClientID != "reader" || !slices.Equal(reply.Scopes, []string{"read:data"}) {
		t.Errorf("GET /data with read:data = %d %s", r.status, r.body)
	}
	r = call(t, srv, "POST", "/data", write)
	if r.status != 201 || json.Unmarshal(r.body, &reply) != nil || !reply.Stored || reply.ClientID != "writer" {
		t.Errorf("POST /data with write:data = %d %s", r.status, r.body)
	}
	for _, c := range []struct {
		method, token string
		status        int
		challenge     string
	}{
		{"GET", "", 401, `Bearer realm="orders"`},
		{"GET", write, 403, `Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read:data"`},
		{"POST", read, 403, `Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a required scope", scope="write:data"`},
		{"GET", other, 401, `Bearer realm="orders", error="invalid_token", error_description="The access token is not meant for this resource"`},
		{"GET", read[:len(read)-4] + "AAAA", 401, `Bearer realm="orders", error="invalid_token", error_description="The access token signature is invalid"`},
	} {
		r := call(t, srv, c.method, "/data", c.token)
		// DPoP is allowed by default: a DPoP challenge follows the Bearer
		// one (RFC 9449 §7.1).
		c.challenge += `, DPoP realm="orders", algs="` + DPoPAlgs + `"`
		if r.status != c.status || r.challenge != c.challenge {
			t.Errorf("%s /data = %d %q, want %d %q", c.method, r.status, r.challenge, c.status, c.challenge)
		}
	}
}

// The answers to DPoP-bound and certificate-bound tokens presented without
// what they are bound to.
const (
	boundChallenge   = `Bearer realm="orders", error="invalid_token", error_description="The access token is bound to a key or certificate the request does not prove", DPoP realm="orders", algs="` + DPoPAlgs + `"`
	anotherKeyDesc   = "The access token is not bound to the presented key"
	proofUsedDesc    = "The DPoP proof was already used"
	proofRequestDesc = "The DPoP proof does not match this request"
)

// dpopChallenge is the answer to a DPoP request refused with code and
// desc, with DPoP allowed: the error on the DPoP challenge (RFC 9449 §7.1).
func dpopChallenge(code, desc string) string {
	return `Bearer realm="orders", DPoP realm="orders", error="` + code + `", error_description="` + desc + `", algs="` + DPoPAlgs + `"`
}

func dpopHeader(token, proof string) http.Header {
	return http.Header{"Authorization": {"DPoP " + token}, "Dpop": {proof}}
}

func bearerHeader(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// checkDPoP checks DPoP-bound tokens (RFC 9449) through the example: with
// the default configuration a bound token is accepted with a proof of its
// key, each proof once, and never as a Bearer token; --dpop required
// refuses Bearer tokens; --dpop-nonce makes clients retry with a server
// nonce, which every replica with the same key accepts; --public-url is
// the URL proofs are for.
func checkDPoP(t *testing.T, newHandler NewHandler, iss *bearertest.Issuer) {
	key := bearertest.MustDPoPKey(t, validator.ES256)
	other := bearertest.MustDPoPKey(t, validator.ES256)
	bound := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "svc-dpop", "client_id": "dpop-client"}, bearertest.BoundToKey(key))
	plain := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "svc-plain"})
	base := setup.Config{Issuer: iss.URL, Audience: "orders"}
	accepted := func(t *testing.T, what string, r result) {
		t.Helper()
		var reply setup.DataReply
		if r.status != 200 || json.Unmarshal(r.body, &reply) != nil || reply.Subject != "svc-dpop" || reply.ClientID != "dpop-client" || !slices.Equal(reply.Scopes, []string{"read:data"}) {
			t.Errorf("%s: %d %q %s, want 200 with the token's reply", what, r.status, r.challenge, r.body)
		}
	}
	refused := func(t *testing.T, what string, r result, challenge string) {
		t.Helper()
		if r.status != 401 || r.challenge != challenge {
			t.Errorf("%s: %d %q\n want 401 %q", what, r.status, r.challenge, challenge)
		}
	}

	t.Run("allowed", func(t *testing.T) {
		srv := serve(t, newHandler, base, iss)
		url := srv.URL + "/data"
		proof := key.MustProof(t, "GET", url, bound)
		accepted(t, "bound token with its proof", do(t, srv.Client(), "GET", url, dpopHeader(bound, proof)))
		refused(t, "the proof replayed", do(t, srv.Client(), "GET", url, dpopHeader(bound, proof)), dpopChallenge("invalid_dpop_proof", proofUsedDesc))
		refused(t, "bound token as Bearer", do(t, srv.Client(), "GET", url, bearerHeader(bound)), boundChallenge)
		refused(t, "proof of another key", do(t, srv.Client(), "GET", url, dpopHeader(bound, other.MustProof(t, "GET", url, bound))), dpopChallenge("invalid_token", anotherKeyDesc))
		refused(t, "proof for another method", do(t, srv.Client(), "GET", url, dpopHeader(bound, key.MustProof(t, "POST", url, bound))), dpopChallenge("invalid_dpop_proof", proofRequestDesc))
		refused(t, "plain token with a proof", do(t, srv.Client(), "GET", url, dpopHeader(plain, key.MustProof(t, "GET", url, plain))), dpopChallenge("invalid_token", anotherKeyDesc))
		if r := do(t, srv.Client(), "GET", url, bearerHeader(plain)); r.status != 200 {
			t.Errorf("plain Bearer token: %d %q", r.status, r.challenge)
		}
		// The proof's htu has no query; the request's query is not compared.
		accepted(t, "request with a query", do(t, srv.Client(), "GET", url+"?page=2", dpopHeader(bound, key.MustProof(t, "GET", url+"?page=2", bound))))
		// Validated often enough to be served from the token cache, the
		// token is still bound.
		for i := range 3 {
			accepted(t, "bound token again", do(t, srv.Client(), "GET", url, dpopHeader(bound, key.MustProof(t, "GET", url, bound))))
			refused(t, fmt.Sprintf("bound token as Bearer, again (%d)", i+1), do(t, srv.Client(), "GET", url, bearerHeader(bound)), boundChallenge)
		}
		writer := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "write:data", "client_id": "dpop-client"}, bearertest.BoundToKey(key))
		if r := do(t, srv.Client(), "POST", url, dpopHeader(writer, key.MustProof(t, "POST", url, writer))); r.status != 201 {
			t.Errorf("POST with a bound write:data token and its proof: %d %q", r.status, r.challenge)
		}
		// A bound token without the route's scope: 403, on the DPoP challenge.
		if r := do(t, srv.Client(), "POST", url, dpopHeader(bound, key.MustProof(t, "POST", url, bound))); r.status != 403 ||
			r.challenge != `Bearer realm="orders", DPoP realm="orders", error="insufficient_scope", error_description="The access token lacks a required scope", scope="write:data", algs="`+DPoPAlgs+`"` {
			t.Errorf("POST with a bound read:data token: %d %q", r.status, r.challenge)
		}
	})

	t.Run("introspection", func(t *testing.T) {
		iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "orders-secret"})
		cfg := base
		cfg.IntrospectionURL, cfg.ClientID, cfg.ClientSecret = iss.IntrospectionURL(), "orders-api", "orders-secret"
		srv := serve(t, newHandler, cfg, iss)
		url := srv.URL + "/data"
		opaque := iss.Opaque(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "svc-dpop", "client_id": "dpop-client", "cnf": map[string]any{"jkt": key.Thumbprint()}})
		accepted(t, "bound opaque token with its proof", do(t, srv.Client(), "GET", url, dpopHeader(opaque, key.MustProof(t, "GET", url, opaque))))
		refused(t, "bound opaque token as Bearer", do(t, srv.Client(), "GET", url, bearerHeader(opaque)), boundChallenge)
		refused(t, "bound opaque token, proof of another key", do(t, srv.Client(), "GET", url, dpopHeader(opaque, other.MustProof(t, "GET", url, opaque))), dpopChallenge("invalid_token", anotherKeyDesc))
	})

	t.Run("required", func(t *testing.T) {
		cfg := base
		cfg.DPoP = validator.DPoPRequired
		srv := serve(t, newHandler, cfg, iss)
		url := srv.URL + "/data"
		r := do(t, srv.Client(), "GET", url, bearerHeader(plain))
		if r.status != 401 || !strings.HasPrefix(r.challenge, "DPoP ") || strings.Contains(r.challenge, "Bearer") || !strings.Contains(r.challenge, `error="invalid_token"`) {
			t.Errorf("plain Bearer token where DPoP is required: %d %q, want 401 and a DPoP challenge only", r.status, r.challenge)
		}
		if r := do(t, srv.Client(), "GET", url, nil); r.status != 401 || r.challenge != `DPoP realm="orders", algs="`+DPoPAlgs+`"` {
			t.Errorf("no token where DPoP is required: %d %q", r.status, r.challenge)
		}
		accepted(t, "bound token with its proof", do(t, srv.Client(), "GET", url, dpopHeader(bound, key.MustProof(t, "GET", url, bound))))
	})

	t.Run("nonce", func(t *testing.T) {
		cfg := base
		cfg.DPoPNonce = true
		cfg.DPoPNonceKey = []byte("exampletest DPoP nonce key, 32+ bytes")
		srv := serve(t, newHandler, cfg, iss)
		replica := serve(t, newHandler, cfg, iss) // another replica, with the same key
		url := srv.URL + "/data"
		r := do(t, srv.Client(), "GET", url, dpopHeader(bound, key.MustProof(t, "GET", url, bound)))
		if r.status != 401 || !strings.Contains(r.challenge, `DPoP realm="orders", error="use_dpop_nonce"`) || r.nonce == "" {
			t.Fatalf("proof without a nonce: %d %q, DPoP-Nonce %q; want 401 use_dpop_nonce with a nonce", r.status, r.challenge, r.nonce)
		}
		nonce := r.nonce
		accepted(t, "retry with the nonce", do(t, srv.Client(), "GET", url, dpopHeader(bound, key.MustProof(t, "GET", url, bound, bearertest.ProofNonce(nonce)))))
		rurl := replica.URL + "/data"
		accepted(t, "the nonce at another replica", do(t, replica.Client(), "GET", rurl, dpopHeader(bound, key.MustProof(t, "GET", rurl, bound, bearertest.ProofNonce(nonce)))))
		r = do(t, srv.Client(), "GET", url, dpopHeader(bound, key.MustProof(t, "GET", url, bound, bearertest.ProofNonce("bm90LWEtbm9uY2U"))))
		if r.status != 401 || !strings.Contains(r.challenge, `error="use_dpop_nonce"`) || r.nonce != nonce {
			t.Errorf("a nonce the API did not issue: %d %q, DPoP-Nonce %q; want 401 use_dpop_nonce with %q", r.status, r.challenge, r.nonce, nonce)
		}
	})

	t.Run("public URL", func(t *testing.T) {
		const public = "https://api.example.com/v1"
		cfg := base
		cfg.PublicURL = public
		srv := serve(t, newHandler, cfg, iss)
		url := srv.URL + "/data"
		accepted(t, "proof for the public URL", do(t, srv.Client(), "GET", url, dpopHeader(bound, key.MustProof(t, "GET", public+"/data", bound))))
		refused(t, "proof for the internal URL", do(t, srv.Client(), "GET", url, dpopHeader(bound, key.MustProof(t, "GET", url, bound))), dpopChallenge("invalid_dpop_proof", proofRequestDesc))
	})
}

// checkMTLS checks certificate-bound tokens (RFC 8705) through the example
// served as setup.Main serves it with --tls-cert, --tls-key and
// --client-ca: a token bound to a client certificate is accepted over
// mutual TLS with that certificate, and refused without one or with
// another.
func checkMTLS(t *testing.T, newHandler NewHandler, iss *bearertest.Issuer) {
	ca := bearertest.MustClientCA(t)
	clientCert, leaf := ca.MustIssue(t, "billing")
	stranger, _ := ca.MustIssue(t, "stranger")
	foreign, _ := bearertest.MustClientCA(t).MustIssue(t, "billing")
	dir := t.TempDir()
	cfg := setup.Config{Issuer: iss.URL, Audience: "orders", ClientCA: filepath.Join(dir, "client-ca.pem")}
	cfg.TLSCert, cfg.TLSKey = serverCertificate(t, dir)
	writePEM(t, cfg.ClientCA, "CERTIFICATE", ca.Certificate().Raw)

	tlsConfig, err := cfg.ServerTLS()
	if err != nil || tlsConfig == nil || tlsConfig.ClientCAs == nil {
		t.Fatalf("ServerTLS: %v, %v", tlsConfig, err)
	}
	// As http.Server.ListenAndServeTLS(cfg.TLSCert, cfg.TLSKey) does.
	pair, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		t.Fatal(err)
	}
	tlsConfig.Certificates = []tls.Certificate{pair}
	h, closeFn, err := newHandler(cfg, iss.Client())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = tlsConfig
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := func(cert *tls.Certificate) *http.Client {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		if cert != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
		}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}

	bound := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "svc-mtls", "client_id": "mtls-client"}, bearertest.BoundToCertificate(leaf))
	plain := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "svc-plain"})
	url := srv.URL + "/data"
	r := do(t, client(&clientCert), "GET", url, bearerHeader(bound))
	var reply setup.DataReply
	if r.status != 200 || json.Unmarshal(r.body, &reply) != nil || reply.Subject != "svc-mtls" || reply.ClientID != "mtls-client" {
		t.Errorf("bound token with its certificate: %d %q %s", r.status, r.challenge, r.body)
	}
	for _, c := range []struct {
		name      string
		cert      *tls.Certificate
		token     string
		status    int
		challenge string
	}{
		{"bound token without a certificate", nil, bound, 401, boundChallenge},
		{"bound token with another certificate", &stranger, bound, 401,
			`Bearer realm="orders", error="invalid_token", error_description="` + anotherKeyDesc + `", DPoP realm="orders", algs="` + DPoPAlgs + `"`},
		{"plain token without a certificate", nil, plain, 200, ""},
		{"plain token with a certificate", &clientCert, plain, 200, ""},
	} {
		if r := do(t, client(c.cert), "GET", url, bearerHeader(c.token)); r.status != c.status || r.challenge != c.challenge {
			t.Errorf("%s: %d %q\n want %d %q", c.name, r.status, r.challenge, c.status, c.challenge)
		}
	}
	// A certificate of a CA the service does not trust: a Go client does
	// not send it (it is not of a CA the server asks for), and one sent
	// anyway fails the handshake.
	if r := do(t, client(&foreign), "GET", url, bearerHeader(bound)); r.status != 401 || r.challenge != boundChallenge {
		t.Errorf("bound token with a certificate of another CA: %d %q", r.status, r.challenge)
	}
	pushy := client(nil)
	pushy.Transport.(*http.Transport).TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &foreign, nil }
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+bound)
	if resp, err := pushy.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("a certificate of another CA, sent anyway: %d, want a failed handshake", resp.StatusCode)
	}
	// Over HTTPS, DPoP proofs are for the https URL.
	key := bearertest.MustDPoPKey(t, validator.ES256)
	dpopBound := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "svc-dpop"}, bearertest.BoundToKey(key))
	if r := do(t, client(nil), "GET", url, dpopHeader(dpopBound, key.MustProof(t, "GET", url, dpopBound))); r.status != 200 {
		t.Errorf("DPoP over HTTPS: %d %q", r.status, r.challenge)
	}
	if r := do(t, client(nil), "GET", url, dpopHeader(dpopBound, key.MustProof(t, "GET", strings.Replace(url, "https:", "http:", 1), dpopBound))); r.status != 401 {
		t.Errorf("DPoP over HTTPS, proof for http: %d %q", r.status, r.challenge)
	}
	// Bound to both a key and a certificate: both are needed.
	both := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"}, bearertest.BoundToKey(key), bearertest.BoundToCertificate(leaf))
	for _, c := range []struct {
		name   string
		cert   *tls.Certificate
		dpop   bool
		status int
	}{
		{"its certificate and a proof", &clientCert, true, 200},
		{"a proof, no certificate", nil, true, 401},
		{"its certificate as Bearer", &clientCert, false, 401},
		{"another certificate and a proof", &stranger, true, 401},
	} {
		h := bearerHeader(both)
		if c.dpop {
			h = dpopHeader(both, key.MustProof(t, "GET", url, both))
		}
		if r := do(t, client(c.cert), "GET", url, h); r.status != c.status {
			t.Errorf("token bound to a key and a certificate, %s: %d %q, want %d", c.name, r.status, r.challenge, c.status)
		}
	}
}

// serverCertificate writes a self-signed certificate for the loopback
// addresses and its key to dir, as PEM files, and returns their names.
func serverCertificate(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")
	testcert.Write(t, certFile, keyFile, "exampletest server")
	return certFile, keyFile
}

func writePEM(t *testing.T, name, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
