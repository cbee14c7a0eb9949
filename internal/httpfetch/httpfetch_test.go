package httpfetch

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMaxAge(t *testing.T) {
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"public", 0, false},
		{"max-age=60", time.Minute, true},
		{"public, max-age=3600, must-revalidate", time.Hour, true},
		{`MAX-AGE="30"`, 30 * time.Second, true},
		{"no-store", 0, true},
		{"no-cache, max-age=60", 0, true},
		{"max-age=-1", 0, false},
		{"max-age=99999999999999999999", 0, false},
		{"max-age=99999999999", (1 << 31) * time.Second, true},
	}
	for _, tt := range tests {
		got, ok := MaxAge(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("MaxAge(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{"999999999", 24 * time.Hour},
		{"-5", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestDo(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		limit   int64
		check   func(error) bool
	}{
		{"ok", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Write([]byte(`{}`))
		}, 100, func(err error) bool { return err == nil }},
		{"ok without content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil
			w.Write([]byte(`{}`))
		}, 100, func(err error) bool { return err == nil }},
		{"text/plain from a static host", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(`{}`))
		}, 100, func(err error) bool { return err == nil }},
		{"jwk-set+json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/jwk-set+json")
			w.Write([]byte(`{}`))
		}, 100, func(err error) bool { return err == nil }},
		{"html", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<html>`))
		}, 100, func(err error) bool { var ce *ContentTypeError; return errors.As(err, &ce) }},
		{"404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, 100,
			func(err error) bool { var se *StatusError; return errors.As(err, &se) && se.Code == 404 }},
		{"429 retry-after", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
		}, 100, func(err error) bool {
			var se *StatusError
			return errors.As(err, &se) && se.RetryAfter == 7*time.Second
		}},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(strings.Repeat(" ", 101)))
		}, 100, func(err error) bool { return errors.Is(err, ErrTooLarge) }},
		{"exactly the limit", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(strings.Repeat(" ", 100)))
		}, 100, func(err error) bool { return err == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(tt.handler)
			defer srv.Close()
			_, err := Get(t.Context(), srv.Client(), srv.URL, "application/json", nil, tt.limit)
			if !tt.check(err) {
				t.Errorf("Get() error = %v", err)
			}
		})
	}
}

func TestRedirectPolicy(t *testing.T) {
	target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{}`))
	}))
	defer target.Close()
	var redirector *httptest.Server
	redirector = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-http":
			http.Redirect(w, r, "http://example.com/jwks", http.StatusFound)
		case "/to-https":
			http.Redirect(w, r, target.URL, http.StatusFound)
		case "/loop":
			http.Redirect(w, r, redirector.URL+"/loop", http.StatusFound)
		}
	}))
	defer redirector.Close()
	client := redirector.Client()
	client.CheckRedirect = RedirectPolicy(false)
	if _, err := Get(t.Context(), client, redirector.URL+"/to-http", "", nil, 100); !errors.Is(err, ErrInsecureURL) {
		t.Errorf("redirect to http: %v, want ErrInsecureURL", err)
	}
	if _, err := Get(t.Context(), client, redirector.URL+"/loop", "", nil, 100); err == nil || !strings.Contains(err.Error(), "too many redirects") {
		t.Errorf("redirect loop: %v", err)
	}
	if _, err := Get(t.Context(), client, redirector.URL+"/to-https", "", nil, 100); err != nil {
		t.Errorf("redirect to https: %v", err)
	}
}

func TestNewClientHasTimeouts(t *testing.T) {
	c := NewClient(false)
	if c.Timeout == 0 || c.CheckRedirect == nil || c.Transport.(*http.Transport).ResponseHeaderTimeout == 0 {
		t.Errorf("NewClient() = %+v, want timeouts and a redirect policy", c)
	}
}

