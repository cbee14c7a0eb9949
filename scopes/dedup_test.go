package scopes

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// naiveDedup is the reference de-duplication: the first occurrence of each
// token, in input order. It is quadratic, which is fine for a test oracle.
func naiveDedup(tokens []string) []string {
	var out []string
	for _, tok := range tokens {
		if !slices.Contains(out, tok) {
			out = append(out, tok)
		}
	}
	return out
}

// distinct returns n distinct valid scope tokens.
func distinct(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "s" + strconv.FormatInt(int64(i), 36)
	}
	return out
}

// cycle returns n tokens cycling through k distinct ones: each repeats.
func cycle(n, k int) []string {
	d := distinct(k)
	out := make([]string, n)
	for i := range out {
		out[i] = d[(i*7)%k]
	}
	return out
}

// dedupInputs straddle the size below which duplicates are found by a
// linear scan, so both ways of finding them are covered.
func dedupInputs() map[string][]string {
	rev := distinct(1000)
	slices.Reverse(rev)
	return map[string][]string{
		"empty":                    nil,
		"one":                      {"a"},
		"small dups":               {"b", "a", "b", "c", "a"},
		"16 distinct":              distinct(16),
		"17 distinct":              distinct(17),
		"17 distinct then repeats": append(distinct(17), "s0", "sg", "s5", "s0"),
		"repeats across threshold": append(append(distinct(15), "s0", "s1"), distinct(40)...),
		"40 cycling through 23":    cycle(40, 23),
		"2000 copies of one":       slices.Repeat([]string{"read:data"}, 2000),
		"1000 reversed then 1000":  append(rev, distinct(1000)...),
		"5000 cycling through 977": cycle(5000, 977),
	}
}

// TestDedupOrder checks that Parse, FromList and Union keep the first
// occurrence of each scope, in first-seen order, on both sides of the
// linear-scan threshold.
func TestDedupOrder(t *testing.T) {
	for name, in := range dedupInputs() {
		t.Run(name, func(t *testing.T) {
			want := naiveDedup(in)
			p, err := Parse(strings.Join(in, " "))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.List(); !slices.Equal(got, want) {
				t.Errorf("Parse: got %d scopes %.80q…, want %d %.80q…", len(got), got, len(want), want)
			}
			l, err := FromList(in)
			if err != nil {
				t.Fatal(err)
			}
			if got := l.List(); !slices.Equal(got, want) {
				t.Errorf("FromList: got %d scopes, want %d", len(got), len(want))
			}
			if p.Len() != len(want) || l.Len() != len(want) {
				t.Errorf("Len: Parse %d, FromList %d, want %d", p.Len(), l.Len(), len(want))
			}
			for _, tok := range in {
				if !p.Has(tok) {
					t.Fatalf("Has(%q) = false", tok)
				}
			}
			if p.Has("absent") {
				t.Error(`Has("absent") = true`)
			}
			// Union of any split is the de-duplicated concatenation.
			for _, k := range []int{0, 1, len(in) / 3, len(in) / 2, len(in) - 1, len(in)} {
				if k < 0 || k > len(in) {
					continue
				}
				a, b := MustParse(strings.Join(in[:k], " ")), MustParse(strings.Join(in[k:], " "))
				if got := a.Union(b).List(); !slices.Equal(got, want) {
					t.Errorf("Union split at %d: got %d scopes, want %d", k, len(got), len(want))
				}
				if got, want := b.Union(a).List(), naiveDedup(append(slices.Clone(in[k:]), in[:k]...)); !slices.Equal(got, want) {
					t.Errorf("reverse Union split at %d: got %d scopes, want %d", k, len(got), len(want))
				}
			}
		})
	}
}

// TestUnionDoesNotAlias checks that a Union never writes into either
// operand, whichever way it found its duplicates.
func TestUnionDoesNotAlias(t *testing.T) {
	for _, n := range []int{3, 40} {
		a := MustParse(strings.Join(distinct(n), " "))
		before := a.List()
		u1 := a.Union(MustParse("x"))
		u2 := a.Union(MustParse("y"))
		if !slices.Equal(a.List(), before) {
			t.Fatalf("n=%d: Union modified its receiver", n)
		}
		if got := u1.List(); got[len(got)-1] != "x" {
			t.Errorf("n=%d: first union ends %q, want x", n, got[len(got)-1])
		}
		if got := u2.List(); got[len(got)-1] != "y" {
			t.Errorf("n=%d: second union ends %q, want y", n, got[len(got)-1])
		}
		if got := a.Union(MustParse("s0 s1")); !slices.Equal(got.List(), before) {
			t.Errorf("n=%d: union with a subset = %d scopes, want %d", n, got.Len(), len(before))
		}
	}
}

func BenchmarkParse(b *testing.B) {
	for _, n := range []int{500, 2000} {
		for _, c := range []struct {
			name   string
			tokens []string
		}{
			{"distinct", distinct(n)},
			{"same", slices.Repeat([]string{"read:data"}, n)},
		} {
			s := strings.Join(c.tokens, " ")
			b.Run(c.name+"/n="+strconv.Itoa(n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Parse(s); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkFromList(b *testing.B) {
	for _, n := range []int{500, 2000} {
		l := distinct(n)
		b.Run("distinct/n="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := FromList(l); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnion joins two sets of n scopes that share half of them.
func BenchmarkUnion(b *testing.B) {
	for _, n := range []int{500, 2000} {
		d := distinct(n + n/2)
		x, y := MustParse(strings.Join(d[:n], " ")), MustParse(strings.Join(d[n/2:], " "))
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if u := x.Union(y); u.Len() != len(d) {
					b.Fatalf("Len = %d", u.Len())
				}
			}
		})
	}
}
