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
type Set struct {
	list []string // distinct, in first-seen order
}

// Parse parses a space-delimited scope string such as "read:data write:data".
// Leading, trailing and repeated spaces are ignored, and duplicates collapse.
// It returns an error wrapping [ErrInvalidScope] if any token has a character
// RFC 6749 §3.3 does not allow.
func Parse(s string) (Set, error) {
	var list []string
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
		if !slices.Contains(list, tok) {
			list = append(list, tok)
		}
	}
	return Set{list: list}, nil
}

// FromList builds a Set from a list of scope tokens, as found in an "scp"
// array claim. Each element must be a single valid scope token; duplicates
// collapse.
func FromList(tokens []string) (Set, error) {
	list := make([]string, 0, len(tokens))
	for _, tok := range tokens {
		if !ValidToken(tok) {
			return Set{}, invalid(tok)
		}
		if !slices.Contains(list, tok) {
			list = append(list, tok)
		}
	}
	return Set{list: list}, nil
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

// Union returns the set of scopes that are in s or in other.
func (s Set) Union(other Set) Set {
	if len(other.list) == 0 {
		return s
	}
	if len(s.list) == 0 {
		return other
	}
	list := slices.Clone(s.list)
	for _, tok := range other.list {
		if !slices.Contains(list, tok) {
			list = append(list, tok)
		}
	}
	return Set{list: list}
}

// Has reports whether the set contains scope.
func (s Set) Has(scope string) bool { return slices.Contains(s.list, scope) }

// Len returns the number of distinct scopes in the set.
func (s Set) Len() int { return len(s.list) }

// List returns the scopes in the order they first appeared. The caller owns
// the returned slice.
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
