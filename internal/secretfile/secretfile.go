// Package secretfile reads a secret from a file, as Kubernetes and Docker
// mount them: a client secret, an encryption key. It exists so that a
// secret never has to be a command-line argument, which every user of the
// machine can read in the process list; [Flag] keeps a secret taken from
// the environment out of a command's usage text.
package secretfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxSize is the largest secret file read; a larger one is refused, not
// truncated.
const MaxSize = 64 << 10

// ErrEmpty is returned for a file that holds nothing but line breaks.
var ErrEmpty = errors.New("the file is empty")

// Read returns the contents of the file at path without its trailing line
// breaks (the one that `echo` and most editors add). Its errors name
// neither the contents nor the path: a secret given by mistake where its
// file's path belongs would otherwise be printed. They match
// fs.ErrNotExist and fs.ErrPermission where those apply.
func Read(path string) (string, error) {
	f, err := os.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("no such file: %w", fs.ErrNotExist)
	case errors.Is(err, fs.ErrPermission):
		return "", fmt.Errorf("the file cannot be opened: %w", fs.ErrPermission)
	case err != nil:
		return "", errors.New("the file cannot be opened")
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return "", errors.New("the file cannot be read")
	}
	if len(b) > MaxSize {
		return "", fmt.Errorf("the file is over %d bytes", MaxSize)
	}
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return "", ErrEmpty
	}
	return string(b), nil
}

// Fill reads the file at path into *value, unless path is "". given names
// how *value is given otherwise ("--client-secret"), fileFlag the file's
// flag ("--client-secret-file"): both set is an error, as is a file that
// Read refuses. Errors name neither the path nor the contents.
func Fill(value *string, path, given, fileFlag string) error {
	if path == "" {
		return nil
	}
	if *value != "" {
		return fmt.Errorf("%s and %s (or their environment variables) are both set: give one", given, fileFlag)
	}
	v, err := Read(path)
	if err != nil {
		return fmt.Errorf("%s: %w", fileFlag, err)
	}
	*value = v
	return nil
}

// Flag is a string flag.Value whose default, often taken from the
// environment, the usage text never shows (flag.PrintDefaults prints
// every default that differs from the zero value's String): a secret, or a
// secret given by mistake where its file's path belongs.
type Flag struct{ P *string }

// String returns "", whatever the value.
func (f Flag) String() string { return "" }

// Set sets the value.
func (f Flag) Set(v string) error { *f.P = v; return nil }
