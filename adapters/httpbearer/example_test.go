package httpbearer_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

func ExampleGuard_Require() {
	v, mint := contract.Offline() // in production: validator.New with a jwks.Set
	guard, err := httpbearer.New(v, httpbearer.WithRealm("orders"))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /data", guard.Require(scopes.All("read:data"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := validator.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", tok.ClientID)
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, auth := range []string{"Bearer " + mint("read:data"), "Bearer " + mint("profile"), ""} {
		req, _ := http.NewRequest("GET", srv.URL+"/data", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%d %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))))
		if resp.StatusCode == 200 {
			fmt.Println(string(body))
		}
	}
	// Output:
	// 200
	// hello svc-example
	// 403 Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read:data", DPoP realm="orders", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"
	// 401 Bearer realm="orders", DPoP realm="orders", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"
}

// Middleware is Require for routers that compose func(http.Handler)
// http.Handler (chi, alice, …): every route behind it needs the scope.
func ExampleGuard_Middleware() {
	v, mint := contract.Offline() // in production: validator.New with a jwks.Set
	guard, err := httpbearer.New(v)
	if err != nil {
		panic(err)
	}
	readers := guard.Middleware(scopes.All("read:data"))
	h := readers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := validator.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", tok.ClientID)
	}))
	for _, scope := range []string{"read:data", "profile"} {
		req := httptest.NewRequest("GET", "/data", nil)
		req.Header.Set("Authorization", "Bearer "+mint(scope))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Body.Len() > 0)
	}
	// Output:
	// 200 true
	// 403 true
}

// Authorize decides inside a handler, for a requirement that depends on
// the request (here, on the method); on a refusal it has answered.
func ExampleGuard_Authorize() {
	v, mint := contract.Offline() // in production: validator.New with a jwks.Set
	guard, err := httpbearer.New(v)
	if err != nil {
		panic(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		need := scopes.All("read:data")
		if r.Method == http.MethodPost {
			need = scopes.All("write:data")
		}
		r, tok, ok := guard.Authorize(w, r, need)
		if !ok {
			return // answered: 400, 401, 403 or 503 with its challenge
		}
		_ = r // carries tok in its context, for what the handler calls
		fmt.Fprintf(w, "%s by %s", r.Method, tok.ClientID)
	})
	for _, method := range []string{"GET", "POST"} {
		req := httptest.NewRequest(method, "/data", nil)
		req.Header.Set("Authorization", "Bearer "+mint("read:data"))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(method, rec.Code, rec.Header().Get("WWW-Authenticate") != "")
	}
	// Output:
	// GET 200 false
	// POST 403 true
}
