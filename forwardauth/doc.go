// Package forwardauth is the decision core of `bearerguard serve`: one
// process that decides, for nginx (auth_request), Traefik (ForwardAuth)
// and Envoy (ext_authz, HTTP and gRPC), whether a request to an API in
// any language may pass, with the same validator, caches and RFC 6750
// answers as the Go adapters.
//
// A request is decided in these steps:
//
//  1. The gateway's call must come from a trusted proxy address
//     ([WithTrustedProxies]; default loopback); else 403, and the
//     forwarded headers are never read.
//  2. The original method, URI, host and scheme are read from the
//     gateway's headers (or Envoy's CheckRequest). A URI that an upstream
//     could read as another path (dot segments, "//", escaped '/', '\',
//     '?' or '#', ';', controls, the same escaped twice) is refused with
//     400, never guessed at.
//  3. The routes of the [Rules] in force are tried in file order; the
//     first whose host (when set), methods (when set) and ServeMux path
//     pattern all match decides. This is "first match wins", not
//     ServeMux's "most specific wins": put specific routes before the
//     general ones. No route matching: the default (deny unless the file
//     says otherwise).
//  4. A deny route answers 403; an open route allows without looking at
//     credentials. A token route has the httpbearer.Guard decide on the
//     request as its own middleware would (Authorization or DPoP header,
//     DPoP proof against the original method and URL, scopes, step-up):
//     401 with WWW-Authenticate for no or a bad token, 403
//     insufficient_scope, 400 invalid_request, 503 with Retry-After when
//     the keys or introspection are unavailable.
//  5. On success every identity header is set, empty when there is no
//     value (and all empty on open routes), so that the gateway, which
//     overwrites the client's headers of those names, never passes a
//     forged one on. Values are percent-escaped outside printable ASCII
//     and capped ([IdentityFile.MaxLength]); an identity over the cap is
//     refused, never truncated. With [WithInternalToken], a short-lived
//     JWT signed by the service's own key is added ([Signer]).
//
// No request body is ever read. Rules are swapped atomically
// ([Decider.SetRules]); a bad file is refused by [ParseRules] whole.
//
// Path matching is case-sensitive and does not decode '+', as ServeMux.
// Upstreams are often looser (Express's Routers, ASP.NET Core and Spring
// ignore case; many ignore a trailing slash; Rails serves /a.json by the
// handler of /a), so a request whose path in such another spelling, or
// whose method, host or URL named for the upstream in a header or query
// parameter, matches a route that decides otherwise is refused with 400
// ([ErrAmbiguousPath], [ErrOverride]); [UpstreamFile] says which of these
// readings the upstream cannot make.
// Gateways MUST overwrite every header of [Decider.HeaderNames] on the
// upstream request, and MUST NOT let clients reach the decision service.
package forwardauth
