package forwardauth_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/forwardauth"
)

// The Envoy gRPC service of a Decider New did not build panics where it
// is registered, and a decision that panics (a Guard, or a collaborator of
// its validator, built without its constructor) is a denied 503, never a
// gRPC error that failure_mode_allow would let through: grpc-go recovers
// no panic, and one Check ended the process (SECURITY.md 108).
func TestEnvoyServerOfUnbuiltValues(t *testing.T) {
	bad, err := forwardauth.New(nil, nil)
	if bad != nil || err == nil {
		t.Fatal("expected New to fail")
	}
	for name, d := range map[string]*forwardauth.Decider{"nil": bad, "zero": {}} {
		func() {
			defer func() {
				if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "not built by New") {
					t.Errorf("%s Decider: EnvoyServer registered without a word: %v", name, p)
				}
			}()
			d.EnvoyServer()
		}()
	}

	rs, err := forwardauth.ParseRules([]byte(testRules))
	if err != nil {
		t.Fatal(err)
	}
	d, err := forwardauth.New(&httpbearer.Guard{}, rs) // a Guard New did not build
	if err != nil {
		t.Fatal(err)
	}
	resp, err := envoyClient(t, d).Check(t.Context(), checkRequest("GET", "api.example.com", "/orders/7", map[string]string{"authorization": "Bearer x.y.z"}))
	if err != nil {
		t.Fatalf("Check = %v: a gRPC error, which failure_mode_allow lets through", err)
	}
	if code := codes.Code(resp.GetStatus().GetCode()); code != codes.Unavailable || resp.GetDeniedResponse().GetStatus().GetCode() != http.StatusServiceUnavailable {
		t.Errorf("Check = %v, denied %v; want Unavailable, 503", code, resp.GetDeniedResponse().GetStatus())
	}
}
