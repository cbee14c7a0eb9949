package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The load driver: HTTP/1.1 keep-alive over plain TCP, one goroutine per
// connection, a request written from a reused buffer and the response
// parsed just enough to know its status and length. It is leaner than
// net/http's client, so that more of the two cores are left to the
// server being measured.

// hconn is one keep-alive connection.
type hconn struct {
	addr string
	c    net.Conn
	br   *bufio.Reader
	req  []byte
}

var errConnClosed = errors.New("server closed the connection")

func dialConn(addr string, deadline time.Time) (*hconn, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(deadline)
	return &hconn{addr: addr, c: c, br: bufio.NewReaderSize(c, 8<<10), req: make([]byte, 0, 2048)}, nil
}

func (h *hconn) close() { _ = h.c.Close() }

// do sends one request and reads the response; it returns the status.
func (h *hconn) do(method, path, token string) (int, error) {
	b := h.req[:0]
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, h.addr...)
	b = append(b, "\r\nUser-Agent: sidebyside\r\n"...)
	if token != "" {
		b = append(b, "Authorization: Bearer "...)
		b = append(b, token...)
		b = append(b, "\r\n"...)
	}
	if method == "POST" {
		b = append(b, "Content-Length: 0\r\n"...)
	}
	b = append(b, "\r\n"...)
	h.req = b
	if _, err := h.c.Write(b); err != nil {
		return 0, err
	}
	return h.readResponse()
}

func (h *hconn) readResponse() (int, error) {
	line, err := h.br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, fmt.Errorf("malformed status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("malformed status line %q", line)
	}
	length, chunked, closing := -1, false, false
	for {
		line, err = h.br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, fmt.Errorf("malformed header %q", line)
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(v)); err != nil || length < 0 {
				return 0, fmt.Errorf("bad Content-Length %q", v)
			}
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(v, []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			closing = bytes.EqualFold(v, []byte("close"))
		}
	}
	switch {
	case chunked:
		err = h.discardChunked()
	case length >= 0:
		_, err = h.br.Discard(length)
	default:
		return 0, errors.New("response without a length")
	}
	if err == nil && closing {
		err = errConnClosed
	}
	return status, err
}

