// Package bearerguard protects HTTP APIs as an OAuth 2.0 resource server.
//
// The work is done by its packages, in the order a request meets them
// (paths relative to github.com/bearerguard/bearerguard):
//
//   - adapters/httpbearer: net/http middleware; RFC 6750 requests and answers
//   - adapters/ginbearer: the httpbearer guard as Gin middleware
//   - adapters/echobearer: the httpbearer guard as Echo v4 middleware
//   - validator: is the token genuine, unexpired, for this API? claims or error
//   - jwks: the issuer's signing keys, cached and refreshed, safe from outages
//   - introspect: asks the issuer about opaque tokens (RFC 7662), cached
//   - scopes: scope claims parsed, each route's scope requirement checked
//
// Around them:
//
//   - bearertest: an in-process issuer for tests: JWKS, tokens, introspection
//   - cmd/bearerguard: the command: "demo" runs the flow, "validate" explains
//   - examples/nethttp, examples/gin, examples/echo: one API, three frameworks
//   - bench: its own module; speed against other Go JWT libraries
//   - interop: its own module; tests against node-oidc-provider
//
// This package holds only the end-to-end tests of the whole.
package bearerguard
