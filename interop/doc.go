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
// MCP: the official TypeScript SDK's client (npm @modelcontextprotocol/sdk,
// node/mcp-client.mjs) calls examples/mcp's tools over streamable HTTP
// with tokens the provider issues for the MCP server's canonical URI (the
// RFC 8707 resource indicator and the tokens' audience): read_data with
// read:data, write_data refused 403 insufficient_scope for that call only,
// 401 with resource_metadata without a token (the metadata document, found
// by the SDK's own discovery, names the provider) and for a token issued
// for another resource; and the SDK's own OAuth flow for machine clients
// (ClientCredentialsProvider) finds the provider from the 401, gets a
// token for the resource, and steps up on a 403. gRPC: npm @grpc/grpc-js,
// the service loaded from examples/grpc's data.proto by
// @grpc/proto-loader (node/grpc-client.mjs), calls the gRPC example over
// plaintext (token as call metadata) and TLS (token as call credentials):
// PERMISSION_DENIED and UNAUTHENTICATED carry the challenge in the
// www-authenticate trailer.
//
// Node authorization servers: an Express app on the oauth2-server
// package, run once with oauth2-server 3.1.1 and once with
// @node-oauth/oauth2-server 5.3.0 (node/oauth2-server-as.mjs: opaque
// tokens, /oauth/revoke, an RFC 7662 route without "aud"), with axios and
// simple-oauth2 callers, against the net/http, Gin and Echo examples in
// introspection-only mode (oauth2server_test.go). Forward auth: real nginx
// with auth_request in front of an Express upstream, deciding through
// bearerguard serve on tokens from node-oidc-provider (nginx_test.go).
//
// A second resource server: panva's oauth4webapi (validateJwtAccessToken,
// RFC 9068 and RFC 9449; oauth4webapi.mjs) decides 1,500 generated access
// tokens and DPoP proofs per DPoP mode beside the validator in RFC 9068 mode
// behind httpbearer; every difference must be one listed, with its reason,
// in o4wDocumented (oauth4webapi_test.go).
//
// It is its own module so that its test dependencies never reach
// bearerguard's users. Run "npm ci" here first; the tests need Node 20+.
// Without Node or the packages the tests that need them skip, or fail
// when CI is set.
package interop
