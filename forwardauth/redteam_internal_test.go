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
