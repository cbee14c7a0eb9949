// Package jwks keeps an issuer's JSON Web Key Set (RFC 7517) cached and
// fresh, for [validator.Validator] to verify tokens with.
//
// A [Set] is built from a JWKS URL ([New]) or from an issuer by discovery
// ([Discover]: OpenID Connect Discovery's /.well-known/openid-configuration,
// then RFC 8414's /.well-known/oauth-authorization-server, both path forms
// for an issuer with a path; the document's "issuer" MUST equal the
// configured issuer exactly). It guarantees:
//
//  1. Refresh replaces the whole set atomically; keys removed upstream
//     disappear. Lookups read an immutable snapshot and never wait on a
//     lock held across network I/O.
//  2. One unusable key never spoils the set: keys with "use" other than
//     "sig", "key_ops" without "verify", symmetric keys, private keys,
//     unsupported types or curves, RSA under 2048 or over 8192 bits (or
//     with an exponent crypto/rsa refuses), EC points off their curve and
//     Ed25519 keys of small order or in a non-canonical encoding are
//     skipped with a Warn log. Members are read by their exact names
//     (RFC 7517), as jwx reads them: "USE" is not "use".
//  3. A key with "alg" verifies only that algorithm; one without is bound
//     by its type (RSA: RS*/PS*; EC: the ES* of its curve; Ed25519: EdDSA).
//  4. A token without "kid" matches only if exactly one key allows its
//     algorithm (see [validator.Keys.Lookup]).
//  5. An unknown kid triggers at most one refetch per minimum refetch
//     interval (30 s by default), shared by all concurrent misses, each
//     waiting only as long as its own context allows; a kid the fetch did
//     not find is then answered from a short negative cache. A signature
//     that fails with a known kid's key asks the same way, once, for a new
//     key the issuer may have put under that kid ([Set.RefreshKey]).
//  6. A failed refresh (timeout, non-200, non-JSON, too large) keeps the
//     last good keys, retries with backoff, and logs at Warn; only when no
//     set has ever loaded is the answer [validator.ErrKeysUnavailable]
//     (HTTP 503), logged at Error. A well-formed set with no usable key
//     (empty, or every key skipped: a compromised key removed, private
//     halves published) is the issuer's word, not an outage: the keys it no
//     longer lists are dropped and lookups answer
//     [validator.ErrKeysUnavailable] until it holds a usable key, logged at
//     Error. A key whose private half the set publishes is dropped under
//     every kid, its public copies too; a set that publishes more than 8
//     private keys, or has an entry over 64 KiB that may be one, trusts
//     none of its keys (each costs a scalar multiplication to look at,
//     and forged tokens can have a set fetched again).
//  7. Background refresh runs at the configured interval (15 min by
//     default), or at the response's Cache-Control max-age when that is
//     shorter (at least 1 min): a key the issuer removed is trusted at
//     most that long. Refetches send Cache-Control: no-cache.
//  8. Fetches are bounded: 1 MiB bodies, 10 s per fetch, status 200 only,
//     HTTPS only (plain HTTP to loopback with [WithInsecureLoopbackHTTP]),
//     redirects held to the same policy.
//
// A Set owns one goroutine; [Set.Close] stops it and waits for it.
// [Set.Status] reports the last refresh, last error and key count for
// health checks.
package jwks
