package introspect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bearerguard/bearerguard/internal/discovery"
)

// ErrIssuerMismatch reports that the issuer's discovery document names
// another issuer: a configuration error, which [Client.WaitReady] returns
// at once.
var ErrIssuerMismatch = discovery.ErrIssuerMismatch

// Ready reports whether the introspection endpoint is known: given to
// [New], or found by [Discover]'s discovery.
func (c *Client) Ready() bool { return c.currentEndpoint() != "" }

// WaitReady waits until the endpoint is known, discovering it if needed,
// and returns nil. It returns an error matching [ErrIssuerMismatch] as soon
// as discovery finds another issuer, [ErrClosed] after Close, and ctx's
// error (with the last discovery error) when ctx ends first; a failed
// discovery is retried every 10 s meanwhile.
func (c *Client) WaitReady(ctx context.Context) error {
	if c.g == nil {
		return errNotBuilt
	}
	for {
		if c.ctx.Err() != nil {
			return ErrClosed
		}
		// The discovery runs on the Client's context, as a request's would,
		// on a goroutine of its own, so that WaitReady returns when ctx ends
		// while the issuer has yet to answer: the discovery goes on for
		// later requests, bounded by the request timeout and by Close.
		res := make(chan error, 1)
		go func() {
			rctx, cancel := context.WithTimeout(c.ctx, c.cfg.timeout)
			defer cancel()
			_, err := c.resolve(rctx)
			res <- err
		}()
		var err error
		select {
		case err = <-res:
		case <-ctx.Done():
			return fmt.Errorf("introspect: not ready: %w (discovery still waiting for the issuer)", ctx.Err())
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrIssuerMismatch):
			return err
		case c.ctx.Err() != nil:
			return ErrClosed
		}
		c.mu.Lock()
		wait := discoveryRetry - c.cfg.clock().Sub(c.lastDiscovery)
		c.mu.Unlock()
		t := time.NewTimer(max(wait, 10*time.Millisecond))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("introspect: not ready: %w (last error: %v)", ctx.Err(), err)
		case <-c.ctx.Done():
			t.Stop()
			return ErrClosed
		}
	}
}
