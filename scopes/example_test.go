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
