// Package validator decides whether a Bearer access token is good for this
// API, and maps every refusal onto its RFC 6750 answer.
//
// A [Validator] is built once with [New] and options, and is safe for
// concurrent use. [Validator.Validate] accepts a JWT access token when,
// in this order (cheapest first):
//
//  1. it is at most the size cap (8 KiB by default) and is a JWS in compact
//     serialization: three base64url segments, no padding, URL alphabet
//     only (JWE and the JSON serialization are refused);
//  2. its header is a JSON object with no duplicate member names, whose
//     "alg" is in the allowlist ("none" never is; HMAC only for an issuer
//     configured with a secret), with no "crit" or "b64" (no extension is
//     implemented, so RFC 7515 §4.1.11 requires refusal), not a nested JWT,
//     whose "typ", if present, is "JWT" or "at+jwt" (RFC 9068 §2.1), and
//     whose "jku", "x5u", "x5t" and "x5t#S256", if present, are strings,
//     "jwk" an object and "x5c" an array (RFC 7515 §4.1; never used);
//  3. its claims are a JSON object with no duplicate member names (names
//     are compared after unescaping), validated in one linear pass; only
//     "iss" is decoded at this point;
//  4. its "iss" equals a configured issuer exactly; that issuer's key
//     source, and nothing in the token ("jku", "x5u", "jwk", "x5c" are never
//     used), yields a key whose type and algorithm bind the header "alg";
//  5. the signature verifies (crypto/rsa, crypto/ecdsa with fixed-size
//     R||S, crypto/ed25519, or HMAC, constant time);
//  6. only now are the other claims decoded, and must be of the right
//     types: strings, NumericDates as non-negative JSON numbers (a date
//     past year 5138 reads as 5138), "aud" a string or an
//     array of strings, scope claims valid per RFC 6749 §3.3 (parsed and
//     de-duplicated in linear time). So an unauthenticated caller pays for
//     nothing but a linear scan and, with a trusted "iss", one signature
//     check;
//  7. the issuer's own checks hold ([IssuerOption], e.g. from an
//     identity-provider preset; they apply to that issuer's tokens only):
//     a claim that marks access tokens ([IssuerAccessTokenClaim]), the
//     tenant bound to the issuer ([WithTenantIssuers]: "tid"), allowed
//     claim values ("azp", "cid"); the issuer's roles and permissions are
//     read from its claim paths ([IssuerRoleClaims]), bounded and
//     de-duplicated in linear time;
//  8. "aud" names the issuer's own audience ([IssuerAudience]) or, for an
//     issuer without one, a configured audience, or "client_id" is an
//     allowed client where that replaces the audience ([IssuerClientIDs]);
//     then "exp" is present and not past,
//     "nbf" and "iat" are not in the future (all with one leeway, 30 s by
//     default), "iat" is within the maximum age if one is configured, and
//     in RFC 9068 mode every claim of RFC 9068 §2.2 is present;
//  9. every user check ([WithClaimCheck]) passes;
//  10. after the sender-constraint checks below, a token of an issuer that
//     requires a grant ([IssuerRequireGrant]; the Entra ID presets) grants
//     some scope, role or permission, else [ErrNoGrant] (403
//     insufficient_scope).
//
// Tokens that are not JWTs go, with [WithIntrospection], to the
// authorization server (RFC 7662), whose active answer is then checked here
// like claims: "iss" if present, "aud" (or none, with
// [WithIntrospectionAudienceOptional]), the times, and the user checks; an
// answer about a refresh or ID token ("token_type", "token_use", Keycloak
// "typ") is refused, and one whose "aud" no audience of this API was
// compared with must carry "token_type".
// With [WithIntrospection] and no issuer of its own, a validator is
// introspection-only: it holds no key, every token of at most the size cap
// goes to the authorization server, and nothing else is fetched.
//
// Errors are sentinels, one per reason, each matching its class with
// [errors.Is]: [ErrInvalidToken], [ErrInvalidRequest], [ErrNoToken],
// [ErrInsufficientScope], [ErrUnavailable]. [ChallengeFor] is the single
// table from class to HTTP status and WWW-Authenticate header that every
// adapter uses. Error texts and descriptions are fixed: they never contain
// token material or anything read from upstream.
//
// A token that passed every check is remembered in a bounded cache (10,000
// entries, 5 minutes at most, never past "exp"), keyed by a 128-bit MAC of
// the whole token under a random key of the validator's own (AES-GMAC; see
// [WithTokenCache]), and admitted on its second sighting, so tokens seen
// once cost nothing. The same token again costs well under a microsecond
// and one allocation: every hit hands out a copy of the cached token, so
// nothing a handler or a claim check does to its token reaches another
// request. [Validator.ValidateInto] writes that copy into a Token the
// caller reuses, and then a hit allocates only the token's Audience
// slice. This is on by default because it cannot change a decision:
// what a full validation decides depends only on the token's bytes (which
// the MAC pins), the validator's configuration (immutable), the clock and
// the issuer's keys; on every hit the times are checked again with the
// clock, the key that verified the token must still be the same key in the
// issuer's key set, and the user checks run again. Per-request checks
// (scopes, in the adapters) are never cached. [WithoutTokenCache] turns it
// off.
//
// Sender-constrained tokens: a token whose "cnf" binds it to a DPoP key
// (RFC 9449) or a client certificate (RFC 8705) is accepted only by
// [Validator.ValidatePresentation] with the proof of that key or that
// certificate, checked on every request, cached token or not;
// [Validator.Validate] treats a token as presented with the Bearer scheme,
// and so refuses a bound one. A "cnf" whose "jkt" or "x5t#S256" is empty
// is malformed; an Ed25519 proof key of small order or in a non-canonical
// encoding is refused. See [WithDPoP] for the modes and
// [Validator.Challenge] for the answers.
//
// Callers MUST NOT treat an [ErrUnavailable] error as a verdict on the token:
// the keys could not be had, and the answer is 503, not 401.
//
// Relied on: RFC 6749 §3.3, RFC 6750 §2–3, RFC 7515, RFC 7518 §3,
// RFC 7519 §4, RFC 8037, RFC 8725, RFC 9068.
package validator
