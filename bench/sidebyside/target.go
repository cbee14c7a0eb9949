package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// childEnv marks a re-executed child, so that a test binary (whose
// TestMain checks it) serves instead of running the tests.
const childEnv = "SIDEBYSIDE_CHILD"

// target is one reference service running in its own process.
type target struct {
	impl  string
	addr  string
	pid   int
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{} // closed when the process has been waited for
	err   error         // its exit status, once done

	stderr *limitedBuffer
}

// startTarget re-executes this binary as "serve -impl impl" (on cpu alone
// unless cpu < 0) and waits (at most 20 s) for the listen line.
func startTarget(impl string, iss *issuer, profileDir string, cpu int) (*target, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "-impl", impl, "-addr", "127.0.0.1:0", "-issuer", iss.URL, "-jwks", iss.JWKSURL(),
		"-audience", audience, "-ca", iss.CAFile}
	if profileDir != "" {
		args = append(args, "-cpuprofile", filepath.Join(profileDir, impl+".pprof"))
	}
	cmd := exec.Command(exe, args...)
	if cpu >= 0 {
		if cmd, err = pinnedCommand(cpu, exe, args); err != nil {
			return nil, err
		}
	}
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.SysProcAttr = childAttr()
	t := &target{impl: impl, cmd: cmd, done: make(chan struct{}), stderr: &limitedBuffer{max: 64 << 10}}
	cmd.Stderr = t.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if t.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	t.pid = cmd.Process.Pid
	go func() {
		t.err = cmd.Wait()
		close(t.done)
	}()
	type line struct {
		addr string
		err  error
	}
	first := make(chan line, 1)
	go func() {
		br := bufio.NewReader(stdout)
		addr, err := readListenLine(br)
		first <- line{addr, err}
		_, _ = io.Copy(io.Discard, br) // until the child exits
	}()
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	select {
	case l := <-first:
		if l.err != nil {
			t.stop()
			return nil, fmt.Errorf("%s: %w; stderr: %s", impl, l.err, t.stderr)
		}
		t.addr = l.addr
	case <-t.done:
		return nil, fmt.Errorf("%s exited at start (%v); stderr: %s", impl, t.err, t.stderr)
	case <-timer.C:
		t.stop()
		return nil, fmt.Errorf("%s: no listen line in 20 s; stderr: %s", impl, t.stderr)
	}
	return t, nil
}

// stop asks the child to end (stdin closed: it shuts down and writes its
// profile), then kills it if it has not within 5 s, and waits for it.
func (t *target) stop() {
	_ = t.stdin.Close()
	select {
	case <-t.done:
		return
	case <-time.After(5 * time.Second):
	}
	_ = t.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-t.done:
		return
	case <-time.After(2 * time.Second):
	}
	_ = t.cmd.Process.Kill()
	<-t.done
}

// exited reports whether the process has ended.
func (t *target) exited() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// cpuSample is a process's CPU time so far, from two sources.
type cpuSample struct {
	sched int64 // sum of its threads' /proc/<pid>/task/*/schedstat run time, ns; -1 if unavailable
	stat  int64 // utime+stime from /proc/<pid>/stat, in ns (10 ms ticks)
}

// clockTicks is USER_HZ, what getconf CLK_TCK prints: 100 on Linux for
// every architecture Go supports (the kernel ABI fixes it).
const clockTicks = 100

// cpusAllowed is the Cpus_allowed_list of pid's main thread ("" where
// /proc does not say).
func cpusAllowed(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == "Cpus_allowed_list" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func readCPU(pid int) (cpuSample, error) {
	s := cpuSample{sched: -1}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return s, errors.New("malformed /proc/pid/stat")
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return s, errors.New("short /proc/pid/stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, errors.New("malformed utime/stime")
	}
	s.stat = (ut + st) * (1e9 / clockTicks)

	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return s, nil
	}
	var sum int64
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, task.Name()))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // the thread ended meanwhile
			}
			return s, nil
		}
		ns, err := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64)
		if err != nil {
			return s, nil
		}
		sum += ns
	}
	s.sched = sum
	return s, nil
}

// cpuDelta is the CPU time between two samples, in ns: the schedstat sum
// (ns resolution) unless a thread ended in between (the sum then falls
// short of the tick count), else the 10 ms-tick count.
func cpuDelta(a, b cpuSample) (ns int64, source string) {
	stat := b.stat - a.stat
	if a.sched < 0 || b.sched < 0 {
		return stat, "stat"
	}
	sched := b.sched - a.sched
	if sched < stat-3*(1e9/clockTicks) {
		return stat, "stat"
	}
	return sched, "schedstat"
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.buf.String())
}
