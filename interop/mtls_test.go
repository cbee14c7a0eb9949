package interop

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/validator"
)

// mtlsAnswer is an example's answer to a request over mutual TLS; err is
// set when the TLS handshake (or the connection) failed.
type mtlsAnswer struct {
	status    int
	challenge string
	body      setup.DataReply
	resumed   bool // the TLS session was resumed
	err       error
}

func callTLS(client *http.Client, method, url, token string) mtlsAnswer {
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return mtlsAnswer{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := mtlsAnswer{status: resp.StatusCode, challenge: resp.Header.Get("WWW-Authenticate"), resumed: resp.TLS != nil && resp.TLS.DidResume}
	json.Unmarshal(b, &a.body)
	return a
}

// clientCerts are the client certificates of the mTLS tests: two from the
// CA the example trusts and one from another CA.
type clientCerts struct {
	ca                 *bearertest.ClientCA
	a, b, foreign      tls.Certificate
	aLeaf, foreignLeaf *x509.Certificate
}

func newClientCerts(t *testing.T) clientCerts {
	var c clientCerts
	c.ca = bearertest.MustClientCA(t)
	c.a, c.aLeaf = c.ca.MustIssue(t, "svc-a")
	c.b, _ = c.ca.MustIssue(t, "svc-b")
	c.foreign, c.foreignLeaf = bearertest.MustClientCA(t).MustIssue(t, "svc-a")
	return c
}

// checkBoundToA asserts what the example at base answers a token bound to
// certificate a: accepted over a connection authenticated by a, refused
// (401 invalid_token) with b or with no certificate, and the handshake
// refused with a certificate from a CA the example does not trust.
func checkBoundToA(t *testing.T, label, base string, roots *x509.CertPool, certs clientCerts, token, wantClient string) {
	t.Helper()
	a := callTLS(tlsClient(roots, &certs.a), "GET", base+"/data", token)
	if a.err != nil || a.status != 200 || a.body.ClientID != wantClient {
		t.Errorf("%s, its certificate: %+v", label, a)
	}
	if a := callTLS(tlsClient(roots, &certs.a), "POST", base+"/data", token); a.err != nil || a.status != 201 {
		t.Errorf("%s, its certificate, POST: %+v", label, a)
	}
	// A client with a TLS session cache resumes its session on a new
	// connection, without sending its certificate again: the server still
	// knows it.
	resuming := tlsClient(roots, &certs.a)
	resuming.Transport.(*http.Transport).TLSClientConfig.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	for i := range 2 {
		resuming.CloseIdleConnections()
		a := callTLS(resuming, "GET", base+"/data", token)
		if a.err != nil || a.status != 200 || a.resumed != (i == 1) {
			t.Errorf("%s, its certificate, connection %d (resumed: %v): %+v", label, i+1, i == 1, a)
		}
	}
	for name, client := range map[string]*http.Client{
		"another certificate of the same CA": tlsClient(roots, &certs.b),
		"no certificate":                     tlsClient(roots, nil),
	} {
		if a := callTLS(client, "GET", base+"/data", token); a.err != nil || a.status != 401 || !strings.Contains(a.challenge, `error="invalid_token"`) {
			t.Errorf("%s, %s: %+v", label, name, a)
		}
	}
	// Same subject, another CA: the TLS layer refuses it (ServerTLS asks
	// for certificates of ClientCA only).
	if a := callTLS(tlsClient(roots, &certs.foreign), "GET", base+"/data", token); a.err == nil {
		t.Errorf("%s, a certificate from an untrusted CA: %+v, want a refused handshake", label, a)
	}
}

// TestCertificateBoundTokens: the examples serving HTTPS as their
// --tls-cert, --tls-key and --client-ca flags configure them, with tokens
// from bearertest bound to a client certificate (RFC 8705), JWT and
// opaque.
func TestCertificateBoundTokens(t *testing.T) {
	gin.SetMode(gin.TestMode)
	dir := t.TempDir()
	certs := newClientCerts(t)
	certFile, keyFile, roots := serverCert(t, dir)
	caFile := writeCA(t, dir, certs.ca)

	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: rsClientID, Secret: rsSecret})
	claims := bearertest.Claims{"aud": apiAudience, "scope": "read:data write:data", "client_id": "svc-a", "sub": "svc-a"}
	jwt := iss.Mint(t, claims, bearertest.BoundToCertificate(certs.aLeaf))
	opaqueClaims := bearertest.Claims{"cnf": map[string]any{"x5t#S256": bearertest.CertThumbprint(certs.aLeaf)}}
	for k, v := range claims {
		opaqueClaims[k] = v
	}
	opaque := iss.Opaque(t, opaqueClaims)
	unbound := iss.Mint(t, claims)
	boundToForeign := iss.Mint(t, claims, bearertest.BoundToCertificate(certs.foreignLeaf))

	for name, newHandler := range handlers {
		t.Run(name, func(t *testing.T) {
			cfg := setup.Config{Issuer: iss.URL, Audience: apiAudience, Leeway: validator.DefaultLeeway, RFC9068: true,
				IntrospectionURL: iss.IntrospectionURL(), ClientID: rsClientID, ClientSecret: rsSecret,
				TLSCert: certFile, TLSKey: keyFile, ClientCA: caFile}
			h, closeFn, err := newHandler(cfg, iss.Client())
			if err != nil {
				t.Fatal(err)
			}
			defer closeFn()
			base := serveHTTPS(t, h, cfg)

			checkBoundToA(t, "bound JWT", base, roots, certs, jwt, "svc-a")
			checkBoundToA(t, "bound opaque token", base, roots, certs, opaque, "svc-a")
			// An unbound token is a plain Bearer token, certificate or not.
			for label, client := range map[string]*http.Client{"with a certificate": tlsClient(roots, &certs.a), "without": tlsClient(roots, nil)} {
				if a := callTLS(client, "GET", base+"/data", unbound); a.err != nil || a.status != 200 {
					t.Errorf("unbound token, %s: %+v", label, a)
				}
			}
			// Bound to a certificate the TLS layer refuses: unusable here.
			if a := callTLS(tlsClient(roots, &certs.a), "GET", base+"/data", boundToForeign); a.err != nil || a.status != 401 {
				t.Errorf("token bound to another CA's certificate, sent with a: %+v", a)
			}
		})
	}
}

