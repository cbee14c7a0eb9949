// Package bearerguard protects HTTP APIs as an OAuth 2.0 resource server.
//
// The work is done by its packages, in the order a request meets them
// (paths relative to github.com/bearerguard/bearerguard):
//
//   - adapters/httpbearer: net/http middleware; RFC 6750 requests and answers
//   - adapters/ginbearer: the httpbearer guard as Gin middleware
//   - adapters/echobearer: the httpbearer guard as Echo v4 middleware
//   - adapters/grpcbearer: gRPC (and Connect) interceptors; a module of its own
//   - adapters/mcpbearer: Model Context Protocol servers of the official Go
//     SDK, per-tool scopes; a module of its own
//   - validator: is the token genuine, unexpired, for this API, bound to the
//     caller's key or certificate (DPoP, mTLS)? claims or error
//   - jwks: the issuer's signing keys, cached and refreshed, safe from outages
//   - introspect: asks the issuer about opaque tokens (RFC 7662), cached
//   - scopes: scope claims parsed, each route's requirement checked
//   - providers: presets for Auth0, Okta, Keycloak, Cognito and Entra ID
//   - resourcemeta: the RFC 9728 protected resource metadata document
//   - redisstore: introspection answers and DPoP replay state shared by a
//     fleet through Redis
//   - forwardauth: the decision of a forward-auth service for nginx,
//     Traefik and Envoy
//
// Around them:
//
//   - bearertest: an in-process issuer for tests: JWKS, tokens, introspection,
//     stand-ins for the providers
//   - cmd/bearerguard: the command: "demo" runs the flow, "validate" and
//     "inspect" explain a token, "serve" is the forward-auth service,
//     "dev-issuer" a local authorization server for development
//   - examples/nethttp, examples/gin, examples/echo: one API, three
//     frameworks; examples/grpc and examples/mcp (modules of their own)
//   - bench: its own module; speed against other Go JWT libraries
//   - interop: its own module; tests against real authorization servers,
//     gateways and callers
//
// This package holds only the end-to-end tests of the whole.
package bearerguard
