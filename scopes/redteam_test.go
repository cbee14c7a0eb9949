package scopes_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/scopes"
)

// Held: a 1.9 MB scope value (200k distinct tokens, then the same again as
// duplicates) parses and is checked against a 64-term requirement in
// linear time; the check costs terms × scopes (Has is a scan), bounded
// here.
func TestRedteamHugeScopeValueStaysLinear(t *testing.T) {
	var b strings.Builder
	for i := range 200000 {
		fmt.Fprintf(&b, "s%d ", i)
	}
	s := b.String() + b.String() + strings.Repeat(" ", 100000)
	start := time.Now()
	set, err := scopes.Parse(s)
	if err != nil || set.Len() != 200000 {
		t.Fatal(set.Len(), err)
	}
	var any []string
	for i := range 64 {
		any = append(any, fmt.Sprintf("x%d", i))
	}
	req := scopes.All("s199999").And(scopes.Any(any...))
	for range 10 {
		if req.Satisfied(set) || req.Missing(set) == nil {
			t.Fatal("satisfied")
		}
	}
	// Linear work takes well under a second here; quadratic work over
	// 400,000 names (1.6e11 steps) would take minutes. The bound leaves a
	// loaded CI machine room (3 s failed once with other suites running).
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %v", d)
	}
	t.Logf("parse + 10 checks: %v", time.Since(start))
}

// Held: the builders cannot be made to require less than they say.
func TestRedteamRequirementShapes(t *testing.T) {
	a := scopes.MustParse("a")
	for name, tt := range map[string]struct {
		req  scopes.Requirement
		want bool
	}{
		"All(a,b) with a":                  {scopes.All("a", "b"), false},
		"Any(b,c) with a":                  {scopes.Any("b", "c"), false},
		"All(a).And(Any(b,c)) with a":      {scopes.All("a").And(scopes.Any("b", "c")), false},
		"AllOf(Scope a, Role a) with a":    {scopes.AllOf(scopes.Scope("a"), scopes.Role("a")), false},
		"AnyOf(Role a, Permission a) w/ a": {scopes.AnyOf(scopes.Role("a"), scopes.Permission("a")), false},
		"Any() is open":                    {scopes.Any(), true},
		"Any().And(All(b)) with a":         {scopes.Any().And(scopes.All("b")), false},
	} {
		if got := tt.req.Satisfied(a); got != tt.want {
			t.Errorf("%s: %v", name, got)
		}
	}
	// And must not alias: extending one requirement leaves the other.
	base := scopes.All("a")
	x := base.And(scopes.All("x"))
	y := base.And(scopes.All("y"))
	if x.String() != "a AND x" || y.String() != "a AND y" {
		t.Errorf("aliasing: %s / %s", x, y)
	}
}

// Every token of a parsed value is a valid scope token made of the value's
// own bytes between spaces; nothing is decoded, folded or normalized.
func FuzzRedteamParse(f *testing.F) {
	for _, s := range []string{"a b", " a  b ", "a\tb", "a\u00a0b", "%61", "A a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := scopes.Parse(s)
		if err != nil {
			return
		}
		fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' })
		seen := map[string]bool{}
		var want []string
		for _, f := range fields {
			if !scopes.ValidToken(f) {
				t.Fatalf("%q parsed but has token %q", s, f)
			}
			if !seen[f] {
				seen[f] = true
				want = append(want, f)
			}
		}
		if strings.Join(set.List(), "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("%q: %q want %q", s, set.List(), want)
		}
	})
}
