package scopes

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalidScope reports a scope token with characters RFC 6749 §3.3 does
// not allow, or an empty token where one is required.
var ErrInvalidScope = errors.New("scopes: invalid scope token")

// Set is an immutable set of scope tokens. The zero value is the empty set.
// A Set is safe for concurrent use.
//
// Building a Set ([Parse], [FromList], [Set.Union]) takes time linear in
// the number of tokens, however many there are: scope values come from
// tokens, and a forged token may carry thousands of them. [Set.Has] is a
// linear scan.
type Set struct {
	list []string // distinct, in first-seen order
}

// linearMax is the number of distinct scopes up to which duplicates are
// found by scanning the list (no allocation, and faster than a map for
// the handful of scopes a token usually carries); past it, by a map.
const linearMax = 16

// dedup collects distinct tokens in first-seen order in time linear in the
// number added.
type dedup struct {
	list []string
	seen map[string]struct{} // the tokens of list, once it is past linearMax
}

// add appends tok unless it is already in the list.
func (d *dedup) add(tok string) {
	if d.seen == nil {
		if slices.Contains(d.list, tok) {
			return
		}
		d.list = append(d.list, tok)
		if len(d.list) > linearMax {
			d.seen = make(map[string]struct{}, 2*len(d.list))
			for _, t := range d.list {
				d.seen[t] = struct{}{}
			}
		}
		return
	}
	if _, ok := d.seen[tok]; ok {
		return
	}
	d.seen[tok] = struct{}{}
	d.list = append(d.list, tok)
}

// Parse parses a space-delimited scope string such as "read:data write:data".
// Leading, trailing and repeated spaces are ignored, and duplicates collapse.
// It returns an error wrapping [ErrInvalidScope] if any token has a character
// RFC 6749 §3.3 does not allow.
func Parse(s string) (Set, error) {
	var d dedup
	for len(s) > 0 {
		i := strings.IndexByte(s, ' ')
		var tok string
		if i < 0 {
			tok, s = s, ""
		} else {
			tok, s = s[:i], s[i+1:]
		}
		if tok == "" {
			continue
		}
		if !ValidToken(tok) {
			return Set{}, invalid(tok)
		}
		d.add(tok)
	}
	return Set{list: d.list}, nil
}

// FromList builds a Set from a list of scope tokens, as found in an "scp"
// array claim. Each element must be a single valid scope token; duplicates
// collapse.
func FromList(tokens []string) (Set, error) {
	d := dedup{list: make([]string, 0, len(tokens))}
	for _, tok := range tokens {
		if !ValidToken(tok) {
			return Set{}, invalid(tok)
		}
		d.add(tok)
	}
	return Set{list: d.list}, nil
}

// MustParse is like [Parse] but panics on an invalid scope string. It is
// meant for scope literals in program source.
func MustParse(s string) Set {
	set, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return set
}

// Union returns the set of scopes that are in s or in other: the scopes of
// s in their order, then those of other that s lacks, in theirs.
func (s Set) Union(other Set) Set {
	if len(other.list) == 0 {
		return s
	}
	if len(s.list) == 0 {
		return other
	}
	// Both lists are distinct already, so a scope of other needs checking
	// against s only. Scanning s costs len(s)*len(other), linear while
	// either is small; past that, index s.
	has := func(tok string) bool { return slices.Contains(s.list, tok) }
	if len(s.list) > linearMax && len(other.list) > linearMax {
		seen := make(map[string]struct{}, len(s.list))
		for _, tok := range s.list {
			seen[tok] = struct{}{}
		}
		has = func(tok string) bool { _, ok := seen[tok]; return ok }
	}
	var list []string // nil until other adds a scope
	for i, tok := range other.list {
		if has(tok) {
			continue
		}
		if list == nil {
			list = make([]string, len(s.list), len(s.list)+len(other.list)-i)
			copy(list, s.list)
		}
		list = append(list, tok)
	}
	if list == nil {
		return s // other is a subset of s
	}
	return Set{list: list}
}

// Has reports whether the set contains scope. It scans the set: linear in
// its size.
func (s Set) Has(scope string) bool { return slices.Contains(s.list, scope) }

// Len returns the number of distinct scopes in the set.
func (s Set) Len() int { return len(s.list) }

// List returns the scopes in the order they first appeared: duplicates
// keep the position of their first occurrence. The caller owns the
// returned slice.
func (s Set) List() []string { return slices.Clone(s.list) }

// String returns the scopes as a space-delimited string, the form of the
// "scope" claim.
func (s Set) String() string { return strings.Join(s.list, " ") }

// ValidToken reports whether tok is a non-empty scope token made only of the
// characters RFC 6749 §3.3 allows: %x21 / %x23-5B / %x5D-7E.
func ValidToken(tok string) bool {
	if tok == "" {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// invalid builds the error for a bad scope token. The token is quoted with
// %q and cut short, so hostile input cannot forge log lines or grow errors.
func invalid(tok string) error {
	const max = 16
	if len(tok) > max {
		tok = tok[:max] + "…"
	}
	return fmt.Errorf("%w: %q", ErrInvalidScope, tok)
}
