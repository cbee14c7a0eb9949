package scopes

import (
	"fmt"
	"slices"
	"strings"
)

// Requirement says which scopes a request must carry: every clause must be
// satisfied, and a clause is satisfied by any one of its scopes. The zero
// Requirement requires nothing.
//
// Requirements are built once, at start-up, by [All], [Any] and
// [Requirement.And], and are safe for concurrent use.
type Requirement struct {
	clauses [][]string
}

// All requires every one of the given scopes. It panics if a scope is not a
// valid scope token, since requirements are program constants.
func All(scopes ...string) Requirement {
	r := Requirement{}
	for _, s := range scopes {
		mustValid(s)
		r.clauses = append(r.clauses, []string{s})
	}
	return r
}

// Any requires at least one of the given scopes. Any() with no scopes
// requires nothing. It panics if a scope is not a valid scope token.
func Any(scopes ...string) Requirement {
	if len(scopes) == 0 {
		return Requirement{}
	}
	for _, s := range scopes {
		mustValid(s)
	}
	return Requirement{clauses: [][]string{slices.Clone(scopes)}}
}

// And returns a requirement satisfied only when both r and other are:
// All("a").And(Any("b", "c")) requires a, and b or c.
func (r Requirement) And(other Requirement) Requirement {
	clauses := make([][]string, 0, len(r.clauses)+len(other.clauses))
	clauses = append(clauses, r.clauses...)
	clauses = append(clauses, other.clauses...)
	return Requirement{clauses: clauses}
}

// IsZero reports whether r requires nothing.
func (r Requirement) IsZero() bool { return len(r.clauses) == 0 }

// Satisfied reports whether granted meets the requirement.
func (r Requirement) Satisfied(granted Set) bool {
	for _, clause := range r.clauses {
		if !slices.ContainsFunc(clause, granted.Has) {
			return false
		}
	}
	return true
}

// Missing returns the scopes of every clause that granted does not satisfy,
// without duplicates, in the order the requirement names them: for an
// all-of clause, the scope that is absent; for an any-of clause, each of its
// alternatives. It returns nil when the requirement is satisfied. This is
// the value of the scope attribute of an RFC 6750 insufficient_scope
// challenge.
func (r Requirement) Missing(granted Set) []string {
	var missing []string
	for _, clause := range r.clauses {
		if slices.ContainsFunc(clause, granted.Has) {
			continue
		}
		for _, s := range clause {
			if !slices.Contains(missing, s) {
				missing = append(missing, s)
			}
		}
	}
	return missing
}

// String describes the requirement, e.g. "read:data AND (admin OR owner)".
func (r Requirement) String() string {
	if len(r.clauses) == 0 {
		return "(none)"
	}
	parts := make([]string, len(r.clauses))
	for i, c := range r.clauses {
		if len(c) == 1 {
			parts[i] = c[0]
		} else {
			parts[i] = "(" + strings.Join(c, " OR ") + ")"
		}
	}
	return strings.Join(parts, " AND ")
}

func mustValid(s string) {
	if !ValidToken(s) {
		panic(fmt.Sprintf("scopes: %q is not a valid scope token (RFC 6749 §3.3)", s))
	}
}
