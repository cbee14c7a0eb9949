package forwardauth_test

import (
	"net/http"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
)

// The cost of one decision: route matching, the Guard (token cache hit or
// full validation), identity headers. Compare with the validator's own
// benchmarks for what the front end adds.
func BenchmarkDecide(b *testing.B) {
	iss := bearertest.NewIssuer(b)
	f := newFixtureFor(b, iss, testRules)
	req := forwardauth.Request{Method: "GET", Host: "api.example.com", URI: "/orders/7?expand=items"}

	b.Run("reused-token", func(b *testing.B) {
		h := bearer(f.iss.Mint(b, claims("orders:read")))
		req := req
		req.Header = h
		b.ReportAllocs()
		for b.Loop() {
			if dec := f.d.Decide(b.Context(), req); !dec.Allowed {
				b.Fatalf("refused: %v", dec.Err)
			}
		}
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
	b.Run("open-route", func(b *testing.B) {
		req := forwardauth.Request{Method: "GET", URI: "/healthz", Header: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			if dec := f.d.Decide(b.Context(), req); !dec.Allowed {
				b.Fatal("refused")
			}
		}
	})
}

func claims(scope string) bearertest.Claims {
	return bearertest.Claims{"aud": audience, "scope": scope, "sub": "user-1", "client_id": "app-1"}
}
