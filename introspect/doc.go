// Package introspect checks opaque access tokens by asking their issuer
// (OAuth 2.0 Token Introspection, RFC 7662), fast and bounded.
//
// A [Client] is a [validator.Introspector]: give it to
// [validator.WithIntrospection] and the validator sends every token that is
// not a JWT from a configured issuer (or every token, with
// [validator.WithIntrospectJWTs]) to the endpoint, then applies its own
// issuer, audience and time checks to the answer.
//
//  1. Requests: POST token=…&token_type_hint=access_token, authenticated
//     with client_secret_basic (the default of most servers),
//     client_secret_post, private_key_jwt (RFC 7523; the assertion's "aud"
//     the endpoint, or [WithAssertionAudience]), tls_client_auth (RFC 8705
//     §2, [TLSClientAuth]) or a bearer token;
//     5 s timeout, 1 MiB response cap, status 200 and JSON required;
//     redirects are not followed (the body holds the token and perhaps
//     the client's credentials).
//  2. Responses (RFC 7662 §2.2) are read by the validator's strict reader,
//     the one for JWT claims: a body that is not one JSON object in UTF-8
//     (trailing data, invalid UTF-8) is the server's fault (503, never
//     cached), while a well-formed answer holding what a JWT's claims may
//     not (duplicate members, a name folding to one read, a lone
//     surrogate, a number past float64) is refused like such a JWT
//     ([validator.ErrMalformed], 401). Only "active": true (a JSON
//     boolean) is active; anything else, a missing member or the string
//     "true" among them, is inactive. A "token_type" naming a refresh or
//     ID token, a "token_use" other than an access token's, or a Keycloak
//     "typ" of Refresh, Offline or ID is refused, as is "token_type" DPoP
//     without "cnf.jkt". Every member is kept for [validator.Token.Claim].
//  3. Signed responses (RFC 9701) are verified with the issuer's keys when
//     configured with [WithSignedResponses], and must be fresh: "iat"
//     within the last 2 minutes (1 minute of skew), "exp" if any not
//     passed; the answer is not cached past that "exp".
//  4. Cache: keyed by a SHA-256 over the endpoint (or issuer), the client
//     id and the token ([Key]), never the token, so clients sharing a
//     [Cache] never answer for each other; active results until the
//     token's "exp" or the maximum TTL (60 s) if sooner (answers over
//     32 KiB are not kept); inactive ones for
//     10 s in their own partition, so they cannot evict active ones;
//     bounded LRU of 10,000 entries; expiry on read. Every caller gets its
//     own copy of the token.
//  5. Coalescing: concurrent checks of one uncached token share one
//     request; at most 64 requests run at once
//     ([WithMaxConcurrentRequests]); a caller waits for a slot only as
//     long as its context allows and at most the request timeout, and a
//     caller whose context is done starts nothing.
//  6. Failures (unreachable, timeout, all slots busy, non-200 including
//     3xx, non-JSON, too large) are
//     [validator.ErrIntrospectionUnavailable] (HTTP 503), never cached and
//     never taken as "active".
//  7. Pacing: a 429 or 503 with Retry-After stops requests for that long
//     (at most [validator.MaxRetryAfter]). After 5 requests in a row got no
//     answer at all, the client asks the endpoint about [ProbeToken]; if
//     that gets none either, the circuit breaker opens
//     ([WithCircuitBreaker]): requests stop for 1 s, then one probe goes
//     out, and each probe without an answer doubles the pause up to 30 s.
//     Meanwhile uncached tokens are answered unavailable at once, with a
//     Retry-After; cached ones as usual. No caller's token decides it.
//
// Revocation is seen at most the maximum TTL late for active tokens; use a
// shorter [WithMaxTTL] (or 0) where that matters.
package introspect
