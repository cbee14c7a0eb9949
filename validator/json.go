package validator

// A small, strict JSON reader for JOSE headers and JWT claims.
//
// encoding/json keeps the last of duplicate member names and cannot report
// them; RFC 7515 §5.2 and RFC 7519 §4 let a recipient reject such input, and
// last-one-wins parsing is how confusion attacks slip through (a validator
// and a downstream service reading different "exp" or "aud" values). This
// reader validates the whole document (RFC 8259 grammar, valid UTF-8, no
// lone surrogate escapes, numbers within float64's range, bounded
// nesting), refuses duplicate member names in every object, compared after
// unescaping and case folding (so "\u0065xp", "EXP" and "exp" collide, as
// encoding/json, which [Token.Decode] uses, would match them), and hands
// out raw member values without allocating.

import (
	"bytes"
	"errors"
	"hash/maphash"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

var errJSON = errors.New("invalid JSON")

const maxJSONDepth = 32

// objectReader iterates over the members of one top-level JSON object.
type objectReader struct {
	b     []byte
	i     int
	first bool
	done  bool
	// lax leaves to a later, full pass the duplicate-name checks that
	// cost more than a pass over the bytes, and sets deferred when it
	// left any: nested objects of two or more members, a top-level object
	// past 16 names, and the folded comparisons. It compares the first 16
	// names exactly as written, and leaves to the full pass any name that
	// is escaped or has a rune that may fold (upper-case ASCII or beyond
	// ASCII): two names equal under unescaping and folding but not as
	// written must include such a name. It allocates nothing. For a JWT's
	// header and claims before the signature holds (see
	// Validator.scanUnsigned); everything else is checked.
	lax      bool
	deferred bool
	names    nameSet
}

// init starts reading the object in b.
func (r *objectReader) init(b []byte) error {
	*r = objectReader{b: b, first: true}
	r.i = skipWS(b, 0)
	if r.i >= len(b) || b[r.i] != '{' {
		return errJSON
	}
	r.i++
	return nil
}

// next returns the next member's unescaped name and raw value. ok is false
// at the end of the object; the whole document has then been validated.
func (r *objectReader) next() (name, value []byte, ok bool, err error) { return r.nextInto(nil) }

// nextInto is next for a lax pass: an escaped name is unescaped into buf
// (the result is then valid until the following call), or returned as
// written if it does not fit. buf is a parameter, not a field: the reader's
// own fields reach the heap through its name set, and buf must not.
func (r *objectReader) nextInto(buf *[64]byte) (name, value []byte, ok bool, err error) {
	if r.done {
		return nil, nil, false, nil
	}
	b := r.b
	i := skipWS(b, r.i)
	if i >= len(b) {
		return nil, nil, false, errJSON
	}
	if b[i] == '}' {
		if !r.first {
			return nil, nil, false, errJSON // trailing comma
		}
		return r.finish(i + 1)
	}
	if !r.first {
		if b[i] != ',' {
			if b[i] == '}' {
				return r.finish(i + 1)
			}
			return nil, nil, false, errJSON
		}
		i = skipWS(b, i+1)
	}
	r.first = false
	if i >= len(b) || b[i] != '"' {
		return nil, nil, false, errJSON
	}
	end, escaped, err := scanString(b, i)
	if err != nil {
		return nil, nil, false, err
	}
	raw := b[i+1 : end-1]
	name = raw
	switch {
	case !r.lax:
		key := raw // (not name: what buf holds must not flow to the name set)
		if escaped {
			if key, err = unescape(raw); err != nil {
				return nil, nil, false, err
			}
		}
		if r.names.seen(key) {
			return nil, nil, false, errDuplicate
		}
		name = key
	case escaped:
		r.deferred = true
		if buf != nil && len(raw) <= len(buf) { // unescaped, never longer
			if name, err = appendUnescaped(buf[:0], raw); err != nil {
				return nil, nil, false, err
			}
		} // else returned as written: longer than any name a caller reads
	case r.names.n < len(r.names.names):
		if r.names.seenExact(raw) {
			return nil, nil, false, errDuplicate
		}
		r.deferred = r.deferred || mayFold(raw)
	default:
		r.deferred = true
	}
	i = skipWS(b, end)
	if i >= len(b) || b[i] != ':' {
		return nil, nil, false, errJSON
	}
	i = skipWS(b, i+1)
	var note *bool // where a lax pass notes what it left
	if r.lax {
		note = &r.deferred
	}
	vend, err := skipValue(b, i, 1, note)
	if err != nil {
		return nil, nil, false, err
	}
	value = b[i:vend]
	r.i = skipWS(b, vend)
	if r.i < len(b) && b[r.i] == '}' {
		r.i++
		r.done = true
		if skipWS(b, r.i) != len(b) {
			return nil, nil, false, errJSON
		}
	} else if r.i >= len(b) || b[r.i] != ',' {
		return nil, nil, false, errJSON
	}
	return name, value, true, nil
}

func (r *objectReader) finish(i int) ([]byte, []byte, bool, error) {
	r.done = true
	if skipWS(r.b, i) != len(r.b) {
		return nil, nil, false, errJSON
	}
	return nil, nil, false, nil
}

var errDuplicate = errors.New("duplicate member name")

// nameSet holds the member names of one object, to find duplicates.
type nameSet struct {
	names [16][]byte // names seen, while few
	n     int        // number of names seen
	// Once there are many: every name, and a map from a keyed hash of the
	// folded name to its index in list. A name whose hash is taken by
	// another name (not equal under folding) tries the next key: the
	// answer is exact, and nothing is allocated per name.
	many map[uint64]int32
	list [][]byte
}

// foldSeed keys the hash of folded names: per process, so no input can be
// built to collide.
var foldSeed = maphash.MakeSeed()

// seen records name and reports whether the object already has a name
// equal to it under case folding (bytes.EqualFold, which is how
// encoding/json matches a member to a struct field).
func (s *nameSet) seen(name []byte) bool {
	if s.many == nil {
		for _, n := range s.names[:s.n] {
			if bytes.EqualFold(n, name) {
				return true
			}
		}
		if s.n < len(s.names) {
			s.names[s.n] = name
			s.n++
			return false
		}
		s.many = make(map[uint64]int32, 4*len(s.names))
		s.list = make([][]byte, 0, 4*len(s.names))
		for _, n := range s.names {
			s.insert(n) // distinct: checked as they came
		}
	}
	return s.insert(name)
}

// seenExact is seen for a lax pass, while there are at most 16 names:
// names compare as they are, without folding.
func (s *nameSet) seenExact(name []byte) bool {
	for _, n := range s.names[:s.n] {
		if string(n) == string(name) {
			return true
		}
	}
	s.names[s.n] = name
	s.n++
	return false
}

// mayFold reports whether name has an upper-case ASCII letter or a
// non-ASCII byte: only such a name can equal another under folding
// without being it, or fold to a lower-case ASCII name.
func mayFold(name []byte) bool {
	for _, c := range name {
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return true
		}
	}
	return false
}

