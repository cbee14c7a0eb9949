package forwardauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/validator"
)

func TestDecide(t *testing.T) {
	f := newFixture(t, testRules)
	read := f.token(t, "orders:read", "tenant", "acme")
	write := f.token(t, "orders:read orders:write")
	reports := f.token(t, "admin")
	wrongAud := f.iss.Mint(t, bearertest.Claims{"aud": "billing", "scope": "orders:read"})
	expired := f.iss.Mint(t, bearertest.Claims{"aud": audience, "scope": "orders:read"}, bearertest.ExpiresIn(-time.Hour))

	tests := []struct {
		name       string
		req        forwardauth.Request
		wantStatus int
		wantRoute  string
		wantErr    error
		wantChal   string // substring of WWW-Authenticate; "-" for none
		wantHeader map[string]string
	}{
		{name: "read allowed", req: forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/orders/7?expand=items", Header: bearer(read)},
			wantStatus: 200, wantRoute: "read", wantHeader: map[string]string{"X-Auth-Subject": "user-1", "X-Auth-Client-Id": "app-1", "X-Auth-Scopes": "orders:read", "X-Auth-Tenant": "acme"}},
		{name: "absent claim is empty", req: forwardauth.Request{Method: "POST", URI: "/orders/", Header: bearer(write)},
			wantStatus: 200, wantRoute: "write", wantHeader: map[string]string{"X-Auth-Subject": "user-1", "X-Auth-Tenant": "", "X-Auth-Scopes": "orders:read orders:write"}},
		{name: "no token", req: forwardauth.Request{Method: "GET", URI: "/orders/7", Header: bearer("")},
			wantStatus: 401, wantRoute: "read", wantErr: validator.ErrNoToken, wantChal: `Bearer realm="orders"`},
		{name: "read-only token writing", req: forwardauth.Request{Method: "PUT", URI: "/orders/7", Header: bearer(read)},
			wantStatus: 403, wantRoute: "write", wantErr: validator.ErrInsufficientScope, wantChal: `error="insufficient_scope"`},
		{name: "wrong audience", req: forwardauth.Request{Method: "GET", URI: "/orders/7", Header: bearer(wrongAud)},
			wantStatus: 401, wantRoute: "read", wantErr: validator.ErrInvalidToken, wantChal: `error="invalid_token"`},
		{name: "expired", req: forwardauth.Request{Method: "GET", URI: "/orders/7", Header: bearer(expired)},
			wantStatus: 401, wantRoute: "read", wantErr: validator.ErrInvalidToken, wantChal: `error="invalid_token"`},
		{name: "malformed authorization", req: forwardauth.Request{Method: "GET", URI: "/orders/7", Header: http.Header{"Authorization": {"Bearer a b"}}},
			wantStatus: 400, wantRoute: "read", wantErr: validator.ErrInvalidRequest, wantChal: `error="invalid_request"`},
		{name: "query token not accepted", req: forwardauth.Request{Method: "GET", URI: "/orders/7?access_token=" + read, Header: bearer("")},
			wantStatus: 400, wantRoute: "read", wantErr: validator.ErrInvalidRequest},
		{name: "open route, no token", req: forwardauth.Request{Method: "GET", URI: "/healthz", Header: bearer("")},
			wantStatus: 200, wantRoute: "health", wantHeader: map[string]string{"X-Auth-Subject": "", "X-Auth-Client-Id": "", "X-Auth-Scopes": "", "X-Auth-Tenant": ""}},
		{name: "open route ignores a token", req: forwardauth.Request{Method: "GET", URI: "/healthz", Header: bearer(read)},
			wantStatus: 200, wantRoute: "health", wantHeader: map[string]string{"X-Auth-Subject": ""}},
		{name: "deny route", req: forwardauth.Request{Method: "GET", URI: "/orders/admin/users", Header: bearer(write)},
			wantStatus: 403, wantRoute: "admin", wantErr: forwardauth.ErrDenied, wantChal: "-"},
		{name: "unmatched: default deny", req: forwardauth.Request{Method: "DELETE", URI: "/orders/7", Header: bearer(write)},
			wantStatus: 403, wantRoute: "default", wantErr: forwardauth.ErrDenied, wantChal: "-"},
		{name: "any scope", req: forwardauth.Request{Method: "GET", Host: "reports.example.com", URI: "/q3", Header: bearer(reports)},
			wantStatus: 200, wantRoute: "reports"},
		{name: "any scope missing", req: forwardauth.Request{Method: "GET", Host: "reports.example.com", URI: "/q3", Header: bearer(read)},
			wantStatus: 403, wantRoute: "reports", wantErr: validator.ErrInsufficientScope, wantChal: `scope="reports:read admin"`},
		{name: "dot segment", req: forwardauth.Request{Method: "GET", URI: "/healthz/../orders/admin/x", Header: bearer(write)},
			wantStatus: 400, wantErr: forwardauth.ErrOriginalRequest, wantChal: "-"},
		{name: "escaped dot segment", req: forwardauth.Request{Method: "GET", URI: "/healthz/%2e%2E/orders/admin/x"},
			wantStatus: 400, wantErr: forwardauth.ErrOriginalRequest},
		{name: "absolute-form target", req: forwardauth.Request{Method: "GET", URI: "http://evil/healthz"},
			wantStatus: 400, wantErr: forwardauth.ErrOriginalRequest},
		{name: "bad method", req: forwardauth.Request{Method: "get", URI: "/healthz"},
			wantStatus: 400, wantErr: forwardauth.ErrOriginalRequest},
		{name: "bad host", req: forwardauth.Request{Method: "GET", Host: "a b", URI: "/healthz"},
			wantStatus: 400, wantErr: forwardauth.ErrOriginalRequest},
		{name: "bad scheme", req: forwardauth.Request{Method: "GET", Scheme: "gopher", URI: "/healthz"},
			wantStatus: 400, wantErr: forwardauth.ErrOriginalRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := f.d.Decide(t.Context(), tt.req)
			if dec.Status != tt.wantStatus || dec.Allowed != (tt.wantStatus == 200) {
				t.Fatalf("Decide = %d (allowed %v, %v), want %d", dec.Status, dec.Allowed, dec.Err, tt.wantStatus)
			}
			if tt.wantRoute != "" && dec.Route != tt.wantRoute {
				t.Errorf("route %q, want %q", dec.Route, tt.wantRoute)
			}
			if !errors.Is(dec.Err, tt.wantErr) || (tt.wantErr == nil) != (dec.Err == nil) {
				t.Errorf("error %v, want %v", dec.Err, tt.wantErr)
			}
			chal := dec.Header.Get("WWW-Authenticate")
			switch {
			case tt.wantChal == "-" && chal != "":
				t.Errorf("WWW-Authenticate %q, want none", chal)
			case tt.wantChal != "-" && !strings.Contains(chal, tt.wantChal):
				t.Errorf("WWW-Authenticate %q, want it to contain %q", chal, tt.wantChal)
			}
			for k, want := range tt.wantHeader {
				got, ok := dec.Header[k]
				if !ok || len(got) != 1 || got[0] != want {
					t.Errorf("header %s = %q (present %v), want %q", k, got, ok, want)
				}
			}
			if dec.Allowed {
				for _, n := range f.d.HeaderNames() {
					if _, ok := dec.Header[n]; !ok {
						t.Errorf("allowed answer lacks identity header %s: every answer sets every one", n)
					}
				}
			} else if len(dec.Body) == 0 || dec.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("refusal body %q, Cache-Control %q; want a JSON body and no-store", dec.Body, dec.Header.Get("Cache-Control"))
			}
			if tt.req.Header != nil && strings.Contains(string(dec.Body)+dec.Header.Get("WWW-Authenticate"), "eyJ") {
				t.Errorf("the answer echoes a token")
			}
		})
	}
}

