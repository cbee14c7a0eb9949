// Package paramname reads a query parameter's name as the servers an
// upstream may run read it, so that a guard in front of them sees the
// parameters they will see.
package paramname

import (
	"iter"
	"net/url"
	"strings"
)

// ReadsAs reports whether the decoded parameter name is want to some
// server: cut at a NUL (PHP reads names as C strings), leading spaces
// dropped (PHP), cut at a '[' with a ']' after it (an array: PHP, Rack,
// Express's qs), a ' ', '.', '[' or byte from 0x80 to 0x9f read as '_'
// (PHP), and letters in any case (ASP.NET Core). want is lower-case
// ASCII letters and '_'. The work is linear in len(name).
func ReadsAs(name, want string) bool {
	if i := strings.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	name = strings.TrimLeft(name, " ")
	if i := strings.IndexByte(name, '['); i >= 0 && strings.IndexByte(name[i:], ']') >= 0 {
		name = name[:i]
	}
	if len(name) != len(want) {
		return false
	}
	for i := 0; i < len(want); i++ {
		c := name[i]
		if want[i] == '_' {
			if c != '_' && c != ' ' && c != '.' && c != '[' && (c < 0x80 || c > 0x9f) {
				return false
			}
		} else if c|0x20 != want[i] {
			return false
		}
	}
	return true
}

// Pair is one parameter of a raw query, as [Pairs] splits it.
type Pair struct {
	// Name is the decoded name (the raw one when it does not decode).
	Name string
	// RawValue is the value as sent, not decoded.
	RawValue string
	// Semicolon says the pair was split at a ';', which Rails and Rack
	// do and net/url does not (it drops such a pair whole).
	Semicolon bool
}

// Pairs yields the parameters of a raw query split as Rails and Rack split
// them: at '&' and at ';'. The work is linear in len(rawQuery) and nothing
// is kept between pairs.
func Pairs(rawQuery string) iter.Seq[Pair] {
	return func(yield func(Pair) bool) {
		for rawQuery != "" {
			var pair string
			pair, rawQuery, _ = strings.Cut(rawQuery, "&")
			semicolon := strings.IndexByte(pair, ';') >= 0
			for part := range strings.SplitSeq(pair, ";") {
				key, value, _ := strings.Cut(part, "=")
				name, err := url.QueryUnescape(key)
				if err != nil {
					name = key
				}
				if !yield(Pair{Name: name, RawValue: value, Semicolon: semicolon}) {
					return
				}
			}
		}
	}
}

// ContainsFold reports whether s holds lower, a lower-case ASCII word, in
// any case: a byte scan that lets a caller skip reading a query that
// cannot name it.
func ContainsFold(s, lower string) bool {
	for i := 0; i+len(lower) <= len(s); i++ {
		if s[i]|0x20 == lower[0] && strings.EqualFold(s[i:i+len(lower)], lower) {
			return true
		}
	}
	return false
}
