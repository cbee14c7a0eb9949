package validator_test

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

func ExampleValidator_Validate() {
	loadKeys(nil)
	// In production the key source is a *jwks.Set from jwks.Discover or
	// jwks.New; a fixed key set keeps this example offline.
	key, err := validator.NewKey("key-1", &rsaKey.PublicKey, validator.RS256)
	if err != nil {
		log.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	v, err := validator.New(
		validator.WithIssuer("https://id.example.com/", validator.NewKeys(key)),
		validator.WithAudience("orders"),
		validator.WithClock(func() time.Time { return now }),
	)
	if err != nil {
		log.Fatal(err)
	}
	token := jwstest.Token(`{"alg":"RS256","kid":"key-1","typ":"at+jwt"}`,
		`{"iss":"https://id.example.com/","aud":"orders","sub":"svc-billing","client_id":"svc-billing",`+
			`"exp":1800000300,"iat":1800000000,"scope":"read:data"}`,
		jwstest.RS(rsaKey, crypto.SHA256))

	tok, err := v.Validate(context.Background(), token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.ClientID, tok.Scopes, tok.Expiry.Sub(now))

	// Scopes are checked per route.
	need := scopes.All("write:data")
	if missing := need.Missing(tok.Scopes); missing != nil {
		err = &validator.ScopeError{Missing: missing}
	}
	c := validator.ChallengeFor(err, "orders-api")
	fmt.Println(c.Status, c.Header)

	// Refusals are typed and map onto RFC 6750.
	_, err = v.Validate(context.Background(), token[:len(token)-4]+"AAAA")
	fmt.Println(errors.Is(err, validator.ErrSignature), errors.Is(err, validator.ErrInvalidToken))
	c = validator.ChallengeFor(err, "orders-api")
	fmt.Println(c.Status, c.Header)
	// Output:
	// svc-billing read:data 5m0s
	// 403 Bearer realm="orders-api", error="insufficient_scope", error_description="The access token lacks a required scope", scope="write:data"
	// true true
	// 401 Bearer realm="orders-api", error="invalid_token", error_description="The access token signature is invalid"
}
