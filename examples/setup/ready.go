package setup

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/jwks"
)

// Readiness gathers what a service needs before it can decide on tokens:
// the key sets and introspection clients [Config.Guard] built. It answers
// GET /readyz and the startup wait. The zero value is ready to use, and
// ready while nothing is registered.
type Readiness struct {
	mu       sync.Mutex
	deps     []dependency
	refreshs []refresher
}

type refresher struct {
	name    string
	refresh func(context.Context) error
}

type dependency struct {
	name  string // "keys" or "introspection": never a URL or a secret
	ready func() bool
	wait  func(context.Context) error
}

// Track registers a dependency under name ("keys", "introspection": a
// word for /readyz, never a URL or a secret): ready reports whether it is
// ready, wait waits until it is, or returns an error when ctx ends first
// or the dependency can never be ready. [Config.Guard] tracks its own; a
// service that builds its key set itself tracks that (as the gRPC example
// does, with [jwks.Set.Ready] and [jwks.Set.WaitReady]).
func (r *Readiness) Track(name string, ready func() bool, wait func(context.Context) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deps = append(r.deps, dependency{name, ready, wait})
}

// TrackRefresh registers what [Readiness.Refresh] calls for the
// dependency name: a key set's [jwks.Set.Refresh]. [Config.Guard]
// registers its key set's.
func (r *Readiness) TrackRefresh(name string, refresh func(context.Context) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refreshs = append(r.refreshs, refresher{name, refresh})
}

// Refresh has every dependency registered with [Readiness.TrackRefresh]
// load its state again now (a key set fetched at once: the way to stop
// trusting a key the issuer removed without waiting for the background
// refresh), one after another, as long as ctx allows. It returns the
// errors together, each prefixed with its dependency's name; a dependency
// that fails keeps what it had. It reports false when nothing is
// registered.
func (r *Readiness) Refresh(ctx context.Context) (bool, error) {
	r.mu.Lock()
	list := append([]refresher(nil), r.refreshs...)
	r.mu.Unlock()
	var errs []error
	for _, rf := range list {
		if err := rf.refresh(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", rf.name, err))
		}
	}
	return len(list) > 0, errors.Join(errs...)
}

func (r *Readiness) list() []dependency {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]dependency(nil), r.deps...)
}

// Ready reports whether every registered key set has loaded and every
// introspection client knows its endpoint.
func (r *Readiness) Ready() bool { return len(r.Pending()) == 0 }

// Pending names what is not ready yet ("keys", "introspection"), or nil.
func (r *Readiness) Pending() []string {
	var names []string
	for _, d := range r.list() {
		if !d.ready() {
			names = append(names, d.name)
		}
	}
	return names
}

// Wait waits until everything registered is ready and returns nil. It
// returns at once an error matching [jwks.ErrIssuerMismatch] when a
// discovery document names another issuer, and otherwise ctx's error, with
// the last fetch error, when ctx ends first.
func (r *Readiness) Wait(ctx context.Context) error {
	deps := r.list()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(deps))
	for _, d := range deps {
		go func() { errc <- d.wait(ctx) }()
	}
	var first error
	for range deps {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel() // the others stop waiting
		}
	}
	return first
}

// Await is a service's wait at start: it waits up to timeout for
// everything registered; if that is not enough (and no discovery document
// named another issuer) it calls late with the error, and waits on as long
// as ctx lasts. It returns nil once ready, else the error that ended the
// wait: one matching [IsIssuerMismatch], or ctx's.
func (r *Readiness) Await(ctx context.Context, timeout time.Duration, late func(error)) error {
	wait, cancel := context.WithTimeout(ctx, timeout)
	err := r.Wait(wait)
	cancel()
	if err == nil || IsIssuerMismatch(err) || ctx.Err() != nil {
		return err
	}
	late(err)
	return r.Wait(ctx)
}

// IsIssuerMismatch reports whether err says that the issuer's discovery
// document names another issuer: a configuration error, not an outage.
func IsIssuerMismatch(err error) bool {
	return errors.Is(err, jwks.ErrIssuerMismatch) || errors.Is(err, introspect.ErrIssuerMismatch)
}

var (
	readyBody    = []byte(`{"status":"ready"}` + "\n")
	noStore      = []string{"no-store"}
	allowReadyz  = []string{"GET, HEAD"}
	readyzMethod = map[string]bool{http.MethodGet: true, http.MethodHead: true}
)

// ServeHTTP answers GET /readyz: 200 {"status":"ready"} when [Readiness.Ready],
// else 503 {"status":"not ready","waiting_for":["keys"]}.
func (r *Readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	if !readyzMethod[req.Method] {
		h["Allow"] = allowReadyz
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h["Content-Type"] = jsonContentType
	h["Cache-Control"] = noStore
	pending := r.Pending()
	if len(pending) == 0 {
		_, _ = w.Write(readyBody)
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	// The names are fixed words: no escaping needed.
	_, _ = w.Write([]byte(`{"status":"not ready","waiting_for":["` + strings.Join(pending, `","`) + `"]}` + "\n"))
}

var jsonContentType = []string{"application/json"}

// withReadyz serves GET /readyz from ready, and everything else from h.
func withReadyz(h http.Handler, ready *Readiness) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			ready.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// mismatchDetail returns, from a discovery error that matches
// [jwks.ErrIssuerMismatch], the attempt that found the other issuer
// ("https://…/.well-known/openid-configuration: … (got "…")"), without
// the other attempts' errors joined to it.
func mismatchDetail(err error) string {
	for {
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			next := error(nil)
			for _, e := range u.Unwrap() {
				if IsIssuerMismatch(e) {
					next = e
					break
				}
			}
			if next == nil {
				return err.Error()
			}
			err = next
		case interface{ Unwrap() error }:
			inner := u.Unwrap()
			if !hasJoined(inner) {
				return err.Error()
			}
			err = inner
		default:
			return err.Error()
		}
	}
}

// hasJoined reports whether a joined error is somewhere in err's chain.
func hasJoined(err error) bool {
	for err != nil {
		if _, ok := err.(interface{ Unwrap() []error }); ok {
			return true
		}
		err = errors.Unwrap(err)
	}
	return false
}
