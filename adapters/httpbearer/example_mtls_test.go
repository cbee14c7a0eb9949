package httpbearer_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// A token bound to a client certificate (RFC 8705) is accepted only on a
// TLS connection that presented that certificate: the guard hands the
// validator the request's verified peer certificate. The same token from a
// client with another certificate, or none, is refused. Behind a proxy
// that terminates TLS, see WithClientCertHeader.
func ExampleGuard_Require_mutualTLS() {
	iss, err := bearertest.Start() // in production: the authorization server
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	keys, err := iss.NewKeySet()
	if err != nil {
		log.Fatal(err)
	}
	defer keys.Close()
	v, err := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithAudience("orders"))
	if err != nil {
		log.Fatal(err)
	}
	guard, err := httpbearer.New(v)
	if err != nil {
		log.Fatal(err)
	}
	api := httptest.NewUnstartedServer(guard.Require(scopes.All("read:data"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := validator.FromContext(r.Context())
		fmt.Fprint(w, tok.Subject)
	})))
	ca, err := bearertest.NewClientCA() // the CA the API trusts for client certificates
	if err != nil {
		log.Fatal(err)
	}
	api.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: ca.Pool()}
	api.StartTLS()
	defer api.Close()

	billing, billingLeaf, err := ca.Issue("billing")
	if err != nil {
		log.Fatal(err)
	}
	other, _, err := ca.Issue("other")
	if err != nil {
		log.Fatal(err)
	}
	tok, err := iss.MintToken(bearertest.Claims{"aud": "orders", "sub": "billing", "scope": "read:data"},
		bearertest.BoundToCertificate(billingLeaf))
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range []struct {
		what  string
		certs []tls.Certificate
	}{
		{"its certificate", []tls.Certificate{billing}},
		{"another certificate", []tls.Certificate{other}},
		{"no certificate", nil},
	} {
		// A client of its own each (a connection kept alive keeps its
		// certificate), trusting the server's certificate.
		tr := api.Client().Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.Certificates = c.certs
		client := &http.Client{Transport: tr}
		req, _ := http.NewRequest("GET", api.URL+"/data", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections()
		if resp.StatusCode == http.StatusOK {
			fmt.Printf("%s: %d, hello %s\n", c.what, resp.StatusCode, body)
			continue
		}
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s: %d %s", c.what, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))))
	}
	// Output:
	// its certificate: 200, hello billing
	// another certificate: 401 Bearer error="invalid_token", error_description="The access token is not bound to the presented key", DPoP algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"
	// no certificate: 401 Bearer error="invalid_token", error_description="The access token is bound to a key or certificate the request does not prove", DPoP algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"
}
