// Command load drives the net/http example service (examples/nethttp/api)
// in-process over loopback and reports requests/s and latency for four
// scenarios: the open route, a protected route with a reused token, a
// protected route with a fresh token every request, and a flood of tokens
// with unknown kids (with the JWKS fetches it caused). Every phase is
// bounded in time and count, and the program stops by itself.
//
//	go run ./load [-duration 5s] [-workers 32] [-markdown]
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/examples/nethttp/api"
	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/validator"
)

func main() {
	duration := flag.Duration("duration", 5*time.Second, "how long each timed scenario runs (at most 60s)")
	workers := flag.Int("workers", 32, "concurrent client goroutines (at most 256)")
	fresh := flag.Int("fresh-tokens", 40_000, "distinct tokens for the fresh-token scenario (more than the validator's cache holds)")
	flood := flag.Int("flood", 10_000, "requests in the unknown-kid flood")
	markdown := flag.Bool("markdown", false, "print a Markdown table")
	flag.Parse()
	*duration = min(*duration, time.Minute)
	*workers = min(max(*workers, 1), 256)
	if err := run(*duration, *workers, *fresh, *flood, *markdown); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// fatalT lets bearertest run outside a test.
type fatalT struct{ cleanups []func() }

func (*fatalT) Helper()                   {}
func (*fatalT) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
func (t *fatalT) Cleanup(f func())        { t.cleanups = append(t.cleanups, f) }

type result struct {
	name        string
	requests    int
	errors      int
	elapsed     time.Duration
	p50, p99    time.Duration
	jwksFetches int64
	flood       bool
	unexpected  int
}

func run(duration time.Duration, workers, freshN, floodN int, markdown bool) error {
	t := &fatalT{}
	defer func() {
		for i := len(t.cleanups) - 1; i >= 0; i-- {
			t.cleanups[i]()
		}
	}()
	iss := bearertest.NewIssuer(t)
	iss.Rotate(t, validator.EdDSA)
	h, closeAPI, err := api.New(setup.Config{Issuer: iss.URL, Audience: "orders", Leeway: validator.DefaultLeeway}, iss.Client())
	if err != nil {
		return err
	}
	defer closeAPI()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers * 2, MaxIdleConns: workers * 2}}

	claims := bearertest.Claims{"aud": "orders", "scope": "read:data"}
	reused := iss.Mint(t, claims, bearertest.WithAlgorithm(validator.EdDSA))
	fmt.Fprintf(os.Stderr, "load: minting %d fresh and %d unknown-kid tokens...\n", freshN, floodN)
	freshTokens := mintMany(t, iss, freshN, func(i int) (bearertest.Claims, []bearertest.MintOption) {
		return bearertest.Claims{"aud": "orders", "scope": "read:data", "jti": fmt.Sprint("fresh-", i)}, []bearertest.MintOption{bearertest.WithAlgorithm(validator.EdDSA)}
	})
	floodTokens := mintMany(t, iss, floodN, func(i int) (bearertest.Claims, []bearertest.MintOption) {
		return claims, []bearertest.MintOption{bearertest.WithAlgorithm(validator.EdDSA), bearertest.WithKeyID(fmt.Sprint("unknown-kid-", i))}
	})
	// Warm: the key set is loaded, connections are open.
	if _, err := get(client, base+"/data", reused); err != nil {
		return err
	}

	var results []result
	results = append(results, drive("open route (GET /healthz)", client, base+"/healthz", workers, duration, 0, func(int64) string { return "" }, 200))
	results = append(results, drive("protected, reused token", client, base+"/data", workers, duration, 0, func(int64) string { return reused }, 200))
	var next atomic.Int64
	results = append(results, drive("protected, fresh token every request", client, base+"/data", workers, duration, 0, func(int64) string {
		return freshTokens[int(next.Add(1))%len(freshTokens)]
	}, 200))
	before := iss.JWKSRequests()
	next.Store(0)
	r := drive(fmt.Sprintf("unknown-kid flood (%d requests)", floodN), client, base+"/data", workers, time.Minute, floodN, func(i int64) string {
		return floodTokens[int(i)%len(floodTokens)]
	}, 401)
	r.jwksFetches = iss.JWKSRequests() - before
	r.flood = true
	results = append(results, r)

	print(results, markdown)
	open, hit := results[0], results[1]
	ratio := rps(hit) / rps(open)
	fmt.Printf("\nprotected route with a reused token: %.1f%% of the open route's requests/s\n", 100*ratio)
	fmt.Printf("unknown-kid flood of %d requests: %d JWKS fetches\n", floodN, r.jwksFetches)
	for _, res := range results {
		if res.unexpected > 0 || res.errors > 0 {
			return fmt.Errorf("%s: %d unexpected statuses, %d errors", res.name, res.unexpected, res.errors)
		}
	}
	return nil
}

func mintMany(t bearertest.T, iss *bearertest.Issuer, n int, spec func(int) (bearertest.Claims, []bearertest.MintOption)) []string {
	out := make([]string, n)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				c, opts := spec(i)
				out[i] = iss.Mint(t, c, opts...)
			}
		})
	}
	wg.Wait()
	return out
}

func get(client *http.Client, url, token string) (int, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 512)
	for {
		if _, err := resp.Body.Read(buf); err != nil {
			break
		}
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// drive runs workers until duration passes or limit requests (if > 0)
// have been sent, and measures them.
func drive(name string, client *http.Client, url string, workers int, duration time.Duration, limit int, token func(int64) string, want int) result {
	const maxSamples = 4 << 20
	var sent atomic.Int64
	var errs, unexpected atomic.Int64
	lat := make([][]time.Duration, workers)
	deadline := time.Now().Add(duration)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				i := sent.Add(1)
				if limit > 0 && i > int64(limit) {
					return
				}
				t0 := time.Now()
				status, err := get(client, url, token(i))
				d := time.Since(t0)
				switch {
				case err != nil:
					errs.Add(1)
				case status != want:
					unexpected.Add(1)
				}
				if len(lat[w]) < maxSamples/workers {
					lat[w] = append(lat[w], d)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := result{name: name, requests: len(all), errors: int(errs.Load()), unexpected: int(unexpected.Load()), elapsed: elapsed}
	if len(all) > 0 {
		r.p50 = all[len(all)/2]
		r.p99 = all[len(all)*99/100]
	}
	return r
}

func rps(r result) float64 { return float64(r.requests) / r.elapsed.Seconds() }

func print(results []result, markdown bool) {
	if markdown {
		fmt.Println("| scenario | requests | requests/s | p50 | p99 | JWKS fetches |\n| --- | ---: | ---: | ---: | ---: | ---: |")
		for _, r := range results {
			fmt.Printf("| %s | %d | %.0f | %s | %s | %s |\n", r.name, r.requests, rps(r), r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), fetches(r))
		}
		return
	}
	fmt.Printf("%-42s %10s %12s %10s %10s %8s\n", "scenario", "requests", "requests/s", "p50", "p99", "JWKS")
	for _, r := range results {
		fmt.Printf("%-42s %10d %12.0f %10s %10s %8s\n", r.name, r.requests, rps(r), r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), fetches(r))
	}
}

func fetches(r result) string {
	if !r.flood {
		return "—"
	}
	return fmt.Sprint(r.jwksFetches)
}
