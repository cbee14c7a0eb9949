// Package secretfile reads a secret from a file, as Kubernetes and Docker
// mount them: a client secret, an encryption key. It exists so that a
// secret never has to be a command-line argument, which every user of the
// machine can read in the process list.
package secretfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxSize is the largest secret file read; a larger one is refused, not
// truncated.
const MaxSize = 64 << 10

// ErrEmpty is returned for a file that holds nothing but line breaks.
var ErrEmpty = errors.New("the file is empty")

// Read returns the contents of the file at path without its trailing line
// breaks (the one that `echo` and most editors add). Its errors name the
// path, never the contents.
func Read(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	if len(b) > MaxSize {
		return "", fmt.Errorf("%s is over %d bytes", path, MaxSize)
	}
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return "", fmt.Errorf("%s: %w", path, ErrEmpty)
	}
	return string(b), nil
}
