package scopes

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Kind names the permission source a [Term] is checked against.
type Kind uint8

// Permission sources.
const (
	// KindScope: the token's scopes ("scope", "scp" and configured scope
	// claims). The only kind an RFC 6750 scope attribute names.
	KindScope Kind = iota + 1
	// KindRole: the token's roles (Entra ID "roles", Keycloak
	// "realm_access.roles" and "resource_access.<client>.roles", as its
	// issuer is configured to read them).
	KindRole
	// KindPermission: the token's permissions (Auth0 "permissions").
	KindPermission
	// KindClaim: a value at a claim path.
	KindClaim
)

// String returns "scope", "role", "permission" or "claim".
func (k Kind) String() string {
	switch k {
	case KindScope:
		return "scope"
	case KindRole:
		return "role"
	case KindPermission:
		return "permission"
	case KindClaim:
		return "claim"
	}
	return "unknown"
}

// MaxClaimPathDepth is the most segments a claim path may have.
const MaxClaimPathDepth = 8

// ErrInvalidClaimPath reports a claim path that is not an RFC 6901 JSON
// Pointer of 1 to [MaxClaimPathDepth] non-empty segments.
var ErrInvalidClaimPath = errors.New("scopes: invalid claim path")

// Term is one thing a request may be required to carry: a scope, a role, a
// permission, or a value at a claim path. Build terms with [Scope], [Role],
// [Permission] and [Claim]; the zero Term is invalid and panics in a
// requirement.
type Term struct {
	kind  Kind
	name  string   // the scope, role, permission, or the claim value
	path  string   // KindClaim: the JSON Pointer as written
	segs  []string // KindClaim: its unescaped segments, never handed out
	valid bool
}

// Scope is a term satisfied by a granted scope. It panics if s is not a
// valid scope token (RFC 6749 §3.3), since requirements are program
// constants.
func Scope(s string) Term {
	mustValid(s)
	return Term{kind: KindScope, name: s, valid: true}
}

// Role is a term satisfied by a role the token carries. It panics if name
// is not a valid name ([ValidName]).
func Role(name string) Term {
	mustName(name)
	return Term{kind: KindRole, name: name, valid: true}
}

// Permission is a term satisfied by a permission the token carries (Auth0
// RBAC "permissions"). It panics if name is not a valid name ([ValidName]).
func Permission(name string) Term {
	mustName(name)
	return Term{kind: KindPermission, name: name, valid: true}
}

// Claim is a term satisfied when the claim at path is the string value, or
// an array with an element equal to value. The path is an RFC 6901 JSON
// Pointer into the claims ("/resource_access/orders-api/roles",
// "/https:~1~1example.com~1tier"; "~1" stands for "/" and "~0" for "~"), of
// at most [MaxClaimPathDepth] segments. Numbers, booleans and objects never
// match. It panics on an invalid path or value.
func Claim(path, value string) Term {
	segs, err := ParseClaimPath(path)
	if err != nil {
		panic(err.Error())
	}
	mustName(value)
	return Term{kind: KindClaim, name: value, path: path, segs: segs, valid: true}
}

// Kind returns the term's permission source.
func (t Term) Kind() Kind { return t.kind }

// Name returns the scope, role or permission name, or the value a claim
// term wants.
func (t Term) Name() string { return t.name }

// Path returns a claim term's path segments (unescaped), nil for other
// kinds. The caller owns the returned slice.
func (t Term) Path() []string { return slices.Clone(t.segs) }

// PathSegment returns segment i of a claim term's path, and the number of
// segments: for walking the path without allocating.
func (t Term) PathSegment(i int) (seg string, n int) {
	if i < 0 || i >= len(t.segs) {
		return "", len(t.segs)
	}
	return t.segs[i], len(t.segs)
}

// String describes the term: "read:data", "role:Data.Read",
// "permission:read:data", "claim:/tier=gold".
func (t Term) String() string {
	switch t.kind {
	case KindScope:
		return t.name
	case KindClaim:
		return "claim:" + t.path + "=" + t.name
	case KindRole, KindPermission:
		return t.kind.String() + ":" + t.name
	}
	return "(invalid term)"
}

// Granter tells which terms a validated token grants.
// *validator.Token implements it for every kind; a [Set] grants scope
// terms only.
type Granter interface {
	Grants(t Term) bool
}

// Grants reports whether t is a scope term for a scope in s.
func (s Set) Grants(t Term) bool { return t.kind == KindScope && s.Has(t.name) }

// ValidName reports whether name can name a role or permission, or be a
// claim term's value: non-empty, valid UTF-8, without control characters.
// Unlike scope tokens, names may contain spaces (Keycloak roles can).
func ValidName(name string) bool {
	if name == "" || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// FromNames builds a Set of role or permission names, as found in a
// "roles" or "permissions" array claim. Each element must satisfy
// [ValidName]; duplicates collapse, in time linear in the number of names.
// Such a set may hold names that are not scope tokens: its
// [Set.String] is then not a scope value.
func FromNames(names []string) (Set, error) {
	d := dedup{list: make([]string, 0, len(names))}
	for _, n := range names {
		if !ValidName(n) {
			return Set{}, invalid(n)
		}
		d.add(n)
	}
	return Set{list: d.list}, nil
}

// ParseClaimPath parses an RFC 6901 JSON Pointer naming a claim: "/" then
// 1 to [MaxClaimPathDepth] non-empty segments separated by "/", where "~1"
// stands for "/" and "~0" for "~". It returns the unescaped segments.
func ParseClaimPath(p string) ([]string, error) {
	if len(p) < 2 || p[0] != '/' || !utf8.ValidString(p) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidClaimPath, short(p))
	}
	raw := strings.Split(p[1:], "/")
	if len(raw) > MaxClaimPathDepth {
		return nil, fmt.Errorf("%w: %q has more than %d segments", ErrInvalidClaimPath, short(p), MaxClaimPathDepth)
	}
	segs := make([]string, len(raw))
	for i, s := range raw {
		var b strings.Builder
		for j := 0; j < len(s); j++ {
			c := s[j]
			if c != '~' {
				b.WriteByte(c)
				continue
			}
			if j+1 == len(s) || (s[j+1] != '0' && s[j+1] != '1') {
				return nil, fmt.Errorf("%w: %q has a bad ~ escape", ErrInvalidClaimPath, short(p))
			}
			if s[j+1] == '0' {
				b.WriteByte('~')
			} else {
				b.WriteByte('/')
			}
			j++
		}
		if b.Len() == 0 {
			return nil, fmt.Errorf("%w: %q has an empty segment", ErrInvalidClaimPath, short(p))
		}
		segs[i] = b.String()
	}
	return segs, nil
}

// short cuts s for an error message.
func short(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

func mustName(s string) {
	if !ValidName(s) {
		panic(fmt.Sprintf("scopes: %q is not a valid role, permission or claim value", s))
	}
}

func mustTerm(t Term) {
	if !t.valid {
		panic("scopes: the zero Term is not a term; use Scope, Role, Permission or Claim")
	}
}
