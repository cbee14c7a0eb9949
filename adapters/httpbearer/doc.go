// Package httpbearer protects net/http handlers with OAuth 2.0 bearer
// tokens (RFC 6750).
//
// A [Guard] extracts the token of each request, validates it with a
// [validator.Validator], checks the route's scopes, stores the
// [*validator.Token] in the request's context, and answers refusals from
// the single table of [validator.ChallengeFor]:
//
//	guard, err := httpbearer.New(v, httpbearer.WithRealm("orders"))
//	mux.Handle("GET /data", guard.Require(scopes.All("read:data"), getData))
//	mux.Handle("/api/", guard.Handler(api)) // any valid token
//	mux.Handle("GET /feed", guard.Optional(feed)) // anonymous allowed
//
// Token extraction follows RFC 6750 §2:
//
//  1. The Authorization header: scheme "Bearer" in any case, one or more
//     spaces, exactly one b64token, nothing after it. Another scheme
//     ("Basic …") counts as no Bearer credential (401, bare challenge);
//     "Bearer" alone, bad characters or trailing text are 400
//     invalid_request; so are two Authorization headers.
//  2. The access_token query parameter (§2.3) only with [WithQueryToken];
//     without it such a request is refused with 400. Tokens in URLs leak
//     into logs, history and Referer headers: SHOULD NOT be enabled. When
//     it is, the answer to a request whose token came in the query carries
//     "Cache-Control: private" (set before the handler runs).
//  3. The access_token form body parameter (§2.2) only with [WithFormToken].
//  4. A cookie only with [WithCookie], for browser-facing APIs.
//
// A token sent in more than one way is refused with 400 (§2: clients MUST
// NOT use more than one method). The query and form are checked on decoded
// parameter names, so "access%5Ftoken" counts as access_token; two cookies
// of the configured name are refused too.
//
// # Sender-constrained tokens
//
// "Authorization: DPoP <token>" with one DPoP header is the DPoP scheme
// (RFC 9449); a Guard over a [PresentationValidator] (a
// [*validator.Validator]) hands it the scheme, the proof, the method, the
// request URL ([WithPublicURL] behind a proxy) and the TLS client
// certificate ([WithClientCertHeader] behind a TLS-terminating proxy), so
// that DPoP- and certificate-bound tokens are checked on every request.
// Answers carry the DPoP challenge the validator's mode asks for.
//
// # Nested guards
//
// Every guard decides for itself. Guards nest (an outer guard on a group or
// around a whole tree, an inner, stricter one on a route), and an inner
// guard reuses the token in the request's context only when a guard over
// the same validator, taking tokens the same ways, stored it there
// ([Guard.Authorize], which Require, Handler and Middleware use): the
// decision would be the same, and only the route's scopes are checked
// again. A token stored by a guard over another
// validator (another audience, other claim checks, a maximum age), or by
// one that takes tokens where the inner one does not (a query, form or
// cookie token, a client certificate header or its proxies, another public
// URL for DPoP proofs), is not trusted: the inner guard decides on the
// request itself, as it would alone, which costs a cache hit. So a
// header-only guard on an API stays header-only under a site-wide guard
// that reads a session cookie. A token put in the
// context by any other code ([validator.NewContext]) is never taken for a
// validated one.
package httpbearer
