package validator

import (
	"errors"
	"log/slog"
	"strings"
	"time"
)

// Class errors: every error this module returns matches exactly one of them
// with [errors.Is], and the class alone decides the HTTP answer (see
// [ChallengeFor]).
var (
	// ErrNoToken: the request carried no credentials at all (RFC 6750 §3.1:
	// a bare challenge, no error attribute).
	ErrNoToken = &Error{code: "", desc: "No access token was presented", msg: "no token"}
	// ErrInvalidRequest: the request is malformed (RFC 6750 §3.1
	// invalid_request): a broken Authorization header, a token sent in more
	// than one way, or a method of sending it that is not enabled.
	ErrInvalidRequest = &Error{code: "invalid_request", desc: "The request is malformed", msg: "invalid request"}
	// ErrInvalidToken: the token is malformed, forged, expired, revoked or
	// not meant for this API (RFC 6750 §3.1 invalid_token).
	ErrInvalidToken = &Error{code: "invalid_token", desc: "The access token is invalid", msg: "invalid token"}
	// ErrInsufficientScope: the token is good but lacks a scope the route
	// requires (RFC 6750 §3.1 insufficient_scope). Use [AsScopeError] to
	// learn which scopes. Its reason [ErrNoGrant] is the validator's own: a
	// token granting nothing.
	ErrInsufficientScope = &Error{code: "insufficient_scope", desc: "The access token lacks a required scope", msg: "insufficient scope"}
	// ErrUnavailable: the keys or the introspection endpoint needed to
	// decide could not be reached and nothing cached can decide. Not the
	// client's fault: answered with 503 and Retry-After.
	ErrUnavailable = &Error{code: "", desc: "The token cannot be checked right now", msg: "verification unavailable"}
	// ErrInsufficientUserAuthentication: the token is good, but the user
	// behind it did not authenticate strongly or recently enough for this
	// route (RFC 9470 insufficient_user_authentication, answered 401 with
	// acr_values and max_age so the client can step up). The error is a
	// [*StepUpError].
	ErrInsufficientUserAuthentication = &Error{code: "insufficient_user_authentication",
		desc: "A different authentication level is required", msg: "insufficient user authentication"}
	// ErrInvalidDPoPProof: the DPoP proof is missing, malformed, not signed
	// by its key, not for this request, too old or replayed (RFC 9449 §7.1
	// invalid_dpop_proof, answered 401 with a DPoP challenge).
	ErrInvalidDPoPProof = &Error{code: "invalid_dpop_proof", desc: "The DPoP proof is invalid", msg: "invalid DPoP proof"}
	// ErrUseDPoPNonce: the proof lacks the server's current nonce (RFC 9449
	// §8 use_dpop_nonce, answered 401 with a DPoP-Nonce header). The error
	// is a [*NonceError] carrying the nonce to use.
	ErrUseDPoPNonce = &Error{code: "use_dpop_nonce", desc: "A DPoP nonce is required", msg: "DPoP nonce required"}
)

// Reasons for [ErrInvalidRequest].
var (
	// ErrMalformedHeader: the Authorization header is not "Bearer" 1*SP b64token.
	ErrMalformedHeader = reason(ErrInvalidRequest, "malformed authorization header", "The Authorization header is malformed")
	// ErrMalformedCredentials: where a token may be sent other than the
	// Authorization header cannot be read: a form body that does not parse
	// (or exceeds its size limit), a token cookie that is not a b64token.
	ErrMalformedCredentials = reason(ErrInvalidRequest, "malformed form body or token cookie", "The request body or token cookie is malformed")
	// ErrMultipleTokens: more than one token, or one sent in two ways (RFC 6750 §2).
	ErrMultipleTokens = reason(ErrInvalidRequest, "token sent more than once", "The access token was sent more than once")
	// ErrMethodNotAllowed: a token in the query string or form body when that
	// method is not enabled.
	ErrMethodNotAllowed = reason(ErrInvalidRequest, "token transport not enabled", "The access token must be sent in the Authorization header")
)

