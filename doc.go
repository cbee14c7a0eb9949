// Package bearerguard protects HTTP APIs as an OAuth 2.0 resource server.
//
// The work is done by its packages:
//
//   - [github.com/bearerguard/bearerguard/validator] decides whether a
//     Bearer token is genuine, unexpired, meant for this API, and returns
//     typed claims or a typed error that maps onto RFC 6750;
//   - [github.com/bearerguard/bearerguard/jwks] keeps an issuer's signing
//     keys cached, refreshed and safe from outages and floods of bad tokens;
//   - [github.com/bearerguard/bearerguard/scopes] parses scope claims and
//     checks per-route requirements;
//   - [github.com/bearerguard/bearerguard/bearertest] is an in-process
//     issuer for tests.
//
// This package holds only the end-to-end tests of the whole.
package bearerguard
