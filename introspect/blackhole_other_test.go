//go:build !linux

package introspect_test

import "testing"

// blackhole needs Linux's handling of a full accept queue.
func blackhole(t *testing.T) string {
	t.Skip("a loopback blackhole needs Linux")
	return ""
}
