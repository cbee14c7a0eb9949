package jwks

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/bearerguard/bearerguard/internal/httpfetch"
)

// run is the background refresh loop: it refreshes at the interval of the
// last successful fetch, and after a failure retries with backoff.
func (s *Set) run(first *fetchCall) {
	defer s.wg.Done()
	call := first
	backoff := time.Duration(0)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if call != nil {
			select {
			case <-call.done:
			case <-s.ctx.Done():
				return
			}
		}
		var wait time.Duration
		if call == nil || call.err == nil {
			backoff = 0
			wait = s.nextInterval()
		} else {
			backoff = nextBackoff(backoff, s.cfg.refreshInterval)
			wait = backoff
			if se, ok := errors.AsType[*httpfetch.StatusError](call.err); ok && se.RetryAfter > wait {
				wait = min(se.RetryAfter, s.cfg.refreshInterval)
			}
		}
		if backoff > 0 { // a success already recorded its next refresh
			s.mu.Lock()
			s.st.NextRefresh = s.cfg.clock().Add(wait)
			s.mu.Unlock()
		}
		timer.Reset(wait)
	sleep:
		select {
		case <-s.ctx.Done():
			return
		case <-s.kick:
			if backoff == 0 {
				// An on-demand fetch just succeeded; a full interval
				// from now is soon enough.
				timer.Reset(s.nextInterval())
			}
			goto sleep
		case <-timer.C:
		}
		s.mu.Lock()
		call = s.inflight
		if call == nil {
			call = s.startFetchLocked()
		}
		s.mu.Unlock()
	}
}

// nextBackoff doubles from 1 s up to min(limit, 5 min), with ±20 % jitter.
func nextBackoff(prev, limit time.Duration) time.Duration {
	const first, ceiling = time.Second, 5 * time.Minute
	next := first
	if prev > 0 {
		next = prev * 2
	}
	next = min(next, ceiling, limit)
	jitter := time.Duration(rand.Int64N(int64(next)/5+1)) - next/10
	return max(next+jitter, first/2)
}

// nextInterval is the refresh interval after the last successful fetch.
func (s *Set) nextInterval() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.interval
}

// clamp bounds a refresh interval to [MinRefreshInterval, MaxRefreshInterval].
func clamp(d time.Duration) time.Duration {
	return min(max(d, MinRefreshInterval), MaxRefreshInterval)
}
