package jwks

import (
	"context"
	"fmt"

	"github.com/bearerguard/bearerguard/internal/discovery"
)

// ErrIssuerMismatch reports that the issuer's discovery document names
// another issuer (for instance a trailing slash off): a configuration
// error, not an outage. [Set.WaitReady] returns it at once; the Set keeps
// retrying in case the document is corrected.
var ErrIssuerMismatch = discovery.ErrIssuerMismatch

// Ready reports whether a usable key set has been loaded at least once.
func (s *Set) Ready() bool { return s.snap.Load() != nil }

// WaitReady waits until the first key set is loaded, and returns nil. It
// returns an error matching [ErrIssuerMismatch] as soon as a discovery
// finds another issuer, [ErrClosed] after Close, and ctx's error (with the
// last fetch error) when ctx ends first. An issuer that is merely
// unreachable only delays readiness: the background refresh retries with
// backoff. For readiness probes and fail-fast startup.
func (s *Set) WaitReady(ctx context.Context) error {
	if s.ctx == nil {
		return errNotBuilt
	}
	for {
		if s.Ready() {
			return nil
		}
		s.mu.Lock()
		cfgErr, closed, next, last := s.configErr, s.closed, s.attempted, s.st.LastError
		s.mu.Unlock()
		switch {
		case cfgErr != nil:
			return cfgErr
		case closed:
			return ErrClosed
		}
		select {
		case <-next:
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("jwks: not ready: %w (last error: %v)", ctx.Err(), last)
			}
			return fmt.Errorf("jwks: not ready: %w", ctx.Err())
		}
	}
}

// attemptEndedLocked records the end of a fetch for WaitReady: the
// configuration error it revealed, if any, and a wake-up for waiters. The
// caller holds s.mu.
func (s *Set) attemptEndedLocked(cfgErr error) {
	s.configErr = cfgErr
	close(s.attempted)
	s.attempted = make(chan struct{})
}