// Reasons for [ErrNoToken].
var (
	// ErrDPoPNotAccepted: the DPoP scheme when DPoP is off ([DPoPOff]): an
	// authentication method this API does not support, answered as no
	// credentials are (RFC 6750 §3.1: a bare Bearer challenge). The
	// adapters never return it: to them, with DPoP off, "Authorization:
	// DPoP" is a scheme like any other they do not take.
	ErrDPoPNotAccepted = reason(ErrNoToken, "DPoP not accepted", "The DPoP authorization scheme is not accepted")
)

// Reasons for [ErrInvalidToken].
var (
	// ErrTooLarge: the token exceeds the configured size cap.
	ErrTooLarge = reason(ErrInvalidToken, "token too large", "The access token is too large")
	// ErrMalformed: not a compact JWS, bad base64url, bad JSON, duplicate
	// member names, or a claim of the wrong type.
	ErrMalformed = reason(ErrInvalidToken, "malformed token", "The access token is malformed")
	// ErrUnsupported: JWE, JWS JSON serialization, nested JWTs, or a "crit"
	// or "b64" header: extensions this library does not implement.
	ErrUnsupported = reason(ErrInvalidToken, "unsupported token format", "The access token format is not supported")
	// ErrAlgorithm: "alg" is not allowed for this issuer, or does not match
	// the key.
	ErrAlgorithm = reason(ErrInvalidToken, "algorithm not allowed", "The access token algorithm is not allowed")
	// ErrType: the token is not an access token: its "typ" header, an
	// issuer's access-token claim, or its claims' (a JWT's or an
	// introspection answer's) "token_type", "token_use" or "typ" says so (or
	// names no type where one is required).
	ErrType = reason(ErrInvalidToken, "wrong token type", "The token is not an access token")
	// ErrUnknownKey: no key of the issuer matches the token's "kid" and "alg".
	ErrUnknownKey = reason(ErrInvalidToken, "unknown signing key", "The access token was signed with an unknown key")
	// ErrSignature: the signature does not verify.
	ErrSignature = reason(ErrInvalidToken, "invalid signature", "The access token signature is invalid")
	// ErrIssuer: "iss" is missing or not a trusted issuer.
	ErrIssuer = reason(ErrInvalidToken, "untrusted issuer", "The access token issuer is not trusted")
	// ErrAudience: "aud" does not name this API.
	ErrAudience = reason(ErrInvalidToken, "wrong audience", "The access token is not meant for this resource")
	// ErrExpired: "exp" has passed, or is missing when required.
	ErrExpired = reason(ErrInvalidToken, "token expired", "The access token expired")
	// ErrNotYetValid: "nbf" or "iat" is in the future.
	ErrNotYetValid = reason(ErrInvalidToken, "token not yet valid", "The access token is not valid yet")
	// ErrTooOld: "iat" is older than the configured maximum token age.
	ErrTooOld = reason(ErrInvalidToken, "token too old", "The access token is too old")
	// ErrMissingClaim: a claim the configured profile requires is absent.
	ErrMissingClaim = reason(ErrInvalidToken, "required claim missing", "The access token lacks a required claim")
	// ErrInactive: introspection says the token is not active.
	ErrInactive = reason(ErrInvalidToken, "token inactive", "The access token is not active")
	// ErrClaimValue: a claim the issuer's configuration restricts ("azp",
	// "cid", …; see [IssuerClaimValues]) is absent or has a value not
	// allowed.
	ErrClaimValue = reason(ErrInvalidToken, "claim value not allowed", "The access token was not issued to an allowed client")
	// ErrClaimCheck: a user-supplied claim check refused the token.
	ErrClaimCheck = reason(ErrInvalidToken, "claim check failed", "The access token was refused")
	// ErrBoundToken: a token bound to a key or certificate ("cnf") was
	// presented without what it is bound to: a DPoP-bound token as Bearer
	// (no downgrade, RFC 9449 §7.2), or a certificate-bound token without
	// that client certificate (RFC 8705 §3).
	ErrBoundToken = reason(ErrInvalidToken, "sender-constrained token without its binding", "The access token is bound to a key or certificate the request does not prove")
	// ErrBindingMismatch: the DPoP proof's key or the client certificate is
	// not the one the token is bound to, or a DPoP proof came with a token
	// that is not bound to a key.
	ErrBindingMismatch = reason(ErrInvalidToken, "token bound to another key", "The access token is not bound to the presented key")
	// ErrBearerNotAllowed: a Bearer token when DPoP is required
	// ([DPoPRequired]).
	ErrBearerNotAllowed = reason(ErrInvalidToken, "bearer token where DPoP is required", "The access token must be DPoP-bound and sent with a DPoP proof")
	// ErrUnsupportedBinding: "cnf" names only confirmation methods this
	// library cannot check, or an introspection answer says "token_type":
	// "DPoP" but names no "cnf.jkt", so the token cannot be accepted at all.
	ErrUnsupportedBinding = reason(ErrInvalidToken, "unsupported confirmation method", "The access token is bound in a way this resource cannot check")
)