// Redact keeps what an operator needs to tell endpoints apart and drops
// what may be a credential: user info, a fragment, every query value.
func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"https://as.example.com/jwks", "https://as.example.com/jwks"},
		{"https://as.example.com/keys?sv=2024&sig=SECRET", "https://as.example.com/keys?sv=REDACTED&sig=REDACTED"},
		{"https://rs:HUNTER2@as.example.com/introspect", "https://as.example.com/introspect"},
		{"https://as.example.com/jwks#SECRET", "https://as.example.com/jwks"},
		{"https://as.example.com:44x/jwks?sig=SECRET", "(unparseable URL)"},
		{"http://127.0.0.1:8080/?X-Amz-Signature=SECRET&X-Amz-Signature=SECRET2", "http://127.0.0.1:8080/?X-Amz-Signature=REDACTED&X-Amz-Signature=REDACTED"},
		{"https://as.example.com/jwks?SECRET", "https://as.example.com/jwks?REDACTED"},
		{"https://as.example.com/jwks?a=1&SECRET&", "https://as.example.com/jwks?a=REDACTED&REDACTED"},
		{"https://as.example.com/jwks?SECRET;v=2", "https://as.example.com/jwks?REDACTED&v=REDACTED"},
		{"https:/rs:HUNTER2@as.example.com/introspect", "https:(not shown)"},
		{"https:///rs:HUNTER2@as.example.com/introspect", "https:(not shown)"},
		{"https://:1234/HUNTER2@as.example.com/jwks", "https:(not shown)"},
		{"https://rs:1234#HUNTER2@as.example.com/jwks", "https:(not shown)"},
		{"https://as.example.com/jwks?", "https://as.example.com/jwks"},
		{"https:rs:HUNTER2@as.example.com/introspect", "https:(not shown)"},
		{"https:SECRET", "https:(not shown)"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want || strings.Contains(got, "SECRET") || strings.Contains(got, "HUNTER2") {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if _, err := CheckURL("https://rs:HUNTER2@as.example.com:44x/introspect", false); err == nil || strings.Contains(err.Error(), "HUNTER2") {
		t.Errorf("CheckURL of an unparseable URL with a password: %v", err)
	}
}

func TestLoopbackNames(t *testing.T) {
	refused := errors.New("refused")
	tests := []struct {
		addr   string
		fail   map[string]bool // addresses whose dial fails
		dialed []string
		ok     bool
	}{
		{addr: "localhost:8080", dialed: []string{"127.0.0.1:8080"}, ok: true},
		{addr: "LocalHost:443", dialed: []string{"127.0.0.1:443"}, ok: true},
		{addr: "localhost:8080", fail: map[string]bool{"127.0.0.1:8080": true}, dialed: []string{"127.0.0.1:8080", "[::1]:8080"}, ok: true},
		{addr: "localhost:8080", fail: map[string]bool{"127.0.0.1:8080": true, "[::1]:8080": true}, dialed: []string{"127.0.0.1:8080", "[::1]:8080"}},
		// Any other name is the dialer's to resolve, an address is dialled as is.
		{addr: "id.example.com:443", dialed: []string{"id.example.com:443"}, ok: true},
		{addr: "localhost.example.com:443", dialed: []string{"localhost.example.com:443"}, ok: true},
		{addr: "127.0.0.1:80", dialed: []string{"127.0.0.1:80"}, ok: true},
		{addr: "[::1]:80", dialed: []string{"[::1]:80"}, ok: true},
		{addr: "no port", dialed: []string{"no port"}, ok: true},
	}
	for _, tt := range tests {
		var dialed []string
		dial := LoopbackNames(func(_ context.Context, network, addr string) (net.Conn, error) {
			dialed = append(dialed, addr)
			if tt.fail[addr] {
				return nil, refused
			}
			c1, c2 := net.Pipe()
			c2.Close()
			return c1, nil
		})
		c, err := dial(context.Background(), "tcp", tt.addr)
		if (err == nil) != tt.ok || !slices.Equal(dialed, tt.dialed) {
			t.Errorf("dial %q: dialed %q, err %v; want %q, ok %v", tt.addr, dialed, err, tt.dialed, tt.ok)
		}
		if err != nil && !errors.Is(err, refused) {
			t.Errorf("dial %q: error %v does not wrap the dialer's", tt.addr, err)
		}
		if c != nil {
			c.Close()
		}
	}
}

// TestNewClientDialsLocalhostAsLoopback: NewClient's transport dials
// "localhost" through LoopbackNames, both loopback addresses tried in
// order, each error kept (a resolver would give one address, or none).
func TestNewClientDialsLocalhostAsLoopback(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close() // nothing listens there now
	_, err = NewClient(true).Transport.(*http.Transport).DialContext(context.Background(), "tcp", "LocalHost:"+port)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:"+port) || !strings.Contains(err.Error(), "[::1]:"+port) {
		t.Errorf("dial LocalHost:%s: %v; want both loopback addresses tried", port, err)
	}
}

