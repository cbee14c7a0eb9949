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

// A multi-tenant issuer: each allowed tenant's issuer is the template with
// its id, "tid" must match, and the tenant's application roles are read
// from "roles". (Package providers builds this for Entra ID.)
func ExampleWithTenantIssuers() {
	loadKeys(nil)
	key, err := validator.NewKey("k", &rsaKey.PublicKey, validator.RS256)
	if err != nil {
		log.Fatal(err)
	}
	v, err := validator.New(
		validator.WithTenantIssuers("https://login.example.com/{tenantid}/v2.0", []string{"tenant-a", "tenant-b"}, validator.NewKeys(key),
			validator.IssuerAudience("api://orders"), validator.IssuerRoleClaims("/roles")),
		validator.WithClock(func() time.Time { return time.Unix(1_800_000_000, 0) }),
	)
	if err != nil {
		log.Fatal(err)
	}
	mint := func(issTenant, tid string) string {
		return jwstest.Token(`{"alg":"RS256","kid":"k","typ":"JWT"}`,
			`{"iss":"https://login.example.com/`+issTenant+`/v2.0","tid":"`+tid+`","aud":"api://orders",`+
				`"exp":1800000300,"roles":["Data.Read"]}`, jwstest.RS(rsaKey, crypto.SHA256))
	}
	need := scopes.AnyOf(scopes.Scope("read:data"), scopes.Role("Data.Read"))
	tok, err := v.Validate(context.Background(), mint("tenant-a", "tenant-a"))
	fmt.Println(err, tok.Roles.List(), need.SatisfiedBy(tok))
	_, err = v.Validate(context.Background(), mint("tenant-a", "tenant-b"))
	fmt.Println(errors.Is(err, validator.ErrIssuer))
	_, err = v.Validate(context.Background(), mint("tenant-c", "tenant-c"))
	fmt.Println(errors.Is(err, validator.ErrIssuer))
	// Output:
	// <nil> [Data.Read] true
	// true
	// true
}
