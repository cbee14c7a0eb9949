package introspect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bearerguard/bearerguard/internal/discovery"
	"github.com/bearerguard/bearerguard/internal/httpfetch"
)

// discoveryRetry is the least time between two discoveries of the
// introspection endpoint: within it, the last discovery's error is the
// answer.
const discoveryRetry = 10 * time.Second

// discoveryCall is a discovery in flight, shared by every request that
// needs the endpoint meanwhile; done is closed when it ends, endpoint and
// err set before.
type discoveryCall struct {
	done     chan struct{}
	endpoint string
	err      error
}

// currentEndpoint returns the endpoint, "" until discovery finds it.
func (c *Client) currentEndpoint() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endpoint
}

// resolve returns the endpoint, discovering it if needed. No lock is held
// across the discovery: the first request that needs it runs it on its own
// ctx, and requests that need it meanwhile wait for that one discovery as
// long as their own ctx allows. Within [discoveryRetry] of a discovery
// that failed, its error is returned without asking again.
//
// ctx is a request's: the Client's context with the request timeout, the
// same for every request, never one caller's.
func (c *Client) resolve(ctx context.Context) (string, error) {
	c.mu.Lock()
	if c.endpoint != "" {
		defer c.mu.Unlock()
		return c.endpoint, nil
	}
	if d := c.discovering; d != nil {
		c.mu.Unlock()
		select {
		case <-d.done:
			return d.endpoint, d.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	now := c.cfg.clock()
	if !c.lastDiscovery.IsZero() && now.Sub(c.lastDiscovery) < discoveryRetry {
		defer c.mu.Unlock()
		return "", c.discoveryErr
	}
	d := &discoveryCall{done: make(chan struct{})}
	c.discovering, c.lastDiscovery = d, now
	c.mu.Unlock()

	d.endpoint, d.err = c.discoverRecovered(ctx)
	c.mu.Lock()
	c.discovering = nil
	if d.err != nil {
		c.discoveryErr = d.err
	} else {
		c.endpoint = d.endpoint
	}
	c.mu.Unlock()
	close(d.done)
	return d.endpoint, d.err
}

// discoverRecovered is discover with a panic (of a transport given with
// WithHTTPClient, say) turned into the discovery's error: a panic left the
// discovery in flight for good, and every later request waited for it
// until its own deadline. Its value is not shown: it may hold anything the
// transport had.
func (c *Client) discoverRecovered(ctx context.Context) (endpoint string, err error) {
	defer func() {
		if p := recover(); p != nil {
			endpoint, err = "", fmt.Errorf("introspection endpoint discovery panicked (a %T; its value is not shown)", p)
		}
	}()
	return c.discover(ctx)
}

// discover fetches the issuer's metadata and returns its introspection
// endpoint: for a client that authenticates with its certificate
// ([TLSClientAuth]), the mTLS alias when the server names one (RFC 8705
// §5: servers may ask for certificates there only).
func (c *Client) discover(ctx context.Context) (string, error) {
	md, err := discovery.Fetch(ctx, c.http, c.issuer, c.cfg.insecureHTTP, c.cfg.bodyLimit)
	if err != nil {
		return "", err
	}
	endpoint := md.IntrospectionEndpoint
	if _, ok := c.auth.(tlsClientAuth); ok {
		alias, err := md.MTLSIntrospection()
		if err != nil {
			return "", err
		}
		if alias != "" {
			endpoint = alias
		}
	}
	if endpoint == "" {
		return "", errors.New("discovery document has no introspection_endpoint")
	}
	if _, err := httpfetch.CheckURL(endpoint, c.cfg.insecureHTTP); err != nil {
		return "", err
	}
	return endpoint, nil
}
