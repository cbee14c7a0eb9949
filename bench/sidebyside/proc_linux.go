package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// childAttr kills a child if this process dies without stopping it.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }

// cpuPlan picks the pinned layout's two CPUs from the ones this process
// may run on: the first for the target, the second for the driver.
func cpuPlan() (server, driver int, err error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0, 0, err
	}
	var cpus []int
	for c := range 1024 {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		return 0, 0, fmt.Errorf("the pinned layout needs 2 CPUs, this process may use %d (try -layout shared)", len(cpus))
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return 0, 0, fmt.Errorf("the pinned layout runs the targets with taskset (util-linux): %w (try -layout shared)", err)
	}
	return cpus[0], cpus[1], nil
}

// pinnedCommand runs exe on cpu alone: taskset sets the affinity and then
// executes exe in its place (same pid), so the Go runtime of the child
// sees one CPU from its start and sizes GOMAXPROCS to it.
func pinnedCommand(cpu int, exe string, args []string) (*exec.Cmd, error) {
	ts, err := exec.LookPath("taskset")
	if err != nil {
		return nil, fmt.Errorf("the pinned layout runs the targets with taskset (util-linux): %w", err)
	}
	return exec.Command(ts, append([]string{"-c", strconv.Itoa(cpu), exe}, args...)...), nil
}

// pinSelf moves every thread of this process to cpu (threads started
// later inherit it from the thread that starts them); restore gives them
// back the CPUs they had.
func pinSelf(cpu int) (restore func(), err error) {
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return nil, err
	}
	set.Set(cpu)
	if err := setAffinity(&set); err != nil {
		_ = setAffinity(&old)
		return nil, err
	}
	return func() { _ = setAffinity(&old) }, nil
}

func setAffinity(set *unix.CPUSet) error {
	for range 3 { // a thread started while listing is caught the next time
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		var errs []error
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := unix.SchedSetaffinity(tid, set); err != nil && !errors.Is(err, unix.ESRCH) {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	return nil
}
