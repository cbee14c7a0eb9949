package introspect

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/bearerguard/bearerguard/internal/httpfetch"
)

// Circuit breaker defaults (see [WithCircuitBreaker]).
const (
	// DefaultBreakerFailures is how many requests in a row must get no
	// answer at all before the client checks whether the endpoint answers
	// anyone.
	DefaultBreakerFailures = 5

	// DefaultBreakerMaxOpen is the longest the client stops asking at a
	// time: the first pause is breakerFirstOpen, each probe without an
	// answer doubles it, up to this.
	DefaultBreakerMaxOpen = 30 * time.Second

	// breakerFirstOpen is the first pause, or the maximum if shorter.
	breakerFirstOpen = time.Second
)

// ProbeToken is the token the circuit breaker's probes ask the endpoint
// about (see [WithCircuitBreaker]): no caller's token, so that what a
// caller sends never decides whether the endpoint is down. An
// authorization server answers it inactive; its logs show it by this name.
const ProbeToken = "bearerguard-circuit-breaker-probe"

// errUnreachable is the cause of an answer given without a request while
// the breaker is open.
var errUnreachable = errors.New("the introspection endpoint answers nothing (circuit breaker open): no request sent")

// breaker stops the requests to an endpoint that answers nothing at all (a
// refused or reset connection, a timeout, a broken TLS handshake). Its
// state is decided by probes, requests about [ProbeToken] that the client
// sends itself, one at a time, never by a caller's token: a token that
// makes the endpoint (or a firewall before it) reset or hang must not
// stop the requests of every other caller.
//
//   - closed: requests go out. After threshold of them in a row got no
//     answer, a probe goes out too; requests keep going out meanwhile.
//     The probe's answer (any status, any body) counts the failures
//     again from zero; no answer opens the breaker.
//   - open: for a pause (1 s first), uncached tokens are answered
//     unavailable at once, without a request and without waiting for a
//     slot. The first call after the pause starts a probe and, with every
//     call until it ends, is answered unavailable with the request timeout
//     as its Retry-After. The probe's answer closes the breaker; no answer
//     opens it again for twice as long, up to maxOpen.
//
// Any request's answer closes it too: the endpoint is there.
type breaker struct {
	threshold int           // failures in a row that call for a probe; 0: off
	maxOpen   time.Duration // the longest pause
	probeWait time.Duration // what a caller is told to wait while a probe runs
	now       func() time.Time

	mu       sync.Mutex
	failures int           // requests in a row that got no answer
	open     bool          // a probe got no answer, and none has since
	until    time.Time     // while open: the end of the pause
	pause    time.Duration // while open: the pause in effect
	next     time.Duration // the pause the next opening takes
	probing  bool          // the breaker awaits the outcome of probe current
	current  uint64        // the awaited probe (probes are numbered from 1)
	started  time.Time     // when it started (the monotonic clock: see lost)
	alive    int           // probe goroutines not yet ended, lost ones included
}

// maxProbes bounds the probe goroutines alive at once. A probe is given up
// on (lost) when it outlives twice the request timeout: its request
// ignores its deadline somewhere (a token source or signer that hangs, a
// transport that ignores the context), and the breaker must not wait for
// it for good. Lost probes still running count here, so that a hang that
// outlasts every deadline holds a few goroutines, not one per pause; while
// that many hang, callers' requests go out instead, and their answers
// close the breaker.
const maxProbes = 4

func newBreaker(threshold int, maxOpen, probeWait time.Duration, now func() time.Time) *breaker {
	return &breaker{threshold: threshold, maxOpen: maxOpen, probeWait: probeWait, now: now, next: min(breakerFirstOpen, maxOpen)}
}

// gate reports whether an uncached token must be answered without a
// request (blocked), and how long its caller should wait. When the pause
// has ended and no probe is awaited, it claims a probe for the caller to
// start (probe, not 0).
func (b *breaker) gate() (wait time.Duration, probe uint64, blocked bool) {
	if b.threshold == 0 {
		return 0, 0, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return 0, 0, false
	}
	if b.awaitedLocked() {
		return b.probeWait, 0, true
	}
	now := b.now()
	wait = b.until.Sub(now)
	if wait > b.pause {
		// The clock stepped back (WithClock, or a wall clock set back):
		// the pause must not last the step longer.
		b.until, wait = now, 0
	}
	if wait > 0 {
		return wait, 0, true
	}
	if b.alive >= maxProbes {
		// No probe can start while the lost ones hang: callers' requests
		// go out, and the first answer closes the breaker.
		return 0, 0, false
	}
	return b.probeWait, b.claimLocked(), true
}

// awaitedLocked reports whether a probe's outcome is still awaited. A
// probe past twice probeWait is lost, and no longer awaited.
func (b *breaker) awaitedLocked() bool {
	if b.probing && time.Since(b.started) > 2*b.probeWait {
		b.probing = false
	}
	return b.probing
}

