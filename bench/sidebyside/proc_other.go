//go:build !linux

package main

import "syscall"

// childAttr: a child also exits when its stdin closes, which is what
// happens when this process dies.
func childAttr() *syscall.SysProcAttr { return nil }
