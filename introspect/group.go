package introspect

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

// group coalesces concurrent introspections of the same token into one
// request, and bounds the requests in flight. The request runs detached
// from any one caller's cancellation; each caller waits only as long as its
// own context allows, for a slot as for the answer.
type group struct {
	sem     chan struct{}   // one slot per request goroutine
	stop    <-chan struct{} // closed when the Client closes
	maxWait time.Duration   // the longest wait for a slot (0: ctx's only)

	mu     sync.Mutex
	calls  map[Key]*call
	queued map[Key]*queue // callers waiting for a slot, by key
	wg     sync.WaitGroup
	closed bool
}

// queue is the callers of one key waiting for a slot: started is closed
// when a call for the key starts (call), for them to join it rather than
// each wait for a slot of its own (and ask again), even if it has ended by
// the time they look.
type queue struct {
	started chan struct{}
	call    *call // set before started is closed
	n       int   // callers waiting
}

// newGroup returns a group running at most n requests at once; waits for
// a slot end when stop is closed.
func newGroup(n int, stop <-chan struct{}, maxWait time.Duration) *group {
	return &group{sem: make(chan struct{}, n), stop: stop, maxWait: maxWait, calls: make(map[Key]*call), queued: make(map[Key]*queue)}
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

// do runs fn once for all concurrent callers with the same key. A caller
// whose context is done starts nothing.
func (g *group) do(ctx context.Context, key Key, gate func(context.Context) error, fn func() (*validator.Token, error)) (*validator.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, unavailable(err, 0)
	}
	c, err := g.join(ctx, key, gate, fn)
	if err != nil {
		return nil, err
	}
	select {
	case <-c.done:
		return c.tok, c.err
	case <-ctx.Done():
		return nil, unavailable(ctx.Err(), 0)
	}
}

// join returns the call in flight for key or, once it holds a slot, starts
// one. While it waits for a slot, a call for key that another caller
// starts is joined instead. gate, if not nil, may refuse a caller that
// would have to start a call, before it waits for a slot.
func (g *group) join(ctx context.Context, key Key, gate func(context.Context) error, fn func() (*validator.Token, error)) (*call, error) {
	c, q, err := g.inFlight(key)
	if c != nil || err != nil {
		return c, err
	}
	if gate != nil {
		if err := gate(ctx); err != nil {
			g.leave(key, q)
			return nil, err
		}
	}
	got, err := g.acquire(ctx, q.started)
	g.leave(key, q)
	if err != nil {
		return nil, err
	}
	if !got {
		return q.call, nil // a call for key started: join it, ended or not
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.calls[key]; ok { // started while this caller waited
		g.release()
		return c, nil
	}
	if q.call != nil { // started, and ended, while this caller took a slot
		g.release()
		return q.call, nil
	}
	if g.closed {
		g.release()
		return nil, unavailable(ErrClosed, 0)
	}
	if err := ctx.Err(); err != nil { // a slot and the end came at once
		g.release()
		return nil, unavailable(err, 0)
	}
	c = &call{done: make(chan struct{})}
	g.calls[key] = c
	if q, ok := g.queued[key]; ok { // the callers queued for key join this call
		q.call = c
		close(q.started)
		delete(g.queued, key)
	}
	g.wg.Add(1)
	go g.run(key, c, fn)
	return c, nil
}

// inFlight returns the call in flight for key, if any, or an error if the
// group is closed; else the queue of key's callers, which this caller
// joins (leave it with [group.leave]).
func (g *group) inFlight(key Key) (*call, *queue, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.calls[key]; ok {
		return c, nil, nil
	}
	if g.closed {
		return nil, nil, unavailable(ErrClosed, 0)
	}
	q, ok := g.queued[key]
	if !ok {
		q = &queue{started: make(chan struct{})}
		g.queued[key] = q
	}
	q.n++
	return nil, q, nil
}

// leave takes a caller off key's queue q; the last one to leave removes
// it, unless a call started (which removed it).
func (g *group) leave(key Key, q *queue) {
	g.mu.Lock()
	defer g.mu.Unlock()
	q.n--
	if q.n == 0 && g.queued[key] == q {
		delete(g.queued, key)
	}
}

// acquire takes a request slot (true), waiting as long as ctx allows, the
// client is open, and at most maxWait: a queue of callers, each behind
// the requests of a flood of unknown tokens, fails fast instead of
// growing without bound. It returns false, holding no slot, when started
// is closed first: a call this caller can join has started.
func (g *group) acquire(ctx context.Context, started <-chan struct{}) (bool, error) {
	select {
	case g.sem <- struct{}{}:
		return true, nil
	default:
	}
	var expired <-chan time.Time
	if g.maxWait > 0 {
		t := time.NewTimer(g.maxWait)
		defer t.Stop()
		expired = t.C
	}
	select {
	case g.sem <- struct{}{}:
		return true, nil
	case <-started:
		return false, nil
	case <-expired:
		return false, unavailable(errors.New("introspect: all request slots busy"), 0)
	case <-ctx.Done():
		return false, unavailable(ctx.Err(), 0)
	case <-g.stop:
		return false, unavailable(ErrClosed, 0)
	}
}

func (g *group) release() { <-g.sem }

// spawn runs fn on a goroutine that close waits for, unless the group is
// closed (false). fn takes no slot.
func (g *group) spawn(fn func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		fn()
	}()
	return true
}

// run is a request goroutine: it holds a slot until it ends. A panic in
// fn (a Cache implementation's, say a shared store's client library on a
// malformed reply) ends the call as unavailable instead of the process:
// this goroutine is the library's, and nothing of the caller's is on its
// stack to recover it.
func (g *group) run(key Key, c *call, fn func() (*validator.Token, error)) {
	defer g.wg.Done()
	defer g.release()
	defer func() {
		if p := recover(); p != nil {
			c.tok, c.err = nil, unavailable(fmt.Errorf("introspection panicked (a %T; its value is not shown: it may hold the token)", p), 0)
		}
		g.mu.Lock()
		delete(g.calls, key)
		g.mu.Unlock()
		close(c.done)
	}()
	c.tok, c.err = fn()
}