func TestDirectToLoopback(t *testing.T) {
	proxyURL, _ := url.Parse("http://proxy.example.com:3128")
	always := func(*http.Request) (*url.URL, error) { return proxyURL, nil }
	for _, tt := range []struct {
		url     string
		proxied bool
	}{
		{"http://localhost:9/jwks", false},
		{"http://LocalHost:9/jwks", false},
		{"http://LOCALHOST/introspect", false},
		{"http://127.0.0.1:8080/", false},
		{"http://[::1]:8080/", false},
		{"https://id.example.com/jwks", true},
		{"https://localhost.example.com/jwks", true},
	} {
		req, _ := http.NewRequest("GET", tt.url, nil)
		got, err := DirectToLoopback(always)(req)
		if err != nil || (got != nil) != tt.proxied {
			t.Errorf("%s: proxy %v, %v; want proxied %v", tt.url, got, err, tt.proxied)
		}
		if got, _ := DirectToLoopback(nil)(req); got != nil {
			t.Errorf("%s: no proxy configured, got %v", tt.url, got)
		}
	}
}

// TestNewClientSkipsEnvironmentProxyForLoopback runs a child process with
// HTTP_PROXY set (net/http reads the environment once per process): its
// NewClient sends plain HTTP to "localhost" in any case straight to
// loopback, never to the proxy, which stands for one off the machine.
func TestNewClientSkipsEnvironmentProxyForLoopback(t *testing.T) {
	if target := os.Getenv("HTTPFETCH_PROXY_CHILD"); target != "" {
		for _, host := range []string{"localhost", "LocalHost", "LOCALHOST", "127.0.0.1"} {
			_, _ = Get(context.Background(), NewClient(true), "http://"+host+":"+target+"/jwks", "application/json", nil, 1<<10)
		}
		return
	}
	proxy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	var mu sync.Mutex
	var proxied []string
	go func() {
		for {
			c, err := proxy.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			mu.Lock()
			proxied = append(proxied, strings.TrimSpace(line))
			mu.Unlock()
			_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"))
			c.Close()
		}
	}()
	var direct atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		direct.Add(1)
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	cmd := exec.Command(os.Args[0], "-test.run=^TestNewClientSkipsEnvironmentProxyForLoopback$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HTTPFETCH_PROXY_CHILD="+port, "HTTP_PROXY=http://"+proxy.Addr().String(), "http_proxy=", "NO_PROXY=", "no_proxy=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(proxied) != 0 || direct.Load() != 4 {
		t.Errorf("proxied %q, served directly %d of 4", proxied, direct.Load())
	}
}

// NewClient reads response headers up to MaxResponseHeaderBytes, not
// net/http's 10 MiB: an introspection or JWKS endpoint is not trusted to
// be bounded, and 64 requests in flight would hold 10 MiB each.
func TestNewClientBoundsResponseHeaders(t *testing.T) {
	for _, tt := range []struct {
		name   string
		header int
		ok     bool
	}{
		{"small headers", 1 << 10, true},
		{"just under the bound", MaxResponseHeaderBytes - 1024, true},
		{"past the bound", 2 * MaxResponseHeaderBytes, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("X-Pad", strings.Repeat("a", tt.header))
				_, _ = w.Write([]byte("{}"))
			}))
			defer srv.Close()
			resp, err := NewClient(true).Get(srv.URL)
			if err == nil {
				resp.Body.Close()
			}
			if (err == nil) != tt.ok {
				t.Errorf("GET with %d bytes of headers: %v, want ok=%v", tt.header, err, tt.ok)
			}
		})
	}
}
