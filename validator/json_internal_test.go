package validator

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func readAll(b []byte) (map[string]string, error) {
	var r objectReader
	if err := r.init(b); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for {
		name, val, ok, err := r.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		out[string(name)] = string(val)
	}
}

func TestObjectReader(t *testing.T) {
	tests := []struct {
		in      string
		members int
		wantErr bool
	}{
		{`{}`, 0, false},
		{` { } `, 0, false},
		{`{"a":1}`, 1, false},
		{`{"a":1,"b":[true,false,null,{"c":"d"}],"e":-1.5e+10}`, 3, false},
		{`{"a":"\u00e9\ud83d\ude00\n"}`, 1, false},
		{`{"a":1,}`, 0, true},
		{`{,}`, 0, true},
		{`{"a" 1}`, 0, true},
		{`{"a":01}`, 0, true},
		{`{"a":1.}`, 0, true},
		{`{"a":.5}`, 0, true},
		{`{"a":+1}`, 0, true},
		{`{"a":tru}`, 0, true},
		{`{"a":"\x"}`, 0, true},
		{"{\"a\":\"\x01\"}", 0, true},
		{`{"a":1}{"b":2}`, 0, true},
		{`{"a":1} x`, 0, true},
		{`[1]`, 0, true},
		{`{"a":1,"a":2}`, 0, true},
		{`{"a":1,"\u0061":2}`, 0, true},
		{`{"\ud800":1}`, 0, true},
		{`{"a":[1,]}`, 0, true},
		{`{"a":{"b":1,}}`, 0, true},
		{`{"a":`, 0, true},
		{`{"a":"`, 0, true},
		{`{"a":"\u12`, 0, true},

		// Lone surrogates, wherever they are (not only in what the
		// validator decodes itself).
		{`{"x":"\ud800"}`, 0, true},
		{`{"x":"\udc00"}`, 0, true},
		{`{"x":"\udc00\ud800"}`, 0, true},
		{`{"x":"\ud800\u0041"}`, 0, true},
		{`{"x":"\ud800x"}`, 0, true},
		{`{"x":["\udbff"]}`, 0, true},
		{`{"x":{"\ud800":1}}`, 0, true},
		{`{"x":"\ud83d\ude00"}`, 1, false},
		{`{"x":"\uD83D\uDE00"}`, 1, false},

		// Duplicate names in nested objects, and names equal under case
		// folding (as encoding/json matches fields) anywhere.
		{`{"x":{"a":1,"a":2}}`, 0, true},
		{`{"x":{"role":"user","r\u006fle":"admin"}}`, 0, true},
		{`{"x":[{"id":"a","id":"b"}]}`, 0, true},
		{`{"x":{"y":{"z":{"a":1,"A":2}}}}`, 0, true},
		{`{"sub":"a","SUB":"b"}`, 0, true},
		{`{"sub":"a","\u017fub":"b"}`, 0, true},
		{`{"kid":"a","\u212aid":"b"}`, 0, true},
		{`{"x":{"a":1,"b":2},"y":{"a":1}}`, 2, false},
		{`{"x":[{"a":1},{"a":2}]}`, 1, false},

		// Numbers beyond float64's range.
		{`{"x":1e400}`, 0, true},
		{`{"x":-1e400}`, 0, true},
		{`{"x":{"n":1E999}}`, 0, true},
		{`{"x":1` + strings.Repeat("0", 309) + `}`, 0, true},
		{`{"x":1e308}`, 1, false},
		{`{"x":1e-400}`, 1, false},
		{`{"x":1` + strings.Repeat("0", 300) + `}`, 1, false},
	}
	for _, tt := range tests {
		got, err := readAll([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("read(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && len(got) != tt.members {
			t.Errorf("read(%q) = %d members, want %d", tt.in, len(got), tt.members)
		}
	}
}

func TestObjectReaderManyMembers(t *testing.T) {
	b := []byte("{")
	for i := range 40 {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `"k`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `":1`...)
	}
	dup := append(append([]byte{}, b...), `,"k0":2}`...)
	b = append(b, '}')
	if got, err := readAll(b); err != nil || len(got) != 40 {
		t.Fatalf("40 members: %d, %v", len(got), err)
	}
	if _, err := readAll(dup); err == nil {
		t.Fatal("duplicate among many members accepted")
	}
}

// foldCollision returns a name that two members of one object in v share
// under case folding (strings.EqualFold, independent of appendFolded), or
// "". encoding/json keeps one member per exact name, so exact duplicates
// are checked by the caller.
func foldCollision(v any) string {
	switch v := v.(type) {
	case map[string]any:
		var names []string
		for name, val := range v {
			for _, n := range names {
				if strings.EqualFold(n, name) {
					return name
				}
			}
			names = append(names, name)
			if n := foldCollision(val); n != "" {
				return n
			}
		}
	case []any:
		for _, e := range v {
			if n := foldCollision(e); n != "" {
				return n
			}
		}
	}
	return ""
}

// FuzzAppendFolded: two names fold to the same bytes exactly when
// bytes.EqualFold says they are equal, which is what lets nameSet switch
// from comparing names to a map of folded names.
func FuzzAppendFolded(f *testing.F) {
	for _, p := range [][2]string{{"sub", "SUB"}, {"sub", "\u017fub"}, {"kid", "\u212aid"}, {"a", "b"}, {"\u00e9", "\u00c9"}, {"\u03c3", "\u03c2"}} {
		a, _ := strconv.Unquote(`"` + p[0] + `"`)
		b, _ := strconv.Unquote(`"` + p[1] + `"`)
		f.Add([]byte(a), []byte(b))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if !utf8.Valid(a) || !utf8.Valid(b) {
			return // names reach nameSet only as valid UTF-8
		}
		same := string(appendFolded(nil, a)) == string(appendFolded(nil, b))
		if same != bytes.EqualFold(a, b) {
			t.Fatalf("%q, %q: folded equal %v, EqualFold %v", a, b, same, bytes.EqualFold(a, b))
		}
	})
}