func (h *hconn) discardChunked() error {
	for range 1 << 16 {
		line, err := h.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		sz, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(sz)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 {
			for range 64 { // trailers, then the empty line
				line, err := h.br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
			return errors.New("too many trailers")
		}
		if _, err := h.br.Discard(int(n) + 2); err != nil {
			return err
		}
	}
	return errors.New("too many chunks")
}

// load describes what one measured interval sends.
type load struct {
	method, path string
	want         int
	token        func(i int) string // token of request i; "" sends none
	limit        int                // at most this many requests (0: no limit but the duration)
}

// slice is part s of n of l: a request budget is split between the
// parts, each taking its own run of tokens.
func (l load) slice(s, n int) load {
	if l.limit == 0 || n <= 1 {
		return l
	}
	lo, hi := l.limit*s/n, l.limit*(s+1)/n
	part := l
	part.limit = hi - lo
	if l.token != nil {
		part.token = func(i int) string { return l.token(lo + i) }
	}
	return part
}

// measurement is one target, one mode, one round.
type measurement struct {
	round      int
	mode       string
	impl       string
	requests   int
	errors     int
	unexpected int
	lastBad    string // the last unexpected status or error, for the message
	elapsed    time.Duration
	p50, p99   time.Duration
	cpuNS      int64 // server CPU over the interval
	cpuSource  string
	statNS     int64  // the same from /proc/<pid>/stat ticks
	driverNS   int64  // this process's CPU over the interval
	jwks       int64  // JWKS requests the target made during the interval
	limitHit   bool   // the interval ended on its request limit, not its duration
	cpus       string // the CPUs the target could run on, and the driver's (Cpus_allowed_list)
	driverCPUs string
	lat        []int64 // sorted latencies (ns) of one slice, until merged
}

func (m measurement) rps() float64 {
	if m.elapsed <= 0 {
		return 0
	}
	return float64(m.requests) / m.elapsed.Seconds()
}

func (m measurement) cpuPerReq() float64 { // µs
	if m.requests == 0 {
		return 0
	}
	return float64(m.cpuNS) / 1e3 / float64(m.requests)
}

// maxRequests bounds any interval whatever its duration.
const maxRequests = 5_000_000

// drive runs conns connections against t for duration (or until l.limit
// requests have been sent, or stop is set), measuring latency, the
// server's CPU time and the JWKS requests it made.
func drive(t *target, iss *issuer, l load, conns int, duration time.Duration, stop *atomic.Bool) (measurement, error) {
	m := measurement{impl: t.impl}
	connDeadline := time.Now().Add(duration + 30*time.Second)
	cs := make([]*hconn, 0, conns)
	defer func() {
		for _, c := range cs {
			c.close()
		}
	}()
	for range conns {
		c, err := dialConn(t.addr, connDeadline)
		if err != nil {
			return m, fmt.Errorf("%s: dial: %w", t.impl, err)
		}
		cs = append(cs, c)
		// One open request per connection before the clock starts, so the
		// server has accepted it and set it up.
		if status, err := c.do("GET", "/healthz", ""); err != nil || status != 200 {
			return m, fmt.Errorf("%s: warm-up request: status %d, %v", t.impl, status, err)
		}
	}
	limit := int64(maxRequests)
	if l.limit > 0 {
		limit = int64(min(l.limit, maxRequests))
	}
	perConn := int(min(limit, int64(duration.Seconds()*60_000)+1000))/conns + 16
	lat := make([][]int64, conns)
	var next, completed, errs, unexpected atomic.Int64
	var badMu sync.Mutex
	start := make(chan struct{})
	var deadline time.Time
	var wg sync.WaitGroup
	for w, c := range cs {
		lat[w] = make([]int64, 0, perConn)
		wg.Go(func() {
			<-start
			for !stop.Load() && time.Now().Before(deadline) {
				i := next.Add(1) - 1
				if i >= limit {
					return
				}
				tok := ""
				if l.token != nil {
					tok = l.token(int(i))
				}
				t0 := time.Now()
				status, err := c.do(l.method, l.path, tok)
				d := time.Since(t0)
				if err != nil && !(errors.Is(err, errConnClosed) && status != 0) {
					errs.Add(1)
					badMu.Lock()
					m.lastBad = err.Error()
					badMu.Unlock()
					if errs.Load() > 100 {
						return
					}
				} else {
					completed.Add(1)
					if status != l.want {
						unexpected.Add(1)
						badMu.Lock()
						m.lastBad = fmt.Sprintf("status %d, want %d", status, l.want)
						badMu.Unlock()
					}
					if len(lat[w]) < cap(lat[w]) {
						lat[w] = append(lat[w], int64(d))
					}
				}
				if err != nil { // reconnect
					c.close()
					nc, derr := dialConn(t.addr, connDeadline)
					if derr != nil {
						errs.Add(1)
						return
					}
					*c = *nc
				}
			}
		})
	}
	m.cpus, m.driverCPUs = cpusAllowed(t.pid), cpusAllowed(os.Getpid())
	jwksBefore := iss.Fetches(t.impl)
	cpuBefore, err := readCPU(t.pid)
	if err != nil {
		close(start)
		stop.Store(true)
		wg.Wait()
		return m, err
	}
	var ruBefore syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ruBefore)
	t0 := time.Now()
	deadline = t0.Add(duration)
	close(start)
	wg.Wait()
	m.elapsed = time.Since(t0)
	cpuAfter, err := readCPU(t.pid)
	if err != nil {
		return m, err
	}
	var ruAfter syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ruAfter)
	m.jwks = iss.Fetches(t.impl) - jwksBefore
	m.cpuNS, m.cpuSource = cpuDelta(cpuBefore, cpuAfter)
	m.statNS = cpuAfter.stat - cpuBefore.stat
	m.driverNS = rusageNS(ruAfter) - rusageNS(ruBefore)
	m.errors = int(errs.Load())
	m.unexpected = int(unexpected.Load())
	m.limitHit = next.Load() >= limit
	m.requests = int(completed.Load())
	m.lat = slices.Concat(lat...)
	m.percentiles()
	return m, nil
}

// checked is drive's error, or one for an interval with transport errors
// or unexpected statuses.
func checked(m measurement, err error) error {
	if err == nil && (m.errors > 0 || m.unexpected > 0) {
		return fmt.Errorf("%d transport errors, %d unexpected statuses (last: %s)", m.errors, m.unexpected, m.lastBad)
	}
	return err
}

// percentiles sorts m.lat and sets p50 and p99 from it.
func (m *measurement) percentiles() {
	slices.Sort(m.lat)
	if n := len(m.lat); n > 0 {
		m.p50 = time.Duration(m.lat[n/2])
		m.p99 = time.Duration(m.lat[min(n-1, n*99/100)])
	}
}

// merged is one target's interval from its slices: requests, time, CPU
// and JWKS fetches added up, latencies pooled. It holds no latencies.
func merged(parts []measurement) measurement {
	m := parts[0]
	lats := [][]int64{m.lat}
	for _, p := range parts[1:] {
		m.requests += p.requests
		m.errors += p.errors
		m.unexpected += p.unexpected
		if p.lastBad != "" {
			m.lastBad = p.lastBad
		}
		m.elapsed += p.elapsed
		m.cpuNS += p.cpuNS
		m.statNS += p.statNS
		m.driverNS += p.driverNS
		m.jwks += p.jwks
		m.limitHit = m.limitHit && p.limitHit
		if p.cpuSource != m.cpuSource {
			m.cpuSource = "mixed"
		}
		lats = append(lats, p.lat)
	}
	m.lat = slices.Concat(lats...)
	m.percentiles()
	m.lat = nil
	return m
}

func rusageNS(r syscall.Rusage) int64 {
	return r.Utime.Nano() + r.Stime.Nano()
}
