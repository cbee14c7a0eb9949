package main

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/bearerguard/bearerguard/internal/httpfetch"
)

// maxRecordedAnswer bounds the introspection answer kept for display.
const maxRecordedAnswer = 64 << 10

// maxRecordedCalls bounds the outgoing requests listed for one
// inspection (discovery, JWKS, introspection: a handful).
const maxRecordedCalls = 16

// callRecorder is the transport of one inspection's HTTP client: it lists
// the requests made (method, URL without query, result) and keeps the
// body of answers to POST requests (introspection), bounded, to show.
// Request bodies, which carry the token, are never looked at. One
// recorder serves one inspection only.
type callRecorder struct {
	base http.RoundTripper

	mu     sync.Mutex
	calls  []outgoing
	posted []byte // the last answer to a POST, at most maxRecordedAnswer bytes
	full   bool   // posted was cut short
}

// RoundTrip implements http.RoundTripper.
func (c *callRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	u := *req.URL
	u.RawQuery, u.Fragment, u.User = "", "", nil
	call := outgoing{Method: req.Method, URL: u.String()}
	if err != nil {
		call.Result = "failed: " + httpfetch.Truncate(err.Error(), 200)
	} else {
		call.Result = strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
	}
	if err == nil && req.Method == http.MethodPost {
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, maxRecordedAnswer+1))
		full := len(b) > maxRecordedAnswer
		if full {
			b = b[:maxRecordedAnswer]
		}
		var rest io.Reader = resp.Body
		if rerr != nil {
			rest = errReader{rerr}
		}
		resp.Body = readCloser{io.MultiReader(bytes.NewReader(bytes.Clone(b)), rest), resp.Body}
		c.mu.Lock()
		c.posted, c.full = b, full
		c.mu.Unlock()
	}
	c.mu.Lock()
	if len(c.calls) < maxRecordedCalls {
		c.calls = append(c.calls, call)
	}
	c.mu.Unlock()
	return resp, err
}

func (c *callRecorder) snapshot() (calls []outgoing, posted []byte, full bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]outgoing{}, c.calls...), c.posted, c.full
}

type readCloser struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// clientFor returns the HTTP client of one inspection: the one given to
// the command (tests: one that trusts their issuer) or the libraries'
// own kind, with timeouts and the URL policy on redirects, recording
// through rec.
func (s *inspectServer) clientFor(rec *callRecorder) *http.Client {
	base := s.client
	if base == nil {
		base = s.defaultClient
	}
	tr := base.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	rec.base = tr
	return &http.Client{Transport: rec, CheckRedirect: base.CheckRedirect, Timeout: base.Timeout, Jar: nil}
}
