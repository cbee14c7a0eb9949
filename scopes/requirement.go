package scopes

import (
	"fmt"
	"slices"
	"strings"
)

// Requirement says what a request must carry: every clause must be
// satisfied, and a clause is satisfied by any one of its terms. A term names
// a scope, a role, a permission or a claim value ([Term]). The zero
// Requirement requires nothing.
//
// Requirements are built once, at start-up, by [All], [Any], [AllOf],
// [AnyOf] and [Requirement.And], and are safe for concurrent use.
//
// Built from nothing, each of them requires nothing: Any(list...) with a
// list read from the environment or a file that came out empty lets every
// valid token through. Refuse an empty list where it is read (as the
// route files of forwardauth, the provider allow-lists and
// mcpbearer.WithToolScopes do), or check [Requirement.IsZero].
type Requirement struct {
	clauses [][]Term
}

// All requires every one of the given scopes. It panics if a scope is not a
// valid scope token, since requirements are program constants.
func All(scopes ...string) Requirement {
	r := Requirement{}
	for _, s := range scopes {
		r.clauses = append(r.clauses, []Term{Scope(s)})
	}
	return r
}

// Any requires at least one of the given scopes. Any() with no scopes
// requires nothing. It panics if a scope is not a valid scope token.
func Any(scopes ...string) Requirement {
	if len(scopes) == 0 {
		return Requirement{}
	}
	clause := make([]Term, len(scopes))
	for i, s := range scopes {
		clause[i] = Scope(s)
	}
	return Requirement{clauses: [][]Term{clause}}
}

// AllOf requires every one of the given terms:
// AllOf(Scope("read:data"), Role("Data.Reader")) requires both.
func AllOf(terms ...Term) Requirement {
	r := Requirement{}
	for _, t := range terms {
		mustTerm(t)
		r.clauses = append(r.clauses, []Term{t})
	}
	return r
}

// AnyOf requires at least one of the given terms:
// AnyOf(Scope("read:data"), Role("Data.Read")) is "scope read:data or role
// Data.Read". AnyOf() with no terms requires nothing.
func AnyOf(terms ...Term) Requirement {
	if len(terms) == 0 {
		return Requirement{}
	}
	for _, t := range terms {
		mustTerm(t)
	}
	return Requirement{clauses: [][]Term{slices.Clone(terms)}}
}

// And returns a requirement satisfied only when both r and other are:
// All("a").And(Any("b", "c")) requires a, and b or c.
func (r Requirement) And(other Requirement) Requirement {
	clauses := make([][]Term, 0, len(r.clauses)+len(other.clauses))
	clauses = append(clauses, r.clauses...)
	clauses = append(clauses, other.clauses...)
	return Requirement{clauses: clauses}
}

// IsZero reports whether r requires nothing.
func (r Requirement) IsZero() bool { return len(r.clauses) == 0 }

// Satisfied reports whether the scopes granted meet the requirement. A Set
// holds scopes only: a role, permission or claim term is never satisfied by
// it, so a requirement naming one is not satisfied here (it fails closed).
// Use [Requirement.SatisfiedBy] with the validated token to check every
// kind of term.
func (r Requirement) Satisfied(granted Set) bool { return r.SatisfiedBy(granted) }

// SatisfiedBy reports whether g grants enough to meet the requirement:
// each clause has a term g grants. The work is linear in the number of
// terms, each term costing what g.Grants costs.
func (r Requirement) SatisfiedBy(g Granter) bool {
	for _, clause := range r.clauses {
		if !slices.ContainsFunc(clause, g.Grants) {
			return false
		}
	}
	return true
}

// Missing returns the scope terms of every clause that granted does not
// satisfy, without duplicates, in the order the requirement names them: for
// an all-of clause, the scope that is absent; for an any-of clause, each of
// its scope alternatives. It returns nil when the requirement is satisfied,
// and a non-nil (possibly empty) slice when it is not: a clause made only of
// roles, permissions or claims adds nothing to the list but still makes it
// non-nil. This is the value of the scope attribute of an RFC 6750
// insufficient_scope challenge, which names scopes only. As with
// [Requirement.Satisfied], only scopes count as granted.
func (r Requirement) Missing(granted Set) []string { return r.MissingFrom(granted) }

// MissingFrom is [Requirement.Missing] for any [Granter], such as a
// validated token: it returns nil when g satisfies the requirement, else
// the scope terms of the clauses g does not satisfy (an empty, non-nil
// slice if those clauses name no scope).
func (r Requirement) MissingFrom(g Granter) []string {
	var missing []string
	for _, clause := range r.clauses {
		if slices.ContainsFunc(clause, g.Grants) {
			continue
		}
		if missing == nil {
			missing = make([]string, 0, len(clause))
		}
		for _, t := range clause {
			if t.kind == KindScope && !slices.Contains(missing, t.name) {
				missing = append(missing, t.name)
			}
		}
	}
	return missing
}

// NeededBy returns the scopes a token must carry to meet the requirement,
// given what g grants: nil when g meets it; else, in the order the
// requirement names them and without duplicates, the scopes g holds of the
// clauses it meets, and every scope term of the clauses it does not. This
// is the scope attribute of an RFC 6750 insufficient_scope challenge ("the
// scope necessary to access the protected resource", §3.1): a client that
// asks for exactly it gets a token that passes, where one that asks for
// the missing scopes alone ([Requirement.MissingFrom]) may lose the ones it
// had. A clause met or unmet through roles, permissions or claims only
// adds nothing; the slice is then non-nil but may be empty.
func (r Requirement) NeededBy(g Granter) []string {
	if r.SatisfiedBy(g) {
		return nil
	}
	needed := []string{}
	for _, clause := range r.clauses {
		met := slices.ContainsFunc(clause, g.Grants)
		for _, t := range clause {
			if t.kind == KindScope && (!met || g.Grants(t)) && !slices.Contains(needed, t.name) {
				needed = append(needed, t.name)
			}
		}
	}
	return needed
}

// Scopes returns every scope the requirement names, each once, in order:
// what a resource lists as scopes_supported (RFC 9728). Roles, permissions
// and claims are not scopes and are left out.
func (r Requirement) Scopes() []string { return r.Missing(Set{}) }

// Terms returns the requirement's clauses: every clause must be satisfied,
// and a clause is satisfied by any one of its terms. The caller owns the
// returned slices.
func (r Requirement) Terms() [][]Term {
	out := make([][]Term, len(r.clauses))
	for i, c := range r.clauses {
		out[i] = slices.Clone(c)
	}
	return out
}

// String describes the requirement, e.g.
// "read:data AND (admin OR role:Data.Admin)".
func (r Requirement) String() string {
	if len(r.clauses) == 0 {
		return "(none)"
	}
	parts := make([]string, len(r.clauses))
	for i, c := range r.clauses {
		if len(c) == 1 {
			parts[i] = c[0].String()
			continue
		}
		alts := make([]string, len(c))
		for j, t := range c {
			alts[j] = t.String()
		}
		parts[i] = "(" + strings.Join(alts, " OR ") + ")"
	}
	return strings.Join(parts, " AND ")
}

func mustValid(s string) {
	if !ValidToken(s) {
		panic(fmt.Sprintf("scopes: %q is not a valid scope token (RFC 6749 §3.3)", s))
	}
}