// TestOIDCProviderCertificateBoundTokens: node-oidc-provider serving HTTPS
// itself, asking for client certificates, issues certificate-bound tokens
// (features.mTLS.certificateBoundAccessTokens) to a client registered with
// tls_client_certificate_bound_access_tokens; Go's x/oauth2 gets them over
// a connection authenticated by the client's certificate, and the examples
// accept them only from that certificate.
func TestOIDCProviderCertificateBoundTokens(t *testing.T) {
	gin.SetMode(gin.TestMode)
	dir := t.TempDir()
	certs := newClientCerts(t)
	certFile, keyFile, roots := serverCert(t, dir)
	caFile := writeCA(t, dir, certs.ca)
	plain := tlsClient(roots, nil)
	as := startAuthServerWith(t, providerOptions{tls: &tlsFiles{cert: certFile, key: keyFile, clientCA: caFile, client: plain}},
		newSigningKey(t, jwa.RS256))

	token := func(client *http.Client, resource string) (string, error) { return as.mtlsToken(client, resource) }
	withA := tlsClient(roots, &certs.a)
	jwt, err := token(withA, jwtResource)
	if err != nil {
		t.Fatalf("x/oauth2 with a client certificate: %v", err)
	}
	opaque, err := token(withA, opaqueResrc)
	if err != nil {
		t.Fatalf("x/oauth2 with a client certificate, opaque: %v", err)
	}
	// The provider binds to the certificate of the connection.
	want := bearertest.CertThumbprint(certs.aLeaf)
	if cnf, _ := jwtClaims(t, jwt)["cnf"].(map[string]any); cnf["x5t#S256"] != want {
		t.Fatalf("provider's JWT cnf %v, want x5t#S256 %s", cnf, want)
	}
	if in := as.introspect(opaque); in["active"] != true || in["token_type"] != "Bearer" || cnfMember(in, "x5t#S256") != want {
		t.Fatalf("provider's introspection of the bound opaque token: %v", in)
	}
	// This client's tokens need a certificate.
	if _, err := token(plain, jwtResource); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("token request without a certificate: %v, want invalid_grant", err)
	}

	for name, newHandler := range handlers {
		t.Run(name, func(t *testing.T) {
			cfg := setup.Config{Issuer: as.issuer, Audience: apiAudience, Leeway: validator.DefaultLeeway, RFC9068: true,
				IntrospectionURL: as.endpoint("introspection_endpoint"), ClientID: rsClientID, ClientSecret: rsSecret,
				TLSCert: certFile, TLSKey: keyFile, ClientCA: caFile}
			h, closeFn, err := newHandler(cfg, plain) // discovery, JWKS and introspection over HTTPS
			if err != nil {
				t.Fatal(err)
			}
			defer closeFn()
			base := serveHTTPS(t, h, cfg)
			checkBoundToA(t, "provider's bound JWT", base, roots, certs, jwt, mtlsClientID)
			checkBoundToA(t, "provider's bound opaque token", base, roots, certs, opaque, mtlsClientID)
		})
	}
}

// mtlsToken gets a token for mtlsClientID with Go's x/oauth2 through
// client, whose connection's certificate (if any) the provider binds the
// token to.
func (a *authServer) mtlsToken(client *http.Client, resource string) (string, error) {
	cfg := clientcredentials.Config{ClientID: mtlsClientID, ClientSecret: clientSecret, TokenURL: a.endpoint("token_endpoint"),
		Scopes: []string{"read:data", "write:data"}, EndpointParams: url.Values{"resource": {resource}}, AuthStyle: oauth2.AuthStyleInHeader}
	tok, err := cfg.Token(context.WithValue(context.Background(), oauth2.HTTPClient, client))
	if err != nil {
		return "", err
	}
	if tt := tok.Type(); tt != "Bearer" {
		a.t.Errorf("token_type %q, want Bearer (RFC 8705 tokens stay Bearer tokens)", tt)
	}
	return tok.AccessToken, nil
}

// jwtClaims decodes a JWT's payload (to check what the provider issued).
func jwtClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.20s…", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("token payload: %v", err)
	}
	var c map[string]any
	json.Unmarshal(b, &c)
	return c
}

func cnfMember(claims map[string]any, name string) any {
	cnf, _ := claims["cnf"].(map[string]any)
	return cnf[name]
}

// introspect asks the provider about token, as the API's own client
// (RFC 7662, client_secret_basic).
func (a *authServer) introspect(token string) map[string]any {
	a.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.endpoint("introspection_endpoint"),
		strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(rsClientID), url.QueryEscape(rsSecret))
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		a.t.Fatalf("introspection: %s, %v", resp.Status, err)
	}
	return out
}
