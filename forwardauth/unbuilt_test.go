package forwardauth_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/validator"
)

// The Envoy gRPC service of a Decider New did not build panics where it
// is registered, New refuses a Guard httpbearer.New did not build, Decide
// on such a Decider refuses, and a decision that panics (a collaborator
// of the validator) is a denied 503, never a gRPC error that
// failure_mode_allow would let through: grpc-go recovers no panic, and
// one Check ended the process (SECURITY.md 108, 110).
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
	if _, err := forwardauth.New(&httpbearer.Guard{}, rs); err == nil || !strings.Contains(err.Error(), "httpbearer.New did not build") {
		t.Errorf("New over a zero Guard: %v", err)
	}
	for name, d := range map[string]*forwardauth.Decider{"nil": bad, "zero": {}} {
		if dec := d.Decide(t.Context(), forwardauth.Request{Method: "GET", URI: "/orders/7"}); dec.Allowed || dec.Status != http.StatusServiceUnavailable {
			t.Errorf("%s Decider: Decide = %d, want 503", name, dec.Status)
		}
	}

	// A collaborator that panics (a claim check, here).
	iss := bearertest.NewIssuer(t)
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience(audience),
		validator.WithClaimCheck(func(context.Context, *validator.Token) error { panic("a bug in a claim check") }))
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	d, err := forwardauth.New(g, rs)
	if err != nil {
		t.Fatal(err)
	}
	tok := iss.Mint(t, bearertest.Claims{"aud": audience, "scope": "orders:read"})
	resp, err := envoyClient(t, d).Check(t.Context(), checkRequest("GET", "api.example.com", "/orders/7", map[string]string{"authorization": "Bearer " + tok}))
	if err != nil {
		t.Fatalf("Check = %v: a gRPC error, which failure_mode_allow lets through", err)
	}
	if code := codes.Code(resp.GetStatus().GetCode()); code != codes.Unavailable || resp.GetDeniedResponse().GetStatus().GetCode() != http.StatusServiceUnavailable {
		t.Errorf("Check = %v, denied %v; want Unavailable, 503", code, resp.GetDeniedResponse().GetStatus())
	}
}

// panicky is a log handler that panics, as one whose sink was closed may.
type panicky struct{}

func (panicky) Enabled(context.Context, slog.Level) bool  { return true }
func (panicky) Handle(context.Context, slog.Record) error { panic("log sink closed") }
func (h panicky) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h panicky) WithGroup(string) slog.Handler           { return h }

// A logger that panics, in the decision and again in Check's recovery,
// still gets a denied 503: a second panic in the recovery escaped Check,
// and grpc-go ended the process (SECURITY.md 111).
func TestEnvoyRecoveryThatPanicsAgain(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	f := newFixtureFor(t, iss, testRules, forwardauth.WithLogger(slog.New(panicky{})))
	tok := iss.Mint(t, bearertest.Claims{"aud": audience, "scope": "none"}) // refused: logged at Debug
	resp, err := envoyClient(t, f.d).Check(t.Context(), checkRequest("GET", "api.example.com", "/orders/7", map[string]string{"authorization": "Bearer " + tok}))
	if err != nil || resp.GetDeniedResponse().GetStatus().GetCode() != http.StatusServiceUnavailable {
		t.Errorf("Check = %v, %v; want a denied 503", resp.GetDeniedResponse().GetStatus(), err)
	}
}
