package validator

import (
	"encoding/json"
	"strconv"
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
