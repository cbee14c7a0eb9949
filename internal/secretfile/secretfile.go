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