// Reasons for [ErrInsufficientScope].
var (
	// ErrNoGrant: the token is genuine but grants nothing, no scope, role
	// or permission, and its issuer requires a grant
	// ([IssuerRequireGrant]; the Entra ID presets).
	ErrNoGrant = reason(ErrInsufficientScope, "token grants nothing", "The access token grants no scope, role or permission")
)

// Reasons for [ErrInvalidDPoPProof].
var (
	// ErrProofMissing: the DPoP scheme without a DPoP header, or with more
	// than one.
	ErrProofMissing = reason(ErrInvalidDPoPProof, "DPoP proof missing", "Exactly one DPoP proof is required")
	// ErrProofMalformed: not a compact JWS of "typ" dpop+jwt with an allowed
	// "alg", a public "jwk" and the required claims of the right types, or
	// too large.
	ErrProofMalformed = reason(ErrInvalidDPoPProof, "malformed DPoP proof", "The DPoP proof is malformed")
	// ErrProofSignature: the proof is not signed by the key it carries.
	ErrProofSignature = reason(ErrInvalidDPoPProof, "DPoP proof signature invalid", "The DPoP proof signature is invalid")
	// ErrProofMismatch: "htm", "htu" or "ath" does not match this request
	// and its access token.
	ErrProofMismatch = reason(ErrInvalidDPoPProof, "DPoP proof not for this request", "The DPoP proof does not match this request")
	// ErrProofTime: "iat" is outside the accepted window.
	ErrProofTime = reason(ErrInvalidDPoPProof, "DPoP proof outside its time window", "The DPoP proof is too old or from the future")
	// ErrProofReplayed: the proof's "jti" was seen before.
	ErrProofReplayed = reason(ErrInvalidDPoPProof, "DPoP proof replayed", "The DPoP proof was already used")
)

// Reasons for [ErrUnavailable].
var (
	// ErrKeysUnavailable: the issuer's key set has never loaded, or is older
	// than the configured maximum staleness.
	ErrKeysUnavailable = reason(ErrUnavailable, "signing keys unavailable", "")
	// ErrIntrospectionUnavailable: the introspection endpoint failed.
	ErrIntrospectionUnavailable = reason(ErrUnavailable, "introspection unavailable", "")
	// ErrReplayUnavailable: the DPoP replay store cannot record a proof (it
	// is full, or unreachable), so no proof can be accepted.
	ErrReplayUnavailable = reason(ErrUnavailable, "DPoP replay store unavailable", "")
)

// NonceError asks the client to retry with a server-issued DPoP nonce
// (RFC 9449 §8). It matches [ErrUseDPoPNonce] with errors.Is.
type NonceError struct {
	// Nonce is the value to send in the DPoP-Nonce header.
	Nonce string
}

// Error says a nonce is required (the nonce is not secret, but is left
// out to keep errors short).
func (e *NonceError) Error() string { return ErrUseDPoPNonce.Error() }

// Unwrap returns [ErrUseDPoPNonce].
func (e *NonceError) Unwrap() error { return ErrUseDPoPNonce }

