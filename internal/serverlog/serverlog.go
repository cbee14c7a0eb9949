// Package serverlog routes what net/http's and x/net/http2's servers log
// (Server.ErrorLog) into a slog.Logger, at a level fit for who can cause
// it: a failed TLS handshake or a bad HTTP/2 preface is one line per
// connection that any peer can open, so it is Debug; the server's own
// trouble (accepting connections, a handler's panic, a handler misusing
// its ResponseWriter) and a gateway's failed handshake are logged above it.
package serverlog

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"net"
	"sync"
	"time"
)

// ErrorLog returns a logger for http.Server.ErrorLog that writes to l:
//   - a handler's panic (HTTP/1 and HTTP/2) at Error;
//   - "http: Accept error" (out of file descriptors, say), which net/http
//     repeats at most once a second while it lasts, and a handler's misuse
//     of its ResponseWriter (a superfluous WriteHeader, a wrong
//     Content-Length) at Warn;
//   - a failed TLS handshake from a peer gateway says is one (its
//     certificate or CA is wrong: every decision fails) at Warn, at most
//     once a second per address, unless the peer only went away (EOF, a
//     reset, a timeout); gateway may be nil;
//   - everything else, which a peer can cause once per connection
//     (handshake errors, HTTP/2 preface and frame errors), at Debug.
//
// A line is logged as an attribute, without the logger's trailing newline,
// so a text or JSON handler quotes whatever a peer put in it.
func ErrorLog(l *slog.Logger, gateway func(remoteAddr string) bool) *log.Logger {
	return log.New(&writer{l: l, gateway: gateway}, "", 0)
}

type writer struct {
	l       *slog.Logger
	gateway func(string) bool

	mu   sync.Mutex
	last map[string]time.Time // the last warning by gateway address; at most maxWarned
}

// maxWarned bounds the gateways whose last warning is remembered: past
// it the memory is cleared (and each may warn once more).
const maxWarned = 64

var (
	handshake = []byte("http: TLS handshake error from ")
	warnings  = [][]byte{[]byte("http: Accept error"), []byte("http: superfluous response.WriteHeader"),
		[]byte("http: invalid Content-Length"), []byte("http: response.Write on hijacked connection"),
		[]byte("http: response.WriteHeader on hijacked connection"), []byte("http: WriteHeader called with both Transfer-Encoding")}
)

func (w *writer) Write(p []byte) (int, error) {
	msg := bytes.TrimRight(p, "\n")
	level := slog.LevelDebug
	switch {
	case bytes.HasPrefix(msg, []byte("http: panic serving")), bytes.HasPrefix(msg, []byte("http2: panic serving")):
		level = slog.LevelError
	case hasAnyPrefix(msg, warnings):
		level = slog.LevelWarn
	case bytes.HasPrefix(msg, handshake) && w.gateway != nil:
		rest := msg[len(handshake):]
		if i := bytes.Index(rest, []byte(": ")); i > 0 && !quiet(rest[i+2:]) && w.gateway(string(rest[:i])) && w.due(string(rest[:i])) {
			level = slog.LevelWarn
		}
	}
	if w.l.Enabled(context.Background(), level) {
		w.l.Log(context.Background(), level, "http server", "detail", string(msg))
	}
	return len(p), nil
}

// quiet reports whether a handshake error says only that the peer went
// away (a load balancer's TCP check, a closed connection, a timeout):
// nothing about certificates or versions to warn of.
func quiet(reason []byte) bool {
	for _, q := range [][]byte{[]byte("EOF"), []byte("connection reset"), []byte("broken pipe"), []byte("i/o timeout"), []byte("use of closed network connection")} {
		if bytes.Contains(reason, q) {
			return true
		}
	}
	return false
}

// due reports whether the gateway at remote (host:port) may warn now: at
// most once a second each, so that one peer in the trusted range cannot
// take another's warning.
func (w *writer) due(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if last, ok := w.last[host]; ok && now.Sub(last) < time.Second {
		return false
	}
	if w.last == nil || len(w.last) >= maxWarned {
		w.last = make(map[string]time.Time)
	}
	w.last[host] = now
	return true
}

func hasAnyPrefix(b []byte, prefixes [][]byte) bool {
	for _, p := range prefixes {
		if bytes.HasPrefix(b, p) {
			return true
		}
	}
	return false
}
