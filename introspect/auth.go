package introspect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// ClientAuth is how the resource server authenticates to the
// introspection endpoint (RFC 7662 §2.1). Build one with
// [ClientSecretBasic], [ClientSecretPost], [PrivateKeyJWT], [TLSClientAuth]
// or [BearerToken] ([BearerTokenContext]).
type ClientAuth interface {
	apply(req *http.Request, form url.Values, audience string, now time.Time) error
	validate() error
	// clientID names the client that authenticates, for the cache
	// namespace ("" when it is not known, as for [BearerToken]).
	clientID() string
}

// ClientSecretBasic authenticates with HTTP Basic, the client id and secret
// each form-urlencoded first (RFC 6749 §2.3.1). This is the default method
// of most authorization servers.
func ClientSecretBasic(clientID, secret string) ClientAuth {
	return secretBasic{id: clientID, secret: secret}
}

type secretBasic struct{ id, secret string }

func (a secretBasic) apply(req *http.Request, _ url.Values, _ string, _ time.Time) error {
	req.SetBasicAuth(url.QueryEscape(a.id), url.QueryEscape(a.secret))
	return nil
}

func (a secretBasic) validate() error { return requireIDSecret(a.id, a.secret) }

func (a secretBasic) clientID() string { return a.id }

// Format prints the method and client id, for every verb; never the secret.
func (a secretBasic) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "introspect.ClientSecretBasic(%q, secret not shown)", a.id)
}

// ClientSecretPost sends client_id and client_secret in the form body
// (RFC 6749 §2.3.1).
func ClientSecretPost(clientID, secret string) ClientAuth {
	return secretPost{id: clientID, secret: secret}
}

type secretPost struct{ id, secret string }

func (a secretPost) apply(_ *http.Request, form url.Values, _ string, _ time.Time) error {
	form.Set("client_id", a.id)
	form.Set("client_secret", a.secret)
	return nil
}

func (a secretPost) validate() error { return requireIDSecret(a.id, a.secret) }

func (a secretPost) clientID() string { return a.id }

// Format prints the method and client id, for every verb; never the secret.
func (a secretPost) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "introspect.ClientSecretPost(%q, secret not shown)", a.id)
}

// TLSClientAuth authenticates with a client certificate (RFC 8705 §2,
// tls_client_auth or self_signed_tls_client_auth): the form names
// client_id and carries no secret; the certificate is presented in the TLS
// handshake by the HTTP client given with [WithHTTPClient], whose
// transport must be set up with it (an [http.Transport] whose
// TLSClientConfig has Certificates or GetClientCertificate). [New] and
// [Discover] refuse this method when the client's transport is an
// [http.Transport] (or none) without a certificate; a transport
// wrapped in another RoundTripper (tracing, say) cannot be looked into, so
// make sure the one inside presents the certificate: without it the
// server answers 401 and every token is answered 503. With [Discover], the
// server's mTLS alias of the introspection endpoint is used when its
// metadata names one (RFC 8705 §5).
func TLSClientAuth(clientID string) ClientAuth { return tlsClientAuth{id: clientID} }

type tlsClientAuth struct{ id string }

func (a tlsClientAuth) apply(_ *http.Request, form url.Values, _ string, _ time.Time) error {
	form.Set("client_id", a.id)
	return nil
}

func (a tlsClientAuth) validate() error {
	if a.id == "" {
		return errors.New("TLSClientAuth: client id is required")
	}
	return nil
}

func (a tlsClientAuth) clientID() string { return a.id }

// Format prints the method and client id.
func (a tlsClientAuth) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "introspect.TLSClientAuth(%q)", a.id)
}

