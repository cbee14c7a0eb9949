package scopes_test

import (
	"fmt"

	"github.com/bearerguard/bearerguard/scopes"
)

func ExampleRequirement_Missing() {
	granted, err := scopes.Parse("read:data  profile read:data")
	if err != nil {
		panic(err)
	}
	need := scopes.All("read:data").And(scopes.Any("write:data", "admin"))
	fmt.Println(granted.List())
	fmt.Println(need.Satisfied(granted))
	fmt.Println(need.Missing(granted))
	// Output:
	// [read:data profile]
	// false
	// [write:data admin]
}

// A route that takes a delegated scope or an application role: the
// validated token (*validator.Token) is the Granter in a real service;
// here a Set, which grants scopes only.
func ExampleAnyOf() {
	need := scopes.AnyOf(scopes.Scope("read:data"), scopes.Role("Data.Read")).And(scopes.AllOf(scopes.Claim("/tier", "gold")))
	fmt.Println(need)
	fmt.Println(need.Scopes())
	fmt.Printf("%q\n", need.MissingFrom(scopes.MustParse("read:data")))
	// Output:
	// (read:data OR role:Data.Read) AND claim:/tier=gold
	// [read:data]
	// []
}
