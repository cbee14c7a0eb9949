package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/bearerguard/bearerguard/examples/setup"
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

// A reload waits until the route file was last modified reloadQuiet ago,
// reads it, then waits reloadSettle and puts it in force only if the file
// did not change since before the wait; else it starts again (at most
// reloadTries times, and for reloadPatience in all). A file rewritten in
// place (truncated, then written in pieces) is caught half-way more often
// than not, and its first half is usually valid YAML that has lost a
// "deny: true" line or a scope. These waits keep out a writer that pauses
// less than reloadQuiet between pieces; none can keep out one that pauses
// longer, which is why the README asks for an atomic replace (write
// beside, rename over).
const (
	reloadQuiet    = time.Second
	reloadSettle   = 100 * time.Millisecond
	reloadTries    = 20
	reloadPatience = 10 * time.Second
)

// reloader puts a route file in force again when it changes (polled) or on
// SIGHUP. A file that cannot be used keeps the rules in force and is
// logged in one line; it is not tried again until it changes or SIGHUP.
type reloader struct {
	path string
	d    *forwardauth.Decider
	log  *slog.Logger

	settle time.Duration // how long the file must stay unchanged after it is read (reloadSettle)
	quiet  time.Duration // how long ago the file must have been last modified when it is read (reloadQuiet)

	keys *setup.Readiness // refreshed on SIGHUP; nil: none

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
			rl.hup(ctx)
		case <-tick:
			rl.poll()
		}
	}
}

// hup does what SIGHUP asks: the route file read again, and the key set
// fetched at once, so that a key the issuer removed in an emergency stops
// being trusted without waiting for the background refresh. A fetch that
// fails keeps the keys in force, and says so in one line.
func (rl *reloader) hup(ctx context.Context) {
	rl.reload()
	if rl.keys == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, reloadPatience)
	defer cancel()
	switch registered, err := rl.keys.Refresh(ctx); {
	case err != nil:
		rl.log.Warn("bearerguard serve: SIGHUP: the key set could not be fetched; the keys in force stay", "err", oneLineErr(err))
	case registered:
		rl.log.Info("bearerguard serve: SIGHUP: key set fetched again")
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
	deadline := time.Now().Add(reloadPatience)
	for try := 1; ; try++ {
		rl.stamp, _ = statFile(rl.path) // before waiting and reading: a write meanwhile is seen below
		if rl.quiet > 0 && rl.stamp.info != nil {
			if age := time.Since(rl.stamp.modTime); age < rl.quiet {
				time.Sleep(rl.quiet - max(age, 0)) // a modification time in the future: one quiet period
			}
		}
		rules, err = forwardauth.LoadRules(rl.path)
		time.Sleep(rl.settle)
		if st, _ := statFile(rl.path); !rl.stamp.changed(st) {
			break
		}
		if try == reloadTries || time.Now().After(deadline) {
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
	warnShadowed(rl.log, rl.path, rules)
}
