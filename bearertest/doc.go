// Package bearertest is an in-process OAuth 2.0 issuer for tests, shaped
// like net/http/httptest: [NewIssuer] starts an HTTPS server on loopback
// that serves OpenID Connect discovery and a JWK Set, mints signed access
// tokens with any claims and any supported algorithm, rotates and removes
// keys, and stops when the test ends.
//
// It also serves a client-credentials token endpoint (client_secret_basic,
// client_secret_post, private_key_jwt; JWT or opaque tokens, DPoP-bound
// on request), RFC 7662
// introspection (with RFC 9701 signed answers on request) and RFC 7009
// revocation, so a whole flow runs in-process.
//
// # Two forms of the same API
//
// In a test, pass the [T] (a *testing.T, *testing.B or *testing.F): a
// failure calls t.Fatalf, and what the call starts ends with the test.
//
//	iss := bearertest.NewIssuer(t)
//	keys := iss.KeySet(t) // a *jwks.Set trusting iss's TLS certificate
//	v, err := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithAudience("orders"))
//	if err != nil {
//		t.Fatal(err)
//	}
//	tok := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data"})
//	claims, err := v.Validate(ctx, tok)
//
// Outside a test (a demo, a load generator, a development server), use the
// forms that return errors and close what they start yourself; each T form
// is built on one of them and behaves the same otherwise:
//
//	in a test                     outside one
//	NewIssuer(t, opts...)         Start(opts...) (*Issuer, error), then iss.Close()
//	iss.KeySet(t, opts...)        iss.NewKeySet(opts...) (*jwks.Set, error), then set.Close()
//	iss.Mint(t, claims, opts...)  iss.MintToken(claims, opts...) (string, error)
//	iss.Opaque(t, claims)         iss.OpaqueToken(claims) (string, error)
//	iss.Rotate(t, alg)            iss.RotateKey(alg) (kid string, err error)
//	MustDPoPKey(t, alg)           NewDPoPKey(alg) (*DPoPKey, error)
//	key.MustProof(t, m, u, tok)   key.Proof(m, u, tok) (string, error)
//	MustClientCA(t)               NewClientCA() (*ClientCA, error)
//	ca.MustIssue(t, name)         ca.Issue(name) (tls.Certificate, *x509.Certificate, error)
//
// Errors carry their cause for errors.Is and errors.As; an algorithm the
// issuer cannot generate a key for matches [ErrUnsupportedAlgorithm].
//
// # Sender-constrained tokens
//
// For DPoP (RFC 9449), a [DPoPKey] is the client's proof key: [BoundToKey]
// mints a token bound to it ("cnf": {"jkt": thumbprint}) and
// [DPoPKey.Proof] signs the proof for each request; its options
// ([ProofOption]) make proofs that a resource server must reject (stale
// "iat", wrong "htm", a replayed "jti", another key's signature, a private
// "jwk"):
//
//	key := bearertest.MustDPoPKey(t, validator.ES256)
//	tok := iss.Mint(t, bearertest.Claims{"aud": "orders"}, bearertest.BoundToKey(key))
//	req.Header.Set("Authorization", "DPoP "+tok)
//	req.Header.Set("DPoP", key.MustProof(t, "GET", "https://api.example/orders", tok))
//
// The token endpoint binds its tokens to the key of a valid DPoP proof
// sent with the request (RFC 9449 §5) and answers "token_type": "DPoP".
//
// For certificate-bound tokens (RFC 8705), a [ClientCA] issues client
// certificates for a server that trusts [ClientCA.Pool]; [BoundToCertificate]
// mints a token bound to one ("cnf": {"x5t#S256": [CertThumbprint]}), and
// [XFCCHeader] and [EscapedPEM] render the certificate as Envoy and nginx
// forward it from a TLS-terminating proxy.
//
// Introspection answers carry a token's "cnf", with "token_type" "DPoP"
// when it has a "jkt". An opaque token is bound with the claim itself:
// iss.Opaque(t, bearertest.Claims{"cnf": map[string]any{"jkt": key.Thumbprint()}}).
//
// The issuer makes no attempt to be a secure authorization server: use it
// for tests and demonstrations only.
package bearertest