// insert adds name to the map, or reports that a name equal to it under
// folding is there.
func (s *nameSet) insert(name []byte) (dup bool) {
	var buf [64]byte
	for k := maphash.Bytes(foldSeed, appendFolded(buf[:0], name)); ; k++ {
		i, taken := s.many[k]
		if !taken {
			s.many[k] = int32(len(s.list))
			s.list = append(s.list, name)
			return false
		}
		if bytes.EqualFold(s.list[i], name) {
			return true
		}
	}
}

// appendFolded appends name folded so that two names fold to the same bytes
// exactly when bytes.EqualFold reports them equal: ASCII letters upper
// case, any other rune the smallest of its simple folding orbit.
func appendFolded(out, name []byte) []byte {
	for i := 0; i < len(name); {
		c := name[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(name[i:])
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		out = utf8.AppendRune(out, r)
		i += n
	}
	return out
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipValue validates the value starting at b[i] and returns the index just
// past it. With note nil, objects' member names are checked for duplicates;
// else they are not, and *note is set if an object has two or more.
func skipValue(b []byte, i, depth int, note *bool) (int, error) {
	if i >= len(b) {
		return 0, errJSON
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '{' || c == '[':
		if depth >= maxJSONDepth {
			return 0, errJSON
		}
		if c == '{' {
			return skipObject(b, i, depth, note)
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, nil
		}
		for {
			end, err := skipValue(b, i, depth+1, note)
			if err != nil {
				return 0, err
			}
			i = skipWS(b, end)
			if i >= len(b) {
				return 0, errJSON
			}
			if b[i] == ']' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, errJSON
			}
			i = skipWS(b, i+1)
		}
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	default:
		return scanNumber(b, i)
	}
}

// skipObject validates the object starting at b[i] == '{', nested at depth,
// and returns the index just past it; names as in skipValue.
func skipObject(b []byte, i, depth int, note *bool) (int, error) {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	var set nameSet
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, errJSON
		}
		end, escaped, err := scanString(b, i)
		if err != nil {
			return 0, err
		}
		if note != nil {
			if set.n++; set.n == 2 {
				*note = true
			}
		} else {
			name := b[i+1 : end-1]
			if escaped {
				if name, err = unescape(name); err != nil {
					return 0, err
				}
			}
			if set.seen(name) {
				return 0, errDuplicate
			}
		}
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return 0, errJSON
		}
		i = skipWS(b, i+1)
		if end, err = skipValue(b, i, depth+1, note); err != nil {
			return 0, err
		}
		i = skipWS(b, end)
		if i >= len(b) {
			return 0, errJSON
		}
		if b[i] == '}' {
			return i + 1, nil
		}
		if b[i] != ',' {
			return 0, errJSON
		}
		i = skipWS(b, i+1)
	}
}

