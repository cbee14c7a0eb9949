package introspect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bearerguard/bearerguard/internal/discovery"
	"github.com/bearerguard/bearerguard/internal/httpfetch"
	"github.com/bearerguard/bearerguard/internal/introspection"
	"github.com/bearerguard/bearerguard/validator"
)

// Client is an RFC 7662 introspection client with a cache and request
// coalescing. It implements [validator.Introspector]. A Client is safe for
// concurrent use; [Client.Close] ends requests in flight. A zero Client
// answers every Introspect as unavailable
// ([validator.ErrIntrospectionUnavailable]).
type Client struct {
	cfg    config
	issuer string
	auth   ClientAuth
	http   *http.Client
	post   *http.Client // http, following no redirect: for introspection requests
	// probeHTTP is post for the circuit breaker's probes, with a pool of
	// connections of its own when it can (see probeClient).
	probeHTTP *http.Client
	owned     bool
	cache     Cache
	keyNS     []byte // the namespace fields of every Key (see keyPrefix)

	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
	g      *group // owns the request goroutines

	requests atomic.Int64
	// quietUntil (Unix ns) is when the endpoint's last Retry-After ends
	// (at most validator.MaxRetryAfter ahead): until then an uncached token
	// is answered unavailable without a request.
	quietUntil atomic.Int64
	brk        *breaker // stops asking an endpoint that gives no answer at all
	tel        *telemetry

	mu            sync.Mutex
	endpoint      string         // known, or found by discovery
	discovering   *discoveryCall // the discovery in flight, if any
	lastDiscovery time.Time      // start of the last discovery
	discoveryErr  error          // error of the last discovery

	failMu     sync.Mutex
	failLogged time.Time // when the last "request failed" record was written
	failQuiet  int64     // failures not logged since then
}

// failLogEvery is the least time between two "request failed" records: a
// flood of made-up tokens while the endpoint fails (or rate-limits that
// very flood) must not write a record per request.
const failLogEvery = 10 * time.Second

// logFailure logs a failed request, at most once every failLogEvery, with
// the number of failures left out since the last record.
func (c *Client) logFailure(err error) { c.logLimited("introspect: request failed", err) }

// logLimited logs msg and err at Warn, at most once per failLogEvery (the
// ones left out counted in the next), for logFailure and
// logRefusedAnswer alike.
func (c *Client) logLimited(msg string, err error) {
	c.failMu.Lock()
	now := time.Now()
	if !c.failLogged.IsZero() && now.Sub(c.failLogged) < failLogEvery {
		c.failQuiet++
		c.failMu.Unlock()
		return
	}
	quiet := c.failQuiet
	c.failLogged, c.failQuiet = now, 0
	c.failMu.Unlock()
	c.cfg.logger.Warn(msg, slog.String("endpoint", httpfetch.Redact(c.currentEndpoint())),
		slog.Any("error", err), slog.Int64("failures_not_logged", quiet))
}

// logRefusedAnswer tells the operator of an answer the claim rules refuse
// (a member of the wrong type, duplicate names, a name folding to one
// read, a number past float64): the token is answered 401 as a JWT with
// the same claims would be, and without a log line nobody would see that
// the authorization server, or a claim mapper of its, writes such answers.
func (c *Client) logRefusedAnswer(err error) {
	c.logLimited("introspect: the authorization server's answer breaks the claim rules; the token is refused (invalid_token)", err)
}

// ErrClosed reports use of a [Client] after [Client.Close]: Introspect
// returns it, wrapped in a *[validator.UnavailableError] (matching
// [validator.ErrIntrospectionUnavailable]), for a token it has no cached
// answer for, and for a request that Close cut short.
var ErrClosed = errors.New("introspect: client closed")

const jwtResponseType = "application/token-introspection+jwt"

const (
	// maxCachedAnswer is the largest answer (in bytes) kept in the cache:
	// with the cache bounded in entries, it bounds the cache in bytes.
	maxCachedAnswer = 32 << 10

	// signedSkew is the clock skew allowed on a signed response's "iat"
	// and "exp"; signedMaxAge how old its "iat" may be.
	signedSkew   = time.Minute
	signedMaxAge = 2 * time.Minute
)

