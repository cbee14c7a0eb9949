// Package scopes parses OAuth 2.0 scope values and checks per-route scope
// requirements.
//
// A scope value is a list of scope tokens (RFC 6749 §3.3). Authorization
// servers carry it in an access token in one of a few shapes, all of which
// [Parse] and [FromList] accept:
//
//  1. "scope": a space-delimited string (RFC 8693 §4.2, RFC 9068 §2.2.3),
//     or an array of strings (Spring Authorization Server);
//  2. "scp": an array of strings, or a space-delimited string (Entra ID, Okta);
//  3. a provider-specific claim such as "permissions" (Auth0) or "roles".
//
// Each scope token MUST consist of the characters RFC 6749 §3.3 allows
// (%x21 / %x23-5B / %x5D-7E: printable ASCII except space, '"' and '\');
// anything else is an error, never silently accepted. Runs of spaces and
// duplicate tokens are tolerated; a [Set] holds each token once.
//
// A [Requirement] is a conjunction of clauses, each clause satisfied by any
// one of its terms: [All] builds one clause per scope, [Any] a single
// clause, and [Requirement.And] combines them. Terms name more than scopes
// ([Term]): [Scope], [Role] (Entra ID "roles", Keycloak realm and client
// roles), [Permission] (Auth0 "permissions") and [Claim] (a value at an
// RFC 6901 claim path), combined by [AllOf] and [AnyOf], so a route can
// require "scope read:data or role Data.Read". [Requirement.SatisfiedBy]
// checks a [Granter] (the validated token); [Requirement.MissingFrom] names
// the scopes of the clauses it does not satisfy, which is what an RFC 6750
// §3 insufficient_scope challenge reports in its scope attribute: only
// scopes, never roles or the like. A [Set] grants scopes only, so the
// Set-based [Requirement.Satisfied] and [Requirement.Missing] fail closed
// on any other term.
//
// This package depends on the standard library only.
package scopes
