package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

const ours = "bearerguard"

// markers delimit a layout's section of RESULTS.md.
func markers(layout string) (begin, end string) {
	if layout == "shared" {
		return "<!-- sidebyside-shared:begin", "<!-- sidebyside-shared:end -->"
	}
	return "<!-- sidebyside:begin", "<!-- sidebyside:end -->"
}

// serverCPUs is how many CPUs a target may use in layout.
func serverCPUs(layout string) int {
	if layout == "pinned" {
		return 1
	}
	return runtime.NumCPU()
}

// median of xs (NaN if empty); xs is reordered.
func median(xs []float64) float64 {
	xs = slices.DeleteFunc(xs, math.IsNaN)
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// find returns the measurement of impl in mode and round, if any.
func (res *results) find(mode, impl string, round int) (measurement, bool) {
	for _, m := range res.ms {
		if m.mode == mode && m.impl == impl && m.round == round {
			return m, true
		}
	}
	return measurement{}, false
}

// row is one target's line in one mode's table.
type row struct {
	impl                     string
	rounds                   int
	requests                 float64 // median per interval
	rps, p50, p99, cpu       float64 // medians; p50/p99 in µs, cpu in µs per request
	rpsVsPeer, cpuVsPeer     float64 // medians of per-round ratios to the best peer
	rpsVsMedianPeer          float64 // the same to the median peer's requests/s (the open route only)
	p99VsPeer                float64
	vsOpen                   float64 // reused: median of per-round rps ÷ own open rps
	jwks                     []int64 // per round, flood only
	limitRounds              int     // intervals that ended on their request limit
	bestPeerRPS, bestPeerCPU map[string]int
	cpuSources               map[string]int
	driverPerReq             float64 // µs of this process's CPU per request, median
	busy                     float64 // median share of its CPUs the target used over the interval
}

func (res *results) rows(mode string) []row {
	var out []row
	for _, impl := range res.cfg.targets {
		rw := row{impl: impl, bestPeerRPS: map[string]int{}, bestPeerCPU: map[string]int{}, cpuSources: map[string]int{}}
		var reqs, rps, p50, p99, cpu, vsRPS, vsMedRPS, vsCPU, vsP99, vsOpen, drv, busy []float64
		for r := 1; r <= res.cfg.rounds; r++ {
			m, ok := res.find(mode, impl, r)
			if !ok {
				continue
			}
			rw.rounds++
			reqs = append(reqs, float64(m.requests))
			rps = append(rps, m.rps())
			p50 = append(p50, float64(m.p50)/1e3)
			p99 = append(p99, float64(m.p99)/1e3)
			cpu = append(cpu, m.cpuPerReq())
			drv = append(drv, float64(m.driverNS)/1e3/math.Max(1, float64(m.requests)))
			if m.elapsed > 0 {
				busy = append(busy, float64(m.cpuNS)/float64(m.elapsed)/float64(serverCPUs(res.cfg.layout)))
			}
			rw.cpuSources[m.cpuSource]++
			if m.limitHit {
				rw.limitRounds++
			}
			if mode == "unknown-kid" {
				rw.jwks = append(rw.jwks, m.jwks)
			}
			// The best peer of this round: the most requests/s, the least
			// CPU per request, the lowest p99.
			var best struct {
				rps, cpu, p99    float64
				rpsImpl, cpuImpl string
				found            bool
			}
			var peerRPS []float64
			for _, peer := range res.cfg.targets {
				if !isPeer(peer) {
					continue
				}
				pm, ok := res.find(mode, peer, r)
				if !ok || pm.requests == 0 {
					continue
				}
				peerRPS = append(peerRPS, pm.rps())
				if !best.found || pm.rps() > best.rps {
					best.rps, best.rpsImpl = pm.rps(), peer
				}
				if !best.found || pm.cpuPerReq() < best.cpu {
					best.cpu, best.cpuImpl = pm.cpuPerReq(), peer
				}
				if !best.found || float64(pm.p99) < best.p99 {
					best.p99 = float64(pm.p99)
				}
				best.found = true
			}
			if best.found {
				vsRPS = append(vsRPS, m.rps()/best.rps)
				vsMedRPS = append(vsMedRPS, m.rps()/median(peerRPS))
				vsCPU = append(vsCPU, m.cpuPerReq()/best.cpu)
				vsP99 = append(vsP99, float64(m.p99)/best.p99)
				rw.bestPeerRPS[best.rpsImpl]++
				rw.bestPeerCPU[best.cpuImpl]++
			}
			if mode == "reused" {
				if om, ok := res.find("open", impl, r); ok && om.requests > 0 {
					vsOpen = append(vsOpen, m.rps()/om.rps())
				}
			}
		}
		if rw.rounds == 0 {
			continue
		}
		rw.requests, rw.rps, rw.p50, rw.p99, rw.cpu = median(reqs), median(rps), median(p50), median(p99), median(cpu)
		rw.rpsVsPeer, rw.cpuVsPeer, rw.p99VsPeer, rw.vsOpen = median(vsRPS), median(vsCPU), median(vsP99), median(vsOpen)
		rw.rpsVsMedianPeer = median(vsMedRPS)
		rw.driverPerReq = median(drv)
		rw.busy = median(busy)
		out = append(out, rw)
	}
	return out
}

func ratio(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "—"
	}
	return fmt.Sprintf("%.2f×", x)
}

