package bearertest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
)

// Provider is an in-process stand-in for an identity provider's host, for
// tests: an HTTPS server on loopback serving the provider's discovery
// documents and JWK Set at the paths the provider uses, with keys (and
// minting) from an [Issuer] of its own. The provider-specific types
// ([Cognito], [Entra], [Keycloak], [Auth0], [Okta]) mint tokens shaped as
// each provider documents its access tokens, so an API's tests check the
// same claims production tokens carry. Point a preset of package
// providers at URL with its HTTP client set to [Provider.Client].
type Provider struct {
	// URL stands for the provider's host (https://127.0.0.1:port), with no
	// trailing slash.
	URL string
	// Keys is the issuer whose keys the provider publishes and signs
	// with: rotate or remove keys with it. Its own URL is not the
	// provider's.
	Keys *Issuer

	srv *httptest.Server
}

// newProvider starts a provider whose routes are added by routes.
func newProvider(t T, routes func(p *Provider, mux *http.ServeMux)) *Provider {
	t.Helper()
	p := &Provider{Keys: NewIssuer(t)}
	mux := http.NewServeMux()
	routes(p, mux)
	l, err := listenLoopback()
	if err != nil {
		t.Fatalf("bearertest: listening on loopback: %v", err)
		return nil
	}
	tlsCfg, err := loopbackTLS()
	if err != nil {
		l.Close()
		t.Fatalf("bearertest: %v", err)
		return nil
	}
	p.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: mux}, TLS: tlsCfg}
	p.srv.StartTLS()
	t.Cleanup(p.srv.Close)
	p.URL = p.srv.URL
	return p
}

// Client returns an HTTP client that trusts the provider's certificate.
func (p *Provider) Client() *http.Client { return p.srv.Client() }

// serveKeys serves the JWK Set.
func (p *Provider) serveKeys(w http.ResponseWriter, r *http.Request) { p.Keys.serveJWKS(w, r) }

// serveJSON answers with doc as JSON.
func serveJSON(w http.ResponseWriter, doc map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

// mint signs exactly claims (over "iat", "exp" one hour ahead and a random
// "jti" unless given; nil removes one) with the provider's RS256 key,
// header "typ": "JWT" as these providers write it.
func (p *Provider) mint(t T, claims Claims, extra Claims) string {
	t.Helper()
	all := Claims{"client_id": nil, "sub": nil}
	maps.Copy(all, claims)
	maps.Copy(all, extra)
	tok, err := p.Keys.MintToken(all, WithHeader("typ", "JWT"))
	if err != nil {
		t.Fatalf("%v", err)
	}
	return tok
}

// audience writes one audience as a string and several as an array, as
// the providers do.
func audience(aud []string) any {
	switch len(aud) {
	case 0:
		return nil
	case 1:
		return aud[0]
	}
	return aud
}

// randomUUID returns a random RFC 9562 version 4 UUID.
func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