// New returns a client for the introspection endpoint, authenticating with
// auth. The endpoint must be https (see [WithInsecureLoopbackHTTP]).
func New(endpoint string, auth ClientAuth, opts ...Option) (*Client, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if _, err := httpfetch.CheckURL(endpoint, cfg.insecureHTTP); err != nil {
		cfg.errs = append(cfg.errs, err)
	}
	return newClient(cfg, "", endpoint, auth)
}

// Discover returns a client for issuer's introspection_endpoint, found
// through its discovery metadata on first use (a failed discovery is
// retried, at most every 10 s). Signed responses are checked against
// issuer.
func Discover(issuer string, auth ClientAuth, opts ...Option) (*Client, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if _, err := discovery.URLs(issuer, cfg.insecureHTTP); err != nil {
		cfg.errs = append(cfg.errs, fmt.Errorf("issuer: %w", err))
	}
	return newClient(cfg, issuer, "", auth)
}

func newClient(cfg config, issuer, endpoint string, auth ClientAuth) (*Client, error) {
	if auth == nil {
		cfg.errs = append(cfg.errs, errors.New("nil client authentication"))
	} else if err := auth.validate(); err != nil {
		cfg.errs = append(cfg.errs, err)
	}
	if _, ok := auth.(tlsClientAuth); ok && !presentsCertificate(cfg.client) {
		cfg.errs = append(cfg.errs, errors.New("TLSClientAuth: WithHTTPClient must give a client whose transport presents the client certificate"))
	}
	if cfg.assertionAud != "" {
		if _, ok := auth.(privateKeyJWT); !ok {
			cfg.errs = append(cfg.errs, errors.New("WithAssertionAudience is for PrivateKeyJWT"))
		} else if _, err := httpfetch.CheckURL(cfg.assertionAud, cfg.insecureHTTP); err != nil {
			cfg.errs = append(cfg.errs, fmt.Errorf("WithAssertionAudience: %w", err))
		}
	}
	if cfg.signedKeys != nil && cfg.signedIss == "" && issuer == "" {
		cfg.errs = append(cfg.errs, errors.New("WithSignedResponses: an issuer is required with New"))
	}
	if len(cfg.errs) > 0 {
		return nil, fmt.Errorf("introspect: invalid configuration: %w", errors.Join(cfg.errs...))
	}
	if cfg.signedKeys != nil && cfg.signedAud == "" {
		// RFC 9701 §5: the response's aud identifies the resource server
		// that receives it, which is who authenticates here.
		cfg.signedAud = auth.clientID()
	}
	if b, ok := auth.(*bearerAuth); ok && b.shared != nil {
		b.shared.useTimeout(cfg.timeout)
	}
	c := &Client{cfg: cfg, issuer: issuer, auth: auth, http: cfg.client, cache: cfg.cache, endpoint: endpoint}
	if issuer != "" {
		c.keyNS = keyPrefix("issuer", issuer, auth.clientID(), keyPolicy(cfg, issuer))
	} else {
		c.keyNS = keyPrefix("endpoint", endpoint, auth.clientID(), keyPolicy(cfg, issuer))
	}
	if c.http == nil {
		c.http = httpfetch.NewClient(cfg.insecureHTTP)
		c.owned = true
	} else {
		// A caller's client (a proxy, a private CA) follows redirects by
		// the same rules as ours: never to plain HTTP.
		c.http = httpfetch.HoldToPolicy(c.http, cfg.insecureHTTP)
	}
	// An introspection request carries the token and, for some methods,
	// the client's credentials in its body, which net/http resends on a
	// 307 or 308 to wherever Location points; a 3xx is no answer either.
	post := *c.http
	post.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.post = &post
	c.probeHTTP = probeClient(c.post)
	if c.cache == nil {
		c.cache = NewLRU(cfg.cacheSize)
	}
	tel, err := newTelemetry(cfg)
	if err != nil {
		return nil, fmt.Errorf("introspect: telemetry: %w", err)
	}
	c.tel = tel
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.g = newGroup(cfg.maxRequests, c.ctx.Done(), cfg.timeout)
	// While the probe is out, a caller is told to come back when it
	// should have ended: the request timeout (a probe that outlives twice
	// that is given up on).
	c.brk = newBreaker(cfg.brkFailures, cfg.brkMaxOpen, min(cfg.timeout, validator.MaxRetryAfter), cfg.clock)
	return c, nil
}

