// Command sidebyside compares OAuth 2.0 resource servers as their users
// see them: black boxes answering HTTP on loopback. Four reference
// services share one contract (the library's examples: GET /healthz open,
// GET /data needs read:data, POST /data needs write:data, 401/403 on
// failure), one issuer, one JWKS URL and one audience:
//
//   - bearerguard: examples/nethttp/api, exactly as the example builds it;
//   - golangjwt: golang-jwt/jwt v5 with MicahParks/keyfunc v3;
//   - auth0: auth0/go-jwt-middleware v2 with its caching JWKS provider;
//   - jwx: lestrrat-go/jwx v2, jwk.Cache and jwt.Parse.
//
// Each runs in its own process (this binary, "serve -impl …"), so that its
// CPU time can be read from /proc around every measured interval without
// the load driver's. The driver checks each target's contract (200, 201,
// 401 and 403 where due), warms every target up, then runs rounds: in
// round r every mode runs against every target, targets in an order
// rotated by r, each target's interval taken in -slices turns, forward
// then backward through the targets (so that the machine's drift over a
// round falls on all alike); the open route and the reused token take
// their slices in the same turns, since the report divides one by the
// other. Modes: the
// open route; a reused RS256 token; a distinct RS256 or ES256 token on
// every request (minted up front, never reused within a run); a flood of
// tokens with unknown kids, counting the JWKS fetches it causes. Ratios
// are taken within a round and reported as the median over rounds.
//
// With -layout pinned (the default) every target runs on one CPU and the
// driver on another, so requests/s is what one CPU of the target serves
// and the driver's own work never competes with it; -layout shared lets
// both use every CPU.
//
//	go run ./sidebyside [-rounds 5] [-duration 2s] [-conns 32] [-results RESULTS.md -raw sidebyside-raw.txt]
//	go run ./sidebyside -layout shared    # driver and targets on every CPU
//	go run ./sidebyside -smoke            # seconds: one short round, nothing written
//	go run ./sidebyside -modes fresh-rs256 -cpuprofile-dir /tmp/prof   # then go tool pprof /tmp/prof/bearerguard.pprof
//
// Everything is bounded: the durations, the request counts, the number of
// rounds, the whole run (-timeout); the children are stopped at the end,
// on error and on SIGINT, and die with this process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		os.Exit(serveMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// modes, in run order.
var modes = []string{"open", "reused", "fresh-rs256", "fresh-es256", "unknown-kid"}

var modeTitle = map[string]string{
	"open":        "Open route (GET /healthz, no token)",
	"reused":      "Protected, one reused RS256 token (GET /data)",
	"fresh-rs256": "Protected, a distinct RS256 token every request",
	"fresh-es256": "Protected, a distinct ES256 token every request",
	"unknown-kid": "Unknown-kid flood (a distinct unknown kid every request, 401 expected)",
}

type config struct {
	rounds      int
	slices      int // each interval is taken in this many turns
	duration    time.Duration
	conns       int
	targets     []string
	modes       []string
	rsPerRound  int // fresh RS256 requests per target per round at most (tokens minted: rounds × this)
	esPerRound  int
	kidPerRound int
	timeout     time.Duration
	profileDir  string
	layout      string // "pinned": the target on one CPU, the driver on another; "shared": both on all
	results     string // RESULTS.md to update ("" = none)
	raw         string // raw per-round file ("" = none)
	commandLine string
}

