package redistest

import "syscall"

// procAttr makes the kernel kill the server if the test binary dies
// without cleaning up.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