func micros(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	if x >= 10_000 {
		return fmt.Sprintf("%.1f ms", x/1e3)
	}
	return fmt.Sprintf("%.0f µs", x)
}

func cpuFmt(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	if x < 10 {
		return fmt.Sprintf("%.2f", x)
	}
	return fmt.Sprintf("%.1f", x)
}

// mostly names the key counted most often in m.
func mostly(m map[string]int) string {
	best, n := "", 0
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}) {
		if m[k] > n {
			best, n = k, m[k]
		}
	}
	return best
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return runtime.GOOS
	}
	return "Linux " + strings.TrimSpace(string(b))
}

// versions lists the peers' module versions as built.
func versions() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	want := []string{"github.com/golang-jwt/jwt/v5", "github.com/MicahParks/keyfunc/v3", "github.com/MicahParks/jwkset",
		"github.com/auth0/go-jwt-middleware/v2", "gopkg.in/go-jose/go-jose.v2", "github.com/lestrrat-go/jwx/v2"}
	var out []string
	for _, w := range want {
		for _, d := range bi.Deps {
			if d.Path == w {
				out = append(out, d.Path+" "+d.Version)
			}
		}
	}
	return strings.Join(out, ", ")
}

// markdown renders the report section, markers included.
func (res *results) markdown() string {
	cfg := res.cfg
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	begin, end := markers(cfg.layout)
	p("%s (generated by bench/sidebyside.sh; edit bench/sidebyside, not this section) -->\n", begin)
	if cfg.layout == "shared" {
		p("## Black box, side by side: driver and target sharing the cores\n\n")
	} else {
		p("## Black box, side by side\n\n")
	}
	p("Generated by `%s` on %s, %s of measuring. Machine: %d cores (`nproc`), %s, %s, %s. ",
		cfg.commandLine, res.started.UTC().Format("2006-01-02 15:04 MST"), res.finished.Sub(res.started).Round(time.Second),
		runtime.NumCPU(), cpuModel(), kernel(), runtime.Version())
	p("Peers: %s.\n\n", versions())
	p("Each target is a real HTTP server in its own process on 127.0.0.1, with the contract of the library's examples " +
		"(GET /healthz open, GET /data needs `read:data`, POST /data needs `write:data`; 401 or 403 with a Bearer challenge), " +
		"the same issuer (HTTPS on loopback, RSA-2048 and P-256 keys), JWKS URL and audience, and the same checks: " +
		"signature, `iss`, `aud`, `exp` (required), `nbf`, 30 s leeway, scope. ")
	p("Before anything is timed every target must answer %d contract requests correctly (valid RS256 and ES256 tokens, "+
		"missing and wrong scopes, bad signature, wrong `aud`/`iss`, expired, no `exp`, future `nbf`, unknown kid, `alg: none`, "+
		"HS256 keyed with the RSA public key, garbage, no token, wrong scheme).\n\n", res.checks)
	if cfg.layout == "pinned" {
		p("One load driver (HTTP/1.1 keep-alive over raw TCP, %d connections, closed loop) runs on a CPU of its own and every "+
			"target on another (`taskset`; the target's Go runtime sees one CPU), so requests/s is what the target serves on "+
			"one CPU, as a user would measure it from another machine, and the driver takes nothing from it; **server busy** "+
			"is how much of its CPU the target used over the interval (near 100%% means the target, not the driver, set the "+
			"pace). ", cfg.conns)
	} else {
		p("One load driver (HTTP/1.1 keep-alive over raw TCP, %d connections, closed loop) shares the %d cores with the "+
			"target, so requests/s mixes the target's cost with the driver's (which grows when the target is slow: its idle "+
			"connections poll); **server busy** is the share of the %d cores the target used. ", cfg.conns, runtime.NumCPU(), runtime.NumCPU())
	}
	p("The target's CPU time is read from `/proc/<pid>/task/*/schedstat` (ns) around each interval, so **server CPU µs/request** "+
		"is the server's own cost, not the driver's. %d rounds; in each, every mode runs against every target for at most %s, "+
		"taken in %d slices with the targets in turn, forward then backward (A B C, C B A, …; the order rotated by round), so that "+
		"a drift of the machine's speed falls on every target alike; a target's slices are added up. The open route and the reused "+
		"token take their slices in the same turns (every target's open route, then every target's reused token, then back), so "+
		"that **÷ own open route** divides intervals measured side by side. Every target first serves "+
		"the open route and the reused token unmeasured. Fresh tokens are minted before anything is timed and never reused "+
		"within a run: at most %d RS256, %d ES256 and %d unknown-kid requests per target and round (an interval stops there if it "+
		"comes first). Figures are medians over rounds; every ratio is computed within a round, then the median taken. "+
		"**÷ best peer** compares with the best of golang-jwt, auth0 and jwx in that round (most requests/s; least CPU per request): "+
		"above 1× is better for requests/s, below 1× is better for CPU; the open route, where every target runs the same handler, "+
		"also shows **÷ median peer**. The *reference* target is the example's routes behind a "+
		"middleware that checks nothing (any Bearer header passes): it runs the open route and the reused token only, never "+
		"the contract, and is no peer.\n\n",
		cfg.rounds, cfg.duration, cfg.slices, cfg.rsPerRound, cfg.esPerRound, cfg.kidPerRound)

	for _, mode := range cfg.modes {
		rows := res.rows(mode)
		if len(rows) == 0 {
			continue
		}
		p("### %s\n\n", modeTitle[mode])
		head := "| target | requests/interval | requests/s | p50 | p99 | server CPU µs/request | server busy | req/s ÷ best peer | CPU ÷ best peer | p99 ÷ best peer |"
		sep := "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		if mode == "reused" {
			head += " req/s ÷ own open route |"
			sep += " ---: |"
		}
		if mode == "open" {
			head += " req/s ÷ median peer |"
			sep += " ---: |"
		}
		if mode == "unknown-kid" {
			head += " JWKS fetches per round |"
			sep += " --- |"
		}
		p("%s\n%s\n", head, sep)
		for _, rw := range rows {
			name := implTitle[rw.impl]
			if rw.impl == ours {
				name = "**" + name + "**"
			}
			p("| %s | %.0f | %.0f | %s | %s | %s | %s | %s | %s | %s |", name, rw.requests, rw.rps, micros(rw.p50), micros(rw.p99), cpuFmt(rw.cpu),
				pct0(rw.busy), ratio(rw.rpsVsPeer), ratio(rw.cpuVsPeer), ratio(rw.p99VsPeer))
			if mode == "reused" {
				p(" %s |", pct(rw.vsOpen))
			}
			if mode == "open" {
				p(" %s |", ratio(rw.rpsVsMedianPeer))
			}
			if mode == "unknown-kid" {
				var s []string
				for _, n := range rw.jwks {
					s = append(s, fmt.Sprint(n))
				}
				p(" %s |", strings.Join(s, ", "))
			}
			p("\n")
		}
		p("\n")
		var notes []string
		for _, rw := range rows {
			if rw.impl == ours && len(rw.bestPeerRPS) > 0 {
				notes = append(notes, fmt.Sprintf("best peer by requests/s: %s in %d of %d rounds; by CPU: %s",
					mostly(rw.bestPeerRPS), rw.bestPeerRPS[mostly(rw.bestPeerRPS)], rw.rounds, mostly(rw.bestPeerCPU)))
			}
		}
		limited := 0
		for _, rw := range rows {
			limited += rw.limitRounds
		}
		if limited > 0 {
			notes = append(notes, fmt.Sprintf("%d of %d intervals ended on their token budget before %s", limited, len(rows)*cfg.rounds, cfg.duration))
		}
		if mode == "reused" {
			for _, rw := range rows {
				if rw.impl == noGuard && !math.IsNaN(rw.vsOpen) {
					notes = append(notes, fmt.Sprintf("the reference that checks no token at all serves %s of its own open route's requests/s: "+
						"the most any guard could show on this machine, since carrying the 800-byte token and answering /data cost that much", pct(rw.vsOpen)))
				}
			}
		}
		if mode == "open" && len(rows) > 1 {
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, rw := range rows {
				lo, hi = math.Min(lo, rw.rps), math.Max(hi, rw.rps)
			}
			notes = append(notes, fmt.Sprintf("every target serves /healthz with the same code, so the spread of requests/s here (%.0f%%) is the noise floor of this machine, "+
				"and the best of three peers in a round sits above a typical one by about that noise: hence the median peer too", 100*(hi/lo-1)))
		}
		var drv []float64
		for _, rw := range rows {
			drv = append(drv, rw.driverPerReq)
		}
		notes = append(notes, fmt.Sprintf("the load driver's own CPU: about %s µs per request", cpuFmt(median(drv))))
		if len(notes) > 0 {
			p("%s.\n\n", upperFirst(strings.Join(notes, "; ")))
		}
	}
	var totals []string
	for _, impl := range cfg.targets {
		totals = append(totals, fmt.Sprintf("%s %d", impl, res.jwksAll[impl]))
	}
	p("JWKS requests per target over the whole run (start, contract checks, warm-up, every mode): %s.\n\n", strings.Join(totals, ", "))
	rawFile := "sidebyside-raw.txt"
	if cfg.layout == "shared" {
		rawFile = "sidebyside-shared-raw.txt"
	}
	p("Raw per-round figures: `bench/%s`. A CPU profile of any target: "+
		"`go run ./sidebyside -modes fresh-rs256 -cpuprofile-dir /tmp/prof`, then `go tool pprof /tmp/prof/bearerguard.pprof`.\n", rawFile)
	p("%s\n", end)
	return b.String()
}

