package forwardauth_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/validator"
)

// An identity header a reloaded route file no longer sets (renamed, or a
// default turned off with "-") must still not reach the upstream with the
// client's value: Envoy's gRPC service removed a client's copy only of the
// headers its answer named, so after a reload that renamed X-Auth-Tenant
// the client's own X-Auth-Tenant passed (red-team of forward auth;
// SECURITY.md 142). Allowed answers now name every header ever in force,
// empty, and the gRPC answer removes them.
func TestRetiredIdentityHeadersRemoved(t *testing.T) {
	f := newFixture(t, testRules)
	c := envoyClient(t, f.d)
	read := f.token(t, "orders:read", "tenant", "acme")
	check := func() (set, removed []string) {
		t.Helper()
		resp, err := c.Check(t.Context(), checkRequest("GET", "api.example.com", "/orders/7",
			map[string]string{"authorization": "Bearer " + read, "x-auth-tenant": "victim", "x-auth-subject": "admin"}))
		if err != nil {
			t.Fatal(err)
		}
		ok := resp.GetOkResponse()
		if ok == nil {
			t.Fatalf("refused: %v", resp.GetDeniedResponse())
		}
		for _, h := range ok.GetHeaders() {
			set = append(set, h.GetHeader().GetKey())
		}
		return set, ok.GetHeadersToRemove()
	}
	if set, _ := check(); !slices.Contains(set, "x-auth-subject") {
		t.Fatalf("before the reload: headers set %v", set)
	}
	renamed := strings.Replace(testRules, "X-Auth-Tenant: tenant", "X-Auth-Org: tenant", 1)
	renamed = strings.Replace(renamed, "identity:\n", "identity:\n  subject: \"-\"\n", 1)
	rs, err := forwardauth.ParseRules([]byte(renamed))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.d.SetRules(rs); err != nil {
		t.Fatal(err)
	}
	set, removed := check()
	for _, name := range []string{"x-auth-tenant", "x-auth-subject"} {
		if !slices.Contains(removed, name) || slices.Contains(set, name) {
			t.Errorf("after the reload: %s neither removed nor set (set %v, removed %v)", name, set, removed)
		}
	}
	// Put back, it is set again, not removed.
	back, err := forwardauth.ParseRules([]byte(testRules))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.d.SetRules(back); err != nil {
		t.Fatal(err)
	}
	set, removed = check()
	if !slices.Contains(set, "x-auth-tenant") || slices.Contains(removed, "x-auth-tenant") || !slices.Contains(removed, "x-auth-org") {
		t.Errorf("put back: set %v, removed %v", set, removed)
	}
}

// A decision that started under one route file and finishes after a
// reload still names, empty, every identity header its own rules do not
// set: it once used the list built for the new rules, and so left out the
// defaults the new file set again, which the gateway then copied from the
// client (review of the fix).
func TestRetiredHeadersAcrossReload(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	const r1 = "default: deny\nidentity:\n  subject: X-User\n  client_id: \"-\"\n  scopes: \"-\"\nroutes:\n  - name: read\n    path: /orders/{id}\n    scopes: [orders:read]\n"
	const r2 = "default: deny\nroutes:\n  - name: read\n    path: /orders/{id}\n    scopes: [orders:read]\n"
	f := newFixtureWith(t, bearertest.NewIssuer(t), r1, []validator.Option{validator.WithoutTokenCache(),
		validator.WithClaimCheck(func(_ context.Context, tok *validator.Token) error {
			if tok.Subject == "slow" {
				entered <- struct{}{}
				<-release // a check that takes a moment: the reload happens meanwhile
			}
			return nil
		})})
	tok := f.token(t, "orders:read", "sub", "slow")
	done := make(chan *forwardauth.Decision)
	go func() {
		done <- f.d.Decide(context.Background(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/orders/7", Header: bearer(tok)})
	}()
	<-entered
	rs, err := forwardauth.ParseRules([]byte(r2))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.d.SetRules(rs); err != nil {
		t.Fatal(err)
	}
	close(release)
	dec := <-done
	if !dec.Allowed || dec.Header.Get("X-User") != "slow" {
		t.Fatalf("decision %d %v, headers %v", dec.Status, dec.Err, dec.Header)
	}
	for _, n := range []string{"X-Auth-Subject", "X-Auth-Client-Id", "X-Auth-Scopes"} {
		if v, ok := dec.Header[n]; !ok || len(v) != 1 || v[0] != "" {
			t.Errorf("%s: %q, want it empty (headers %v)", n, v, dec.Header)
		}
	}
}

// Route files are the operator's, but a service reloaded for a long time
// must not keep every identity header name it ever saw: the names kept
// for blanking stop at 256, while the rules in force are always set.
func TestRetiredNamesBounded(t *testing.T) {
	f := newFixture(t, testRules)
	for i := range 300 {
		rs, err := forwardauth.ParseRules([]byte(strings.Replace(testRules, "X-Auth-Tenant: tenant", fmt.Sprintf("X-Tenant-%d: tenant", i), 1)))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.d.SetRules(rs); err != nil {
			t.Fatal(err)
		}
	}
	dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/orders/7",
		Header: bearer(f.token(t, "orders:read", "tenant", "acme"))})
	if !dec.Allowed || dec.Header.Get("X-Tenant-299") != "acme" {
		t.Fatalf("decision %d %v, headers %d", dec.Status, dec.Err, len(dec.Header))
	}
	if n := len(dec.Header); n > 256+2 { // the names kept, and Cache-Control; the rules' own are among them
		t.Errorf("%d headers after 300 reloads, want at most 258", n)
	}
}
