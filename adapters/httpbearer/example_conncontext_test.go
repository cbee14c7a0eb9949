package httpbearer_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// Behind a TLS-terminating proxy that forwards the client's certificate,
// ConnContext has the Guard believe the header by the connection's own
// address: a middleware that rewrites RemoteAddr from X-Forwarded-For
// (here, as gorilla's ProxyHeaders does) can neither make a client a proxy
// nor make the proxy another client.
func ExampleConnContext() {
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
	// The proxy connects from loopback in this example.
	guard, err := httpbearer.New(v, httpbearer.WithClientCertHeader("X-SSL-Client-Cert", httpbearer.EscapedPEM, "127.0.0.1", "::1"))
	if err != nil {
		log.Fatal(err)
	}
	api := guard.Require(scopes.All("read:data"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := validator.FromContext(r.Context())
		fmt.Fprint(w, tok.Subject)
	}))
	proxyHeaders := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if v := r.Header.Get("X-Forwarded-For"); v != "" {
				r.RemoteAddr = v
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewUnstartedServer(proxyHeaders(api))
	srv.Config.ConnContext = httpbearer.ConnContext
	srv.Start()
	defer srv.Close()

	ca, err := bearertest.NewClientCA()
	if err != nil {
		log.Fatal(err)
	}
	_, leaf, err := ca.Issue("billing")
	if err != nil {
		log.Fatal(err)
	}
	tok, err := iss.MintToken(bearertest.Claims{"aud": "orders", "sub": "billing", "scope": "read:data"}, bearertest.BoundToCertificate(leaf))
	if err != nil {
		log.Fatal(err)
	}
	// What the proxy sends for the client that presented leaf.
	req, _ := http.NewRequest("GET", srv.URL+"/data", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("X-SSL-Client-Cert", bearertest.EscapedPEM(leaf))
	req.Header.Set("X-Forwarded-For", "203.0.113.9:51234")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 billing
}