// Close cancels requests in flight and waits for them. Introspect then
// fails as unavailable ([ErrClosed]) for uncached tokens. Safe to call more
// than once.
func (c *Client) Close() error {
	if c.g == nil {
		return nil // a Client not built by New or Discover has nothing to stop
	}
	c.once.Do(func() {
		c.cancel()
		c.g.close()
		if c.owned {
			c.http.CloseIdleConnections()
		}
	})
	return nil
}

// Format prints the client as its issuer and endpoint (without user info or
// query values) and its authentication method and client id, for every
// verb: fmt would print the secret or key it holds.
func (c *Client) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "introspect.Client{issuer: %q, endpoint: %q, auth: %v}", c.issuer, httpfetch.Redact(c.currentEndpoint()), c.auth)
}

// Requests returns how many introspection requests have been sent, the
// circuit breaker's probes ([ProbeToken]) included.
func (c *Client) Requests() int64 { return c.requests.Load() }

// Introspect implements [validator.Introspector]. A cached result is
// answered without a request; concurrent calls for the same uncached token
// share one request, and at most [WithMaxConcurrentRequests] requests run
// at once. It returns the active token, an error matching
// [validator.ErrInactive], or one matching
// [validator.ErrIntrospectionUnavailable] (never cached), which is also the
// answer, without a request, when ctx is done before one could start.
//
// The returned Token is the caller's own: modifying it changes neither the
// cache nor what other callers see.
func (c *Client) Introspect(ctx context.Context, token string) (*validator.Token, error) {
	if c.g == nil {
		return nil, &validator.UnavailableError{Reason: validator.ErrIntrospectionUnavailable, Err: errNotBuilt}
	}
	key := tokenKey(c.keyNS, token)
	if e, ok := cacheGet(ctx, c.cache, key, c.cfg.clock()); ok {
		c.tel.cache.Add(ctx, 1, c.tel.hit...)
		return own(answer(e))
	}
	c.tel.cache.Add(ctx, 1, c.tel.miss...)
	// The call's token is shared by all its callers and the cache.
	return own(c.g.do(ctx, key, c.gate, func() (*validator.Token, error) { return c.fetch(key, token) }))
}

// gate is asked before a caller waits for a request slot (a caller
// joining a request in flight for its token is not): while the endpoint's
// Retry-After runs, or the breaker is open (the slots held by requests
// waiting for their timeout), the caller is answered at once. fetch asks
// for the Retry-After again: it may have begun during the wait.
func (c *Client) gate(ctx context.Context) error {
	if wait := c.quietFor(); wait > 0 {
		c.tel.skipped.Add(ctx, 1, c.tel.byRetryAfter...)
		return unavailable(errQuiet, wait)
	}
	wait, probe, blocked := c.brk.gate()
	if probe != 0 {
		c.startProbe(probe)
	}
	if blocked {
		c.tel.skipped.Add(ctx, 1, c.tel.byBreaker...)
		return unavailable(errUnreachable, wait)
	}
	return nil
}

// errNotBuilt is what a Client not built by [New] or [Discover] (a zero
// Client) answers: it has no endpoint to ask, and must refuse rather than
// panic.
var errNotBuilt = errors.New("introspect: a Client not built by New or Discover")

// answer is the result a cache entry stands for.
func answer(e Entry) (*validator.Token, error) {
	if e.Token == nil {
		return nil, validator.ErrInactive
	}
	return e.Token, nil
}

// own returns a copy of an active token that its receiver may modify
// freely: the Token's other fields are values or immutable (scopes.Set,
// the raw claims).
func own(t *validator.Token, err error) (*validator.Token, error) {
	if err != nil {
		return nil, err
	}
	cp := *t
	cp.Audience = slices.Clone(t.Audience)
	return &cp, nil
}