// FuzzObjectReader: whatever the reader accepts, encoding/json accepts as
// well and decodes to the same members; it never panics.
func FuzzObjectReader(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":"x"}`, `{"a":{"b":[1,2]}}`, `{"a":1,"a":2}`, `{"\u0065":1}`, `{"a":"\ud83d\ude00"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := readAll(b)
		if err != nil {
			return
		}
		if !json.Valid(b) || !utf8.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		var std map[string]json.RawMessage
		if err := json.Unmarshal(b, &std); err != nil {
			t.Fatalf("accepted %q that encoding/json refuses: %v", b, err)
		}
		// Every value, nested ones included, decodes with encoding/json
		// (no number beyond float64), and no object has two names that
		// encoding/json would match to one field.
		var all any
		if err := json.Unmarshal(b, &all); err != nil {
			t.Fatalf("accepted %q whose values encoding/json cannot decode: %v", b, err)
		}
		if n := foldCollision(all); n != "" {
			t.Fatalf("accepted %q with names that fold to %q twice", b, n)
		}
		if len(std) != len(got) {
			t.Fatalf("%q: %d members, encoding/json has %d", b, len(got), len(std))
		}
		for name, raw := range got {
			if _, ok := std[name]; !ok {
				t.Fatalf("%q: member %q unknown to encoding/json", b, name)
			}
			if s, err := jsonString([]byte(raw)); err == nil {
				var want string
				if json.Unmarshal([]byte(raw), &want) != nil || want != s {
					t.Fatalf("%q: string %q decoded as %q, encoding/json says %q", b, raw, s, want)
				}
			}
		}
	})
}

// scanNumber takes a number exactly when it is within float64's range, as
// strconv (and so encoding/json) reads it, without parsing it.
func TestScanNumberRange(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"0", true}, {"-0", true}, {"0e999999", true}, {"0.000e400", true},
		{"1e308", true}, {"1.7976931348623157e308", true}, {"1.7976931348623158e308", true},
		{"1.797693134862316e308", false}, {"1.8e308", false}, {"10e308", false}, {"1e309", false},
		{"0.1e309", true}, {"0.01e311", false}, {"-1e400", false}, {"1e-400", true}, {"1e-99999999999", true},
		{"1" + strings.Repeat("0", 308), true}, {"1" + strings.Repeat("0", 309), false},
		{"179769313486231570" + strings.Repeat("0", 291), true}, {"0." + strings.Repeat("0", 400) + "1e400", true},
		// The overflow point itself rounds to +Inf; one below it does not.
		{overflowAt, false}, {"-" + overflowAt, false}, {overflowAt + ".0000", false}, {overflowAt[:1] + "." + overflowAt[1:] + "e308", false},
		{overflowAt[:308] + "1", true}, {overflowAt + "e-1", true}, {"15000000000000001163e289", true},
		// An exponent too long to read whole: saturated beyond any body's
		// length, so leading zeros cannot bring an infinite number back.
		{"0." + strings.Repeat("0", 1_100_000) + "1e10485760", false},
		{"1" + strings.Repeat("0", 1_100_000) + "e-10485760", true},
	} {
		end, err := scanNumber([]byte(tt.in), 0)
		if ok := err == nil && end == len(tt.in); ok != tt.ok {
			t.Errorf("scanNumber(%.40q) = %d, %v; want ok %v", tt.in, end, err, tt.ok)
		}
	}
}

