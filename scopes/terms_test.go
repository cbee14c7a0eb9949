package scopes

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// granted grants scopes, roles and permissions from three Sets.
type granted struct{ scopes, roles, perms Set }

func (g granted) Grants(t Term) bool {
	switch t.Kind() {
	case KindScope:
		return g.scopes.Has(t.Name())
	case KindRole:
		return g.roles.Has(t.Name())
	case KindPermission:
		return g.perms.Has(t.Name())
	}
	return false
}

func TestRequirementTerms(t *testing.T) {
	g := granted{scopes: MustParse("read:data"), roles: mustNames("Data.Read", "Admin Users"), perms: mustNames("delete:data")}
	tests := []struct {
		name        string
		req         Requirement
		satisfied   bool
		wantMissing []string // nil when satisfied
	}{
		{"scope or role, scope held", AnyOf(Scope("read:data"), Role("Data.Write")), true, nil},
		{"scope or role, role held", AnyOf(Scope("write:data"), Role("Data.Read")), true, nil},
		{"scope or role, neither", AnyOf(Scope("write:data"), Role("Data.Write")), false, []string{"write:data"}},
		{"role only, missing: no scope to name", AllOf(Role("Data.Write")), false, []string{}},
		{"role with a space", AllOf(Role("Admin Users")), true, nil},
		{"permission", AllOf(Permission("delete:data")), true, nil},
		{"permission is not a scope", AllOf(Scope("delete:data")), false, []string{"delete:data"}},
		{"scope is not a role", AllOf(Role("read:data")), false, []string{}},
		{"two clauses, one unmet with scopes", AllOf(Role("Data.Read")).And(AnyOf(Scope("a"), Permission("p"), Scope("b"))), false, []string{"a", "b"}},
		{"two unmet clauses", AllOf(Role("x")).And(All("y")), false, []string{"y"}},
		{"mixed with legacy All", All("read:data").And(AnyOf(Role("Data.Read"))), true, nil},
		{"empty AnyOf", AnyOf(), true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.req.SatisfiedBy(g); got != tt.satisfied {
				t.Errorf("%v.SatisfiedBy = %v, want %v", tt.req, got, tt.satisfied)
			}
			got := tt.req.MissingFrom(g)
			if (got == nil) != (tt.wantMissing == nil) || !slices.Equal(got, tt.wantMissing) {
				t.Errorf("%v.MissingFrom = %#v, want %#v", tt.req, got, tt.wantMissing)
			}
		})
	}
}

// A Set grants scopes only: requirements naming roles, permissions or
// claims fail closed through the Set-based API the gRPC and MCP adapters
// use, and Missing stays non-nil for them.
func TestSetFailsClosedOnOtherTerms(t *testing.T) {
	set := MustParse("Data.Read read:data")
	for _, req := range []Requirement{
		AllOf(Role("Data.Read")), AllOf(Permission("read:data")), AllOf(Claim("/scope", "read:data")),
		AnyOf(Role("Data.Read"), Permission("read:data")),
	} {
		if req.Satisfied(set) {
			t.Errorf("%v satisfied by a Set", req)
		}
		if m := req.Missing(set); m == nil {
			t.Errorf("%v.Missing(Set) = nil, want non-nil", req)
		}
	}
}

func TestRequirementScopesAndString(t *testing.T) {
	req := AnyOf(Scope("read:data"), Role("Data.Read")).And(AllOf(Claim("/a~1b", "x"), Permission("p"), Scope("admin")))
	if got, want := req.Scopes(), []string{"read:data", "admin"}; !slices.Equal(got, want) {
		t.Errorf("Scopes() = %q, want %q", got, want)
	}
	if got, want := req.String(), "(read:data OR role:Data.Read) AND claim:/a~1b=x AND permission:p AND admin"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	terms := req.Terms()
	terms[0][0] = Role("mutated")
	if req.Terms()[0][0].Kind() != KindScope {
		t.Error("Terms() shares its slices")
	}
}

func TestTermPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"zero term":       func() { AnyOf(Term{}) },
		"role with a tab": func() { Role("a\tb") },
		"empty role":      func() { Role("") },
		"permission C1":   func() { Permission("a\u0085") },
		"bad path":        func() { Claim("tier", "gold") },
		"empty value":     func() { Claim("/tier", "") },
		"scope w/ space":  func() { Scope("a b") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

func TestParseClaimPath(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"/roles", []string{"roles"}},
		{"/realm_access/roles", []string{"realm_access", "roles"}},
		{"/https:~1~1example.com~1roles", []string{"https://example.com/roles"}},
		{"/a~0b/c", []string{"a~b", "c"}},
		{"/~01", []string{"~1"}},
		{"", nil},
		{"/", nil},
		{"roles", nil},
		{"/a//b", nil},
		{"/a/", nil},
		{"/a~", nil},
		{"/a~2", nil},
		{"/\xff", nil},
		{"/" + strings.Repeat("a/", MaxClaimPathDepth) + "a", nil},
	}
	for _, tt := range tests {
		got, err := ParseClaimPath(tt.in)
		if tt.want == nil {
			if err == nil || !errors.Is(err, ErrInvalidClaimPath) {
				t.Errorf("ParseClaimPath(%q) = %q, %v, want ErrInvalidClaimPath", tt.in, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseClaimPath(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestFromNames(t *testing.T) {
	set, err := FromNames([]string{"b", "a b", "b", "Data.Read"})
	if err != nil || !slices.Equal(set.List(), []string{"b", "a b", "Data.Read"}) {
		t.Errorf("FromNames = %q, %v", set.List(), err)
	}
	for _, bad := range [][]string{{""}, {"a\nb"}, {"\xff"}} {
		if _, err := FromNames(bad); !errors.Is(err, ErrInvalidScope) {
			t.Errorf("FromNames(%q) = %v, want an error", bad, err)
		}
	}
}

// FuzzParseClaimPath: a path either fails with ErrInvalidClaimPath or has
// 1 to MaxClaimPathDepth non-empty segments that escape back to it.
func FuzzParseClaimPath(f *testing.F) {
	for _, s := range []string{"/roles", "/a~1b/~0", "", "/", "/a//b", "/a~", "/" + strings.Repeat("x/", 9)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		segs, err := ParseClaimPath(p)
		if err != nil {
			if !errors.Is(err, ErrInvalidClaimPath) {
				t.Fatalf("ParseClaimPath(%q) error %v", p, err)
			}
			return
		}
		if len(segs) == 0 || len(segs) > MaxClaimPathDepth {
			t.Fatalf("ParseClaimPath(%q) = %d segments", p, len(segs))
		}
		var b strings.Builder
		for _, s := range segs {
			if s == "" {
				t.Fatalf("ParseClaimPath(%q) has an empty segment", p)
			}
			b.WriteString("/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(s))
		}
		if b.String() != p {
			t.Fatalf("ParseClaimPath(%q) = %q, which escapes back to %q", p, segs, b.String())
		}
	})
}

func mustNames(names ...string) Set {
	s, err := FromNames(names)
	if err != nil {
		panic(err)
	}
	return s
}

// NeededBy is the scope attribute of an insufficient_scope challenge: every
// scope the request needs, those held included, so that a token with
// exactly those scopes passes (RFC 6750 §3.1).
func TestNeededBy(t *testing.T) {
	for _, tt := range []struct {
		name   string
		req    Requirement
		g      granted
		want   []string
		passes bool // a token of the wanted scopes (and g's roles) meets req
	}{
		{name: "met", req: All("a", "b"), g: granted{scopes: MustParse("a b c")}, want: nil},
		{name: "all, one held", req: All("a", "b"), g: granted{scopes: MustParse("a")}, want: []string{"a", "b"}, passes: true},
		{name: "all, none held", req: All("a", "b"), g: granted{}, want: []string{"a", "b"}, passes: true},
		{name: "any, none held", req: Any("a", "b"), g: granted{scopes: MustParse("c")}, want: []string{"a", "b"}, passes: true},
		{name: "a met any-of names the scope held only", req: All("read").And(Any("admin", "owner")), g: granted{scopes: MustParse("owner")},
			want: []string{"read", "owner"}, passes: true},
		{name: "an unmet any-of names every alternative", req: All("read").And(Any("admin", "owner")), g: granted{scopes: MustParse("read")},
			want: []string{"read", "admin", "owner"}, passes: true},
		{name: "a clause met by a role names nothing of it", req: AnyOf(Scope("write"), Role("Writer")).And(All("read")),
			g: granted{roles: MustParse("Writer")}, want: []string{"read"}, passes: true},
		{name: "a role alone", req: AllOf(Role("Admin")), g: granted{}, want: []string{}},
		{name: "duplicates once", req: Any("a", "b").And(All("a")), g: granted{}, want: []string{"a", "b"}, passes: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.req.NeededBy(tt.g)
			if !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Fatalf("%v.NeededBy = %q, want %q", tt.req, got, tt.want)
			}
			if tt.passes && !tt.req.SatisfiedBy(granted{scopes: MustParse(strings.Join(got, " ")), roles: tt.g.roles}) {
				t.Errorf("a token of exactly %q does not meet %v", got, tt.req)
			}
		})
	}
}
