// Package httpfetch is the bounded HTTP plumbing shared by jwks, discovery
// and introspection: a URL policy (HTTPS, or plain HTTP to loopback only
// when allowed), a default client with timeouts and a safe redirect policy,
// and reads with a byte cap and a status check.
package httpfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Errors.
var (
	ErrInsecureURL = errors.New("URL must use https (plain http is allowed only for loopback hosts, and only when enabled)")
	ErrTooLarge    = errors.New("response body exceeds the size limit")
)

// StatusError reports a response status other than the one expected.
type StatusError struct {
	Code       int
	RetryAfter time.Duration // from a Retry-After header, if any
}

// Error names the status; the response body is never included.
func (e *StatusError) Error() string { return "unexpected HTTP status " + strconv.Itoa(e.Code) }

// ContentTypeError reports an HTML response where JSON was expected.
type ContentTypeError struct{ MediaType string }

// Error names the media type, cut short.
func (e *ContentTypeError) Error() string {
	return fmt.Sprintf("unexpected content type %q", e.MediaType)
}

// CheckURL parses raw and applies the policy: https always; http only if
// allowLoopbackHTTP and the host is a loopback address or "localhost".
func CheckURL(raw string, allowLoopbackHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's *url.Error holds the raw URL, password included:
		// keep only its reason.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid URL (not shown: it may hold a password): %w", err)
	}
	if u.Hostname() == "" || u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("invalid URL %q: needs a host, and no user info or fragment", Redact(raw))
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if allowLoopbackHTTP && IsLoopback(u.Hostname()) {
			return u, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrInsecureURL, Redact(raw))
}

