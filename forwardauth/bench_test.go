package forwardauth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/scopes"
)

// The cost of one decision: route matching, the Guard (token cache hit or
// full validation), identity headers. Compare with the validator's own
// benchmarks for what the front end adds.
func BenchmarkDecide(b *testing.B) {
	iss := bearertest.NewIssuer(b)
	f := newFixtureFor(b, iss, testRules)
	req := forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/orders/7?expand=items"}

	// decideLoop decides req with the headers h, as many times as b asks.
	decideLoop := func(b *testing.B, h http.Header) {
		req := req
		req.Header = h
		b.ReportAllocs()
		for b.Loop() {
			if dec := f.d.Decide(b.Context(), req); !dec.Allowed {
				b.Fatalf("refused: %v", dec.Err)
			}
		}
	}
	b.Run("reused-token", func(b *testing.B) {
		decideLoop(b, bearer(f.iss.Mint(b, claims("orders:read"))))
	})
	// As a gateway forwards it: a dozen headers besides the token's, as
	// browsers, SDKs and proxies send them, every one looked at for a
	// name that spells an identity or override header otherwise.
	b.Run("reused-token-gateway-headers", func(b *testing.B) {
		h := bearer(f.iss.Mint(b, claims("orders:read")))
		for k, v := range map[string]string{
			"Accept": "application/json", "Accept-Encoding": "gzip, deflate, br", "Accept-Language": "en-GB,en;q=0.9",
			"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36", "X-Request-Id": "4f1c2a9e-8b7d-4c3e-9a1f-0b2c3d4e5f60",
			"X-Forwarded-For": "203.0.113.7, 10.0.0.2", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com",
			"X-Real-Ip": "203.0.113.7", "Traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			"Connection": "keep-alive", "Content-Type": "application/json",
		} {
			h.Set(k, v)
		}
		decideLoop(b, h)
	})
	b.Run("fresh-tokens", func(b *testing.B) {
		const n = 2048
		headers := make([]http.Header, n)
		for i := range headers {
			headers[i] = bearer(f.iss.Mint(b, claims("orders:read")))
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			req := req
			req.Header = headers[i%n]
			i++
			if dec := f.d.Decide(b.Context(), req); !dec.Allowed {
				b.Fatalf("refused: %v", dec.Err)
			}
		}
	})
	// The baseline: the same Guard as net/http middleware on the same
	// token, without the forward-auth layer.
	b.Run("baseline-guard-middleware", func(b *testing.B) {
		h := f.g.Require(scopes.All("orders:read"), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		r := httptest.NewRequest("GET", "https://api.example.com/orders/7?expand=items", nil)
		r.Header = bearer(f.iss.Mint(b, claims("orders:read")))
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusNoContent {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
	b.Run("open-route", func(b *testing.B) {
		req := forwardauth.Request{Method: "GET", URI: "/healthz", Header: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			if dec := f.d.Decide(b.Context(), req); !dec.Allowed {
				b.Fatal("refused")
			}
		}
	})
	// A file of 100 routes: the decision is one pass over the routes per
	// reading of the path (as written, another case, escapes as sent, a
	// slash added), so a route matched last costs the most.
	var file strings.Builder
	file.WriteString("default: deny\nroutes:\n")
	for i := range 50 {
		fmt.Fprintf(&file, "  - path: /api%d/{id}/items/{rest...}\n    scopes: [orders:read]\n  - path: /pub%d/docs/{$}\n    open: true\n", i, i)
	}
	big := newFixtureFor(b, iss, file.String())
	for _, c := range []struct {
		name, uri string
		status    int
	}{
		{"100-routes/open-route-first", "/pub0/docs/", http.StatusOK},
		{"100-routes/open-route-last", "/pub49/docs/", http.StatusOK},
		{"100-routes/no-token", "/api49/7/items/x", http.StatusUnauthorized},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := forwardauth.Request{Method: "GET", URI: c.uri, Header: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				if dec := big.d.Decide(b.Context(), req); dec.Status != c.status {
					b.Fatalf("status %d (%v), want %d", dec.Status, dec.Err, c.status)
				}
			}
		})
	}
}

func claims(scope string) bearertest.Claims {
	return bearertest.Claims{"aud": audience, "scope": scope, "sub": "user-1", "client_id": "app-1"}
}
