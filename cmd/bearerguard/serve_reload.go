package main

import (
	"context"
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

// reloader puts a route file in force again when it changes (polled) or on
// SIGHUP. A file that cannot be used keeps the rules in force and is
// logged in one line; it is not tried again until it changes or SIGHUP.
type reloader struct {
	path string
	d    *forwardauth.Decider
	log  *slog.Logger

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
	rl.stamp, _ = statFile(rl.path) // before reading: a write during the read is seen next time
	rules, err := forwardauth.LoadRules(rl.path)
	if err == nil {
		err = rl.d.SetRules(rules)
	}
	if err != nil {
		rl.log.Error("bearerguard serve: route file not reloaded, the rules in force stay", "routes", rl.path, "error", oneLineErr(err))
		return
	}
	rl.log.Info("bearerguard serve: routes reloaded", "routes", rl.path, "count", rules.Routes(), "default", rules.Default().String())
}
