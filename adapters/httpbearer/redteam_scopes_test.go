package httpbearer_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// Scope values that must not grant "admin" on a route requiring it, sent
// as real HTTP requests through a ServeMux. None may reach the handler.
func TestRedteamScopeConfusionNeverGrantsAdmin(t *testing.T) {
	v, mint := rtRawValidator(t)
	g, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /admin", g.Require(scopes.All("admin"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })))
	now := time.Now().Unix()
	base := fmt.Sprintf(`"iss":%q,"aud":"orders","sub":"s","iat":%d,"exp":%d`, rtIssuer, now, now+3600)
	for _, tt := range []struct{ name, claims string }{
		{"tab", `"scope":"read\tadmin"`},
		{"nbsp", `"scope":"read\u00a0admin"`},
		{"newline", `"scope":"read\nadmin"`},
		{"upper", `"scope":"ADMIN Admin"`},
		{"percent", `"scope":"%61dmin"`},
		{"prefix", `"scope":"admin:read administrator"`},
		{"scp element with space", `"scp":["read admin"]`},
		{"scope array element with space", `"scope":["read admin"]`},
		{"nested array", `"scp":[["admin"]]`},
		{"object", `"scp":{"admin":true}`},
		{"fullwidth", `"scope":"ａｄｍｉｎ"`},
		{"zero width", `"scope":"ad\u200bmin"`},
		{"nul", `"scope":"admin\u0000"`},
		{"duplicate scope, last admin", `"scope":"read","scope":"admin"`},
		{"case-variant claim name", `"scope":"read","Scope":"admin"`},
		{"long-s claim name", `"scope":"read","\u017fcope":"admin"`},
		{"escaped duplicate", `"scope":"read","sc\u006fpe":"admin"`},
	} {
		req := httptest.NewRequest("GET", "http://api/admin", nil)
		req.Header.Set("Authorization", "Bearer "+mint("{"+base+","+tt.claims+"}"))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code == 299 {
			t.Errorf("%s: %s reached the admin handler", tt.name, tt.claims)
		}
		t.Logf("%-32s %d %s", tt.name, rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

// Routing variants the ServeMux sends to a guarded handler all pass the
// guard: it wraps the handler, so there is no path of its own to confuse.
func TestRedteamRouteVariantsStayGuarded(t *testing.T) {
	v, mint := rtRawValidator(t)
	g, _ := httpbearer.New(v)
	reached := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) }
	mux := http.NewServeMux()
	mux.Handle("GET /admin", g.Require(scopes.All("admin"), http.HandlerFunc(reached)))
	mux.Handle("GET /admin/{rest...}", g.Require(scopes.All("admin"), http.HandlerFunc(reached)))
	mux.Handle("/", g.Require(scopes.All("read:data"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(298) })))
	now := time.Now().Unix()
	tok := mint(fmt.Sprintf(`{"iss":%q,"aud":"orders","sub":"s","iat":%d,"exp":%d,"scope":"read:data"}`, rtIssuer, now, now+3600))
	for _, p := range []string{"/admin", "/admin/", "/admin/x", "//admin", "/./admin", "/x/../admin", "/%61dmin", "/admin%2fx", "/admin/%2e%2e/admin", "/ADMIN", "/administrator"} {
		for _, m := range []string{"GET", "HEAD", "get", "POST"} {
			req := httptest.NewRequest("GET", "http://api/", nil)
			req.Method = m
			req.URL.Path, req.URL.RawPath = "", ""
			req.RequestURI = p
			u, _ := req.URL.Parse(p)
			req.URL = u
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code == 299 {
				t.Errorf("%s %s reached an admin handler with a read:data token", m, p)
			}
			if rec.Code == 298 && u.Path == "/admin" && (m == "GET" || m == "HEAD") {
				t.Errorf("%s %s reached the catch-all", m, p)
			}
		}
	}
}

// RFC 9470 step-up with an empty acr value: WithStepUp(StepUp{ACR:
// strings.Split(os.Getenv("ACR"), ",")}) with the variable unset is
// ACR [""], which a token without "acr" met, while a token with any real
// acr failed. WithStepUp refuses what it cannot require (an empty or
// unquotable acr value, a negative max age) as scopes.All refuses a bad
// scope, and StepUp.Check, reached by other callers, never takes a token
// without "acr" for one with "".
func TestRedteamStepUpEmptyACR(t *testing.T) {
	for _, s := range []validator.StepUp{
		{ACR: strings.Split("", ",")},
		{ACR: []string{"phr", ""}},
		{ACR: []string{"a b"}},
		{ACR: []string{`a"`}},
		{ACR: []string{"ä"}},
		{MaxAge: -time.Minute},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("WithStepUp(%+v) accepted", s)
				}
			}()
			httpbearer.WithStepUp(s)
		}()
	}
	httpbearer.WithStepUp(validator.StepUp{ACR: []string{"phr", "urn:mace:incommon:iap:silver"}, MaxAge: time.Minute}) // no panic

	v, mint := rtRawValidator(t)
	now := time.Now().Unix()
	tok, err := v.Validate(t.Context(), mint(fmt.Sprintf(`{"iss":%q,"aud":"orders","sub":"s","iat":%d,"exp":%d}`, rtIssuer, now, now+3600)))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.CheckStepUp(tok, validator.StepUp{ACR: []string{""}}); !errors.Is(err, validator.ErrInsufficientUserAuthentication) {
		t.Errorf("a token without acr met ACR [\"\"]: %v", err)
	}
}
