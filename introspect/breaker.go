package introspect

import (
	"errors"
	"sync"
	"time"
)

// Circuit breaker defaults (see [WithCircuitBreaker]).
const (
	// DefaultBreakerFailures is how many requests in a row must get no
	// answer at all before the client stops asking.
	DefaultBreakerFailures = 5

	// DefaultBreakerMaxOpen is the longest the client stops asking at a
	// time: the first pause is breakerFirstOpen, each failed probe doubles
	// it, up to this.
	DefaultBreakerMaxOpen = 30 * time.Second

	// breakerFirstOpen is the first pause, or the maximum if shorter.
	breakerFirstOpen = time.Second
)

// errUnreachable is the cause of an answer given without a request while
// the breaker is open.
var errUnreachable = errors.New("the introspection endpoint gave no answer to the last requests (circuit breaker open): no request sent")

// breaker stops the requests to an endpoint that answers nothing at all (a
// refused or reset connection, a timeout, a broken TLS handshake): after
// threshold such requests in a row, uncached tokens are answered
// unavailable at once for a pause, instead of each holding a request slot
// and its caller for the whole timeout. When the pause ends, one request
// (the probe) goes out while the others are still answered at once: an
// answer closes the breaker, no answer opens it for twice as long (at most
// maxOpen).
//
// Only the absence of an answer counts. A status, an error page or a body
// the client refuses is an answer (the endpoint is there), and closes the
// breaker: some servers answer a malformed token with a 500, and a caller
// who may send any token must not be able to open the breaker for every
// other caller.
type breaker struct {
	threshold int           // failures in a row that open it; 0: never opens
	maxOpen   time.Duration // the longest pause
	probeWait time.Duration // what a caller is told to wait while the probe runs
	now       func() time.Time

	mu       sync.Mutex
	failures int           // requests in a row that got no answer
	until    time.Time     // end of the pause; zero when closed
	pause    time.Duration // the pause the next opening takes
	probing  bool          // the probe is out
}

func newBreaker(threshold int, maxOpen, probeWait time.Duration, now func() time.Time) *breaker {
	return &breaker{threshold: threshold, maxOpen: maxOpen, probeWait: probeWait, now: now, pause: min(breakerFirstOpen, maxOpen)}
}

// blocked reports, without claiming the probe, whether a request would
// be refused now, and for how long a caller should wait: for callers that
// would otherwise wait for a request slot first.
func (b *breaker) blocked() (time.Duration, bool) {
	if b.threshold == 0 {
		return 0, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waitLocked()
}

// allow reports whether a request may go out (ok); when the pause has
// ended it lets exactly one through, the probe, until that one's outcome
// is known. When it refuses, it says how long the caller should wait. The
// probe's outcome must be reported with probe set: answered, unanswered
// or released.
func (b *breaker) allow() (wait time.Duration, probe, ok bool) {
	if b.threshold == 0 {
		return 0, false, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if wait, blocked := b.waitLocked(); blocked {
		return wait, false, false
	}
	if b.failures >= b.threshold {
		b.probing = true
		return 0, true, true
	}
	return 0, false, true
}

// release records that the probe ended with neither an answer nor a
// failure of the endpoint's (the client closed, or the request could not
// be made): the next request is the probe.
func (b *breaker) release(probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

func (b *breaker) waitLocked() (time.Duration, bool) {
	if b.failures < b.threshold {
		return 0, false
	}
	if b.probing {
		return b.probeWait, true
	}
	wait := b.until.Sub(b.now())
	if wait > b.maxOpen {
		// The clock stepped back (WithClock, or a wall clock set back):
		// the pause must not last the step longer.
		b.until = b.now()
		wait = 0
	}
	if wait > 0 {
		return wait, true
	}
	return 0, false
}

// answered records that a request got an answer: the breaker closes.
// It reports whether it was open.
func (b *breaker) answered() (wasOpen bool) {
	if b.threshold == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	wasOpen = b.failures >= b.threshold
	b.failures, b.until, b.probing = 0, time.Time{}, false
	b.pause = min(breakerFirstOpen, b.maxOpen)
	return wasOpen
}

// unanswered records that a request got no answer. It returns the pause
// when this opens the breaker (the threshold reached, or the probe
// failed), and 0 when the breaker stays as it was, with the failures in a
// row so far.
func (b *breaker) unanswered(probe bool) (pause time.Duration, failures int) {
	if b.threshold == 0 {
		return 0, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	switch {
	case probe && b.probing:
		b.probing = false
	case b.failures != b.threshold:
		// Closed below the threshold, or open already: a request that
		// went out before it opened and failed since adds no pause.
		return 0, b.failures
	}
	pause = b.pause
	b.until = b.now().Add(pause)
	b.pause = min(2*pause, b.maxOpen)
	return pause, b.failures
}
