package jwks_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

// Discover finds the JWKS URL in the issuer's metadata
// (/.well-known/openid-configuration, else RFC 8414's
// /.well-known/oauth-authorization-server), whose "issuer" must equal the
// one given, then behaves as New.
func ExampleDiscover() {
	iss, err := bearertest.Start() // in production: your authorization server's issuer URL
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()

	// WithHTTPClient only because the test issuer's certificate is not in the
	// system's roots.
	keys, err := jwks.Discover(iss.URL, jwks.WithHTTPClient(iss.Client()))
	if err != nil {
		log.Fatal(err)
	}
	defer keys.Close()

	// Optional: wait at start-up for discovery and the first fetch.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := keys.WaitReady(ctx); err != nil {
		log.Fatal(err)
	}
	st := keys.Status()
	fmt.Println("JWKS URL found:", st.URL == iss.JWKSURL(), strings.HasPrefix(st.URL, "https://"))

	v, err := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithAudience("orders"))
	if err != nil {
		log.Fatal(err)
	}
	tok, err := iss.MintToken(bearertest.Claims{"aud": "orders", "scope": "read:data"})
	if err != nil {
		log.Fatal(err)
	}
	t, err := v.Validate(ctx, tok)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.Scopes.List(), t.Algorithm)
	// Output:
	// JWKS URL found: true true
	// [read:data] RS256
}