// Redact returns rawURL for logs, spans, metric labels and errors: no
// user info, no fragment, and each query value replaced by "REDACTED" (a
// signed URL's "sig" or "X-Amz-Signature" is a credential; OpenTelemetry's
// url.full asks for the same). The keys stay, for the operator; a bare
// name goes too. A URL whose user info could hide in its path, fragment or
// opaque part shows as its scheme only; "" stays "".
func Redact(rawURL string) string {
	if rawURL == "" {
		return "" // nothing configured (yet): nothing to hide
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.Opaque != "" || u.Host == "" || strings.Contains(u.Path, "@") || strings.Contains(u.Fragment, "@") {
		// "https:user:pw@host/…" (no "//") parses as opaque, and
		// "https:/user:pw@host/…" or "https:///user:pw@…" as a path
		// without a host; a password with an unescaped "/" puts its tail
		// in the path, one with "#" in the fragment: any of it may be user
		// info.
		return u.Scheme + ":(not shown)"
	}
	u.User, u.Fragment, u.RawFragment = nil, "", ""
	if u.RawQuery != "" {
		// Names stay, values go; a part without "=" ("?APIKEY") may be the
		// credential itself, and goes whole.
		parts := strings.FieldsFunc(u.RawQuery, func(r rune) bool { return r == '&' || r == ';' })
		for i, p := range parts {
			if name, _, ok := strings.Cut(p, "="); ok {
				parts[i] = name + "=REDACTED"
			} else if p != "" {
				parts[i] = "REDACTED"
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	u.ForceQuery = false
	return u.String()
}

// IsLoopback reports whether host is "localhost" or a loopback IP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Default timeouts of [NewClient].
const (
	DefaultTimeout = 10 * time.Second
	maxRedirects   = 3
)

// MaxResponseHeaderBytes bounds the response headers [NewClient]'s client
// reads (net/http's default is 10 MiB): an authorization server is not
// trusted to be bounded, and a body is read up to 1 MiB.
const MaxResponseHeaderBytes = 64 << 10

// NewClient returns a client with timeouts (10 s in all, 5 s to connect
// and to receive headers), response headers of at most
// [MaxResponseHeaderBytes], whose redirects must pass the same URL policy,
// at most 3 of them, and which dials "localhost" as a loopback address
// without resolving it ([LoopbackNames]) and never through a proxy
// ([DirectToLoopback]).
func NewClient(allowLoopbackHTTP bool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 5 * time.Second
	tr.TLSHandshakeTimeout = 5 * time.Second
	tr.MaxIdleConnsPerHost = 4
	tr.MaxResponseHeaderBytes = MaxResponseHeaderBytes
	tr.DialContext = LoopbackNames((&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext)
	tr.Proxy = DirectToLoopback(tr.Proxy)
	return &http.Client{
		Timeout:       DefaultTimeout,
		Transport:     tr,
		CheckRedirect: RedirectPolicy(allowLoopbackHTTP),
	}
}

// LoopbackNames wraps dial so that "localhost" (any case) is never
// resolved: it is dialled as 127.0.0.1, then as ::1 if that fails (RFC
// 6761, section 6.3). [CheckURL] lets plain http through to "localhost"
// when loopback HTTP is allowed; a resolver (a hosts file without the
// name, a DNS search domain) must not send that plain text off the
// machine. Any other address is dialled as given.
func LoopbackNames(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || !strings.EqualFold(host, "localhost") {
			return dial(ctx, network, addr)
		}
		c, err4 := dial(ctx, network, net.JoinHostPort("127.0.0.1", port))
		if err4 == nil {
			return c, nil
		}
		c, err6 := dial(ctx, network, net.JoinHostPort("::1", port))
		if err6 == nil {
			return c, nil
		}
		return nil, errors.Join(err4, err6)
	}
}

// DirectToLoopback wraps proxy (nil: no proxy) so that a request to a
// loopback host ([IsLoopback]: "localhost" in any case, or a loopback
// address) never goes through it. The environment's proxy settings skip
// "localhost" in lower case only: plain HTTP allowed to "LocalHost" would
// otherwise reach the proxy, off the machine.
func DirectToLoopback(proxy func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	return func(r *http.Request) (*url.URL, error) {
		if proxy == nil || IsLoopback(r.URL.Hostname()) {
			return nil, nil
		}
		return proxy(r)
	}
}

// RedirectPolicy returns a CheckRedirect function that allows at most 3
// redirects, each to a URL that passes [CheckURL].
func RedirectPolicy(allowLoopbackHTTP bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return errors.New("too many redirects")
		}
		_, err := CheckURL(req.URL.String(), allowLoopbackHTTP)
		return err
	}
}

// HoldToPolicy returns a shallow copy of c whose redirects must also pass
// [RedirectPolicy], before c's own CheckRedirect (if any) is asked: a
// caller's client (a proxy, a private CA) must not loosen the URL policy.
func HoldToPolicy(c *http.Client, allowLoopbackHTTP bool) *http.Client {
	held := *c
	own, policy := c.CheckRedirect, RedirectPolicy(allowLoopbackHTTP)
	held.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := policy(req, via); err != nil {
			return err
		}
		if own != nil {
			return own(req, via)
		}
		return nil
	}
	return &held
}

// Response is a fully read, bounded response.
type Response struct {
	Body   []byte
	Header http.Header
}

// errUnparseableLocation stands for net/http's error on a redirect whose
// Location does not parse, which quotes it.
var errUnparseableLocation = errors.New("a redirect's Location does not parse (not shown)")

// Do sends req and reads the body, at most limit bytes. A status other than
// 200 is a *StatusError; an HTML response is a *ContentTypeError. Any other
// body is returned for the caller's parser to judge.
func Do(client *http.Client, req *http.Request, limit int64) (*Response, error) {
	resp, err := client.Do(req)
	if err != nil {
		// Go's *url.Error holds the request URL, query and all.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			ue.URL = Redact(ue.URL)
			// net/http quotes a Location it cannot parse whole, before any
			// redirect policy sees it: it may carry the request's query
			// (a signature, an API key) or user info.
			if ue.Err != nil && strings.HasPrefix(ue.Err.Error(), "failed to parse Location header") {
				ue.Err = errUnparseableLocation
			}
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused, never much.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, &StatusError{Code: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		// An HTML page is an error page or a login portal, never keys.
		// Other types are left to the JSON parser: static hosts serve JWKS
		// as text/plain or application/octet-stream.
		if mt, _, err := mime.ParseMediaType(ct); err == nil && (mt == "text/html" || mt == "application/xhtml+xml") {
			return nil, &ContentTypeError{MediaType: Truncate(ct, 64)}
		}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading response body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, ErrTooLarge
	}
	return &Response{Body: body, Header: resp.Header}, nil
}

// Get is Do for a GET of rawURL with the given Accept header.
func Get(ctx context.Context, client *http.Client, rawURL, accept string, extra http.Header, limit int64) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	for k, vs := range extra {
		req.Header[k] = vs
	}
	return Do(client, req, limit)
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(min(secs, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}

// MaxAge returns the max-age of a Cache-Control header and whether one
// applies. no-store and no-cache count as max-age=0.
func MaxAge(cacheControl string) (time.Duration, bool) {
	for _, d := range strings.Split(cacheControl, ",") {
		d = strings.TrimSpace(strings.ToLower(d))
		switch {
		case d == "no-store" || d == "no-cache":
			return 0, true
		case strings.HasPrefix(d, "max-age="):
			secs, err := strconv.ParseInt(strings.Trim(d[len("max-age="):], `"`), 10, 64)
			if err != nil || secs < 0 {
				continue
			}
			return time.Duration(min(secs, 1<<31)) * time.Second, true
		}
	}
	return 0, false
}

// Truncate shortens untrusted text (a media type, an issuer, a key type)
// to n bytes before it goes into an error message.
func Truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
