package scopes

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "   ", want: nil},
		{in: "read:data", want: []string{"read:data"}},
		{in: "read:data write:data", want: []string{"read:data", "write:data"}},
		{in: "  a   b  ", want: []string{"a", "b"}},
		{in: "a b a b a", want: []string{"a", "b"}},
		{in: "https://api.example.com/orders.read User.Read", want: []string{"https://api.example.com/orders.read", "User.Read"}},
		{in: "!#[]~", want: []string{"!#[]~"}},
		{in: "a\tb", wantErr: true},
		{in: "a\nb", wantErr: true},
		{in: `a "b"`, wantErr: true},
		{in: `a\b`, wantErr: true},
		{in: "caf\u00e9", wantErr: true},
		{in: "a\x00", wantErr: true},
		{in: "a\x7f", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidScope) {
					t.Fatalf("Parse(%q) error = %v, want ErrInvalidScope", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error = %v", tt.in, err)
			}
			if !slices.Equal(got.List(), tt.want) {
				t.Errorf("Parse(%q) = %q, want %q", tt.in, got.List(), tt.want)
			}
			if got.Len() != len(tt.want) {
				t.Errorf("Parse(%q).Len() = %d, want %d", tt.in, got.Len(), len(tt.want))
			}
			if s := got.String(); s != strings.Join(tt.want, " ") {
				t.Errorf("Parse(%q).String() = %q", tt.in, s)
			}
		})
	}
}

func TestFromList(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string
		wantErr bool
	}{
		{name: "empty", in: nil, want: []string{}},
		{name: "plain", in: []string{"a", "b"}, want: []string{"a", "b"}},
		{name: "dups", in: []string{"a", "a", "b"}, want: []string{"a", "b"}},
		{name: "element with space", in: []string{"a b"}, wantErr: true},
		{name: "empty element", in: []string{""}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromList(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("FromList(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err == nil && !slices.Equal(got.List(), tt.want) {
				t.Errorf("FromList(%q) = %q, want %q", tt.in, got.List(), tt.want)
			}
		})
	}
}

func TestInvalidErrorIsBounded(t *testing.T) {
	_, err := Parse(strings.Repeat("\x01", 10000))
	if err == nil || len(err.Error()) > 120 {
		t.Fatalf("Parse(long invalid) error = %v (len %d), want a short error", err, len(err.Error()))
	}
}

func TestUnion(t *testing.T) {
	a, b := MustParse("a b"), MustParse("b c")
	if got := a.Union(b).List(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("Union = %q", got)
	}
	if got := (Set{}).Union(b).List(); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("empty.Union = %q", got)
	}
	if got := a.Union(Set{}).List(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Union(empty) = %q", got)
	}
}

func TestRequirement(t *testing.T) {
	tests := []struct {
		name        string
		req         Requirement
		granted     string
		wantOK      bool
		wantMissing []string
	}{
		{name: "zero", req: Requirement{}, granted: "", wantOK: true},
		{name: "all ok", req: All("a", "b"), granted: "b a c", wantOK: true},
		{name: "all one missing", req: All("a", "b"), granted: "a", wantMissing: []string{"b"}},
		{name: "all none", req: All("a", "b"), granted: "", wantMissing: []string{"a", "b"}},
		{name: "any ok", req: Any("a", "b"), granted: "b", wantOK: true},
		{name: "any missing", req: Any("a", "b"), granted: "c", wantMissing: []string{"a", "b"}},
		{name: "any empty", req: Any(), granted: "", wantOK: true},
		{name: "combined ok", req: All("read").And(Any("admin", "owner")), granted: "read owner", wantOK: true},
		{name: "combined any missing", req: All("read").And(Any("admin", "owner")), granted: "read", wantMissing: []string{"admin", "owner"}},
		{name: "combined all missing", req: All("read").And(Any("admin", "owner")), granted: "admin", wantMissing: []string{"read"}},
		{name: "dedup missing", req: Any("a", "b").And(All("a")), granted: "", wantMissing: []string{"a", "b"}},
		{name: "prefix is not a match", req: All("read:data"), granted: "read:dat read:data2", wantMissing: []string{"read:data"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := MustParse(tt.granted)
			if got := tt.req.Satisfied(g); got != tt.wantOK {
				t.Errorf("%v.Satisfied(%q) = %v, want %v", tt.req, tt.granted, got, tt.wantOK)
			}
			if got := tt.req.Missing(g); !slices.Equal(got, tt.wantMissing) {
				t.Errorf("%v.Missing(%q) = %q, want %q", tt.req, tt.granted, got, tt.wantMissing)
			}
		})
	}
}

func TestRequirementString(t *testing.T) {
	if got, want := All("read").And(Any("admin", "owner")).String(), "read AND (admin OR owner)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := (Requirement{}).String(); got != "(none)" {
		t.Errorf("zero String() = %q", got)
	}
}

func TestRequirementPanicsOnInvalidScope(t *testing.T) {
	for _, f := range []func(){func() { All("a b") }, func() { Any("ok", "") }} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("want panic for invalid scope literal")
				}
			}()
			f()
		}()
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "a b", "  a  a ", "read:data write:data", "a\tb", "\xff", `"`,
		"a b c d e f g h i j k l m n o p q r s a t u b", // past the linear-scan threshold
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidScope) {
				t.Fatalf("Parse(%q) error %v is not ErrInvalidScope", s, err)
			}
			return
		}
		// Every token is valid, distinct, and the set round-trips.
		list := set.List()
		for i, tok := range list {
			if !ValidToken(tok) {
				t.Fatalf("Parse(%q) kept invalid token %q", s, tok)
			}
			if slices.Contains(list[i+1:], tok) {
				t.Fatalf("Parse(%q) kept duplicate %q", s, tok)
			}
		}
		// First occurrences, in input order, as the quadratic oracle has it.
		tokens := slices.DeleteFunc(strings.Split(s, " "), func(tok string) bool { return tok == "" })
		if want := naiveDedup(tokens); !slices.Equal(list, want) {
			t.Fatalf("Parse(%q) = %q, want %q", s, list, want)
		}
		half := len(tokens) / 2
		u := MustParse(strings.Join(tokens[:half], " ")).Union(MustParse(strings.Join(tokens[half:], " ")))
		if !slices.Equal(u.List(), list) {
			t.Fatalf("Union of the halves of %q = %q, want %q", s, u.List(), list)
		}
		again, err := Parse(set.String())
		if err != nil || !slices.Equal(again.List(), list) {
			t.Fatalf("round trip of %q: %q, %v", s, again.List(), err)
		}
		if !All(list...).Satisfied(set) {
			t.Fatalf("set %q does not satisfy All of itself", list)
		}
	})
}
