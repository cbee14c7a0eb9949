package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the command: run() re-executes
// os.Executable() as "serve -impl …" with childEnv set.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" && len(os.Args) > 1 && os.Args[1] == "serve" {
		os.Exit(serveMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestSmoke runs the smoke mode end to end: every target starts, passes
// the contract (200/201/401/403 where due), every mode produces figures,
// the report renders and replaces its own section, and nothing is left
// running.
func TestSmoke(t *testing.T) {
	start := time.Now()
	cfg, err := parseFlags([]string{"-smoke"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg.results = filepath.Join(dir, "RESULTS.md")
	cfg.raw = filepath.Join(dir, "raw.txt")
	if err := os.WriteFile(cfg.results, []byte("# Results\n\nearlier sections\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cpuPlan(); err != nil {
		t.Logf("layout shared: %v", err)
		cfg.layout = "shared"
	}
	cpusBefore := cpusAllowed(os.Getpid())
	goroutines := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Second)
	defer cancel()
	res, err := run(ctx, cfg, logWriter{t})
	if err != nil {
		t.Fatal(err)
	}

	for _, mode := range cfg.modes {
		for _, impl := range cfg.targets {
			m, ok := res.find(mode, impl, 1)
			switch {
			case !measures(impl, mode):
				if ok {
					t.Errorf("%s %s: measured, but the reference runs the open route and the reused token only", mode, impl)
				}
			case !ok:
				t.Errorf("%s %s: not measured", mode, impl)
			case m.requests == 0 || m.rps() <= 0 || m.p50 <= 0 || m.p99 < m.p50:
				t.Errorf("%s %s: %d requests, %.0f/s, p50 %s, p99 %s", mode, impl, m.requests, m.rps(), m.p50, m.p99)
			case m.cpuNS <= 0:
				t.Errorf("%s %s: no server CPU time measured", mode, impl)
			case m.errors > 0 || m.unexpected > 0:
				t.Errorf("%s %s: %d errors, %d unexpected statuses", mode, impl, m.errors, m.unexpected)
			case cfg.layout == "pinned" && (!isOneCPU(m.cpus) || !isOneCPU(m.driverCPUs) || m.cpus == m.driverCPUs):
				t.Errorf("%s %s: pinned layout, but the target ran on CPUs %q and the driver on %q", mode, impl, m.cpus, m.driverCPUs)
			}
		}
	}
	if got := cpusAllowed(os.Getpid()); got != cpusBefore {
		t.Errorf("after the run this process may use CPUs %q, before it %q", got, cpusBefore)
	}
	md := res.markdown()
	for _, want := range []string{"## Black box, side by side", "| **bearerguard", "golang-jwt", "auth0", "jwx", "JWKS fetches per round", "÷ own open route", "÷ median peer", "reference that checks no token"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	// Written twice: the section is replaced, not appended again.
	for range 2 {
		if err := res.write(cfg, md); err != nil {
			t.Fatal(err)
		}
	}
	doc, _ := os.ReadFile(cfg.results)
	if n := strings.Count(string(doc), "## Black box, side by side"); n != 1 || !strings.HasPrefix(string(doc), "# Results\n\nearlier sections\n\n") {
		t.Errorf("RESULTS.md after two writes has %d sections:\n%s", n, doc)
	}
	measured := 0
	for _, mode := range cfg.modes {
		for _, impl := range cfg.targets {
			if measures(impl, mode) {
				measured++
			}
		}
	}
	if raw, _ := os.ReadFile(cfg.raw); strings.Count(string(raw), "\nround=") != measured {
		t.Errorf("raw file:\n%s", raw)
	}

	// No process and no goroutine left behind.
	if len(res.pids) != len(cfg.targets) {
		t.Errorf("%d target processes recorded, want %d", len(res.pids), len(cfg.targets))
	}
	for _, pid := range res.pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("target process %d still exists (kill 0: %v)", pid, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines left, %d before:\n%s", n, goroutines, buf[:runtime.Stack(buf, true)])
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("smoke run took %s, want < 30 s", d)
	}
}

// TestContractCatchesABadTarget: a server that lets everything through
// must fail the contract.
func TestContractCatchesABadTarget(t *testing.T) {
	iss, err := startIssuer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer iss.close()
	checks, err := contractChecks(iss)
	if err != nil {
		t.Fatal(err)
	}
	open := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"subject": subject})
	}))
	defer open.Close()
	err = checkContract(strings.TrimPrefix(open.URL, "http://"), checks)
	if err == nil {
		t.Fatal("a server answering 200 to everything passed the contract")
	}
	for _, want := range []string{"no token: status 200, want 401", "bad signature: status 200, want 401", `alg "none": status 200, want 401`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("contract error lacks %q:\n%v", want, err)
		}
	}
}

// isOneCPU reports whether a Cpus_allowed_list names exactly one CPU.
func isOneCPU(list string) bool {
	_, err := strconv.Atoi(list)
	return err == nil
}

