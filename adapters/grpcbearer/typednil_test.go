package grpcbearer_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/grpcbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/validator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A nil *validator.Validator (v, _ := validator.New(…) with the error
// dropped) is refused by New: grpc-go does not recover a handler's panic,
// so the first call with a token would end the process.
func TestNewRefusesNilValidatorPointer(t *testing.T) {
	var v *validator.Validator
	if i, err := grpcbearer.New(v); err == nil || !strings.Contains(err.Error(), "nil validator") {
		t.Errorf("New(nil *Validator) = %v, %v; want an error", i, err)
	}
}

// Values New never built (a nil *Interceptor whose New error was dropped,
// a zero Interceptor, a zero Validator) once ended the process on their
// first call: grpc-go does not recover a handler's panic. Installing one
// now panics at start-up, and a call through one is refused
// (SECURITY.md 106).
func TestValuesNotBuiltByNew(t *testing.T) {
	var nilAuth *grpcbearer.Interceptor
	var zero grpcbearer.Interceptor
	for name, i := range map[string]*grpcbearer.Interceptor{"nil": nilAuth, "zero": &zero} {
		for what, install := range map[string]func(){
			"ServerOptions": func() { i.ServerOptions() },
			"Unary":         func() { i.Unary() },
			"Stream":        func() { i.Stream() },
		} {
			func() {
				defer func() {
					if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "not built by New") {
						t.Errorf("%s Interceptor: %s did not panic at start-up: %v", name, what, p)
					}
				}()
				install()
			}()
		}
		if _, err := i.Authorize(t.Context(), "/svc/M"); status.Code(err) != codes.Unavailable {
			t.Errorf("%s Interceptor: Authorize = %v, want Unavailable", name, err)
		}
	}

	auth, err := grpcbearer.New(&validator.Validator{})
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, auth, nil)
	if r := e.unary(t, bearer("x.y.z")...); r.code != codes.Unavailable {
		t.Errorf("a zero Validator: %v %q, want Unavailable", r.code, r.msg)
	}
}

// A validation that panics (a claim check of the application's) refuses
// the call as unavailable: grpc-go recovers no panic in a handler, and
// one call ended the process (SECURITY.md 110).
func TestValidationPanicIsUnavailable(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience("orders"),
		validator.WithClaimCheck(func(context.Context, *validator.Token) error { panic("a bug in a claim check") }))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := grpcbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, auth, nil)
	if r := e.unary(t, bearer(iss.Mint(t, bearertest.Claims{"aud": "orders"}))...); r.code != codes.Unavailable {
		t.Errorf("a validation that panicked: %v %q, want Unavailable", r.code, r.msg)
	}
	if r := e.unary(t, bearer(iss.Mint(t, bearertest.Claims{"aud": "orders"}))...); r.code != codes.Unavailable {
		t.Errorf("the server after a panic: %v %q, want Unavailable again", r.code, r.msg)
	}
}

// An Observer that panics (a bug of the application's; it runs for every
// refused call, one without a token included) is dropped: grpc-go recovers
// no panic, and anyone could end the server (SECURITY.md 111).
func TestObserverPanicIsDropped(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience("orders"))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := grpcbearer.New(v, grpcbearer.WithObserver(func(context.Context, string, error, validator.Challenge) {
		panic("a bug in the application's observer")
	}))
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, auth, nil)
	for range 2 {
		if r := e.unary(t); r.code != codes.Unauthenticated {
			t.Errorf("a call without a token: %v %q, want Unauthenticated", r.code, r.msg)
		}
	}
}
