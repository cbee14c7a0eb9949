// Package interop proves bearerguard against an authorization server no
// one here wrote: node-oidc-provider (OpenID-certified), started on
// loopback by the tests, with callers as real services write them (npm
// simple-oauth2, a plain fetch with client_secret_basic, and Go's
// golang.org/x/oauth2/clientcredentials).
//
// It is its own module so that its test dependencies never reach
// bearerguard's users. Run "npm ci" here first; the tests need Node 20+.
package interop
