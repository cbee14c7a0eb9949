package httpbearer_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// A guard over a validator that requires DPoP (RFC 9449): each request
// carries "Authorization: DPoP <token>" and a fresh proof of the key the
// token is bound to. The same token as a Bearer token, a replayed proof or
// no proof is refused.
func ExampleGuard_Require_dPoP() {
	iss, err := bearertest.Start() // in production: the authorization server
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	keys, err := iss.NewKeySet() // in production: jwks.New or jwks.Discover
	if err != nil {
		log.Fatal(err)
	}
	defer keys.Close()
	v, err := validator.New(
		validator.WithIssuer(iss.URL, keys),
		validator.WithAudience("orders"),
		validator.WithDPoP(validator.DPoPRequired),
	)
	if err != nil {
		log.Fatal(err)
	}
	// The client: its DPoP key, a token bound to it, a proof per request.
	key, err := bearertest.NewDPoPKey(validator.ES256)
	if err != nil {
		log.Fatal(err)
	}
	guard, err := httpbearer.New(v, httpbearer.WithRealm("orders"))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /data", guard.Require(scopes.All("read:data"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := validator.FromContext(r.Context())
		fmt.Println("handler: bound to", tok.Confirmation.JKT == key.Thumbprint())
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tok, err := iss.MintToken(bearertest.Claims{"aud": "orders", "scope": "read:data"}, bearertest.BoundToKey(key))
	if err != nil {
		log.Fatal(err)
	}
	proof, err := key.Proof("GET", srv.URL+"/data", tok)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range []struct{ what, auth, proof string }{
		{"DPoP with a proof", "DPoP " + tok, proof},
		{"the same proof again", "DPoP " + tok, proof},
		{"as a Bearer token", "Bearer " + tok, ""},
		{"no proof", "DPoP " + tok, ""},
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/data", nil)
		req.Header.Set("Authorization", c.auth)
		if c.proof != "" {
			req.Header.Set("DPoP", c.proof)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s: %d %s", c.what, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))))
	}
	// Output:
	// handler: bound to true
	// DPoP with a proof: 200
	// the same proof again: 401 DPoP realm="orders", error="invalid_dpop_proof", error_description="The DPoP proof was already used", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"
	// as a Bearer token: 401 DPoP realm="orders", error="invalid_token", error_description="The access token must be DPoP-bound and sent with a DPoP proof", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"
	// no proof: 401 DPoP realm="orders", error="invalid_dpop_proof", error_description="Exactly one DPoP proof is required", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"
}
