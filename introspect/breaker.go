package introspect

import (
	"context"
	"errors"
	"log/slog"
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
	probing  bool          // a probe is out
}

func newBreaker(threshold int, maxOpen, probeWait time.Duration, now func() time.Time) *breaker {
	return &breaker{threshold: threshold, maxOpen: maxOpen, probeWait: probeWait, now: now, next: min(breakerFirstOpen, maxOpen)}
}

// gate reports whether an uncached token must be answered without a
// request (blocked), and how long its caller should wait. When the pause
// has ended and no probe is out, it claims the probe for the caller to
// start (probe).
func (b *breaker) gate() (wait time.Duration, probe, blocked bool) {
	if b.threshold == 0 {
		return 0, false, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return 0, false, false
	}
	if b.probing {
		return b.probeWait, false, true
	}
	now := b.now()
	wait = b.until.Sub(now)
	if wait > b.pause {
		// The clock stepped back (WithClock, or a wall clock set back):
		// the pause must not last the step longer.
		b.until, wait = now, 0
	}
	if wait > 0 {
		return wait, false, true
	}
	b.probing = true
	return b.probeWait, true, true
}

// answered records that a request got an answer: the failures count from
// zero, and an open breaker closes. It reports whether it was open.
func (b *breaker) answered() (wasOpen bool) {
	if b.threshold == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closeLocked()
}

func (b *breaker) closeLocked() (wasOpen bool) {
	wasOpen = b.open
	b.failures, b.open = 0, false
	b.next = min(breakerFirstOpen, b.maxOpen)
	return wasOpen
}

// unanswered records that a request got no answer. It claims a probe for
// the caller to start when that makes threshold failures in a row and
// none is out.
func (b *breaker) unanswered() (probe bool) {
	if b.threshold == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	if b.open || b.probing || b.failures < b.threshold {
		return false
	}
	b.probing = true
	return true
}

// probed records a probe's outcome: r is answered or noAnswer, or notSent
// when it told nothing (it could not be sent, the client closed, it
// panicked). It returns the pause when no answer opens the breaker, and
// whether an answer closed it.
func (b *breaker) probed(r reach) (pause time.Duration, closed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	switch r {
	case answered:
		return 0, b.closeLocked()
	case noAnswer:
		b.open, b.pause = true, b.next
		b.until = b.now().Add(b.pause)
		b.next = min(2*b.pause, b.maxOpen)
		return b.pause, false
	}
	return 0, false
}

// startProbe sends a probe on a goroutine of the client's own (the
// breaker claimed it for the caller); Close ends and waits for it. It
// takes no request slot: when the endpoint hangs, the slots are held by
// requests waiting for their timeout, and the probe is what finds out.
func (c *Client) startProbe() {
	started := c.g.spawn(func() {
		r := notSent
		defer func() {
			if recover() != nil { // a token source's, a signer's: this goroutine is the library's
				r = notSent
			}
			c.probed(r)
		}()
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.timeout)
		defer cancel()
		var meta answerMeta
		start := time.Now()
		tok, err := c.ask(ctx, ProbeToken, &meta)
		if c.ctx.Err() == nil {
			c.tel.request(ctx, start, tok != nil, err)
			r = meta.reach
		}
	})
	if !started {
		c.brk.probed(notSent) // closed
	}
}

// probed tells the breaker a probe's outcome, and the operator when that
// opens or closes it.
func (c *Client) probed(r reach) {
	pause, closed := c.brk.probed(r)
	switch {
	case pause > 0:
		c.cfg.logger.Warn("introspect: the endpoint answered neither the last requests nor a probe; uncached tokens are answered unavailable without a request for a while",
			slog.String("endpoint", httpfetch.Redact(c.currentEndpoint())), slog.Duration("pause", pause))
	case closed:
		c.cfg.logger.Info("introspect: the endpoint answers again; requests resume",
			slog.String("endpoint", httpfetch.Redact(c.currentEndpoint())))
	}
}

// recordReach tells the breaker what a caller's request found. Close
// cutting a request short tells nothing of the endpoint.
func (c *Client) recordReach(r reach) {
	switch {
	case c.ctx.Err() != nil:
	case r == answered:
		if c.brk.answered() {
			c.cfg.logger.Info("introspect: the endpoint answers again; requests resume",
				slog.String("endpoint", httpfetch.Redact(c.currentEndpoint())))
		}
	case r == noAnswer:
		if c.brk.unanswered() {
			c.startProbe()
		}
	}
}