// belowOverflow decides as strconv.ParseFloat does, on numbers within a
// few units of the overflow point in their last digits, written in every
// form: with a point anywhere, an exponent, leading zeros, a sign.
func TestBelowOverflowAgreesWithParseFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 20000; n++ {
		digits := []byte(overflowAt[:17+rng.IntN(30)])
		// Change the last few digits, up or down.
		for j := len(digits) - 1 - rng.IntN(4); j < len(digits); j++ {
			digits[j] = byte('0' + rng.IntN(10))
		}
		if rng.IntN(4) == 0 {
			digits = append(digits, overflowAt[len(digits):]...) // the whole point, changed
		}
		point := 1 + rng.IntN(len(digits)) // digits before the point
		num := string(digits[:point])
		if point < len(digits) {
			num += "." + string(digits[point:])
		}
		if e := 309 - point; e != 0 || rng.IntN(2) == 0 {
			num += "e" + strconv.Itoa(e)
		}
		if rng.IntN(3) == 0 {
			num = "-" + num
		}
		f, err := strconv.ParseFloat(num, 64)
		want := !(err != nil && math.IsInf(f, 0))
		if got := belowOverflow([]byte(num)); got != want {
			t.Fatalf("belowOverflow(%s) = %v, strconv says finite %v", num, got, want)
		}
	}
}

// scanNumber costs no allocation, also at 10^308, where it once parsed the
// number with strconv (tens of µs for some, before any signature check).
func TestScanNumberAllocatesNothing(t *testing.T) {
	for _, in := range []string{"1.7976931348623157e308", "15000000000000001163e289", overflowAt} {
		b := []byte(in)
		if n := testing.AllocsPerRun(100, func() { _, _ = scanNumber(b, 0) }); n != 0 {
			t.Errorf("scanNumber(%.30s…) allocates %v times", in, n)
		}
	}
}

// FuzzScanNumber: for every RFC 8259 number, scanNumber accepts it exactly
// when strconv.ParseFloat reads it as finite.
func FuzzScanNumber(f *testing.F) {
	for _, s := range []string{"0", "-1.5e10", "1e308", "1.7976931348623159e308", "9e307", "0.1e309", "123.456e-7",
		overflowAt, overflowAt[:308] + "1", "17976931348623158079e289", "15000000000000001163e289"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.TrimSpace(s) != s {
			return // encoding/json allows white space around a value
		}
		var v any
		jerr := json.Unmarshal([]byte(s), &v)
		_, isNum := v.(float64)
		end, err := scanNumber([]byte(s), 0)
		whole := err == nil && end == len(s)
		if jerr == nil && isNum && !whole {
			t.Fatalf("scanNumber refuses %q, a number encoding/json reads as %v", s, v)
		}
		if whole && (jerr != nil || !isNum) {
			t.Fatalf("scanNumber accepts %q, which encoding/json refuses as a number: %v", s, jerr)
		}
	})
}

// FuzzLaxAgrees: the lax pass before the signature never refuses what the
// full pass accepts, and when it leaves nothing for the full pass (no
// recheck), it accepts only what the full pass accepts; the same for the
// JOSE header. So a signed token's verdict never depends on the lax pass
// but through recheck.
func FuzzLaxAgrees(f *testing.F) {
	for _, s := range []string{
		`{"iss":"a","sub":"b"}`, `{"iss":"a","ISS":"b"}`, `{"a":{"b":1,"B":2}}`, `{"\u0069ss":1,"iss":2}`,
		`{"ſub":1}`, `{"K":1,"\u212a":2}`, `{"a":[{"x":1,"x":2}]}`, `{"scope":"a","roles":["b"],"ROLES":1}`,
		`{"alg":"RS256","kid":"k","KID":"j"}`, `{"alg":"RS256","\u0061lg":"none"}`,
		`{"a0":0,"a1":0,"a2":0,"a3":0,"a4":0,"a5":0,"a6":0,"a7":0,"a8":0,"a9":0,"b0":0,"b1":0,"b2":0,"b3":0,"b4":0,"b5":0,"a0":1}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, scopeClaim bool) {
		v := &Validator{}
		if scopeClaim {
			v.scopeClaims = []string{"roles"}
		}
		var lax, full claimSpans
		lerr := v.scanUnsigned(b, &lax)
		ferr := v.scanClaims(b, &full)
		if ferr == nil && lerr != nil {
			t.Fatalf("lax pass refuses what the full pass accepts: %q: %v", b, lerr)
		}
		if lerr == nil && !lax.recheck && ferr != nil {
			t.Fatalf("lax pass accepts with nothing left, full pass refuses: %q: %v", b, ferr)
		}
		all := ^algSet(0)
		_, recheck, herr := parseUnsignedHeader(b, all)
		_, ferr = parseHeader(b, all)
		if ferr == nil && herr != nil {
			t.Fatalf("header: lax pass refuses what the full pass accepts: %q: %v", b, herr)
		}
		if herr == nil && !recheck && ferr != nil {
			t.Fatalf("header: lax pass accepts with nothing left, full pass refuses: %q: %v", b, ferr)
		}
	})
}
