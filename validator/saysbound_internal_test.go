package validator

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

// saysBound reads a JWT's own claims, unverified, for a "cnf" that an
// introspection answer must then carry (SECURITY.md 139): every spelling
// of the member counts, and nothing else makes a token bound.
func TestSaysBound(t *testing.T) {
	for _, tt := range []struct {
		payload string
		want    bool
	}{
		{`{"sub":"a"}`, false},
		{`{"sub":"a","cnf":{"jkt":"x"}}`, true},
		{`{"sub":"a","cnf":{"x5t#S256":"x"}}`, true},
		{`{"sub":"a","cnf":{"kid":"x"}}`, true},
		{`{"sub":"a","cn\u0066":{"jkt":"x"}}`, true},       // escaped name
		{`{"sub":"a","cnf":"x"}`, true},                    // not an object: no bearer token's
		{`{"sub":"a","cnf":{"jkt":"x"},"cnf":null}`, true}, // named twice: the strict reader refuses it
		{`{"sub":"a","cnf":null}`, false},
		{`{"sub":"a","cnf":{}}`, false},
		{`{"sub":"a","CNF":{"jkt":"x"}}`, false}, // another member
		{`{"sub":"a","u":"a\/b"}`, false},        // an escape, no cnf
		{`{"sub":"cnf"}`, false},                 // the word in a value
		{`not json`, false},
		{`[{"cnf":{"jkt":"x"}}]`, false}, // no claims object
	} {
		tok := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(tt.payload)) + ".c2ln"
		if got := saysBound(tok); got != tt.want {
			t.Errorf("saysBound(%s) = %v, want %v", tt.payload, got, tt.want)
		}
	}
	for _, tok := range []string{"", "a.b", "opaque", "a.!!!.c"} {
		if saysBound(tok) {
			t.Errorf("saysBound(%q) = true", tok)
		}
	}
}

// FuzzSaysBound: any payload, never a panic; a payload encoding/json
// reads with a "cnf" that names something is always bound (the direction
// that matters: a bound token must not pass as a bearer one).
func FuzzSaysBound(f *testing.F) {
	for _, s := range []string{`{"cnf":{"jkt":"x"}}`, `{"cn\u0066":{"kid":1}}`, `{"cnf":null}`, `{"cnf":{}}`, `{"sub":"a"}`, `{"cnf":{"jkt":"x"},"cnf":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		tok := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(payload) + ".c2ln"
		got := saysBound(tok)
		var m map[string]json.RawMessage
		if json.Unmarshal(payload, &m) != nil {
			return
		}
		cnf, ok := m["cnf"]
		if !ok {
			return
		}
		var v any
		if json.Unmarshal(cnf, &v) != nil {
			return
		}
		if obj, isObj := v.(map[string]any); (v != nil && !isObj || len(obj) > 0) && !got {
			t.Fatalf("a cnf naming something (%s) not seen in %q", cnf, payload)
		}
	})
}
