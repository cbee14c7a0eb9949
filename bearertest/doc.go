// Package bearertest is an in-process OAuth 2.0 issuer for tests, shaped
// like net/http/httptest: [NewIssuer] starts an HTTPS server on loopback
// that serves OpenID Connect discovery and a JWK Set, mints signed access
// tokens with any claims and any supported algorithm, rotates and removes
// keys, and stops when the test ends.
//
// It also serves a client-credentials token endpoint (client_secret_basic,
// client_secret_post, private_key_jwt; JWT or opaque tokens), RFC 7662
// introspection (with RFC 9701 signed answers on request) and RFC 7009
// revocation, so a whole flow runs in-process.
//
// It is for tests (and the bearerguard demo) only: its methods call
// t.Fatalf on failure, and it makes no attempt to be a secure
// authorization server.
//
//	iss := bearertest.NewIssuer(t)
//	keys := iss.KeySet(t) // a *jwks.Set trusting iss's TLS certificate
//	v, _ := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithAudience("orders"))
//	tok := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"})
//	claims, err := v.Validate(ctx, tok)
package bearertest
