package validator

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/bearerguard/bearerguard/scopes"
)

// Source says how a token was checked.
type Source uint8

const (
	// SourceJWT: a JWT whose signature was verified locally.
	SourceJWT Source = iota + 1
	// SourceIntrospection: an active response from the issuer's RFC 7662
	// introspection endpoint.
	SourceIntrospection
)

// Confirmation is what a sender-constrained token is bound to (RFC 7800
// "cnf"). Both fields are empty for a plain bearer token.
type Confirmation struct {
	// JKT is the RFC 7638 SHA-256 thumbprint of the DPoP proof key
	// (RFC 9449 §6), base64url.
	JKT string
	// X5TS256 is the SHA-256 thumbprint of the client certificate
	// (RFC 8705 §3.1, "x5t#S256"), base64url.
	X5TS256 string
}

// Bound reports whether the token is bound to a key or certificate.
func (c Confirmation) Bound() bool { return c.JKT != "" || c.X5TS256 != "" }

// String returns "jwt" or "introspection".
func (s Source) String() string {
	switch s {
	case SourceJWT:
		return "jwt"
	case SourceIntrospection:
		return "introspection"
	}
	return "unknown"
}

// Token is a validated access token. Every successful validation returns a
// Token of its own, cached or not: a handler may modify its Token (append
// to Audience, replace Scopes) without changing what any other request
// sees or what a later validation of the same token decides. Like any
// struct, a Token must not be modified while other goroutines read it.
type Token struct {
	Issuer    string    // "iss"
	Subject   string    // "sub"
	Audience  []string  // "aud", always as a list
	Expiry    time.Time // "exp"; zero if absent
	IssuedAt  time.Time // "iat"; zero if absent
	NotBefore time.Time // "nbf"; zero if absent
	ID        string    // "jti"
	// ClientID is "client_id" (RFC 9068, RFC 8693), else "azp", else "cid".
	ClientID string
	// Scopes are the union of "scope", "scp" and any configured scope claims.
	Scopes scopes.Set
	// Roles are the names in the claims its issuer's [IssuerRoleClaims]
	// name (Entra ID "roles", Keycloak "realm_access.roles", …), each
	// once; empty when the issuer reads none.
	Roles scopes.Set
	// Permissions are the names in the claims its issuer's
	// [IssuerPermissionClaims] name (Auth0 "permissions"), each once.
	Permissions scopes.Set
	// Source says whether the token was verified locally or introspected.
	Source Source
	// claimsEncoded says that claims holds the token's base64url payload
	// segment, not its claims JSON (it sits beside Source, in what would be
	// padding: a cache hit allocates a Token, and fewer bytes cost less).
	claimsEncoded bool
	// KeyID and Algorithm identify the key and algorithm that verified a JWT.
	KeyID     string
	Algorithm Algorithm
	// Type is the JOSE "typ" header of a JWT, as sent ("at+jwt", "JWT", or "").
	Type string
	// ACR is the "acr" claim, the authentication context class of the user
	// (RFC 9470); "" if absent.
	ACR string
	// AuthTime is the "auth_time" claim, when the user authenticated; zero
	// if absent.
	AuthTime time.Time
	// Confirmation is the token's "cnf" claim: the DPoP key or client
	// certificate the token is bound to, if any. A bound token is accepted
	// only with proof of what it is bound to.
	Confirmation Confirmation

	// proof, when not nil, is the DPoP proof the token was accepted with,
	// in its request, and the replay store that remembered it (see
	// rememberedInRequest): only a validator sets it, after the store
	// answered "fresh".
	proof *acceptedProof

	// claims is the claims JSON (or the introspection response's
	// members), or, when claimsEncoded, the presented token's payload
	// segment: a token served from the cache decodes its claims JSON only
	// when asked (see claimsJSON). Its bytes are never written.
	claims string
}

// Format prints the token, for every verb (%v, %+v, %#v, %s, and so
// slog's text handler), as its issuer, subject, client, source and expiry.
// It never prints the claims it keeps (a JWT's payload segment or an
// introspection answer), which fmt would print of the struct. Token is
// deliberately not a fmt.Stringer: a context carrying a token
// ([NewContext]) prints the token's type, not who it names.
func (t Token) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "Token{Issuer:%q Subject:%q ClientID:%q Source:%s Expiry:%s}",
		t.Issuer, t.Subject, t.ClientID, t.Source, t.Expiry.Format(time.RFC3339))
}