// claimLocked claims the next probe, to be started by the caller.
func (b *breaker) claimLocked() uint64 {
	b.current++
	b.probing, b.started = true, time.Now()
	b.alive++
	return b.current
}

// answered records that a request got an answer: the failures count from
// zero, and an open breaker closes. It reports whether it was open.
func (b *breaker) answered() (wasOpen bool) {
	if b.threshold == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false // the answer overtakes the probe: its outcome no longer decides
	return b.closeLocked()
}

func (b *breaker) closeLocked() (wasOpen bool) {
	wasOpen = b.open
	b.failures, b.open = 0, false
	b.next = min(breakerFirstOpen, b.maxOpen)
	return wasOpen
}

// unanswered records that a request got no answer. It claims a probe for
// the caller to start (not 0) when that makes threshold failures in a row
// and none is awaited.
func (b *breaker) unanswered() (probe uint64) {
	if b.threshold == 0 {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	if b.open || b.failures < b.threshold || b.awaitedLocked() || b.alive >= maxProbes {
		return 0
	}
	return b.claimLocked()
}

// probed records the outcome of probe id: r is answered or noAnswer, or
// notSent when it told nothing (it never reached the endpoint, the client
// closed, it panicked). It returns the pause when no answer opens the
// breaker, and whether an answer closed it. An answer closes the breaker
// even from a probe given up on; no answer from one counts for nothing.
func (b *breaker) probed(id uint64, r reach) (pause time.Duration, closed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.alive--
	if r == answered {
		if id == b.current {
			b.probing = false
		}
		return 0, b.closeLocked()
	}
	if id != b.current || !b.probing {
		return 0, false // lost, or overtaken by a request's answer: it no longer decides
	}
	b.probing = false
	if r != noAnswer {
		return 0, false // notSent: it told nothing
	}
	b.open, b.pause = true, b.next
	b.until = b.now().Add(b.pause)
	b.next = min(2*b.pause, b.maxOpen)
	return b.pause, false
}

// startProbe sends a probe on a goroutine of the client's own (the
// breaker claimed it for the caller); Close ends and waits for it. It
// takes no request slot: when the endpoint hangs, the slots are held by
// requests waiting for their timeout, and the probe is what finds out.
func (c *Client) startProbe(id uint64) {
	started := c.g.spawn(func() {
		r := notSent
		defer func() {
			// The outcome is recorded whatever happens, and a panic in
			// the logger that reports it ends no process either: this
			// goroutine is the library's, nothing of a caller's is on its
			// stack to recover it.
			defer func() { _ = recover() }()
			c.probed(id, r)
		}()
		defer func() {
			if recover() != nil { // a token source's, a signer's, a transport's
				r = notSent
			}
		}()
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.timeout)
		defer cancel()
		var meta answerMeta
		start := time.Now()
		tok, err := c.ask(ctx, c.probeHTTP, ProbeToken, &meta)
		if c.ctx.Err() == nil {
			c.tel.request(ctx, start, tok != nil, err)
			r = meta.reach
		}
	})
	if !started {
		c.brk.probed(id, notSent) // closed
	}
}

// probeClient returns the client for the breaker's probes: post, with a
// transport of its own when post's is an *http.Transport (a clone that
// keeps no idle connection), so that a probe never waits for a connection
// of a capped pool (MaxConnsPerHost) that callers' requests hold, and
// gives up on the endpoint for that.
func probeClient(post *http.Client) *http.Client {
	rt := post.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	tr, ok := rt.(*http.Transport)
	if !ok {
		return post
	}
	own := tr.Clone()
	own.DisableKeepAlives = true
	pc := *post
	pc.Transport = own
	return &pc
}

// probed tells the breaker a probe's outcome, and the operator when that
// opens or closes it.
func (c *Client) probed(id uint64, r reach) {
	pause, closed := c.brk.probed(id, r)
	switch {
	case pause > 0:
		c.cfg.logger.Warn("introspect: the endpoint answered neither the last requests nor a probe; uncached tokens are answered unavailable without a request for a while",
			slog.String("endpoint", httpfetch.Redact(c.currentEndpoint())), slog.Duration("pause", pause))
	case closed:
		c.logClosed()
	}
}

// logClosed tells the operator that the breaker closed.
func (c *Client) logClosed() {
	c.cfg.logger.Info("introspect: the endpoint answers again; requests resume",
		slog.String("endpoint", httpfetch.Redact(c.currentEndpoint())))
}

// recordReach tells the breaker what a caller's request found. Close
// cutting a request short tells nothing of the endpoint.
func (c *Client) recordReach(r reach) {
	switch {
	case c.ctx.Err() != nil:
	case r == answered:
		if c.brk.answered() {
			c.logClosed()
		}
	case r == noAnswer:
		if id := c.brk.unanswered(); id != 0 {
			c.startProbe(id)
		}
	}
}
