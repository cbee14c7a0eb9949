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
	"sync/atomic"
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
//     once a second; gateway may be nil;
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
	last    atomic.Int64 // unix nanoseconds of the last gateway handshake line
}

var (
	handshake = []byte("http: TLS handshake error from ")
	warnings  = [][]byte{[]byte("http: Accept error"), []byte("http: superfluous response.WriteHeader"),
		[]byte("http: invalid Content-Length"), []byte("http: response.Write on hijacked connection"),
		[]byte("http: response.WriteHeader on hijacked connection")}
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
		if i := bytes.Index(rest, []byte(": ")); i > 0 && w.gateway(string(rest[:i])) {
			now := time.Now().UnixNano()
			if last := w.last.Load(); now-last >= int64(time.Second) && w.last.CompareAndSwap(last, now) {
				level = slog.LevelWarn
			}
		}
	}
	if w.l.Enabled(context.Background(), level) {
		w.l.Log(context.Background(), level, "http server", "detail", string(msg))
	}
	return len(p), nil
}

func hasAnyPrefix(b []byte, prefixes [][]byte) bool {
	for _, p := range prefixes {
		if bytes.HasPrefix(b, p) {
			return true
		}
	}
	return false
}
