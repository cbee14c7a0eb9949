package nilness

import (
	"io"
	"testing"
)

type impl struct{}

func (*impl) Read([]byte) (int, error) { return 0, io.EOF }

func TestIsNil(t *testing.T) {
	var p *impl
	var r io.Reader = p
	var m map[string]int
	var f func()
	for _, tt := range []struct {
		name string
		x    any
		want bool
	}{
		{"nil", nil, true},
		{"nil pointer in an interface", r, true},
		{"nil pointer", p, true},
		{"nil map", m, true},
		{"nil func", f, true},
		{"pointer", &impl{}, false},
		{"struct", impl{}, false},
		{"string", "", false},
		{"zero int", 0, false},
	} {
		if got := IsNil(tt.x); got != tt.want {
			t.Errorf("%s: IsNil = %v, want %v", tt.name, got, tt.want)
		}
	}
}
