// Package panicniltest holds tests that need a test binary of their own:
// they run with GODEBUG panicnil=1 (set by a //go:debug line), under which
// panic(nil) is recovered as nil, as a deployed binary may run.
package panicniltest
