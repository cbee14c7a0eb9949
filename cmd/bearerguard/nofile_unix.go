//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import "syscall"

// openFileLimit returns how many descriptors the process may hold open
// (RLIMIT_NOFILE's soft limit, which the Go runtime raises to the hard
// one at start), and whether the system says.
func openFileLimit() (uint64, bool) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, false
	}
	return uint64(r.Cur), true
}
