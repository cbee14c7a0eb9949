package forwardauth

import (
	"math/rand/v2"
	"net/url"
	"testing"
)

// segmentIs decides exactly as decoding the segment with url.PathUnescape
// (ServeMux's way, kept as it is when badly escaped) and comparing: the
// allocation-free matching changes the cost, never the answer.
func TestRedteamSegmentIsLikePathUnescape(t *testing.T) {
	old := func(seg, lit string) bool {
		if u, err := url.PathUnescape(seg); err == nil {
			seg = u
		}
		return seg == lit
	}
	alphabet := []byte("aA%2f5eZ/+ ")
	r := rand.New(rand.NewPCG(1, 2))
	gen := func() string {
		b := make([]byte, r.IntN(8))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	fixed := [][2]string{{"%41", "A"}, {"%4", "%4"}, {"%41%zz", "%41%zz"}, {"%41%zz", "A%zz"}, {"%2F", "/"}, {"%2f", "/"},
		{"/", "/"}, {"a%", "a%"}, {"%%41", "%A"}, {"%%41", "%%41"}, {"", ""}, {"%", ""}, {"abc", "ab"}, {"%41bc", "Abcd"}}
	for _, c := range fixed {
		if got, want := segmentIs(c[0], c[1]), old(c[0], c[1]); got != want {
			t.Errorf("segmentIs(%q, %q) = %v, want %v", c[0], c[1], got, want)
		}
	}
	for range 200000 {
		seg, lit := gen(), gen()
		if r.IntN(3) == 0 { // often a literal the segment decodes to
			if u, err := url.PathUnescape(seg); err == nil {
				lit = u
			}
		}
		if got, want := segmentIs(seg, lit), old(seg, lit); got != want {
			t.Fatalf("segmentIs(%q, %q) = %v, want %v", seg, lit, got, want)
		}
	}
}

// segmentFold with fold set decides as decoding the segment and comparing
// in any ASCII case, and never folds beyond ASCII (the Kelvin sign is not
// "k"); without fold it is segmentIs.
func TestSegmentFoldLikePathUnescapeEqualFold(t *testing.T) {
	ref := func(seg, lit string) bool {
		if u, err := url.PathUnescape(seg); err == nil {
			seg = u
		}
		return asciiEqualFold(seg, lit)
	}
	for _, c := range [][2]string{{"ADMIN", "admin"}, {"%41dmin", "admin"}, {"%61DMIN", "Admin"}, {"\u212a", "k"}, {"%E2%84%AA", "k"},
		{"%5B", "{"}, {"@", "`"}, {"%41%zz", "a%zz"}, {"a%ZZ", "A%zz"}} {
		if got, want := segmentFold(c[0], c[1], true), ref(c[0], c[1]); got != want {
			t.Errorf("segmentFold(%q, %q, true) = %v, want %v", c[0], c[1], got, want)
		}
	}
	alphabet := []byte("aAzZ%2f4159eE@[`{/+ ")
	r := rand.New(rand.NewPCG(3, 4))
	gen := func() string {
		b := make([]byte, r.IntN(8))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	for range 200000 {
		seg, lit := gen(), gen()
		if r.IntN(3) == 0 {
			if u, err := url.PathUnescape(seg); err == nil {
				lit = u
			}
		}
		if got, want := segmentFold(seg, lit, true), ref(seg, lit); got != want {
			t.Fatalf("segmentFold(%q, %q, true) = %v, want %v", seg, lit, got, want)
		}
		if got, want := segmentFold(seg, lit, false), segmentIs(seg, lit); got != want {
			t.Fatalf("segmentFold(%q, %q, false) = %v, segmentIs %v", seg, lit, got, want)
		}
	}
}