func TestReplaceSection(t *testing.T) {
	pb, pe := markers("pinned")
	sb, se := markers("shared")
	pinned := pb + " x -->\n## Black box, side by side\nnew\n" + pe + "\n"
	shared := sb + " x -->\n## Black box, side by side: shared\nnew\n" + se + "\n"
	oldPinned := pb + " -->\nold\n" + pe + "\n"
	oldShared := sb + " -->\nold\n" + se + "\n"
	for _, c := range []struct{ doc, sec, layout, want string }{
		{"", pinned, "pinned", pinned},
		{"# R\n", pinned, "pinned", "# R\n\n" + pinned},
		{"# R\n\n" + oldPinned + "## After\n", pinned, "pinned", "# R\n\n" + pinned + "## After\n"},
		// Each layout has its own section; replacing one keeps the other.
		{"# R\n\n" + oldPinned + oldShared + "## After\n", pinned, "pinned", "# R\n\n" + pinned + oldShared + "## After\n"},
		{"# R\n\n" + oldPinned + oldShared + "## After\n", shared, "shared", "# R\n\n" + oldPinned + shared + "## After\n"},
		{"# R\n\n" + oldPinned, shared, "shared", "# R\n\n" + oldPinned + "\n" + shared},
	} {
		if got := string(replaceSection([]byte(c.doc), c.sec, c.layout)); got != c.want {
			t.Errorf("replaceSection(%q, %s) = %q, want %q", c.doc, c.layout, got, c.want)
		}
	}
}

// TestSliceSplitsTheBudget: the slices of a limited load send every token
// of the round exactly once between them; an unlimited load is unchanged.
func TestSliceSplitsTheBudget(t *testing.T) {
	for _, tc := range []struct{ limit, n int }{{8000, 4}, {6000, 4}, {101, 4}, {7, 3}, {5, 5}, {100, 1}} {
		l := load{limit: tc.limit, token: func(i int) string { return fmt.Sprint(i) }}
		seen := map[string]int{}
		total := 0
		for s := range tc.n {
			part := l.slice(s, tc.n)
			if part.limit < 1 {
				t.Fatalf("limit %d in %d: slice %d has limit %d", tc.limit, tc.n, s, part.limit)
			}
			total += part.limit
			for i := range part.limit {
				seen[part.token(i)]++
			}
		}
		if total != tc.limit || len(seen) != tc.limit {
			t.Errorf("limit %d in %d slices: %d requests, %d distinct tokens", tc.limit, tc.n, total, len(seen))
		}
		for tok, n := range seen {
			if n != 1 {
				t.Errorf("limit %d in %d slices: token %s sent %d times", tc.limit, tc.n, tok, n)
			}
		}
	}
	open := load{path: "/healthz"}
	if got := open.slice(2, 4); got.limit != 0 || got.token != nil {
		t.Errorf("an unlimited load sliced: limit %d", got.limit)
	}
}

// TestMerged: a target's slices add up to one interval, latencies pooled.
func TestMerged(t *testing.T) {
	parts := []measurement{
		{impl: "x", requests: 3, elapsed: time.Second, cpuNS: 30, statNS: 20, driverNS: 10, jwks: 1, limitHit: true, cpuSource: "schedstat", lat: []int64{1, 2, 3}},
		{impl: "x", requests: 2, elapsed: time.Second, cpuNS: 20, statNS: 10, driverNS: 5, unexpected: 1, lastBad: "status 500", limitHit: false, cpuSource: "schedstat", lat: []int64{100, 200}},
	}
	m := merged(parts)
	if m.requests != 5 || m.elapsed != 2*time.Second || m.cpuNS != 50 || m.statNS != 30 || m.driverNS != 15 || m.jwks != 1 ||
		m.unexpected != 1 || m.lastBad != "status 500" || m.limitHit || m.cpuSource != "schedstat" || m.lat != nil {
		t.Errorf("merged: %+v", m)
	}
	if m.rps() != 2.5 || m.cpuPerReq() != 0.01 {
		t.Errorf("merged: %.2f/s, %.3f µs/request", m.rps(), m.cpuPerReq())
	}
	if m.p50 != 3 || m.p99 != 200 {
		t.Errorf("merged: p50 %d, p99 %d; want the pooled latencies' 3 and 200", m.p50, m.p99)
	}
	parts[1].cpuSource = "stat"
	if m := merged(parts); m.cpuSource != "mixed" {
		t.Errorf("cpu sources schedstat and stat merged as %q", m.cpuSource)
	}
}

func TestModeGroupsPairOpenWithReused(t *testing.T) {
	for _, c := range []struct {
		modes []string
		want  [][]string
	}{
		{[]string{"open", "reused", "fresh-rs256"}, [][]string{{"open", "reused"}, {"fresh-rs256"}}},
		{[]string{"fresh-es256", "reused", "unknown-kid", "open"}, [][]string{{"fresh-es256"}, {"open", "reused"}, {"unknown-kid"}}},
		{[]string{"reused"}, [][]string{{"reused"}}},
		{[]string{"open", "fresh-rs256"}, [][]string{{"open"}, {"fresh-rs256"}}},
	} {
		if got := modeGroups(c.modes); !reflect.DeepEqual(got, c.want) {
			t.Errorf("modeGroups(%q) = %q, want %q", c.modes, got, c.want)
		}
	}
}
