// Package scopes parses OAuth 2.0 scope values and checks per-route scope
// requirements.
//
// A scope value is a list of scope tokens (RFC 6749 §3.3). Authorization
// servers carry it in an access token in one of a few shapes, all of which
// [Parse] and [FromList] accept:
//
//  1. "scope": a space-delimited string (RFC 8693 §4.2, RFC 9068 §2.2.3);
//  2. "scp": an array of strings, or a space-delimited string (Entra ID, Okta);
//  3. a provider-specific claim such as "permissions" (Auth0) or "roles".
//
// Each scope token MUST consist of the characters RFC 6749 §3.3 allows
// (%x21 / %x23-5B / %x5D-7E: printable ASCII except space, '"' and '\');
// anything else is an error, never silently accepted. Runs of spaces and
// duplicate tokens are tolerated; a [Set] holds each token once.
//
// A [Requirement] is a conjunction of clauses, each clause satisfied by any
// one of its scopes: [All] builds one clause per scope, [Any] a single
// clause, and [Requirement.And] combines them. [Requirement.Missing] names
// the scopes a request still lacks, which is what an RFC 6750 §3
// insufficient_scope challenge reports in its scope attribute.
//
// This package depends on the standard library only.
package scopes