// fetch asks the server and caches a definite answer. It looks in the
// cache first: a request for the same token may have ended while this one
// waited for a slot. The token it returns is the one cached; callers get
// copies.
func (c *Client) fetch(key Key, token string) (*validator.Token, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.timeout)
	defer cancel()
	if e, ok := cacheGet(ctx, c.cache, key, c.cfg.clock()); ok {
		return answer(e)
	}
	if wait := c.quietFor(); wait > 0 {
		// The endpoint asked for quiet (429 or 503 with Retry-After): a
		// flood of made-up tokens must not keep asking, and get this API's
		// client blocked.
		c.tel.skipped.Add(ctx, 1, c.tel.byRetryAfter...)
		return nil, unavailable(errQuiet, wait)
	}
	start := time.Now()
	// The answer is the server's as of when it was asked: a token revoked
	// while the answer was on its way (up to the timeout) must not be kept
	// for the whole TTL after it arrived.
	asked := c.cfg.clock()
	var meta answerMeta
	tok, err := c.ask(ctx, c.post, token, &meta)
	if c.ctx.Err() == nil {
		c.tel.request(ctx, start, tok != nil, err)
	}
	c.recordReach(meta.reach)
	now := c.cfg.clock()
	switch {
	case err != nil && c.ctx.Err() != nil:
		return nil, unavailable(ErrClosed, 0) // Close cut the request short: nothing to report
	case err != nil:
		if ue, ok := errors.AsType[*validator.UnavailableError](err); ok {
			c.logFailure(ue.Err)
		}
		return nil, err
	}
	// A clock stepped back while the request was out (WithClock, or a
	// wall clock set back) makes asked later than now: counting from it
	// would keep the answer the whole step longer, and cache it even with
	// a TTL of zero.
	base := asked
	if now.Before(base) {
		base = now
	}
	if tok == nil {
		if expires := base.Add(c.cfg.inactiveTTL); c.cfg.inactiveTTL > 0 && expires.After(now) {
			cachePut(c.ctx, c.cache, key, Entry{Expires: expires})
		}
		return nil, validator.ErrInactive
	}
	// "exp" and "iat" are instants on the wall clock alone: each is put on
	// base's clock (its monotonic reading, when it has one), so that a
	// wall clock stepped back later keeps no entry the step longer.
	onBase := func(t time.Time) time.Time { return base.Add(t.Sub(base)) }
	expires := base.Add(c.cfg.maxTTL)
	if !tok.Expiry.IsZero() && tok.Expiry.Before(expires) {
		expires = onBase(tok.Expiry)
	}
	if !meta.notAfter.IsZero() && meta.notAfter.Before(expires) {
		expires = onBase(meta.notAfter) // a signed answer is not kept past its own "exp"
	}
	// Nor longer than the TTL after the server signed it: an old signed
	// answer (up to signedMaxAge) replayed to us is kept no longer than
	// a fresh one. The server's clock may lag ours by the skew parseSigned
	// allows without costing its answers their TTL. (Two Adds: Time.Add
	// saturates where the sum of two Durations would wrap.)
	if !meta.issuedAt.IsZero() {
		if signed := meta.issuedAt.Add(signedSkew).Add(c.cfg.maxTTL); signed.Before(expires) {
			expires = onBase(signed)
		}
	}
	// The cache is bounded in entries; an entry keeps the whole answer, so
	// a large one is not kept, or entries × the body limit is the bound.
	if expires.After(now) && meta.size <= maxCachedAnswer {
		cachePut(c.ctx, c.cache, key, Entry{Token: tok, Expires: expires})
	}
	return tok, nil
}

// reach is whether a request got an answer from the endpoint.
type reach uint8

const (
	notSent  reach = iota // it never reached the endpoint (no endpoint, no credentials, no connection in time)
	answered              // a response came back (refused or not for its status, type or size)
	noAnswer              // refused, reset, timed out (dialing, shaking hands or waiting), a TLS failure, or a body cut short
)

