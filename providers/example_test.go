package providers_test

import (
	"fmt"

	"github.com/bearerguard/bearerguard/providers"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// A multi-tenant Entra ID API accepting two customer tenants, v1 and v2
// tokens, and routes that take a delegated scope or an application role.
// (The base URLs point at an unused loopback port here, so that the
// example makes no call outside the machine; leave them out in
// production.)
func ExampleEntraMultiTenant() {
	entra, err := providers.EntraMultiTenant(
		[]string{"72f988bf-86f1-41af-91ab-2d7cd011db47", "9188040d-6c67-4c5b-b112-36a304b66dad"},
		[]string{"api://orders", "6e74172b-be56-4843-9ff4-e66a39bb12e3"},
		providers.WithEntraVersions(1, 2),
		providers.WithBaseURL("http://127.0.0.1:9/login"), providers.WithEntraV1IssuerURL("http://127.0.0.1:9/sts"),
		providers.WithInsecureLoopbackHTTP())
	if err != nil {
		panic(err)
	}
	defer entra.Close()
	v, err := validator.New(entra.Option())
	if err != nil {
		panic(err)
	}
	_ = v // guard routes with httpbearer.New(v), …
	for _, iss := range entra.Issuers() {
		fmt.Println(iss)
	}
	fmt.Println(scopes.AnyOf(scopes.Scope("read:data"), scopes.Role("Data.Read")))
	// Output:
	// http://127.0.0.1:9/sts/72f988bf-86f1-41af-91ab-2d7cd011db47/
	// http://127.0.0.1:9/sts/9188040d-6c67-4c5b-b112-36a304b66dad/
	// http://127.0.0.1:9/login/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0
	// http://127.0.0.1:9/login/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0
	// (read:data OR role:Data.Read)
}

// Amazon Cognito: access tokens of two app clients of one user pool.
func ExampleCognito() {
	cognito, err := providers.Cognito("eu-west-1", "eu-west-1_Orders", []string{"app-orders", "app-reports"},
		providers.WithBaseURL("http://127.0.0.1:9"), providers.WithInsecureLoopbackHTTP())
	if err != nil {
		panic(err)
	}
	defer cognito.Close()
	fmt.Println(cognito.Name(), cognito.Issuers())
	// Output:
	// cognito [http://127.0.0.1:9/eu-west-1_Orders]
}