func runMain(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "sidebyside:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg, stderr)
	if res != nil {
		md := res.markdown()
		fmt.Fprintln(stdout, md)
		if werr := res.write(cfg, md); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "sidebyside:", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("sidebyside", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var targets, modeList string
	smoke := fs.Bool("smoke", false, "a run of seconds: -rounds 1 -duration 200ms -conns 8 unless given")
	fs.IntVar(&c.rounds, "rounds", 5, "rounds (1..50)")
	fs.IntVar(&c.slices, "slices", 4, "each target's interval in a round is taken in this many turns, targets alternating forward and backward (1..10)")
	fs.DurationVar(&c.duration, "duration", 2*time.Second, "longest measured interval per target, mode and round (10ms..60s)")
	fs.IntVar(&c.conns, "conns", 32, "keep-alive connections (1..256)")
	fs.StringVar(&targets, "targets", strings.Join(impls, ","), "targets, comma-separated")
	fs.StringVar(&modeList, "modes", strings.Join(modes, ","), "modes, comma-separated")
	fs.IntVar(&c.rsPerRound, "rs256-per-round", 0, "fresh RS256 requests per target and round at most; 0: 4,000 per second of -duration (RS256 minting costs ~1.7 ms a token)")
	fs.IntVar(&c.esPerRound, "es256-per-round", 0, "fresh ES256 requests per target and round at most; 0: 12,000 per second of -duration")
	fs.IntVar(&c.kidPerRound, "flood-per-round", 0, "unknown-kid requests per target and round at most; 0: 3,000 per second of -duration")
	fs.StringVar(&c.layout, "layout", "pinned", `"pinned": each target on a CPU of its own and the load driver on another; "shared": both on every CPU`)
	fs.DurationVar(&c.timeout, "timeout", 15*time.Minute, "give up after this long")
	fs.StringVar(&c.profileDir, "cpuprofile-dir", "", "each target writes <dir>/<target>.pprof, a CPU profile of its whole run")
	fs.StringVar(&c.results, "results", "", "Markdown file whose \"Black box, side by side\" section to replace or append")
	fs.StringVar(&c.raw, "raw", "", "file for the raw per-round figures")
	label := fs.String("label", "", "the command line to show in the report (default: this one)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *smoke {
		if !set["rounds"] {
			c.rounds = 1
		}
		if !set["duration"] {
			c.duration = 200 * time.Millisecond
		}
		if !set["conns"] {
			c.conns = 8
		}
		if !set["slices"] {
			c.slices = 2
		}
	}
	var errs []error
	if c.rounds < 1 || c.rounds > 50 {
		errs = append(errs, fmt.Errorf("-rounds %d: want 1..50", c.rounds))
	}
	if c.slices < 1 || c.slices > 10 {
		errs = append(errs, fmt.Errorf("-slices %d: want 1..10", c.slices))
	}
	if c.duration < 10*time.Millisecond || c.duration > time.Minute {
		errs = append(errs, fmt.Errorf("-duration %s: want 10ms..60s", c.duration))
	}
	if c.conns < 1 || c.conns > 256 {
		errs = append(errs, fmt.Errorf("-conns %d: want 1..256", c.conns))
	}
	if c.layout != "pinned" && c.layout != "shared" {
		errs = append(errs, fmt.Errorf("-layout %q: want pinned or shared", c.layout))
	}
	if c.timeout <= 0 || c.timeout > 2*time.Hour {
		errs = append(errs, fmt.Errorf("-timeout %s: want up to 2h", c.timeout))
	}
	perSec := func(v *int, rate float64, name string) {
		if *v == 0 {
			*v = max(100, int(rate*c.duration.Seconds()))
		}
		if *v < max(1, c.slices) || *v > 1_000_000 {
			errs = append(errs, fmt.Errorf("-%s %d: want %d..1000000 (at least one request per slice)", name, *v, max(1, c.slices)))
		}
	}
	perSec(&c.rsPerRound, 4000, "rs256-per-round")
	perSec(&c.esPerRound, 12000, "es256-per-round")
	perSec(&c.kidPerRound, 3000, "flood-per-round")
	var err error
	if c.targets, err = pick(targets, impls); err != nil {
		errs = append(errs, fmt.Errorf("-targets: %w", err))
	}
	if c.modes, err = pick(modeList, modes); err != nil {
		errs = append(errs, fmt.Errorf("-modes: %w", err))
	}
	c.commandLine = strings.TrimSpace("sidebyside " + strings.Join(args, " "))
	if *label != "" {
		c.commandLine = *label
	}
	return c, errors.Join(errs...)
}

// pick parses a comma-separated subset of all, keeping all's order.
func pick(list string, all []string) ([]string, error) {
	want := map[string]bool{}
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(all, s) {
			return nil, fmt.Errorf("unknown %q (want some of %s)", s, strings.Join(all, ", "))
		}
		want[s] = true
	}
	var out []string
	for _, s := range all {
		if want[s] {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty")
	}
	return out, nil
}

// results is everything measured in one run.
type results struct {
	cfg      config
	started  time.Time
	finished time.Time
	ms       []measurement
	jwksAll  map[string]int64 // JWKS requests per target over the whole run
	checks   int
	pids     []int // the targets' processes, all waited for when run returns
}

// run starts the issuer and the targets, checks the contract, and runs
// the rounds. It returns what it measured, even on error.
func run(ctx context.Context, cfg config, logw io.Writer) (*results, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	var stopping atomic.Bool
	stopWatch := context.AfterFunc(ctx, func() { stopping.Store(true) })
	defer stopWatch()
	logf := func(format string, a ...any) { fmt.Fprintf(logw, "sidebyside: "+format+"\n", a...) }

	dir, err := os.MkdirTemp("", "sidebyside-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			return nil, err
		}
	}
	serverCPU, driverCPU := -1, -1
	if cfg.layout == "pinned" {
		if serverCPU, driverCPU, err = cpuPlan(); err != nil {
			return nil, err
		}
	}
	iss, err := startIssuer(dir)
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	defer iss.close()

	// Start every target (in parallel), and stop them all whatever happens.
	targets := make([]*target, len(cfg.targets))
	startErrs := make([]error, len(cfg.targets))
	var wg sync.WaitGroup
	for i, impl := range cfg.targets {
		wg.Go(func() { targets[i], startErrs[i] = startTarget(impl, iss, cfg.profileDir, serverCPU) })
	}
	wg.Wait()
	defer func() {
		var wg sync.WaitGroup
		for _, t := range targets {
			if t != nil {
				wg.Go(t.stop)
			}
		}
		wg.Wait()
	}()
	if err := errors.Join(startErrs...); err != nil {
		return nil, err
	}

	// The contract, before anything is measured.
	checks, err := contractChecks(iss)
	if err != nil {
		return nil, fmt.Errorf("minting the contract's tokens: %w", err)
	}
	var contractErrs []error
	for _, t := range targets {
		if t.impl == noGuard {
			continue // it checks nothing, by design
		}
		if err := checkContract(t.addr, checks); err != nil {
			contractErrs = append(contractErrs, fmt.Errorf("%s breaks the contract:\n%w", t.impl, err))
		}
	}
	if err := errors.Join(contractErrs...); err != nil {
		return nil, err
	}
	logf("every target but the reference answers all %d contract checks", len(checks))

	// Tokens, minted before anything is timed. Round r of a fresh mode uses
	// tokens [r*per, (r+1)*per) on every target: no target sees a token
	// twice in a run (the targets are separate processes sharing nothing).
	reused, err := iss.sign("RS256", "", iss.claims("read:data", "reused"))
	if err != nil {
		return nil, err
	}
	pools := map[string][]string{}
	perRound := map[string]int{"fresh-rs256": cfg.rsPerRound, "fresh-es256": cfg.esPerRound, "unknown-kid": cfg.kidPerRound}
	mintDeadline := time.Now().Add(cfg.timeout / 2)
	for _, mode := range cfg.modes {
		per, ok := perRound[mode]
		if !ok {
			continue
		}
		n := per * cfg.rounds
		t0 := time.Now()
		var spec func(i int) (string, string, map[string]any)
		switch mode {
		case "fresh-rs256":
			spec = func(i int) (string, string, map[string]any) {
				return "RS256", "", iss.claims("read:data", fmt.Sprint("rs-", i))
			}
		case "fresh-es256":
			spec = func(i int) (string, string, map[string]any) {
				return "ES256", "", iss.claims("read:data", fmt.Sprint("es-", i))
			}
		case "unknown-kid":
			spec = func(i int) (string, string, map[string]any) {
				return "ES256", fmt.Sprintf("unknown-%d-%s", i, randomHex(4)), iss.claims("read:data", fmt.Sprint("kid-", i))
			}
		}
		if pools[mode], err = mintMany(n, mintDeadline, &stopping, spec, iss.sign); err != nil {
			return nil, err
		}
		logf("minted %d tokens for %s in %s", n, mode, time.Since(t0).Round(time.Millisecond))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}

	loads := func(mode string, round int) load {
		switch mode {
		case "open":
			return load{method: "GET", path: "/healthz", want: 200}
		case "reused":
			return load{method: "GET", path: "/data", want: 200, token: func(int) string { return reused }}
		}
		per := perRound[mode]
		pool := pools[mode][round*per : (round+1)*per]
		want := 200
		if mode == "unknown-kid" {
			want = 401
		}
		return load{method: "GET", path: "/data", want: want, limit: per, token: func(i int) string { return pool[i] }}
	}

	if cfg.layout == "pinned" {
		restore, err := pinSelf(driverCPU)
		if err != nil {
			return nil, fmt.Errorf("pinning the driver to CPU %d: %w", driverCPU, err)
		}
		defer restore()
	}

	// Warm-up: every target serves the open route, then the reused token,
	// for a while, unmeasured. Without the open route here, the first
	// interval of the run (the first target's open route) ran up to a
	// third slower than the same target's later rounds, whatever the
	// target.
	warm := max(cfg.duration/4, 100*time.Millisecond)
	for _, mode := range []string{"open", "reused"} {
		for _, t := range targets {
			if err := checked(drive(t, iss, loads(mode, 0), cfg.conns, warm, &stopping)); err != nil {
				return nil, fmt.Errorf("warm-up, %s, %s: %w", mode, t.impl, err)
			}
		}
	}

	res := &results{cfg: cfg, started: time.Now(), jwksAll: map[string]int64{}, checks: len(checks)}
	for _, t := range targets {
		res.pids = append(res.pids, t.pid)
	}
	var runErr error
rounds:
	for r := range cfg.rounds {
		for _, group := range modeGroups(cfg.modes) {
			// This round's intervals of the group: every mode of the group
			// against every target that measures it, targets in an order
			// rotated by r. The open route and the reused token form one
			// group, so that a target's reused ÷ open compares intervals
			// taken side by side, not seconds apart.
			type unit struct {
				mode string
				t    *target
				l    load
			}
			var units []unit
			for _, mode := range group {
				l := loads(mode, r)
				for k := range targets {
					if t := targets[(k+r)%len(targets)]; measures(t.impl, mode) {
						units = append(units, unit{mode, t, l})
					}
				}
			}
			// Each interval is cfg.slices slices, taken in turns, forward
			// then backward (A B C, C B A, …), so that a drift of the
			// machine's speed within the round falls on every interval
			// alike.
			parts := make([][]measurement, len(units))
			for s := range cfg.slices {
				for j := range units {
					k := j
					if s%2 == 1 {
						k = len(units) - 1 - j
					}
					u := units[k]
					if stopping.Load() {
						runErr = ctx.Err()
						break rounds
					}
					if u.t.exited() {
						runErr = fmt.Errorf("%s exited: %v; stderr: %s", u.t.impl, u.t.err, u.t.stderr)
						break rounds
					}
					m, err := drive(u.t, iss, u.l.slice(s, cfg.slices), cfg.conns, cfg.duration/time.Duration(cfg.slices), &stopping)
					if err = checked(m, err); err != nil {
						runErr = fmt.Errorf("round %d, %s, %s: %w", r+1, u.mode, u.t.impl, err)
						break rounds
					}
					parts[k] = append(parts[k], m)
					time.Sleep(50 * time.Millisecond) // let the last one's stragglers settle
				}
			}
			for k, u := range units {
				m := merged(parts[k])
				m.round, m.mode = r+1, u.mode
				res.ms = append(res.ms, m)
			}
		}
		logf("round %d/%d done", r+1, cfg.rounds)
	}
	res.finished = time.Now()
	for _, t := range targets {
		res.jwksAll[t.impl] = iss.Fetches(t.impl)
	}
	if len(res.ms) == 0 {
		return nil, runErr
	}
	return res, runErr
}

// modeGroups splits modes into the groups whose intervals are interleaved
// in a round: the open route with the reused token (the report divides
// one by the other), every other mode alone. Order follows modes; the
// pair stands where the first of the two is.
func modeGroups(modes []string) [][]string {
	var groups [][]string
	paired := slices.Contains(modes, "open") && slices.Contains(modes, "reused")
	placed := false
	for _, m := range modes {
		switch {
		case paired && (m == "open" || m == "reused"):
			if !placed { // where the first of the two is
				groups = append(groups, []string{"open", "reused"})
				placed = true
			}
		default:
			groups = append(groups, []string{m})
		}
	}
	return groups
}
