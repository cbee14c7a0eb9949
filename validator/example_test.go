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

// A worker that checks token after token reuses one Token: a cache hit
// then allocates only the token's Audience slice. What the Token held
// before is overwritten, and on error it is the zero Token.
func ExampleValidator_ValidateInto() {
	loadKeys(nil)
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
	token := func(client string, exp int64) string {
		return jwstest.Token(`{"alg":"RS256","kid":"key-1","typ":"at+jwt"}`,
			fmt.Sprintf(`{"iss":"https://id.example.com/","aud":"orders","sub":%q,"client_id":%q,"exp":%d,"iat":1800000000,"scope":"read:data"}`,
				client, client, exp),
			jwstest.RS(rsaKey, crypto.SHA256))
	}
	var tok validator.Token
	for _, t := range []string{token("svc-billing", 1800000300), token("svc-reports", 1800000300), token("svc-old", 1799999000)} {
		if err := v.ValidateInto(context.Background(), t, &tok); err != nil {
			fmt.Printf("refused (%v); client %q\n", err, tok.ClientID)
			continue
		}
		fmt.Println(tok.ClientID, tok.Scopes)
	}
	// Output:
	// svc-billing read:data
	// svc-reports read:data
	// refused (bearerguard: token expired); client ""
}
