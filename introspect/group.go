package introspect

import (
	"context"
	"sync"

	"github.com/bearerguard/bearerguard/validator"
)

// group coalesces concurrent introspections of the same token into one
// request. The request runs detached from any one caller's cancellation;
// each caller waits only as long as its own context allows.
type group struct {
	mu    sync.Mutex
	calls map[Key]*call
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
		c = &call{done: make(chan struct{})}
		g.calls[key] = c
		go func() {
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
