package httpbearer_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// Requests built by hand (as users' unit tests build them) are refused or
// decided, never a panic, and a Guard New did not build panics where its
// handlers are built, at start-up, not on every request (SECURITY.md 106).
func TestHandBuiltRequestsAndUnbuiltGuards(t *testing.T) {
	v, mint := rtValidator(t)
	tok := mint(nil)
	form, err := httpbearer.New(v, httpbearer.WithFormToken())
	if err != nil {
		t.Fatal(err)
	}
	plain, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	panicOf := func(f func()) (p any) {
		defer func() { p = recover() }()
		f()
		return nil
	}

	// http.NewRequest with a nil body: no form, the header's token.
	r1, _ := http.NewRequest("POST", "http://api.example.com/data", nil)
	r1.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r1.Header.Set("Authorization", "Bearer "+tok)
	var got *validator.Token
	if p := panicOf(func() { got, err = form.Authenticate(httptest.NewRecorder(), r1) }); p != nil || err != nil || got == nil {
		t.Errorf("form Guard, POST with a nil Body: panic %v, %v", p, err)
	}

	// A request with no URL (a literal &http.Request{…}).
	r2 := &http.Request{Method: "GET", Header: http.Header{"Authorization": {"Bearer " + tok}}}
	if p := panicOf(func() { _, err = plain.Authenticate(httptest.NewRecorder(), r2) }); p != nil || !errors.Is(err, validator.ErrInvalidRequest) {
		t.Errorf("a request with a nil URL: panic %v, %v; want ErrInvalidRequest", p, err)
	}

	// A nil *Guard (New's error dropped) and a zero Guard.
	bad, err := httpbearer.New(v, httpbearer.WithRealm(`"`))
	if bad != nil || err == nil {
		t.Fatal("expected New to fail")
	}
	for name, g := range map[string]*httpbearer.Guard{"nil": bad, "zero": {}} {
		for what, build := range map[string]func(){
			"Optional":           func() { g.Optional(http.NotFoundHandler()) },
			"OptionalMiddleware": func() { g.OptionalMiddleware() },
			"Handler":            func() { g.Handler(http.NotFoundHandler()) },
			"Require":            func() { g.Require(scopes.All("read:data"), http.NotFoundHandler()) },
			"Middleware":         func() { g.Middleware(scopes.All("read:data")) },
		} {
			if p := panicOf(build); p == nil || !strings.Contains(fmt.Sprint(p), "not built by New") {
				t.Errorf("%s Guard: %s built a handler without a word: %v", name, what, p)
			}
		}
	}
}
