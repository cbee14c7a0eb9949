package bearertest_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"log"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/validator"
)

// Outside a test (a demo, a load generator), the error-returning forms do
// what NewIssuer, KeySet and Mint do in one; the caller closes what it
// starts.
func ExampleStart() {
	iss, err := bearertest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	keys, err := iss.NewKeySet() // trusts the issuer's TLS certificate
	if err != nil {
		log.Fatal(err)
	}
	defer keys.Close()
	v, err := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithAudience("orders"))
	if err != nil {
		log.Fatal(err)
	}

	tok, err := iss.MintToken(bearertest.Claims{"aud": "orders", "sub": "billing", "scope": "read:data"})
	if err != nil {
		log.Fatal(err)
	}
	got, err := v.Validate(context.Background(), tok)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Subject, got.Scopes.List())
	// Output: billing [read:data]
}

func ExampleIssuer_MintToken() {
	iss, err := bearertest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()

	// HMAC keys are the API's own secret, never an issuer's published key.
	_, err = iss.MintToken(bearertest.Claims{"aud": "orders"}, bearertest.WithAlgorithm(validator.HS256))
	fmt.Println(errors.Is(err, bearertest.ErrUnsupportedAlgorithm))
	fmt.Println(err)
	// Output:
	// true
	// bearertest: minting: unsupported algorithm HS256
}

// Another process (an example service, curl) trusts the issuer through its
// certificate, written as PEM: the examples take it with --issuer-ca.
func ExampleIssuer_Certificate() {
	iss, err := bearertest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	cert := iss.Certificate()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}) // os.WriteFile("ca.pem", caPEM, 0o644)
	fmt.Println(bytes.HasPrefix(caPEM, []byte("-----BEGIN CERTIFICATE-----")))
	fmt.Println(cert.VerifyHostname("127.0.0.1") == nil)
	// Output:
	// true
	// true
}
