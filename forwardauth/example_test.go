package forwardauth_test

import (
	"fmt"

	"github.com/bearerguard/bearerguard/forwardauth"
)

// Routes are tried in file order and the first match decides; requests
// no route matches get the default (deny unless the file says otherwise).
func ExampleParseRules() {
	rules, err := forwardauth.ParseRules([]byte(`
routes:
  - name: health
    path: /healthz
    open: true
  - name: no-admin
    path: /orders/admin/
    deny: true
  - name: read
    methods: [GET]
    path: /orders/{id}
    scopes: [orders:read]
  - name: write
    methods: [POST]
    path: /orders/
    scopes: [orders:write]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range [][2]string{{"GET", "/healthz"}, {"GET", "/orders/7"}, {"HEAD", "/orders/7"}, {"POST", "/orders/7"},
		{"GET", "/orders/admin/users"}, {"DELETE", "/orders/7"}} {
		route := rules.Match(r[0], "api.example.com", r[1])
		fmt.Printf("%-6s %-20s %-8s %s %s\n", r[0], r[1], route.Name(), route.Access(), route.Requirement())
	}
	fmt.Println(rules.Names())
	// Output:
	// GET    /healthz             health   open (none)
	// GET    /orders/7            read     token orders:read
	// HEAD   /orders/7            read     token orders:read
	// POST   /orders/7            write    token orders:write
	// GET    /orders/admin/users  no-admin deny (none)
	// DELETE /orders/7            default  deny (none)
	// [X-Auth-Subject X-Auth-Client-Id X-Auth-Scopes]
}
