//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

// openFileLimit reports no limit where the system has no RLIMIT_NOFILE
// to read.
func openFileLimit() (uint64, bool) { return 0, false }
