// Package leakcheck finds goroutines a test leaves behind, in the manner of
// go.uber.org/goleak but with the standard library only. For tests.
package leakcheck

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Check records the running goroutines and, when the test ends (after
// every cleanup registered later, such as a server's Close), fails the test
// if goroutines started since are still running after a grace period.
// Call it first in a test that does not run in parallel with others.
func Check(t testing.TB) {
	t.Helper()
	before := goroutines()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			var leaked []string
			for id, stack := range goroutines() {
				if _, old := before[id]; !old && !ignored(stack) {
					leaked = append(leaked, stack)
				}
			}
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("leakcheck: %d goroutine(s) left running:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
				return
			}
			// Goroutines end asynchronously after Close returns; poll.
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func ignored(stack string) bool {
	for _, s := range []string{"testing.tRunner", "testing.(*T).Run", "testing.runFuzzing", "os/signal.loop", "runtime.ensureSigM", "leakcheck.goroutines"} {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}

// goroutines returns the stacks of all goroutines, by goroutine header
// ("goroutine 7").
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		header, _, _ := bytes.Cut(g, []byte(" ["))
		out[string(header)] = string(g)
	}
	return out
}