func pct0(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", 100*x)
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100*x)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// rawText is one line per measurement.
func (res *results) rawText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n# layout %s; started %s; rounds %d, duration %s in %d slices, conns %d; per round: rs256 %d, es256 %d, flood %d\n",
		res.cfg.commandLine, res.cfg.layout, res.started.UTC().Format(time.RFC3339), res.cfg.rounds, res.cfg.duration, res.cfg.slices, res.cfg.conns,
		res.cfg.rsPerRound, res.cfg.esPerRound, res.cfg.kidPerRound)
	fmt.Fprintf(&b, "# %d cores, %s, %s, %s\n", runtime.NumCPU(), cpuModel(), kernel(), runtime.Version())
	for _, m := range res.ms {
		fmt.Fprintf(&b, "round=%d mode=%s target=%s requests=%d elapsed_ms=%.1f rps=%.0f p50_us=%.0f p99_us=%.0f "+
			"server_cpu_ns=%d cpu_source=%s stat_cpu_ns=%d server_cpu_us_per_req=%.2f driver_cpu_us_per_req=%.2f "+
			"errors=%d unexpected=%d jwks_fetches=%d limit_hit=%t target_cpus=%s driver_cpus=%s\n",
			m.round, m.mode, m.impl, m.requests, float64(m.elapsed)/1e6, m.rps(), float64(m.p50)/1e3, float64(m.p99)/1e3,
			m.cpuNS, m.cpuSource, m.statNS, m.cpuPerReq(), float64(m.driverNS)/1e3/math.Max(1, float64(m.requests)),
			m.errors, m.unexpected, m.jwks, m.limitHit, m.cpus, m.driverCPUs)
	}
	for _, impl := range res.cfg.targets {
		fmt.Fprintf(&b, "# jwks_fetches_total target=%s %d\n", impl, res.jwksAll[impl])
	}
	return b.String()
}

// write updates cfg.results (the section between the markers, or appended)
// and writes cfg.raw.
func (res *results) write(cfg config, md string) error {
	if cfg.raw != "" {
		if err := os.WriteFile(cfg.raw, []byte(res.rawText()), 0o644); err != nil {
			return err
		}
	}
	if cfg.results == "" {
		return nil
	}
	old, err := os.ReadFile(cfg.results)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	return os.WriteFile(cfg.results, replaceSection(old, md, cfg.layout), 0o644)
}

// replaceSection puts md in place of layout's marked section of doc, or at
// its end.
func replaceSection(doc []byte, md, layout string) []byte {
	beginMarker, endMarker := markers(layout)
	if i := bytes.Index(doc, []byte(beginMarker)); i >= 0 {
		if j := bytes.Index(doc[i:], []byte(endMarker)); j >= 0 {
			end := i + j + len(endMarker)
			if end < len(doc) && doc[end] == '\n' {
				end++
			}
			return slices.Concat(doc[:i], []byte(md), doc[end:])
		}
	}
	doc = bytes.TrimRight(doc, "\n")
	if len(doc) > 0 {
		doc = append(doc, "\n\n"...)
	}
	return append(doc, md...)
}
