package paramname

import (
	"slices"
	"testing"
)

func TestReadsAs(t *testing.T) {
	tests := []struct {
		name, want string
		reads      bool
	}{
		{"access_token", "access_token", true},
		{"ACCESS_TOKEN", "access_token", true}, // ASP.NET Core
		{"access.token", "access_token", true}, // PHP
		{"access token", "access_token", true},
		{"access[token", "access_token", true},
		{"access\x85token", "access_token", true},
		{"  access_token", "access_token", true},
		{"access_token\x00x", "access_token", true},
		{"access_token[]", "access_token", true}, // arrays: PHP, Rack, qs
		{"access_token[0]", "access_token", true},
		{"access_token[", "access_token", false}, // no ']': PHP reads "access_token_"
		{"access-token", "access_token", false},
		{"access_tokens", "access_token", false},
		{"xaccess_token", "access_token", false},
		{"_method", "_method", true},
		{".method", "_method", true},
		{"_METHOD", "_method", true},
		{"_method[]", "_method", true},
		{" _method", "_method", true},
		{"method", "_method", false},
		{"x_method", "_method", false},
		{"", "_method", false},
	}
	for _, tc := range tests {
		if got := ReadsAs(tc.name, tc.want); got != tc.reads {
			t.Errorf("ReadsAs(%q, %q) = %v, want %v", tc.name, tc.want, got, tc.reads)
		}
	}
}

func TestPairs(t *testing.T) {
	tests := []struct {
		query string
		want  []Pair
	}{
		{"", nil},
		{"a=1&b", []Pair{{"a", "1", false}, {"b", "", false}}},
		{"x=1;%5Fmethod=DEL%45TE&c+d=", []Pair{{"x", "1", true}, {"_method", "DEL%45TE", true}, {"c d", "", false}}},
		{"%zz=1&&=2", []Pair{{"%zz", "1", false}, {"", "", false}, {"", "2", false}}},
	}
	for _, tc := range tests {
		if got := slices.Collect(Pairs(tc.query)); !slices.Equal(got, tc.want) {
			t.Errorf("Pairs(%q) = %+v, want %+v", tc.query, got, tc.want)
		}
	}
	n := 0
	for range Pairs("a&b&c") {
		n++
		break
	}
	if n != 1 {
		t.Errorf("Pairs went on after the loop stopped")
	}
}

func TestContainsFold(t *testing.T) {
	for _, tc := range []struct {
		s, lower string
		want     bool
	}{
		{"a=1&access_TOKEN=x", "token", true},
		{"_METHOD=put", "method", true},
		{"tokn", "token", false},
		{"", "token", false},
		{"toke", "token", false},
		{"xTOKEN", "token", true},
	} {
		if got := ContainsFold(tc.s, tc.lower); got != tc.want {
			t.Errorf("ContainsFold(%q, %q) = %v, want %v", tc.s, tc.lower, got, tc.want)
		}
	}
}
