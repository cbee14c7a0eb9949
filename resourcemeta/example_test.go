package resourcemeta_test

import (
	"fmt"
	"io"
	"net/http/httptest"

	"github.com/bearerguard/bearerguard/resourcemeta"
)

func ExampleNew() {
	md, err := resourcemeta.New("https://api.example.com/orders",
		resourcemeta.WithAuthorizationServers("https://id.example.com/"),
		resourcemeta.WithScopes("read:data", "write:data"))
	if err != nil {
		panic(err)
	}
	fmt.Println(md.URL())
	rec := httptest.NewRecorder()
	md.ServeHTTP(rec, httptest.NewRequest("GET", md.Path(), nil))
	body, _ := io.ReadAll(rec.Body)
	fmt.Print(string(body))
	// Output:
	// https://api.example.com/.well-known/oauth-protected-resource/orders
	// {"resource":"https://api.example.com/orders","authorization_servers":["https://id.example.com/"],"scopes_supported":["read:data","write:data"]}
}
