package introspect_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// An API that accepts opaque tokens asks its authorization server about
// each (RFC 7662), authenticating as its own client; answers are cached
// and concurrent questions about one token share one request. The
// validator then checks the answer as it checks a JWT's claims.
func Example() {
	iss, err := bearertest.Start() // an authorization server on loopback
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "orders-secret"})

	ic, err := introspect.Discover(iss.URL, introspect.ClientSecretBasic("orders-api", "orders-secret"),
		introspect.WithHTTPClient(iss.Client())) // trusts the test server's certificate
	if err != nil {
		log.Fatal(err)
	}
	defer ic.Close()
	v, err := validator.New(validator.WithIntrospection(iss.URL, ic), validator.WithAudience("orders"))
	if err != nil {
		log.Fatal(err)
	}

	token, err := iss.OpaqueToken(bearertest.Claims{"aud": "orders", "sub": "billing", "scope": "read:data"})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := v.Validate(context.Background(), token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Subject, tok.Scopes.List(), tok.Source)

	// A token the server did not issue (or revoked: seen at most
	// WithMaxTTL later, 60 s by default) is inactive.
	_, err = v.Validate(context.Background(), "not-a-token-it-issued")
	fmt.Println(errors.Is(err, validator.ErrInactive))
	// Output:
	// billing [read:data] introspection
	// true
}

// A resource server that authenticates to the introspection endpoint with
// its certificate (RFC 8705 §2.1): the transport presents it, the form
// names the client.
func ExampleTLSClientAuth() {
	cert, err := tls.LoadX509KeyPair("orders-api.crt", "orders-api.key")
	if err != nil {
		log.Fatal(err)
	}
	hc := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		},
	}
	ic, err := introspect.New("https://auth.example.com/oauth2/introspect",
		introspect.TLSClientAuth("orders-api"), introspect.WithHTTPClient(hc))
	if err != nil {
		log.Fatal(err)
	}
	defer ic.Close()
}
