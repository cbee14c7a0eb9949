package forwardauth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// boundRules: a route that needs more than the token a guard in front of
// the Decider bound to the context (SECURITY.md 105).
const boundRules = `
default: deny
routes:
  - name: admin
    path: /admin/
    scopes: [admin]
  - name: read
    path: /orders/
    scopes: [orders:read]
`

// Decide once judged the original request on the token a Guard bound to
// ctx, not on req.Header: the guard it calls reused any binding of a Guard with
// the same validator and settings that it finds in ctx. A service that
// authenticates itself with the shared Guard and then asks the Decider
// about an end user's request (a custom authz endpoint) gets the answer
// for its own token: a request carrying no token, or another user's
// token, is allowed with the service's identity.
func TestDecideIgnoresBindingInContext(t *testing.T) {
	f := newFixture(t, boundRules)
	service := f.iss.Mint(t, bearertest.Claims{"aud": audience, "scope": "admin orders:read", "sub": "svc-gateway"})
	user := f.iss.Mint(t, bearertest.Claims{"aud": audience, "scope": "orders:read", "sub": "alice"})

	// Baseline: the decision on the user's own request.
	alone := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/admin/users", Header: bearer(user)})
	anon := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/admin/users", Header: http.Header{}})
	t.Logf("alone: alice -> %d, no token -> %d", alone.Status, anon.Status)

	var withUser, withNone *forwardauth.Decision
	authz := f.g.Require(scopes.All("orders:read"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		withUser = f.d.Decide(r.Context(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/admin/users", Header: bearer(user)})
		withNone = f.d.Decide(r.Context(), forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/admin/users", Header: http.Header{}})
	}))
	req := httptest.NewRequest("POST", "/authz", nil)
	req.Header.Set("Authorization", "Bearer "+service)
	authz.ServeHTTP(httptest.NewRecorder(), req)
	t.Logf("inside the service's guarded request: alice -> %d %v, no token -> %d %v",
		withUser.Status, withUser.Header["X-Auth-Subject"], withNone.Status, withNone.Header["X-Auth-Subject"])
	if alone.Allowed || anon.Allowed {
		t.Fatal("baseline should refuse")
	}
	if withUser.Allowed || withNone.Allowed {
		t.Errorf("Decide allowed /admin/users for alice's request (or one without a token), as %v: it decided on the token bound to ctx, not on req.Header",
			withUser.Header["X-Auth-Subject"])
	}
}

// The same through the Decider's own HTTP front end: mounted behind a
// site-wide Optional over the same Guard (chi's r.Use(guard.OptionalMiddleware())),
// the Traefik handler reused the token the outer Guard took from the auth
// request and never extracted from the original request: an original URI
// that carries a second token in its query (refused 400 alone, finding 65's
// class) was allowed with the header token's identity.
func TestFrontEndBehindGuardDecidesOnOriginalRequest(t *testing.T) {
	f := newFixture(t, boundRules)
	alice := f.iss.Mint(t, bearertest.Claims{"aud": audience, "scope": "orders:read", "sub": "alice"})
	other := f.iss.Mint(t, bearertest.Claims{"aud": audience, "scope": "orders:read", "sub": "mallory"})
	ask := func(h http.Handler) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/traefik", nil)
		r.RemoteAddr = "127.0.0.1:4000"
		r.Header.Set("X-Forwarded-Method", "GET")
		r.Header.Set("X-Forwarded-Host", "api.example.com")
		r.Header.Set("X-Forwarded-Uri", "/orders/1?access_token="+other)
		r.Header.Set("Authorization", "Bearer "+alice)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	alone := ask(f.d.TraefikHandler())
	behind := ask(f.g.Optional(f.d.TraefikHandler()))
	t.Logf("alone: %d; behind the shared Guard's Optional: %d %v", alone.Code, behind.Code, behind.Header()["X-Auth-Subject"])
	if alone.Code != http.StatusBadRequest {
		t.Fatalf("baseline: %d, want 400", alone.Code)
	}
	if behind.Code != alone.Code {
		t.Errorf("the same original request is decided %d alone and %d behind the Guard", alone.Code, behind.Code)
	}
}

// Finding 69's fix (the Traefik front end never reads a certificate: Traefik
// passes on a certificate header the client wrote) was undone when the
// handler sits behind the application's Guard: that Guard (WithClientCertHeader
// trusting the proxy's address, as the application behind Traefik needs) reads
// the client-written header on the auth request itself, accepts a stolen
// certificate-bound token with the victim's public certificate, and the
// Decider reuses its binding.
func TestFrontEndBehindGuardReadsNoClientCertificateHeader(t *testing.T) {
	ca := bearertest.MustClientCA(t)
	_, victim := ca.MustIssue(t, "victim")
	iss := bearertest.NewIssuer(t)
	keys := iss.KeySet(t)
	v, err := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithAudience(audience))
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpbearer.New(v, httpbearer.WithClientCertHeader("X-Forwarded-Tls-Client-Cert", httpbearer.EscapedPEM, "127.0.0.0/8", "::1"))
	if err != nil {
		t.Fatal(err)
	}
	rs, _ := forwardauth.ParseRules([]byte(boundRules))
	d, err := forwardauth.New(g, rs)
	if err != nil {
		t.Fatal(err)
	}
	stolen := iss.Mint(t, bearertest.Claims{"aud": audience, "scope": "orders:read", "sub": "victim"}, bearertest.BoundToCertificate(victim))
	ask := func(h http.Handler) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/traefik", nil)
		r.RemoteAddr = "127.0.0.1:4000" // Traefik
		r.Header.Set("X-Forwarded-Method", "GET")
		r.Header.Set("X-Forwarded-Host", "api.example.com")
		r.Header.Set("X-Forwarded-Uri", "/orders/1")
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("Authorization", "Bearer "+stolen)
		r.Header.Set("X-Forwarded-Tls-Client-Cert", bearertest.EscapedPEM(victim)) // written by the attacker
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	alone := ask(d.TraefikHandler())
	behind := ask(g.Optional(d.TraefikHandler()))
	t.Logf("stolen cert-bound token + client-written certificate header: alone %d, behind the Guard %d %v",
		alone.Code, behind.Code, behind.Header()["X-Auth-Subject"])
	if alone.Code != http.StatusUnauthorized {
		t.Fatalf("baseline %d, want 401", alone.Code)
	}
	if behind.Code == http.StatusOK {
		t.Error("behind the application's Guard, the Traefik front end allowed a stolen certificate-bound token on a client-written certificate header")
	}
}
