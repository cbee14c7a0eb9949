package forwardauth_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/forwardauth"
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