func literal(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, errJSON
	}
	return i + len(lit), nil
}

// scanNumber validates an RFC 8259 number. One beyond float64's range
// (±Inf to encoding/json, which then fails to decode the whole claims, and
// to every reader that uses float64) is refused. The range is decided from
// the decimal exponent of the leading significant digit, and at exactly
// 10^308 by comparing the digits with the overflow point (belowOverflow),
// never by parsing the number: strconv.ParseFloat takes ~20 µs on some
// numbers there, which a forged token full of them multiplied before its
// signature was looked at. Linear, and no allocation.
func scanNumber(b []byte, i int) (int, error) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	// lead is the decimal exponent of the first non-zero digit; none: zero.
	// int64, as exp: a body's length bounds lead, and exp saturates far
	// beyond any length, so lead+exp cannot wrap.
	lead, nonZero := int64(0), false
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		intStart := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		lead, nonZero = int64(i-intStart-1), true
	default:
		return 0, errJSON
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return 0, errJSON
		}
		fracStart := i
		for i < len(b) && isDigit(b[i]) {
			if !nonZero && b[i] != '0' {
				lead, nonZero = int64(fracStart-i-1), true
			}
			i++
		}
	}
	exp := int64(0)
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		neg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			neg = b[i] == '-'
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return 0, errJSON
		}
		for i < len(b) && isDigit(b[i]) {
			// Saturates at 2^40 or more: beyond any float64 either way,
			// whatever lead a body of any length gives, and no overflow.
			if exp < 1<<40 {
				exp = exp*10 + int64(b[i]-'0')
			}
			i++
		}
		if neg {
			exp = -exp
		}
	}
	if nonZero {
		switch e := lead + exp; {
		case e > 308:
			return 0, errJSON
		case e == 308:
			if !belowOverflow(b[start:i]) {
				return 0, errJSON
			}
		}
	}
	return i, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// overflowAt is 2^1024 - 2^970, halfway between math.MaxFloat64 and 2^1024,
// in decimal: a number at or above it in magnitude rounds to ±Inf (the tie
// goes to the even 2^1024), one below it to a finite float64.
const overflowAt = "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792"

// belowOverflow reports whether num, an RFC 8259 number whose first
// significant digit stands for 10^308, is below overflowAt in magnitude:
// its significant digits compared one by one with overflowAt's.
func belowOverflow(num []byte) bool {
	k, started := 0, false
	for _, c := range num {
		if c == 'e' || c == 'E' {
			break
		}
		if !isDigit(c) || (!started && c == '0') {
			continue // sign, point, leading zeros
		}
		started = true
		switch {
		case k >= len(overflowAt):
			if c != '0' {
				return false // equal to overflowAt's digits, then more
			}
		case c < overflowAt[k]:
			return true
		case c > overflowAt[k]:
			return false
		}
		k++
	}
	for ; k < len(overflowAt); k++ { // a prefix of overflowAt: below it if more is left
		if overflowAt[k] != '0' {
			return true
		}
	}
	return false
}

// escapedRune reads the \uXXXX escape at b[i], if there is one.
func escapedRune(b []byte, i int) (rune, bool) {
	if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
		return 0, false
	}
	r := rune(0)
	for _, h := range b[i+2 : i+6] {
		d := unhex(h)
		if d < 0 {
			return 0, false
		}
		r = r<<4 | d
	}
	return r, true
}

// scanString validates the string starting at b[i] == '"' and returns the
// index just past its closing quote, and whether it holds escapes.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	i++
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return 0, false, errJSON
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				r, ok := escapedRune(b, i)
				if !ok {
					return 0, false, errJSON
				}
				i += 6
				if utf16.IsSurrogate(r) {
					// Half of a pair: the other half must follow at once.
					r2, ok := escapedRune(b, i)
					if !ok || r >= 0xdc00 || r2 < 0xdc00 || r2 > 0xdfff {
						return 0, false, errJSON
					}
					i += 6
				}
			default:
				return 0, false, errJSON
			}
		case c < 0x20:
			return 0, false, errJSON
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return 0, false, errJSON
			}
			i += size
		}
	}
	return 0, false, errJSON
}
