// Package grpcbearer protects gRPC services with OAuth 2.0 access tokens,
// with the same checks and the same answers as the HTTP adapters.
//
// An [Interceptor] reads the token of every call from its "authorization"
// metadata, validates it with a [*validator.Validator]
// ([validator.Validator.ValidatePresentation]: the same code path, cache
// and sender-constraint checks as an HTTP request), checks the scopes the
// method requires, and puts the [*validator.Token] in the handler's context
// ([validator.FromContext]):
//
//	auth, err := grpcbearer.New(v,
//		grpcbearer.WithRealm("orders"),
//		grpcbearer.WithMethods(map[string]scopes.Requirement{
//			"/orders.v1.Orders/Get": scopes.All("read:orders"),
//			"/orders.v1.Orders/Put": scopes.All("write:orders"),
//			"/orders.v1.Reports/":   scopes.All("read:reports"), // every method of the service
//		}),
//		grpcbearer.WithOpen(grpcbearer.HealthService))
//	srv := grpc.NewServer(auth.ServerOptions()...)
//
// # Methods
//
// A method's requirement is looked up by its full name
// ("/pkg.Service/Method"), then by its service ("/pkg.Service/"). A method
// listed in neither needs the default requirement ([WithDefault]; any
// valid token unless set). Nothing is open unless listed with [WithOpen]:
// not the gRPC health service ([HealthService]) nor reflection
// ([ReflectionService], [ReflectionServiceV1Alpha]). An open method is
// served without looking at its metadata, and its context carries no
// token. [HealthService] opens its server-streaming Watch too; list
// "/grpc.health.v1.Health/Check" alone to keep Watch behind a token.
//
// A name is matched as written: a method misspelt in [WithMethods] is not
// an error, and its real method gets the default requirement. Set
// [WithDefault] to the strictest requirement you use, so that a typo
// refuses more, not less.
//
// A stream is authorized once, when it opens: it runs on after its token
// expires or is revoked. End long streams yourself, at the token's
// [validator.Token.Expiry] (read it with [validator.FromContext]) or
// sooner.
//
// # Token
//
// The "authorization" metadata holds exactly one value, "Bearer <token>" or
// "DPoP <token>", in the grammar of RFC 6750 §2.1: the scheme in any case,
// one or more spaces, one b64token (the HTTP adapter's parser); two values
// are InvalidArgument, another scheme counts as no token. With DPoP (RFC
// 9449) the proof is the one "dpop" metadata value (not looked at for
// Bearer; two values, or two proofs joined with "," in one, are two:
// refused); its "htm" is POST and its "htu" the base URL ([WithBaseURL],
// else the scheme of the connection and its :authority) followed by the
// full method name. An :authority that is not a plain host[:port], or a
// method name with anything but letters, digits, '_', '-' and '.' in its
// two parts, gives no htu: every proof is refused. Set [WithBaseURL] when
// accepting DPoP: the :authority is the client's to write. A TLS client certificate, when the connection has one,
// is handed to the validator for certificate-bound tokens (RFC 8705).
//
// # Answers
//
// A refusal is the library's single table ([validator.Validator.Challenge],
// the same as an HTTP answer) carried by gRPC: the status code follows the
// HTTP status of that table, and the RFC 6750 challenge travels in the
// "www-authenticate" trailer:
//
//	class                                      HTTP  gRPC code
//	ErrNoToken, ErrInvalidToken,
//	ErrInvalidDPoPProof, ErrUseDPoPNonce,
//	ErrInsufficientUserAuthentication          401   Unauthenticated
//	ErrInsufficientScope                       403   PermissionDenied
//	ErrInvalidRequest                          400   InvalidArgument
//	ErrUnavailable                             503   Unavailable
//
// The status message is the library's fixed description of the error
// ("The access token expired"), never token text. A nonce asked for with
// use_dpop_nonce is sent in a "dpop-nonce" trailer, and the retry delay of
// Unavailable in "retry-after" (seconds). A stream is refused before its
// handler runs, so before any message is read or sent.
//
// # Connect
//
// Connect (connectrpc.com/connect) handlers are http.Handlers: protect them
// per procedure with an httpbearer guard, and answer with
// [WriteConnectError] so that Connect, gRPC and gRPC-Web clients get these
// codes too.
package grpcbearer
