//go:build !linux

package main

import (
	"errors"
	"os/exec"
	"syscall"
)

// childAttr: a child also exits when its stdin closes, which is what
// happens when this process dies.
func childAttr() *syscall.SysProcAttr { return nil }

var errNoPinning = errors.New("the pinned layout is only implemented on Linux (use -layout shared)")

func cpuPlan() (server, driver int, err error) { return 0, 0, errNoPinning }

func pinnedCommand(int, string, []string) (*exec.Cmd, error) { return nil, errNoPinning }

func pinSelf(int) (func(), error) { return nil, errNoPinning }
