// Package interop proves bearerguard against an authorization server no
// one here wrote: node-oidc-provider (OpenID-certified), started on
// loopback by the tests, with callers as real services write them (npm
// simple-oauth2, a plain fetch with client_secret_basic, and Go's
// golang.org/x/oauth2/clientcredentials).
//
// Sender-constrained tokens are proved the same way. DPoP (RFC 9449): the
// provider issues DPoP-bound tokens, JWT and opaque (introspected, with
// "cnf.jkt"), to two Node clients, one hand-written on the npm jose
// package and the npm openid-client library (node/dpop.mjs); the example
// services accept them only with a fresh proof of the same key, over HTTP,
// HTTPS and behind a path-prefix reverse proxy with --public-url, refuse a
// replayed proof and the downgrade to Bearer, and ask for and accept their
// own DPoP nonces (the provider asks for its own at the token endpoint
// too). Mutual TLS (RFC 8705): the examples serve HTTPS with --tls-cert,
// --tls-key and --client-ca, and accept certificate-bound tokens, from
// bearertest and from the provider (which terminates TLS itself and binds
// to the client certificate of the connection), only over a connection
// authenticated by that certificate.
//
// It is its own module so that its test dependencies never reach
// bearerguard's users. Run "npm ci" here first; the tests need Node 20+.
// Without Node or the packages the tests that need them skip, or fail
// when CI is set.
package interop
