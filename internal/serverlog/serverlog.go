// Package serverlog routes what net/http's and x/net/http2's servers log
// (Server.ErrorLog) into a slog.Logger, at a level fit for who can cause
// it: a failed TLS handshake or a bad HTTP/2 preface is one line per
// connection that any peer can open, so it is Debug; only the server's own
// trouble (accepting connections, a handler's panic) is logged above it.
package serverlog

import (
	"bytes"
	"context"
	"log"
	"log/slog"
)

// ErrorLog returns a logger for http.Server.ErrorLog that writes to l:
//   - "http: Accept error" (out of file descriptors, say) at Warn, which
//     net/http repeats at most once a second while it lasts;
//   - a handler's panic at Error;
//   - everything else, which a peer can cause once per connection
//     (TLS handshake errors, HTTP/2 preface and frame errors, closed
//     connections), at Debug.
//
// A line is logged as its message, without the logger's trailing newline,
// so a text or JSON handler quotes whatever a peer put in it.
func ErrorLog(l *slog.Logger) *log.Logger {
	return log.New(writer{l}, "", 0)
}

type writer struct{ l *slog.Logger }

func (w writer) Write(p []byte) (int, error) {
	msg := bytes.TrimRight(p, "\n")
	level := slog.LevelDebug
	switch {
	case bytes.HasPrefix(msg, []byte("http: Accept error")):
		level = slog.LevelWarn
	case bytes.HasPrefix(msg, []byte("http: panic serving")):
		level = slog.LevelError
	}
	if w.l.Enabled(context.Background(), level) {
		w.l.Log(context.Background(), level, "http server", "detail", string(msg))
	}
	return len(p), nil
}
