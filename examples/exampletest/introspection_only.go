package exampletest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/examples/setup"
)

// IntrospectionOnly checks the example configured as for an authorization
// server that issues opaque tokens and publishes no keys, with the flags a
// user gives (--introspection-only, --introspection-audience-optional,
// with and without --allow-query-token): no request ever reaches the
// issuer (a loopback server that counts every request), every token is
// introspected, scopes are enforced, and a token in the query string is
// accepted only with --allow-query-token, with Cache-Control: private, and
// refused (400) when it also comes in the header.
func IntrospectionOnly(t *testing.T, newHandler NewHandler) {
	var fetches atomic.Int64
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		http.NotFound(w, r)
	}))
	t.Cleanup(issuer.Close)
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "orders-secret"})
	read := iss.Opaque(t, bearertest.Claims{"iss": nil, "aud": nil, "sub": nil, "scope": "read:data", "client_id": "svc-read"})
	write := iss.Opaque(t, bearertest.Claims{"iss": nil, "aud": nil, "sub": nil, "scope": "read:data write:data", "client_id": "svc-rw"})
	jwt := iss.Mint(t, bearertest.Claims{"iss": nil, "aud": nil, "scope": "read:data", "client_id": "svc-jwt"})
	q := func(tok string) string { return "/data?access_token=" + url.QueryEscape(tok) }

	for _, allowQuery := range []bool{false, true} {
		args := []string{"--issuer", issuer.URL, "--audience", "orders", "--introspection-only", "--introspection-audience-optional",
			"--introspection-url", iss.IntrospectionURL(), "--client-id", "orders-api", "--client-secret", "orders-secret"}
		queryStatus, queryCache := 400, "no-store"
		if allowQuery {
			args = append(args, "--allow-query-token")
			queryStatus, queryCache = 200, "private"
		}
		cfg, err := setup.Parse("example", args, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Readiness = &setup.Readiness{}
		srv := serve(t, newHandler, cfg, iss)
		if !cfg.Readiness.Ready() {
			t.Errorf("not ready at once (waiting for %q): there is no key set to wait for", cfg.Readiness.Pending())
		}
		for _, c := range []struct {
			name, method, path string
			header             http.Header
			status             int
			clientID           string
			challenge, cache   string
		}{
			{"read token reads", "GET", "/data", bearerHeader(read), 200, "svc-read", "", ""},
			{"read-write token writes", "POST", "/data", bearerHeader(write), 201, "svc-rw", "", ""},
			{"JWT-shaped token, introspected", "GET", "/data", bearerHeader(jwt), 200, "svc-jwt", "", ""},
			{"read token writes", "POST", "/data", bearerHeader(read), 403, "", `error="insufficient_scope"`, "no-store"},
			{"unknown token", "GET", "/data", bearerHeader("8d5c0aa3b7f0c1e2d3f4a5b6c7d8e9f0a1b2c3d4"), 401, "", `error="invalid_token"`, "no-store"},
			{"query token", "GET", q(read), nil, queryStatus, "", "", queryCache},
			{"header and query", "GET", q(read), bearerHeader(read), 400, "", `error="invalid_request"`, "no-store"},
		} {
			r, cache := doCache(t, srv.Client(), c.method, srv.URL+c.path, c.header)
			if c.path == q(read) && c.status == 200 {
				c.clientID = "svc-read"
			}
			if r.status != c.status || !strings.Contains(r.challenge, c.challenge) || cache != c.cache ||
				c.clientID != "" && !bytes.Contains(r.body, []byte(`"client_id":"`+c.clientID+`"`)) {
				t.Errorf("allow-query-token=%v, %s: %d %q Cache-Control %q %s; want %d %q %q client %q",
					allowQuery, c.name, r.status, r.challenge, cache, r.body, c.status, c.challenge, c.cache, c.clientID)
			}
		}
	}
	if n := fetches.Load(); n != 0 || iss.JWKSRequests() != 0 {
		t.Errorf("%d requests to the issuer and %d JWKS requests in introspection-only mode, want none", n, iss.JWKSRequests())
	}
}

// doCache is do that also returns the answer's Cache-Control.
func doCache(t *testing.T, client *http.Client, method, url string, h http.Header) (result, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("DPoP-Nonce"), b}, resp.Header.Get("Cache-Control")
}