// tokenBlock is a Token with room for a short Audience beside it (nearly
// every token has one or two audiences), so that a Token and its Audience
// are one allocation. The room is outside the Token: a copy of the Token
// (t2 := *t) shares its Audience with t, as with any slice, but nothing
// that overwrites *t changes it.
type tokenBlock struct {
	tok Token
	aud [2]string
}

// claimsJSON returns the claims JSON: a read-only view of claims, or the
// payload decoded afresh (never stored, so reading claims never writes to
// the Token). Nothing may write to what it returns unless claimsEncoded.
func (t *Token) claimsJSON() []byte {
	if !t.claimsEncoded {
		return bytesOf(t.claims)
	}
	b, ok := decodeSegment(t.claims, nil)
	if !ok {
		return nil // cannot happen: the payload decoded when it was validated
	}
	return b
}

// Claim returns the value of the named claim decoded into the types
// encoding/json uses for an any (string, float64, bool, []any,
// map[string]any, nil), and whether the claim is present.
func (t *Token) Claim(name string) (any, bool) {
	var r objectReader
	if r.init(t.claimsJSON()) != nil {
		return nil, false
	}
	for {
		n, v, ok, err := r.next()
		if err != nil || !ok {
			return nil, false
		}
		if string(n) == name {
			var out any
			if json.Unmarshal(v, &out) != nil {
				return nil, false
			}
			return out, true
		}
	}
}

// Decode decodes the claims into v with encoding/json, for custom claim
// structs. v's UnmarshalJSON methods get a copy of the claims: nothing
// they do reaches the token, the cache or another request.
//
// encoding/json matches member names to struct fields case-insensitively.
// A validated token has no two names in one object that are equal under
// that folding, and no top-level name that folds to a claim the Token's
// fields come from without being it ("SUB", "Exp"): a field tagged "sub"
// reads the member Subject was read from. A custom claim sent as "Tenant"
// still fills a field tagged "tenant", which [Token.Claim] (exact names)
// does not find.
func (t *Token) Decode(v any) error {
	if t.claimsEncoded {
		return json.Unmarshal(t.claimsJSON(), v) // decoded afresh: already a copy
	}
	return json.Unmarshal([]byte(t.claims), v)
}

// RawClaims returns a copy of the claims as JSON.
func (t *Token) RawClaims() []byte {
	switch {
	case t.claimsEncoded:
		return t.claimsJSON() // decoded afresh: already the caller's own
	case t.claims == "":
		return nil
	}
	return []byte(t.claims)
}

// Grants reports whether the token grants the term: a scope among
// Scopes, a role among Roles, a permission among Permissions, or a claim
// path whose value is (or is an array holding) the term's value. It makes
// *Token a [scopes.Granter], so a route checks a [scopes.Requirement]
// with [scopes.Requirement.SatisfiedBy].
func (t *Token) Grants(term scopes.Term) bool {
	switch term.Kind() {
	case scopes.KindScope:
		return t.Scopes.Has(term.Name())
	case scopes.KindRole:
		return t.Roles.Has(term.Name())
	case scopes.KindPermission:
		return t.Permissions.Has(term.Name())
	case scopes.KindClaim:
		return claimHas(t.claimsJSON(), term)
	}
	return false
}

// HasAudience reports whether aud is one of the token's audiences.
func (t *Token) HasAudience(aud string) bool { return slices.Contains(t.Audience, aud) }

// clone returns a copy of t that shares nothing writable with it. The
// Audience is copied into the same allocation when it is short, so a
// cache hit costs one allocation. Scopes, Roles and Permissions are
// immutable sets (a holder can only replace its own copy's field), and the
// claims are a string, so they are shared.
func (t *Token) clone() *Token {
	b := new(tokenBlock)
	b.tok = *t
	if t.Audience != nil && len(t.Audience) <= len(b.aud) {
		n := copy(b.aud[:], t.Audience)
		b.tok.Audience = b.aud[:n:n]
	} else if t.Audience != nil {
		b.tok.Audience = slices.Clone(t.Audience)
	}
	return &b.tok
}

// copyInto overwrites dst (not t) with a copy of t that shares nothing
// writable with it, as clone does; its Audience is a new slice (the one
// allocation of [Validator.ValidateInto]).
func (t *Token) copyInto(dst *Token) {
	*dst = *t
	if t.Audience != nil {
		dst.Audience = slices.Clone(t.Audience)
	}
}
