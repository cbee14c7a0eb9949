package validator_test

import (
	"context"
	"fmt"
	"log"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// An introspection-only validator, for an authorization server that issues
// opaque tokens, publishes no keys and sends no "aud" (such as an Express
// app on the npm oauth2-server package): no key set, every token is
// introspected, and answers without "iss" get the configured issuer.
func ExampleWithIntrospection_introspectionOnly() {
	// In production the endpoint is the authorization server's RFC 7662
	// route; a bearertest issuer on loopback keeps this example offline.
	as, err := bearertest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer as.Close()
	as.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "orders-api-secret"})
	token, err := as.OpaqueToken(bearertest.Claims{"iss": nil, "aud": nil, "client_id": "svc-billing", "scope": "read:data"})
	if err != nil {
		log.Fatal(err)
	}

	ic, err := introspect.New(as.IntrospectionURL(), introspect.ClientSecretBasic("orders-api", "orders-api-secret"),
		introspect.WithHTTPClient(as.Client()))
	if err != nil {
		log.Fatal(err)
	}
	defer ic.Close()
	v, err := validator.New(
		validator.WithIntrospection("https://auth.example.com", ic), // no WithIssuer: introspection only
		validator.WithAudience("orders"),
		validator.WithIntrospectionAudienceOptional(), // the server sends no "aud"
	)
	if err != nil {
		log.Fatal(err)
	}
	tok, err := v.Validate(context.Background(), token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Source, tok.Issuer, tok.ClientID, tok.Scopes.List())
	// Output: introspection https://auth.example.com svc-billing [read:data]
}
