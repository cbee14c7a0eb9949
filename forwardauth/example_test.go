package forwardauth_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/validator"
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
		fmt.Printf("%-6s %-20s %-8s %-13s %s\n", r[0], r[1], route.Name(), route.Access(), route.Requirement())
	}
	fmt.Println(rules.Names())
	// Output:
	// GET    /healthz             health   open          (none)
	// GET    /orders/7            read     authenticated orders:read
	// HEAD   /orders/7            read     authenticated orders:read
	// POST   /orders/7            write    authenticated orders:write
	// GET    /orders/admin/users  no-admin deny          (none)
	// DELETE /orders/7            default  deny          (none)
	// [X-Auth-Subject X-Auth-Client-Id X-Auth-Scopes]
}

// A Decider over a Guard decides on the original requests gateways ask
// about; an allowed answer carries the identity headers for the upstream.
func ExampleDecider_Decide() {
	iss, err := bearertest.Start() // an in-process issuer on loopback, for the example
	if err != nil {
		fmt.Println(err)
		return
	}
	defer iss.Close()
	keys, _ := iss.NewKeySet()
	defer keys.Close()
	v, _ := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithAudience("orders"))
	guard, _ := httpbearer.New(v, httpbearer.WithRealm("orders"))
	rules, err := forwardauth.ParseRules([]byte("routes:\n  - methods: [GET]\n    path: /orders/{id}\n    scopes: [orders:read]\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	d, err := forwardauth.New(guard, rules)
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, _ := iss.MintToken(bearertest.Claims{"aud": "orders", "scope": "orders:read", "sub": "svc-7", "client_id": "svc-7"})
	for _, r := range []forwardauth.Request{
		{Method: "GET", Host: "api.example.com", URI: "/orders/1", Header: http.Header{"Authorization": {"Bearer " + tok}}},
		{Method: "GET", Host: "api.example.com", URI: "/orders/1"},
		{Method: "POST", Host: "api.example.com", URI: "/orders/1", Header: http.Header{"Authorization": {"Bearer " + tok}}},
	} {
		dec := d.Decide(context.Background(), r)
		challenge, _, _ := strings.Cut(dec.Header.Get("WWW-Authenticate"), ",") // the Bearer challenge; a DPoP one follows
		fmt.Printf("%s %s: %d subject=%q challenge=%q\n", r.Method, r.URI, dec.Status, dec.Header.Get("X-Auth-Subject"), challenge)
	}
	// Output:
	// GET /orders/1: 200 subject="svc-7" challenge=""
	// GET /orders/1: 401 subject="" challenge="Bearer realm=\"orders\""
	// POST /orders/1: 403 subject="" challenge=""
}

// A route written after a broader one decides no request: the broader
// route, first, takes them all.
func ExampleRules_Shadowed() {
	rules, err := forwardauth.ParseRules([]byte(`
routes:
  - name: public
    path: /public/{p...}
    open: true
  - name: public-admin
    path: /public/admin
    scopes: [admin]
`))
	if err != nil {
		panic(err)
	}
	found, _ := rules.Shadowed()
	for _, why := range found {
		fmt.Println(why)
	}
	// Output: route "public-admin" decides no request: route "public", before it, matches every request it matches
}
