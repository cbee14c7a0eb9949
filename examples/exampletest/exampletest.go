// Package exampletest checks that an example service serves the shared
// contract against a bearertest issuer. For tests.
package exampletest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/examples/setup"
)

// DPoPAlgs is the "algs" attribute of the examples' DPoP challenges: every
// asymmetric algorithm, the default.
const DPoPAlgs = "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA"

// NewHandler is an example's handler constructor.
type NewHandler func(setup.Config, *http.Client) (http.Handler, func(), error)

// Run starts the example's handler against a fresh issuer and checks the
// contract: GET /healthz open; GET /data needs read:data; POST /data needs
// write:data; RFC 6750 answers otherwise.
func Run(t *testing.T, newHandler NewHandler) {
	iss := bearertest.NewIssuer(t)
	for _, jwksURL := range []string{"", iss.JWKSURL()} { // discovery, then an explicit JWKS URL
		name := "discovery"
		if jwksURL != "" {
			name = "jwks-url"
		}
		t.Run(name, func(t *testing.T) {
			cfg := setup.Config{Issuer: iss.URL, Audience: "orders", JWKSURL: jwksURL, Leeway: 0}
			srv := serve(t, newHandler, cfg, iss)
			check(t, srv, iss)
		})
	}
	t.Run("introspection", func(t *testing.T) {
		iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "orders-secret"})
		cfg := setup.Config{Issuer: iss.URL, Audience: "orders", IntrospectionURL: iss.IntrospectionURL(), ClientID: "orders-api", ClientSecret: "orders-secret"}
		srv := serve(t, newHandler, cfg, iss)
		opaque := iss.Opaque(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "client_id": "reports"})
		r := call(t, srv, "GET", "/data", opaque)
		var reply setup.DataReply
		if r.status != 200 || json.Unmarshal(r.body, &reply) != nil || reply.ClientID != "reports" {
			t.Errorf("opaque token: %d %s", r.status, r.body)
		}
		iss.Revoke(opaque)
		other := iss.Opaque(t, bearertest.Claims{"aud": "orders", "scope": "write:data"})
		if r := call(t, srv, "GET", "/data", other); r.status != 403 {
			t.Errorf("opaque token without the scope: %d", r.status)
		}
		if r := call(t, srv, "GET", "/data", "opaque-unknown"); r.status != 401 || !strings.Contains(r.challenge, "invalid_token") {
			t.Errorf("unknown opaque token: %d %q", r.status, r.challenge)
		}
	})
	t.Run("introspection audience optional", func(t *testing.T) {
		iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "orders-secret"})
		noAud := iss.Opaque(t, bearertest.Claims{"scope": "read:data"})
		wrongAud := iss.Opaque(t, bearertest.Claims{"aud": "admin", "scope": "read:data"})
		jwtNoAud := iss.Mint(t, bearertest.Claims{"scope": "read:data"})
		for _, tt := range []struct {
			optional bool
			token    string
			status   int
		}{
			{false, noAud, 401},
			{true, noAud, 200},
			{true, wrongAud, 401},
			{true, jwtNoAud, 401},
		} {
			cfg := setup.Config{Issuer: iss.URL, Audience: "orders", IntrospectionURL: iss.IntrospectionURL(), ClientID: "orders-api",
				ClientSecret: "orders-secret", IntrospectionAudienceOptional: tt.optional}
			srv := serve(t, newHandler, cfg, iss)
			if r := call(t, srv, "GET", "/data", tt.token); r.status != tt.status {
				t.Errorf("audience optional %v: %d, want %d (%q)", tt.optional, r.status, tt.status, r.challenge)
			}
		}
	})
	t.Run("rfc9068", func(t *testing.T) {
		cfg := setup.Config{Issuer: iss.URL, Audience: "orders", RFC9068: true}
		srv := serve(t, newHandler, cfg, iss)
		jwt := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"}, bearertest.WithHeader("typ", "JWT"))
		if r := call(t, srv, "GET", "/data", jwt); r.status != 401 || !strings.Contains(r.challenge, `error="invalid_token"`) {
			t.Errorf("typ JWT in RFC 9068 mode: %d %q", r.status, r.challenge)
		}
		at := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"})
		if r := call(t, srv, "GET", "/data", at); r.status != 200 {
			t.Errorf("at+jwt in RFC 9068 mode: %d %s", r.status, r.body)
		}
	})
}

// serve starts the example's handler for cfg behind a test server, both
// stopped when the test ends.
func serve(t *testing.T, newHandler NewHandler, cfg setup.Config, iss *bearertest.Issuer) *httptest.Server {
	t.Helper()
	h, closeFn, err := newHandler(cfg, iss.Client())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

type result struct {
	status    int
	challenge string
	body      []byte
}

func call(t *testing.T, srv *httptest.Server, method, path, token string) result {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header.Get("WWW-Authenticate"), b}
}

func check(t *testing.T, srv *httptest.Server, iss *bearertest.Issuer) {
	read := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "svc-reader", "client_id": "reader"})
	write := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "write:data", "sub": "svc-writer", "client_id": "writer"})
	other := iss.Mint(t, bearertest.Claims{"aud": "payments", "scope": "read:data"})

	if r := call(t, srv, "GET", "/healthz", ""); r.status != 200 {
		t.Errorf("GET /healthz = %d", r.status)
	}
	r := call(t, srv, "GET", "/data", read)
	var reply setup.DataReply
	if r.status != 200 || json.Unmarshal(r.body, &reply) != nil || reply.Subject != "svc-reader" || reply.ClientID != "reader" || !slices.Equal(reply.Scopes, []string{"read:data"}) {
		t.Errorf("GET /data with read:data = %d %s", r.status, r.body)
	}
	r = call(t, srv, "POST", "/data", write)
	if r.status != 201 || json.Unmarshal(r.body, &reply) != nil || !reply.Stored || reply.ClientID != "writer" {
		t.Errorf("POST /data with write:data = %d %s", r.status, r.body)
	}
	for _, c := range []struct {
		method, token string
		status        int
		challenge     string
	}{
		{"GET", "", 401, `Bearer realm="orders"`},
		{"GET", write, 403, `Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read:data"`},
		{"POST", read, 403, `Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a required scope", scope="write:data"`},
		{"GET", other, 401, `Bearer realm="orders", error="invalid_token", error_description="The access token is not meant for this resource"`},
		{"GET", read[:len(read)-4] + "AAAA", 401, `Bearer realm="orders", error="invalid_token", error_description="The access token signature is invalid"`},
	} {
		r := call(t, srv, c.method, "/data", c.token)
		// DPoP is allowed by default: a DPoP challenge follows the Bearer
		// one (RFC 9449 §7.1).
		c.challenge += `, DPoP realm="orders", algs="` + DPoPAlgs + `"`
		if r.status != c.status || r.challenge != c.challenge {
			t.Errorf("%s /data = %d %q, want %d %q", c.method, r.status, r.challenge, c.status, c.challenge)
		}
	}
}