// reachOf tells from httpfetch.Do's error whether the endpoint answered;
// tried is whether the request set out to reach it (see triedTrace). A
// request that failed before that never reached it: its deadline passed
// in a slow token source or signer, or while it waited for a connection
// of a capped pool that other requests held.
func reachOf(err error, tried bool) reach {
	if err == nil || errors.Is(err, httpfetch.ErrTooLarge) {
		return answered
	}
	if _, ok := errors.AsType[*httpfetch.StatusError](err); ok {
		return answered
	}
	if _, ok := errors.AsType[*httpfetch.ContentTypeError](err); ok {
		return answered
	}
	if !tried {
		return notSent
	}
	return noAnswer
}

// triedTrace sets tried when a request sets out to reach the endpoint:
// it starts to look its host up, to dial it (or a proxy), or to shake
// hands, or gets a connection. The start, not the end: a dial into a
// blackhole, or a TLS handshake that a dead terminator never answers, is
// still running when the request's deadline passes (net/http dials on a
// context of its own), and is the very failure the breaker is for.
func triedTrace(tried *atomic.Bool) *httptrace.ClientTrace {
	set := func() { tried.Store(true) }
	return &httptrace.ClientTrace{
		DNSStart:          func(httptrace.DNSStartInfo) { set() },
		ConnectStart:      func(_, _ string) { set() },
		TLSHandshakeStart: set,
		GotConn:           func(httptrace.GotConnInfo) { set() },
	}
}

// errQuiet is the cause of an answer given without a request while the
// endpoint's Retry-After runs.
var errQuiet = errors.New("the introspection endpoint asked for quiet (Retry-After): no request sent")

// quietFor is how long the endpoint's Retry-After still runs. A wait
// beyond the cap means the clock stepped back: the quiet ends then.
func (c *Client) quietFor() time.Duration {
	until := c.quietUntil.Load()
	if until == 0 {
		return 0
	}
	wait := time.Duration(until - c.cfg.clock().UnixNano())
	if wait > validator.MaxRetryAfter {
		c.quietUntil.CompareAndSwap(until, 0)
		return 0
	}
	return wait
}

// keepQuiet sends no request for d (or longer, if an earlier Retry-After
// runs longer).
func (c *Client) keepQuiet(d time.Duration) {
	until := c.cfg.clock().Add(d).UnixNano()
	for {
		cur := c.quietUntil.Load()
		if cur >= until || c.quietUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

func unavailable(err error, retryAfter time.Duration) error {
	return &validator.UnavailableError{Reason: validator.ErrIntrospectionUnavailable, RetryAfter: retryAfter, Err: err}
}

// ask sends one introspection request: (token, nil) if active, (nil, nil)
// if inactive.
// It goes through hc (post, or probeHTTP for a probe); what it learns of
// the answer besides the token goes to *meta.
func (c *Client) ask(ctx context.Context, hc *http.Client, token string, meta *answerMeta) (*validator.Token, error) {
	endpoint, err := c.resolve(ctx)
	if err != nil {
		return nil, unavailable(err, 0)
	}
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, nil)
	if err != nil {
		return nil, unavailable(err, 0)
	}
	aud := endpoint
	if c.cfg.assertionAud != "" {
		aud = c.cfg.assertionAud
	}
	if err := c.auth.apply(req, form, aud, c.cfg.clock()); err != nil {
		return nil, unavailable(err, 0)
	}
	body := form.Encode()
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	req.Body, _ = req.GetBody()
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.cfg.signedKeys != nil {
		req.Header.Set("Accept", jwtResponseType)
	} else {
		req.Header.Set("Accept", "application/json")
	}
	c.requests.Add(1)
	sctx, span := c.tel.span(ctx, "introspection", http.MethodPost, endpoint)
	var tried atomic.Bool
	resp, err := httpfetch.Do(hc, req.WithContext(httptrace.WithClientTrace(sctx, triedTrace(&tried))), c.cfg.bodyLimit)
	endSpan(span, err)
	meta.reach = reachOf(err, tried.Load())
	if err != nil {
		if se, ok := errors.AsType[*httpfetch.StatusError](err); ok {
			wait := min(se.RetryAfter, validator.MaxRetryAfter)
			if wait > 0 && (se.Code == http.StatusTooManyRequests || se.Code == http.StatusServiceUnavailable) {
				// Only the endpoint's own overload: a Retry-After on an
				// answer about one request (400, 401, 413, a redirect)
				// must not silence it for every token.
				c.keepQuiet(wait)
			}
			return nil, unavailable(err, wait)
		}
		return nil, unavailable(err, 0)
	}
	meta.size = len(resp.Body)
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case mt == jwtResponseType:
		return c.parseSigned(ctx, resp.Body, meta)
	case c.cfg.signedKeys != nil:
		return nil, unavailable(fmt.Errorf("signed response required, got %q", httpfetch.Truncate(mt, 64)), 0)
	case mt != "application/json" && !strings.HasSuffix(mt, "+json"):
		return nil, unavailable(fmt.Errorf("unexpected content type %q", httpfetch.Truncate(mt, 64)), 0)
	}
	tok, err := parseResponse(resp.Body)
	if errors.Is(err, errResponse) {
		return nil, unavailable(err, 0)
	}
	if errors.Is(err, validator.ErrMalformed) {
		c.logRefusedAnswer(err)
	}
	return tok, err
}

