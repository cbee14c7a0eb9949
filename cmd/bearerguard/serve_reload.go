package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/bearerguard/bearerguard/forwardauth"
)

// fileStamp is what a poll compares: another size, modification time or
// file (a symbolic link swapped to a new file, as Kubernetes updates a
// ConfigMap volume) means the file was rewritten.
type fileStamp struct {
	size    int64
	modTime time.Time
	info    os.FileInfo // for os.SameFile; nil before the first stat
}

func statFile(path string) (fileStamp, error) {
	fi, err := os.Stat(path) // follows symbolic links
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.Size(), fi.ModTime(), fi}, nil
}

// changed reports whether st describes another file, or the same one
// rewritten, than s.
func (s fileStamp) changed(st fileStamp) bool {
	if s.info == nil || st.info == nil {
		return s.info != st.info
	}
	return s.size != st.size || !s.modTime.Equal(st.modTime) || !os.SameFile(s.info, st.info)
}

// A reload reads the route file, then waits reloadSettle and puts it in
// force only if the file did not change meanwhile; else it reads it again
// (at most reloadTries times). A file rewritten in place (truncated, then
// written in pieces) is caught half-way more often than not, and its
// first half is usually valid YAML that has lost a "deny: true" line or
// a scope: it must never be in force, even for an instant.
const (
	reloadSettle = 100 * time.Millisecond
	reloadTries  = 20
)

// reloader puts a route file in force again when it changes (polled) or on
// SIGHUP. A file that cannot be used keeps the rules in force and is
// logged in one line; it is not tried again until it changes or SIGHUP.
type reloader struct {
	path string
	d    *forwardauth.Decider
	log  *slog.Logger

	settle time.Duration // how long the file must stay unchanged after it is read (reloadSettle)

	mu    sync.Mutex // one reload at a time
	stamp fileStamp  // of the file last tried
}

// run reloads on every signal from hup, and when the file's size or
// modification time changes, looked at every interval (0: never).
func (rl *reloader) run(ctx context.Context, hup <-chan os.Signal, interval time.Duration) {
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			rl.reload()
		case <-tick:
			rl.poll()
		}
	}
}

// poll reloads when the file looks changed.
func (rl *reloader) poll() {
	st, err := statFile(rl.path)
	rl.mu.Lock()
	changed := err == nil && rl.stamp.changed(st)
	rl.mu.Unlock()
	if changed {
		rl.reload()
	}
}

// reload reads the file and swaps its rules in, or keeps the rules in
// force and says why in one line.
func (rl *reloader) reload() {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	var rules *forwardauth.Rules
	var err error
	for try := 1; ; try++ {
		rl.stamp, _ = statFile(rl.path) // before reading: a write during the read is seen next time
		rules, err = forwardauth.LoadRules(rl.path)
		time.Sleep(rl.settle)
		if st, _ := statFile(rl.path); !rl.stamp.changed(st) {
			break
		}
		if try == reloadTries {
			rules, err = nil, errors.New("the file kept changing while it was read: write it elsewhere and rename it into place")
			break
		}
	}
	if err == nil {
		err = rl.d.SetRules(rules)
	}
	if err != nil {
		rl.log.Error("bearerguard serve: route file not reloaded, the rules in force stay", "routes", rl.path, "error", oneLineErr(err))
		return
	}
	rl.log.Info("bearerguard serve: routes reloaded", "routes", rl.path, "count", rules.Routes(), "default", rules.Default().String())
}
