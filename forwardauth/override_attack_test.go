package forwardauth_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
)

// A request refused for what it names for the upstream is refused before
// its token is looked at: an unauthenticated caller cannot make the
// decision call out (a token with an unknown kid makes the key set
// refetch; here it never does), and the same request without the header
// does, so the count can move.
func TestOverrideRefusedBeforeAnyCallOut(t *testing.T) {
	f := newFixture(t, strings.Replace(hostRules, "%s", "", 1))
	unknown := f.iss.Mint(t, claims("orders:read"), bearertest.WithKeyID("unknown-kid"))
	before := f.iss.JWKSRequests()
	for _, extra := range []http.Header{
		{"X-Forwarded-Host": {"admin.example.com"}},
		{"Forwarded": {"host=admin.example.com"}},
		{"X-Original-Url": {"/admin"}},
		{"X-Http-Method-Override": {"A,B,C,D,E"}},
		{"X_Auth_Subject": {"admin"}},
	} {
		h := bearer(unknown)
		for k, v := range extra {
			h[k] = v
		}
		dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/orders/7", Header: h})
		if dec.Status != http.StatusBadRequest {
			t.Errorf("%v: %d (%v), want 400", extra, dec.Status, dec.Err)
		}
	}
	if n := f.iss.JWKSRequests(); n != before {
		t.Errorf("refused requests fetched the key set %d times, want none", n-before)
	}
	f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/orders/7", Header: bearer(unknown)})
	if f.iss.JWKSRequests() == before {
		t.Error("the same token without the headers fetched no key set either: the count proves nothing")
	}
}

// The checks keep nothing from one request for the next: decisions in
// parallel, each client naming its own host or none, each get the answer
// their own request calls for (run with -race).
func TestOverrideDecisionsIndependent(t *testing.T) {
	f := newFixture(t, strings.Replace(hostRules, "%s", "", 1))
	var wg sync.WaitGroup
	for i := range 8 {
		tok := f.token(t, "orders:read")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				h := bearer(tok)
				want := http.StatusOK
				if (i+j)%2 == 0 {
					h.Set("X-Forwarded-Host", "admin.example.com")
					want = http.StatusBadRequest
				}
				dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/orders/7", Header: h})
				if dec.Status != want {
					t.Errorf("client %d, request %d: %d (%v), want %d", i, j, dec.Status, dec.Err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
