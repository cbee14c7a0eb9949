package secretfile

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, content, want string
		wantErr             error // nil: no error; errAny: any error
	}{
		{"plain", "s3cr3t", "s3cr3t", nil},
		{"echo", "s3cr3t\n", "s3cr3t", nil},
		{"crlf", "s3cr3t\r\n", "s3cr3t", nil},
		{"inner spaces kept", " a b \n", " a b ", nil},
		{"inner line break kept", "a\nb\n", "a\nb", nil},
		{"empty", "", "", ErrEmpty},
		{"only line breaks", "\n\r\n", "", ErrEmpty},
		{"at the limit", strings.Repeat("x", MaxSize), strings.Repeat("x", MaxSize), nil},
		{"over the limit", strings.Repeat("x", MaxSize+1), "", errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(write(tt.name, tt.content))
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Read: %v", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("Read: error %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("Read = %q, want %q", got, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "xxxx") {
				t.Fatalf("the error shows the contents: %.80s", err)
			}
		})
	}
	if _, err := Read(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a missing file: %v, want fs.ErrNotExist", err)
	}
	// A secret given where its file's path belongs is not printed back.
	for _, path := range []string{"s3cr3t-Value-given-by-mistake", "redis://:hunter2@10.0.0.5/0", dir} {
		_, err := Read(path)
		if err == nil || strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), dir) {
			t.Errorf("Read(a path): %v", err)
		}
	}
}

var errAny = errors.New("any error")

func TestFill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		value, path, want, wantErr string
	}{
		{"", "", "", ""},
		{"given", "", "given", ""},
		{"", path, "from-file", ""},
		{"given", path, "given", "--s and --s-file (or their environment variables) are both set: give one"},
		{"", path + ".missing", "", "--s-file: no such file"},
	} {
		v := tt.value
		err := Fill(&v, tt.path, "--s", "--s-file")
		if v != tt.want || (tt.wantErr == "") != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), tt.wantErr)) {
			t.Errorf("Fill(%q, %q) = %q, %v; want %q, %q", tt.value, tt.path, v, err, tt.want, tt.wantErr)
		}
	}
}

func TestFlagHidesItsDefault(t *testing.T) {
	v := "s3cr3t-from-the-environment"
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var out strings.Builder
	fs.SetOutput(&out)
	fs.Var(Flag{P: &v}, "secret", "a secret")
	fs.PrintDefaults()
	if strings.Contains(out.String(), "s3cr3t") {
		t.Fatalf("the usage shows the default: %q", out.String())
	}
	if err := fs.Parse([]string{"--secret", "new"}); err != nil || v != "new" {
		t.Fatalf("Parse: %q, %v", v, err)
	}
}
