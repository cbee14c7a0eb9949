package httpbearer

import (
	"errors"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/validator"
)

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		in       string
		token    string
		isBearer bool
		err      error
	}{
		{"Bearer abc", "abc", true, nil},
		{"bearer abc", "abc", true, nil},
		{"bEaReR  abc.def-ghi_jkl~mno+pqr/stu==", "abc.def-ghi_jkl~mno+pqr/stu==", true, nil},
		{"Bearer", "", true, validator.ErrMalformedHeader},
		{"Bearer ", "", true, validator.ErrMalformedHeader},
		{"Bearer\tabc", "", true, validator.ErrMalformedHeader},
		{"Bearer abc def", "", true, validator.ErrMalformedHeader},
		{"Bearer abc=def", "", true, validator.ErrMalformedHeader},
		{"Bearer =abc", "", true, validator.ErrMalformedHeader},
		{"Bearer a\"b", "", true, validator.ErrMalformedHeader},
		{"Bearer é", "", true, validator.ErrMalformedHeader},
		{"Basic abc", "", false, nil},
		{"BearerToken abc", "", false, nil},
		{"Bear abc", "", false, nil},
		{"", "", false, nil},
	}
	for _, tt := range tests {
		tok, isBearer, err := parseAuthorization(tt.in)
		if tok != tt.token || isBearer != tt.isBearer || !errors.Is(err, tt.err) {
			t.Errorf("parseAuthorization(%q) = %q, %v, %v; want %q, %v, %v", tt.in, tok, isBearer, err, tt.token, tt.isBearer, tt.err)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  a.b.c", "Bearer", "Basic x", "Bearer a b", "Bearer\x00", "BEARER =="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, isBearer, err := parseAuthorization(v)
		if err != nil {
			if !isBearer || !errors.Is(err, validator.ErrInvalidRequest) || tok != "" {
				t.Fatalf("parseAuthorization(%q) = %q, %v, %v", v, tok, isBearer, err)
			}
			return
		}
		if !isBearer {
			if tok != "" {
				t.Fatalf("non-Bearer %q yielded token %q", v, tok)
			}
			return
		}
		if !isB64Token(tok) || !strings.HasSuffix(v, " "+tok) || !strings.EqualFold(strings.TrimRight(strings.TrimSuffix(v, tok), " "), "bearer") {
			t.Fatalf("parseAuthorization(%q) accepted token %q", v, tok)
		}
	})
}
