package serverlog

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/testlog"
)

func TestErrorLogLevels(t *testing.T) {
	for _, tt := range []struct {
		line, want string
	}{
		{"http: TLS handshake error from 192.0.2.1:5000: tls: client offered only unsupported versions\n", "level=DEBUG"},
		{"http2: server: error reading preface from client 192.0.2.1:5000: bogus greeting \"\\x16\\x03\"\n", "level=DEBUG"},
		{"http: Accept error: accept tcp [::]:8080: accept4: too many open files; retrying in 1s\n", "level=WARN"},
		{"http: panic serving 192.0.2.1:5000: boom\ngoroutine 7 [running]:\n", "level=ERROR"},
		{"http2: panic serving 192.0.2.1:5000: boom\ngoroutine 7 [running]:\n", "level=ERROR"}, // review: h2's own prefix
		{"http: superfluous response.WriteHeader call from main.handler (main.go:12)\n", "level=WARN"},
		{"http: invalid Content-Length of \"x\"\n", "level=WARN"},
	} {
		var buf bytes.Buffer
		ErrorLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), nil).Print(tt.line)
		if got := buf.String(); !strings.HasPrefix(got[strings.Index(got, "level="):], tt.want) || strings.Count(got, "\n") != 1 {
			t.Errorf("%q logged as %q, want one line at %s", tt.line, got, tt.want)
		}
		buf.Reset()
		ErrorLog(slog.New(slog.NewTextHandler(&buf, nil)), nil).Print(tt.line) // Info
		if logged := buf.Len() > 0; logged != (tt.want != "level=DEBUG") {
			t.Errorf("%q at Info: logged %v", tt.line, logged)
		}
	}
}

// A real server: a client that fails its TLS handshake, as any peer can
// once per connection, is logged at Debug, never above.
func TestHandshakeErrorsAreDebug(t *testing.T) {
	var buf syncBuffer
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = ErrorLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), nil)
	srv.StartTLS()
	defer srv.Close()
	for range 3 {
		c, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{MaxVersion: tls.VersionTLS11, InsecureSkipVerify: true}) //nolint:gosec // the handshake must fail
		if err == nil {
			c.Close()
			t.Fatal("a TLS 1.1 handshake succeeded")
		}
		raw, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = raw.Write([]byte("GET / HTTP/1.1\r\n\r\n")) // plain text to a TLS port
		_, _ = io.Copy(io.Discard, raw)                    // until the server closes it
		raw.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(buf.String(), "TLS handshake error") < 6 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) < 6 {
		t.Fatalf("%d lines for 6 failed handshakes: %q", len(lines), buf.String())
	}
	for _, l := range lines {
		if !strings.Contains(l, "level=DEBUG") {
			t.Errorf("a failed handshake logged above Debug: %s", l)
		}
	}
}

type syncBuffer = testlog.Buffer

// A gateway's failed handshake (a wrong certificate or CA: every decision
// fails) is a warning, at most once a second; anyone else's stays Debug.
func TestGatewayHandshakeWarns(t *testing.T) {
	var buf syncBuffer
	gateway := func(remote string) bool { return strings.HasPrefix(remote, "10.0.0.") }
	l := ErrorLog(slog.New(slog.NewTextHandler(&buf, nil)), gateway) // Info
	for range 3 {
		l.Print("http: TLS handshake error from 192.0.2.9:4000: remote error: tls: unknown certificate authority\n")
		// A peer in the trusted range that only connects and closes (a
		// load balancer's check) warns of nothing, and takes no other
		// gateway's warning (second review).
		l.Print("http: TLS handshake error from 10.0.0.7:4000: EOF\n")
		l.Print("http: TLS handshake error from 10.0.0.7:4001: read tcp 10.0.0.9:443->10.0.0.7:4001: read: connection reset by peer\n")
		l.Print("http: TLS handshake error from 10.0.0.1:5000: remote error: tls: unknown certificate authority\n")
	}
	if got := strings.Count(buf.String(), "level=WARN"); got != 1 || !strings.Contains(buf.String(), "10.0.0.1:5000") {
		t.Errorf("logged at Info:\n%s\nwant one warning, for the gateway", buf.String())
	}
}

// Whatever a server line holds (peers put their address and bytes of
// their handshake in it), it is one record, at a level of the four, and
// never a panic.
func FuzzErrorLog(f *testing.F) {
	for _, s := range []string{"http: TLS handshake error from 10.0.0.1:5000: EOF\n", "http: TLS handshake error from : \n",
		"http: TLS handshake error from [::1]:1: remote error\n", "http2: panic serving x\n", "\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var buf bytes.Buffer
		l := ErrorLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), func(string) bool { return true })
		if n, err := l.Writer().Write([]byte(line)); n != len(line) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		if got := strings.Count(buf.String(), "\n"); got != 1 {
			t.Fatalf("%d records for %q: %q", got, line, buf.String())
		}
	})
}

// The memory of warned gateways stays bounded however many addresses
// fail their handshakes (attack review: a trusted range of many peers).
func TestWarnedBounded(t *testing.T) {
	w := &writer{l: slog.New(slog.NewTextHandler(io.Discard, nil)), gateway: func(string) bool { return true }}
	for i := range 10_000 {
		_, _ = fmt.Fprintf(w, "http: TLS handshake error from 10.%d.%d.%d:443: remote error: tls: bad certificate\n", i>>16&255, i>>8&255, i&255)
		if n := len(w.last); n > maxWarned {
			t.Fatalf("after %d addresses: %d remembered, want at most %d", i+1, n, maxWarned)
		}
	}
}
