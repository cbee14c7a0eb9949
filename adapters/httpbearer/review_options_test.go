package httpbearer_test

// Secrets in output (red-team review): options refusing a URL for its user info or
// query quote it whole, user info and query included.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

type nopValidator struct{}

func (nopValidator) Validate(context.Context, string) (*validator.Token, error) {
	return nil, validator.ErrInvalidToken
}

func TestOptionErrorsHideRefusedURLSecrets(t *testing.T) {
	for _, o := range []struct {
		name   string
		opt    httpbearer.Option
		secret string
	}{
		{"WithPublicURL", httpbearer.WithPublicURL("https://u:PUB-PW-s3cr3t@api.example.com/"), "PUB-PW-s3cr3t"},
		{"WithResourceMetadata", httpbearer.WithResourceMetadata("https://u:RM-PW-s3cr3t@api.example.com/.well-known/oauth-protected-resource"), "RM-PW-s3cr3t"},
	} {
		_, err := httpbearer.New(nopValidator{}, o.opt)
		if err == nil || strings.Contains(err.Error(), o.secret) {
			t.Errorf("%s: the error shows the URL's password: %v", o.name, err)
		}
	}
}

// A nil *validator.Validator (v, _ := validator.New(…) with the error
// dropped) is refused by New, not left to panic on the first request.
func TestNewRefusesNilValidatorPointer(t *testing.T) {
	var v *validator.Validator
	if g, err := httpbearer.New(v); err == nil || !strings.Contains(err.Error(), "nil validator") {
		t.Errorf("New(nil *Validator) = %v, %v; want an error", g, err)
	}
}

// A malformed "Authorization: DPoP …" is answered on the DPoP challenge,
// the scheme the client used (RFC 9449 §7.1), not on the Bearer one; with
// DPoP off, the DPoP scheme is one this API does not support, answered as
// no credentials are (RFC 6750 §3.1: 401, a bare Bearer challenge), well
// formed or not, with one proof or two.
func TestMalformedDPoPHeaderChallenge(t *testing.T) {
	for _, tt := range []struct {
		mode   validator.DPoPMode
		status int
		want   string
	}{
		{validator.DPoPAllowed, 400, `DPoP error="invalid_request"`},
		{validator.DPoPOff, 401, `Bearer`},
	} {
		v, _ := rtValidator(t, validator.WithDPoP(tt.mode))
		g, err := httpbearer.New(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, header := range []string{"DPoP a b", "DPoP", "dpop !!"} {
			r := httptest.NewRequest("GET", "/x", nil)
			r.Header.Set("Authorization", header)
			w := httptest.NewRecorder()
			g.Handler(http.NotFoundHandler()).ServeHTTP(w, r)
			if www := w.Header().Get("WWW-Authenticate"); w.Code != tt.status || !strings.Contains(www, tt.want) ||
				(tt.status == 401 && strings.Contains(www, "error=")) {
				t.Errorf("%v, %q: %d %s; want %d with %s", tt.mode, header, w.Code, www, tt.status, tt.want)
			}
		}
	}
	// DPoP off: a well-formed DPoP request, with one proof or two, is no
	// credentials of ours: 401 with a bare challenge, never a DPoP error
	// code on a Bearer challenge.
	v, _ := rtValidator(t, validator.WithDPoP(validator.DPoPOff))
	g, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, proofs := range [][]string{nil, {"x.y.z"}, {"x.y.z", "a.b.c"}} {
		r := httptest.NewRequest("GET", "/x", nil)
		r.Header.Set("Authorization", "DPoP abc")
		r.Header["Dpop"] = proofs
		w := httptest.NewRecorder()
		g.Handler(http.NotFoundHandler()).ServeHTTP(w, r)
		if www := w.Header().Get("WWW-Authenticate"); w.Code != 401 || www != "Bearer" {
			t.Errorf("DPoP off, %d proofs: %d %q; want 401 with a bare Bearer challenge", len(proofs), w.Code, www)
		}
	}
}

// With DPoP off, an "Authorization: DPoP" header is no credentials of ours
// when alone, but beside a token sent another way it is a second token,
// refused as "Bearer" beside one is (400): a request with two tokens must
// never be decided on one while an upstream, or a nested guard, reads the
// other.
func TestDPoPOffHeaderBesideAnotherToken(t *testing.T) {
	v, mint := rtValidator(t, validator.WithDPoP(validator.DPoPOff))
	g, err := httpbearer.New(v, httpbearer.WithCookie("at"), httpbearer.WithQueryToken())
	if err != nil {
		t.Fatal(err)
	}
	good := mint(nil)
	for _, tt := range []struct {
		name, authz, target, cookie string
		want                        int
	}{
		{"DPoP header alone", "DPoP " + good, "/x", "", 401},
		{"DPoP header and a cookie", "DPoP other.token.here", "/x", good, 400},
		{"DPoP header and a query token", "DPoP other.token.here", "/x?access_token=" + good, "", 400},
		{"malformed DPoP header and a cookie", "DPoP", "/x", good, 400},
		{"Bearer header and a cookie", "Bearer other.token.here", "/x", good, 400},
		{"Basic header and a cookie", "Basic dXNlcjpwYXNz", "/x", good, 200},
		{"a cookie alone", "", "/x", good, 200},
	} {
		r := httptest.NewRequest("GET", tt.target, nil)
		if tt.authz != "" {
			r.Header.Set("Authorization", tt.authz)
		}
		if tt.cookie != "" {
			r.AddCookie(&http.Cookie{Name: "at", Value: tt.cookie})
		}
		w := httptest.NewRecorder()
		g.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})).ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s: %d %q, want %d", tt.name, w.Code, w.Header().Get("WWW-Authenticate"), tt.want)
		}
	}
}

// The insufficient_scope challenge names every scope the request needs,
// those the token holds included (RFC 6750 §3.1: "the scope necessary to
// access the protected resource"): a client that asks for exactly it gets
// a token that passes, where one that asked for the missing scopes alone
// lost the ones it had and was refused again.
func TestScopeChallengeNamesTheScopesNeeded(t *testing.T) {
	v, mint := rtValidator(t)
	g, err := httpbearer.New(v, httpbearer.WithRealm("orders"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		req   scopes.Requirement
		has   string
		scope string
	}{
		{"all of two, one held", scopes.All("read:data", "write:data"), "read:data", "read:data write:data"},
		{"any of two, none held", scopes.Any("admin", "owner"), "read:data", "admin owner"},
		{"a met any-of and an unmet all-of", scopes.All("write:data").And(scopes.Any("read:data", "admin")), "read:data", "write:data read:data"},
	} {
		r := httptest.NewRequest("GET", "/x", nil)
		r.Header.Set("Authorization", "Bearer "+mint(map[string]any{"scope": tt.has}))
		w := httptest.NewRecorder()
		g.Require(tt.req, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(w, r)
		if www := w.Header().Get("WWW-Authenticate"); w.Code != 403 || !strings.Contains(www, `scope="`+tt.scope+`"`) {
			t.Errorf("%s: %d %q, want 403 with scope=%q", tt.name, w.Code, www, tt.scope)
		}
	}
}
