package setup

import (
	"bufio"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/testcert"
)

// Deployment red team: the example services' listeners (run), as an
// operator starts them. Each test fails without the server limits.

// A request with 200 KiB of headers is refused with 431 on both listeners,
// as `bearerguard serve` refuses one over 64 KiB: without MaxHeaderBytes
// the default is 1 MiB per request, per connection.
func TestDeployHeaderCap(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s := startRun(t, []string{"--issuer", iss.URL, "--audience", "orders", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--startup-timeout", "0"}, guarded(iss.Client()))
	if s.Addr == "" {
		t.Fatalf("run did not start: %s", s.stderr.String())
	}
	for _, addr := range []string{s.Addr, s.MetricsAddr} {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 200<<10) + "\r\n\r\n"))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if !strings.HasPrefix(line, "HTTP/1.1 431") {
			t.Errorf("%s: 200 KiB of headers answered %q (%v), want 431", addr, strings.TrimSpace(line), err)
		}
	}
}

// A request body dripped one byte a second holds a connection only until
// the read timeout: `bearerguard serve` closes it after 10 s. Without
// ReadTimeout the server waits for the unread body of a refused POST (Go
// drains up to 256 KiB before it answers) for as long as the client
// keeps dripping, and a client can hold any number of connections so.
func TestDeploySlowBodyBounded(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	s := startRun(t, []string{"--issuer", iss.URL, "--audience", "orders", "--addr", "127.0.0.1:0", "--startup-timeout", "0"}, guarded(iss.Client()))
	if s.Addr == "" {
		t.Fatalf("run did not start: %s", s.stderr.String())
	}
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("POST /data HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for time.Since(start) < 14*time.Second {
		_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("a")); err != nil {
			return // closed: bounded
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		var b [1]byte
		if _, err := c.Read(b[:]); err != nil && !isTimeout(err) {
			return // closed: bounded
		}
	}
	t.Errorf("a request body dripped a byte a second still held the connection after %s", time.Since(start).Round(time.Second))
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// Every listener closes an idle keep-alive connection (without
// IdleTimeout or ReadTimeout one request buys a connection for ever).
func TestDeployServerLimits(t *testing.T) {
	srv := newServer(nil)
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 64<<10 {
		t.Errorf("server limits: %+v", srv)
	}
}

// A certificate renewed on disk (cert-manager, certbot: the files replaced)
// is served to new connections without a restart; until then the service
// went on serving the certificate it read at start, past its expiry.
func TestDeployTLSCertificateReload(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	testcert.Write(t, certFile, keyFile, "first")
	s := startRun(t, []string{"--issuer", iss.URL, "--audience", "orders", "--addr", "127.0.0.1:0", "--startup-timeout", "0",
		"--tls-cert", certFile, "--tls-key", keyFile}, guarded(iss.Client()))
	if s.Addr == "" {
		t.Fatalf("run did not start: %s", s.stderr.String())
	}
	if cn := testcert.ServedCN(t, s.Addr); cn != "first" {
		t.Fatalf("served %q at start", cn)
	}
	testcert.Write(t, certFile, keyFile, "renewed")
	deadline := time.Now().Add(5 * time.Second)
	for testcert.ServedCN(t, s.Addr) != "renewed" {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate is not served 5 s after the files were replaced")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