// parseSigned verifies an RFC 9701 response and parses its
// token_introspection claim.
func (c *Client) parseSigned(ctx context.Context, body []byte, meta *answerMeta) (*validator.Token, error) {
	if c.cfg.signedKeys == nil {
		return nil, unavailable(errors.New("signed response received but no keys configured to verify it"), 0)
	}
	payload, err := introspection.VerifySigned(ctx, strings.TrimSpace(string(body)), c.cfg.signedKeys, "token-introspection+jwt")
	if err != nil {
		return nil, unavailable(fmt.Errorf("signed response: %w", err), 0)
	}
	claims, err := introspection.ParseSigned(payload)
	if err != nil {
		return nil, unavailable(fmt.Errorf("signed response: %w", err), 0)
	}
	if iss := c.signedIssuer(); iss != "" && claims.Issuer != iss {
		return nil, unavailable(errors.New("signed response: wrong issuer"), 0)
	}
	if c.cfg.signedAud != "" && !slices.Contains(claims.Audience, c.cfg.signedAud) {
		return nil, unavailable(fmt.Errorf("signed response: its aud does not include %q (WithSignedResponses; \"\" means the client id)", c.cfg.signedAud), 0)
	}
	// A signed answer is fresh, or it is a recording (RFC 9701 has "iat"
	// in every response): one replayed from before a revocation, or for
	// another token, must not be taken.
	now := c.cfg.clock()
	switch {
	case claims.IssuedAt.After(now.Add(signedSkew)), now.Sub(claims.IssuedAt) > signedMaxAge: // no "iat" is the zero time, long past
		return nil, unavailable(errors.New("signed response: iat absent or not recent"), 0)
	case !claims.Expiry.IsZero() && !now.Before(claims.Expiry.Add(signedSkew)):
		return nil, unavailable(errors.New("signed response: expired"), 0)
	}
	meta.notAfter, meta.issuedAt = claims.Expiry, claims.IssuedAt
	tok, err := parseResponse(claims.Introspection)
	if errors.Is(err, errResponse) {
		return nil, unavailable(err, 0)
	}
	if errors.Is(err, validator.ErrMalformed) {
		c.logRefusedAnswer(err)
	}
	return tok, err
}

// answerMeta is what an introspection request learns of its answer besides
// the token: whether the endpoint answered at all, the response body's
// size, and when a signed response expires ("exp"; zero if it has none),
// past which its answer is not kept, and when it was signed ("iat"), past
// which it is kept for the TTL at most.
type answerMeta struct {
	reach    reach
	size     int
	notAfter time.Time
	issuedAt time.Time // a signed response's "iat"
}

// Issuer returns the issuer whose endpoint c asks: the one given to
// [Discover], or to [WithSignedResponses] with [New]; "" for a client
// built by New that names none. [validator.New] refuses a client whose
// issuer is not the one given to [validator.WithIntrospection] with it.
func (c *Client) Issuer() string {
	if c == nil {
		return ""
	}
	return c.signedIssuer()
}

// signedIssuer is the issuer a signed response must name.
func (c *Client) signedIssuer() string {
	if c.cfg.signedIss != "" {
		return c.cfg.signedIss
	}
	return c.issuer
}