// presentsCertificate reports whether hc will present a client
// certificate: its transport is an [http.Transport] (or the default one)
// configured with one. Another RoundTripper cannot be looked into, and
// is trusted to.
func presentsCertificate(hc *http.Client) bool {
	if hc == nil {
		return false
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	tr, ok := rt.(*http.Transport)
	if !ok {
		return true
	}
	c := tr.TLSClientConfig
	return c != nil && (len(c.Certificates) > 0 || c.GetClientCertificate != nil)
}

func requireIDSecret(id, secret string) error {
	if id == "" || secret == "" {
		return errors.New("client id and secret are required")
	}
	return nil
}

// BearerToken authenticates with an access token of the resource server's
// own (RFC 7662 §2.1 allows it), taken from source on every request so it
// can be refreshed.
//
// source takes no context, so nothing can stop it: requests waiting for
// it give up when their context ends ([WithTimeout], [Client.Close]), and
// while a call of source runs, requests wait for that one instead of
// calling it again; a call that has run for longer than the request timeout
// ([WithTimeout]) is taken for hung and another is made, at most four at
// once, so a source
// that hangs holds four goroutines at most, not one per request, and one
// hung call does not stop introspection. Prefer [BearerTokenContext] for a
// source that does I/O.
//
// No client id is known with this method, so Clients using it for the same
// endpoint share cache entries when they share a [Cache] (see [Key]); give
// Clients that authenticate as different clients caches of their own.
func BearerToken(source func() (string, error)) ClientAuth {
	if source == nil {
		return &bearerAuth{}
	}
	return &bearerAuth{shared: &sharedSource{source: source}}
}

// BearerTokenContext is [BearerToken] for a source that takes the
// request's context (its deadline is the request's [WithTimeout]; Close
// cancels it): a source fetching a token over the network stops with the
// request that asked.
//
// source is called for every introspection request, that is for every
// distinct token the cache does not hold, whoever sends it: a source that
// fetches its token over the network must keep it until it nears expiry
// (as golang.org/x/oauth2's ReuseTokenSource does), or each made-up token
// costs two calls out instead of one.
func BearerTokenContext(source func(ctx context.Context) (string, error)) ClientAuth {
	return &bearerAuth{source: source}
}

type bearerAuth struct {
	source func(ctx context.Context) (string, error) // BearerTokenContext
	shared *sharedSource                             // BearerToken
}

// sharedSource runs a source without a context once at a time: callers
// that come while it runs wait for that call's result, as long as their
// context allows. A call running for longer than hung (the request timeout
// of the Clients using it) is not joined: the next caller starts another
// (a call that never returns, a fetch over a connection a NAT dropped, must
// not stop introspection for good), up to maxSourceCalls running at once,
// past which callers join the newest.
type sharedSource struct {
	source func() (string, error)
	mu     sync.Mutex
	hung   time.Duration // 0: DefaultTimeout
	calls  []*sourceCall // the calls running, oldest first
}

// maxSourceCalls bounds the calls (and goroutines) a source that hangs can
// hold.
const maxSourceCalls = 4

// useTimeout tells s the request timeout of a Client that uses it: a call
// running longer than the shortest is taken for hung.
func (s *sharedSource) useTimeout(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hung == 0 || d < s.hung {
		s.hung = d
	}
}

type sourceCall struct {
	started time.Time
	done    chan struct{}
	tok     string
	err     error
}

func (s *sharedSource) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	var c *sourceCall
	hung := s.hung
	if hung == 0 {
		hung = DefaultTimeout
	}
	if n := len(s.calls); n > 0 && (n == maxSourceCalls || time.Since(s.calls[n-1].started) < hung) {
		c = s.calls[n-1]
	} else {
		c = &sourceCall{started: time.Now(), done: make(chan struct{})}
		s.calls = append(s.calls, c)
		go s.run(c)
	}
	s.mu.Unlock()
	select {
	case <-c.done:
		return c.tok, c.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// run calls the source for c. A panic is an error that shows the panic's
// type only: its value may hold the credential.
func (s *sharedSource) run(c *sourceCall) {
	defer func() {
		if p := recover(); p != nil {
			c.tok, c.err = "", fmt.Errorf("the token source panicked (a %T; its value is not shown: it may hold a credential)", p)
		}
		s.mu.Lock()
		s.calls = slices.DeleteFunc(s.calls, func(x *sourceCall) bool { return x == c })
		s.mu.Unlock()
		close(c.done)
	}()
	c.tok, c.err = s.source()
}

func (a *bearerAuth) validate() error {
	if a.source == nil && a.shared == nil {
		return errors.New("bearer: nil token source")
	}
	return nil
}

func (a *bearerAuth) clientID() string { return "" }

func (a *bearerAuth) apply(req *http.Request, _ url.Values, _ string, _ time.Time) error {
	var tok string
	var err error
	if a.shared != nil {
		tok, err = a.shared.token(req.Context())
	} else {
		tok, err = a.source(req.Context())
	}
	if err != nil {
		return fmt.Errorf("bearer token source: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}
