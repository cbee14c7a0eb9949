package introspect

import (
	"context"
	"errors"
	"sync"

	"github.com/bearerguard/bearerguard/validator"
)

// group coalesces concurrent introspections of the same token into one
// request. The request runs detached from any one caller's cancellation;
// each caller waits only as long as its own context allows.
type group struct {
	mu     sync.Mutex
	calls  map[Key]*call
	wg     sync.WaitGroup
	closed bool
}

// close stops new requests and waits for those in flight.
func (g *group) close() {
	g.mu.Lock()
	g.closed = true // under mu: no request can start (wg.Add) once Wait begins
	g.mu.Unlock()
	g.wg.Wait()
}

type call struct {
	done chan struct{}
	tok  *validator.Token
	err  error
}

// do runs fn once for all concurrent callers with the same key.
func (g *group) do(ctx context.Context, key Key, fn func() (*validator.Token, error)) (*validator.Token, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = make(map[Key]*call)
	}
	c, ok := g.calls[key]
	if !ok {
		if g.closed {
			g.mu.Unlock()
			return nil, &validator.UnavailableError{Reason: validator.ErrIntrospectionUnavailable, Err: errClosed}
		}
		c = &call{done: make(chan struct{})}
		g.calls[key] = c
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			c.tok, c.err = fn()
			g.mu.Lock()
			delete(g.calls, key)
			g.mu.Unlock()
			close(c.done)
		}()
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.tok, c.err
	case <-ctx.Done():
		return nil, &validator.UnavailableError{Reason: validator.ErrIntrospectionUnavailable, Err: ctx.Err()}
	}
}

var errClosed = errors.New("introspect: client closed")