// Error is the type of this package's sentinel errors: a class (such as
// [ErrInvalidToken]) or a reason within a class (such as [ErrExpired]).
// Compare with [errors.Is]; a reason matches its class too.
type Error struct {
	class *Error
	code  string // RFC 6750 error code of the class
	desc  string // fixed, safe error_description
	msg   string
}

func reason(class *Error, msg, desc string) *Error {
	if desc == "" {
		desc = class.desc
	}
	return &Error{class: class, code: class.code, desc: desc, msg: msg}
}

// Error returns a short description, prefixed with "bearerguard: ".
func (e *Error) Error() string { return "bearerguard: " + e.msg }

// Unwrap returns the class of a reason, or nil for a class.
func (e *Error) Unwrap() error {
	if e.class == nil {
		return nil
	}
	return e.class
}

// Code returns the RFC 6750 error code ("invalid_token", …), or "" for
// [ErrNoToken] and [ErrUnavailable].
func (e *Error) Code() string { return e.code }

// Description returns the fixed, safe error_description text for e. It
// never contains token material or upstream content.
func (e *Error) Description() string { return e.desc }

// LogValue implements [slog.LogValuer].
func (e *Error) LogValue() slog.Value { return slog.StringValue(e.msg) }

// ScopeError reports that a token does not meet a route's requirement. It
// matches [ErrInsufficientScope] with errors.Is.
type ScopeError struct {
	// Missing lists the scopes the route requires and the token lacks:
	// the scope terms of the unmet clauses. It is empty when those clauses
	// name only roles, permissions or claims, which an RFC 6750 scope
	// attribute cannot name.
	Missing []string
	// Scope, when not nil, lists the scopes the request needs, those the
	// token holds included ([scopes.Requirement.NeededBy]): the scope
	// attribute of the challenge (RFC 6750 §3.1), so that a client asking
	// for it gets a token that passes. When nil, the challenge names
	// Missing.
	Scope []string
}

// Error lists the missing scopes (scope names are not secret).
func (e *ScopeError) Error() string {
	if len(e.Missing) == 0 {
		return "bearerguard: insufficient scope: a required role, permission or claim is missing"
	}
	return "bearerguard: insufficient scope: missing " + strings.Join(e.Missing, " ")
}

// Unwrap returns [ErrInsufficientScope].
func (e *ScopeError) Unwrap() error { return ErrInsufficientScope }

// UnavailableError carries a hint of when to retry. It matches its reason
// (e.g. [ErrKeysUnavailable]) and [ErrUnavailable] with errors.Is, and
// wraps the underlying cause for logs.
type UnavailableError struct {
	Reason     *Error        // ErrKeysUnavailable or ErrIntrospectionUnavailable
	RetryAfter time.Duration // zero if unknown
	Err        error         // the underlying cause; never shown to clients
}

// Error describes the failure and its cause.
func (e *UnavailableError) Error() string {
	if e.Err == nil {
		return e.Reason.Error()
	}
	return e.Reason.Error() + ": " + e.Err.Error()
}

// Unwrap returns the reason and the cause.
func (e *UnavailableError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}

// AsScopeError returns the [ScopeError] in err's chain, if any.
func AsScopeError(err error) (*ScopeError, bool) {
	return errors.AsType[*ScopeError](err)
}

// classOf returns the class and the most specific reason in err's chain.
// Unknown errors count as ErrInvalidToken, so that a bug never lets a token
// through and never reveals detail.
func classOf(err error) (class, reason *Error) {
	if e, ok := errors.AsType[*Error](err); ok {
		reason = e
		class = e
		if e.class != nil {
			class = e.class
		}
		return class, reason
	}
	if errors.Is(err, ErrInsufficientScope) {
		return ErrInsufficientScope, ErrInsufficientScope
	}
	return ErrInvalidToken, ErrInvalidToken
}

func asUnavailable(err error) (*UnavailableError, bool) {
	return errors.AsType[*UnavailableError](err)
}

// errNotBuilt is what a Validator not built by [New] (a zero Validator)
// answers: it has no issuer to trust, and must refuse rather than panic.
var errNotBuilt = &UnavailableError{Reason: ErrUnavailable, Err: errors.New("a Validator not built by New")}