// DPoP: the proof is checked against the original method and URL, as
// the Guard's own middleware checks it.
func TestDecideDPoP(t *testing.T) {
	f := newFixture(t, testRules)
	key := bearertest.MustDPoPKey(t, "")
	tok := f.iss.Mint(t, bearertest.Claims{"aud": audience, "scope": "orders:read", "sub": "user-1"}, bearertest.BoundToKey(key))
	dpop := func(method, url string) http.Header {
		return http.Header{"Authorization": {"DPoP " + tok}, "Dpop": {key.MustProof(t, method, url, tok)}}
	}
	tests := []struct {
		name   string
		req    forwardauth.Request
		status int
	}{
		{"proof for the original URL", forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/orders/7", Header: dpop("GET", "https://api.example.com/orders/7")}, 200},
		{"http scheme", forwardauth.Request{Method: "GET", Scheme: "http", Host: "api.example.com", URI: "/orders/7", Header: dpop("GET", "http://api.example.com/orders/7")}, 200},
		{"proof for another path", forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/orders/8", Header: dpop("GET", "https://api.example.com/orders/7")}, 401},
		{"proof for another host", forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/orders/7", Header: dpop("GET", "https://evil.example.com/orders/7")}, 401},
		{"proof for another method", forwardauth.Request{Method: "HEAD", Host: "api.example.com", URI: "/orders/7", Header: dpop("GET", "https://api.example.com/orders/7")}, 401},
		{"bound token as Bearer", forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/orders/7", Header: bearer(tok)}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := f.d.Decide(t.Context(), tt.req)
			if dec.Status != tt.status {
				t.Fatalf("Decide = %d (%v), want %d", dec.Status, dec.Err, tt.status)
			}
			if tt.status == 401 && !strings.Contains(dec.Header.Get("WWW-Authenticate"), "DPoP") {
				t.Errorf("WWW-Authenticate %q, want a DPoP challenge", dec.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// Keys that cannot be had answer 503 with Retry-After, as the adapters do.
func TestDecideUnavailable(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	f := newFixtureFor(t, iss, testRules)
	dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", URI: "/orders/7", Header: bearer(f.token(t, "orders:read"))})
	if dec.Status != 503 || dec.Header.Get("Retry-After") == "" || !errors.Is(dec.Err, validator.ErrUnavailable) {
		t.Fatalf("Decide = %d, Retry-After %q, %v; want 503 with Retry-After, ErrUnavailable", dec.Status, dec.Header.Get("Retry-After"), dec.Err)
	}
}

// Identity values: escaped so that no value can inject a header or
// collide with another, and refused, not truncated, over the cap.
func TestIdentityValues(t *testing.T) {
	f := newFixture(t, "default: authenticated\nidentity:\n  max_length: 32\n  claims: {X-Auth-Name: name, X-Auth-Groups: groups, X-Auth-Level: level}\n")
	tests := []struct {
		name   string
		claims []any
		status int
		want   map[string]string
	}{
		{"plain", []any{"name", "Ann"}, 200, map[string]string{"X-Auth-Name": "Ann"}},
		{"CRLF injection", []any{"name", "Ann\r\nX-Auth-Subject: admin"}, 200, map[string]string{"X-Auth-Name": "Ann%0D%0AX-Auth-Subject: admin"}},
		{"NUL", []any{"sub", "admin\x00"}, 200, map[string]string{"X-Auth-Subject": "admin%00"}},
		{"trailing space", []any{"sub", "admin "}, 200, map[string]string{"X-Auth-Subject": "admin%20"}},
		{"percent", []any{"sub", "a%0A"}, 200, map[string]string{"X-Auth-Subject": "a%250A"}},
		{"non-ASCII", []any{"name", "José"}, 200, map[string]string{"X-Auth-Name": "Jos%C3%A9"}},
		{"list claim as JSON", []any{"groups", []any{"a", "b"}}, 200, map[string]string{"X-Auth-Groups": `["a","b"]`}},
		{"number claim", []any{"level", 3}, 200, map[string]string{"X-Auth-Level": "3"}},
		{"over the cap", []any{"name", strings.Repeat("x", 33)}, 403, nil},
		{"over the cap once escaped", []any{"name", strings.Repeat("\n", 11)}, 403, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", URI: "/x", Header: bearer(f.token(t, "", tt.claims...))})
			if dec.Status != tt.status {
				t.Fatalf("Decide = %d (%v), want %d", dec.Status, dec.Err, tt.status)
			}
			if tt.status == 403 && !errors.Is(dec.Err, forwardauth.ErrIdentityTooLong) {
				t.Errorf("error %v, want ErrIdentityTooLong", dec.Err)
			}
			for k, want := range tt.want {
				if got := dec.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestSetRules(t *testing.T) {
	f := newFixture(t, testRules)
	req := forwardauth.Request{Method: "GET", URI: "/healthz"}
	if dec := f.d.Decide(context.Background(), req); dec.Status != 200 {
		t.Fatalf("before: %d, want 200", dec.Status)
	}
	rs, err := forwardauth.ParseRules([]byte("routes:\n  - path: /healthz\n    deny: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.d.SetRules(rs); err != nil {
		t.Fatal(err)
	}
	if dec := f.d.Decide(context.Background(), req); dec.Status != 403 {
		t.Fatalf("after: %d, want 403", dec.Status)
	}
	if err := f.d.SetRules(nil); err == nil {
		t.Error("SetRules(nil) = nil, want an error")
	}
}

func TestNewErrors(t *testing.T) {
	f := newFixture(t, testRules)
	rs := f.d.Rules()
	_, err := forwardauth.New(nil, nil, forwardauth.WithTrustedProxies("10.0.0.0/33"), forwardauth.WithTimeout(0),
		forwardauth.WithNginxHeaders(forwardauth.NginxHeaders{URI: "X URI"}), forwardauth.WithInternalToken(nil, "Authorization"),
		// Given twice, each silently replaced the first list or signer.
		forwardauth.WithTrustedProxies("10.0.0.1"), forwardauth.WithInternalToken(nil, ""))
	for _, want := range []string{"nil guard", "nil rules", "10.0.0.0/33", "WithTimeout", `"X URI"`, "nil signer", `"Authorization"`,
		"WithTrustedProxies given twice", "WithInternalToken given twice"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(bad) = %v, want it to mention %q", err, want)
		}
	}
	if _, err := forwardauth.New(f.g, rs); err != nil {
		t.Errorf("New(good) = %v", err)
	}
	// A bare number is nanoseconds: every decision that asked the network
	// would have been 503.
	if _, err := forwardauth.New(f.g, rs, forwardauth.WithTimeout(10)); err == nil || !strings.Contains(err.Error(), "WithTimeout: 10ns is under a millisecond") {
		t.Errorf("WithTimeout(10) = %v", err)
	}
	if _, err := forwardauth.New(f.g, rs, forwardauth.WithTimeout(time.Millisecond)); err != nil {
		t.Errorf("WithTimeout(1ms) = %v", err)
	}
}

// A gateway sends no body: with a Guard that reads form tokens, a request
// with a token in its header and another in its form was decided on the
// first (200 with its identity) where the adapter answers 400, and the
// upstream could read the second, unchecked. New refuses such a Guard.
func TestNewRefusesFormTokenGuard(t *testing.T) {
	f := newFixture(t, testRules)
	for _, tt := range []struct {
		name string
		opts []httpbearer.Option
		ok   bool
	}{
		{"form tokens", []httpbearer.Option{httpbearer.WithFormToken()}, false},
		{"query tokens", []httpbearer.Option{httpbearer.WithQueryToken()}, true},
		{"a cookie", []httpbearer.Option{httpbearer.WithCookie("at")}, true},
	} {
		g, err := httpbearer.New(f.g.Validator(), tt.opts...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = forwardauth.New(g, f.d.Rules())
		if (err == nil) != tt.ok || (err != nil && !strings.Contains(err.Error(), "WithFormToken")) {
			t.Errorf("%s: New = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

// A route's step-up (RFC 9470) is the Guard's: 401
// insufficient_user_authentication with acr_values.
func TestDecideStepUp(t *testing.T) {
	f := newFixture(t, "routes:\n  - path: /pay\n    scopes: [pay]\n    acr_values: [mfa]\n")
	weak := f.token(t, "pay", "acr", "pwd")
	strong := f.token(t, "pay", "acr", "mfa")
	if dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "POST", URI: "/pay", Header: bearer(weak)}); dec.Status != 401 ||
		!strings.Contains(dec.Header.Get("WWW-Authenticate"), `error="insufficient_user_authentication"`) || !strings.Contains(dec.Header.Get("WWW-Authenticate"), `acr_values="mfa"`) {
		t.Errorf("weak authentication: %d %q, want 401 insufficient_user_authentication with acr_values", dec.Status, dec.Header.Get("WWW-Authenticate"))
	}
	if dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "POST", URI: "/pay", Header: bearer(strong)}); dec.Status != 200 {
		t.Errorf("strong authentication: %d (%v), want 200", dec.Status, dec.Err)
	}
}

func TestInternalTokenHeaderClash(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := forwardauth.NewSigner(ec, "bg", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, testRules)
	if _, err := forwardauth.New(f.g, f.d.Rules(), forwardauth.WithInternalToken(s, "X-Auth-Subject")); err == nil {
		t.Error("New with the internal token in an identity header: nil error")
	}
	d, err := forwardauth.New(f.g, f.d.Rules(), forwardauth.WithInternalToken(s, ""))
	if err != nil {
		t.Fatal(err)
	}
	clash, err := forwardauth.ParseRules([]byte("identity:\n  subject: X-Auth-Token\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetRules(clash); err == nil {
		t.Error("SetRules with the internal token's header as an identity header: nil error")
	}
}

// A decision waits no longer than WithTimeout for keys that do not come:
// then 503, whatever the key server does.
func TestDecideTimeout(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // hangs until the test ends
		case <-release:
		case <-r.Context().Done():
		}
	}))
	f := newFixtureFor(t, iss, testRules, forwardauth.WithTimeout(200*time.Millisecond))
	start := time.Now()
	dec := f.d.Decide(t.Context(), forwardauth.Request{Method: "GET", URI: "/orders/7", Header: bearer(f.token(t, "orders:read"))})
	if took := time.Since(start); dec.Status != 503 || took > 5*time.Second {
		t.Fatalf("Decide = %d after %v, want 503 within the timeout", dec.Status, took)
	}
}

// With DPoP off, "Authorization: DPoP T1" beside a cookie token T2 was
// allowed on T2, and the upstream got the request with T1 in its
// Authorization header, never checked: it is two tokens, 400.
func TestDecideDPoPOffHeaderBesideCookie(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience("api"), validator.WithDPoP(validator.DPoPOff))
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpbearer.New(v, httpbearer.WithCookie("at"))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := forwardauth.ParseRules([]byte("routes:\n  - name: all\n    path: /\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := forwardauth.New(g, rs)
	if err != nil {
		t.Fatal(err)
	}
	alice := iss.Mint(t, bearertest.Claims{"aud": "api", "sub": "alice"})
	for _, tt := range []struct {
		authz string
		want  int
	}{
		{"", 200},
		{"DPoP anything.else.here", 400},
		{"Bearer anything.else.here", 400},
	} {
		h := http.Header{"Cookie": {"at=" + alice}}
		if tt.authz != "" {
			h.Set("Authorization", tt.authz)
		}
		if dec := d.Decide(t.Context(), forwardauth.Request{Method: "GET", Host: "api.example", URI: "/x", Header: h}); dec.Status != tt.want {
			t.Errorf("Authorization %q beside a cookie token: %d, want %d", tt.authz, dec.Status, tt.want)
		}
	}
}
