package bearerguard_test

// Fault injection: real servers (plain HTTP on loopback, on a listener the
// test controls) that misbehave on cue, in front of a key set and an
// introspection endpoint. For each fault: what the validator answers, that
// cached good keys and answers keep serving, that recovery follows when
// the server heals, and that nothing is left running or held in memory.

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/internal/leakcheck"
	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

// flaky is an HTTP server whose behaviour the test switches. Its listening
// socket stays open for the whole test, so after an outage the server is
// back on the same URL at once, with no port to bind again. While it is
// gone, every connection is reset before a byte is answered: new ones as
// they are accepted, and ones opened earlier at their next request.
type flaky struct {
	addr string

	mu      sync.Mutex
	fault   http.HandlerFunc // nil: healthy
	healthy http.HandlerFunc
	gone    bool
}

func newFlaky(t *testing.T, healthy http.HandlerFunc) *flaky {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &flaky{addr: ln.Addr().String(), healthy: healthy}
	srv := &http.Server{Handler: http.HandlerFunc(f.serve), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(gate{ln, f})
	t.Cleanup(func() { srv.Close() })
	return f
}

func (f *flaky) url(path string) string { return "http://" + f.addr + path }

func (f *flaky) isGone() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gone
}

func (f *flaky) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	gone, h := f.gone, f.fault
	if h == nil {
		h = f.healthy
	}
	f.mu.Unlock()
	if gone { // a connection opened before the server went
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			reset(conn)
		}
		return
	}
	h(w, r)
}

// gate is flaky's listener: while the server is gone it resets each
// connection it accepts instead of handing it to the HTTP server.
type gate struct {
	net.Listener
	f *flaky
}

func (g gate) Accept() (net.Conn, error) {
	for {
		conn, err := g.Listener.Accept()
		if err != nil || !g.f.isGone() {
			return conn, err
		}
		reset(conn)
	}
}

// reset closes conn with a TCP RST rather than an orderly FIN.
func reset(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// set switches to a fault; gone takes the whole server away.
func (f *flaky) set(fault http.HandlerFunc, gone bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault, f.gone = fault, gone
}

// heal restores the server and its healthy answers.
func (f *flaky) heal() { f.set(nil, false) }

// faults are the misbehaviours, shared by the JWKS and introspection suites.
func faults(keysDoc func() string) []struct {
	name string
	h    http.HandlerFunc
	gone bool
} {
	status := func(code int, retryAfter string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			http.Error(w, "upstream-detail-that-must-not-leak", code)
		}
	}
	return []struct {
		name string
		h    http.HandlerFunc
		gone bool
	}{
		{"server gone, connections reset", nil, true},
		{"hang past the timeout", func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, false},
		{"reset mid-body", func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{\"keys\":[{\"kty\":")
			buf.Flush()
			reset(conn)
		}, false},
		{"500", status(500, ""), false},
		{"502", status(502, ""), false},
		{"503 with Retry-After", status(503, "30"), false},
		{"429 with Retry-After", status(429, "120"), false},
		{"every key removed", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"keys":[]}`)
		}, false},
		{"keys change on every fetch", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, keysDoc())
		}, false},
		{"1 GiB stream", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			chunk := []byte(strings.Repeat(" ", 64<<10))
			for i := 0; i < (1<<30)/len(chunk); i++ {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, false},
		{"redirect to another host", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://attacker.example/keys", http.StatusFound)
		}, false},
		{"HTML", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html><body>Bad gateway</body></html>")
		}, false},
	}
}

func edKeyDoc(kid string, pub ed25519.PublicKey) string {
	return jwstest.JSON(map[string]any{"keys": []any{map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": jwstest.Encode(pub)}}})
}

func edToken(kid string, priv ed25519.PrivateKey, iss string, over map[string]any) string {
	c := jwstest.Claims(map[string]any{"iss": iss, "aud": "orders", "sub": "svc", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}, over)
	return jwstest.Token(`{"alg":"EdDSA","kid":"`+kid+`"}`, c, jwstest.EdDSA(priv))
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func TestKeySetFaults(t *testing.T) {
	pubA, privA, _ := ed25519.GenerateKey(rand.Reader)
	pubB, privB, _ := ed25519.GenerateKey(rand.Reader)
	var mu sync.Mutex
	doc := edKeyDoc("a", pubA)
	randomDoc := func() string {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		return edKeyDoc(fmt.Sprintf("random-%x", pub[:4]), pub)
	}
	for _, fault := range faults(randomDoc) {
		t.Run(fault.name, func(t *testing.T) {
			leakcheck.Check(t)
			mu.Lock()
			doc = edKeyDoc("a", pubA)
			mu.Unlock()
			srv := newFlaky(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				d := doc
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, d)
			})
			const iss = "https://issuer.example/"
			log, logs := captureLogs()
			keys, err := jwks.New(srv.url("/jwks"), jwks.WithInsecureLoopbackHTTP(), jwks.WithFetchTimeout(500*time.Millisecond),
				jwks.WithMinRefetchInterval(time.Millisecond), jwks.WithLogger(log))
			if err != nil {
				t.Fatal(err)
			}
			defer keys.Close()
			v, err := validator.New(validator.WithIssuer(iss, keys), validator.WithAudience("orders"))
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			tokA := edToken("a", privA, iss, nil)
			if _, err := v.Validate(ctx, tokA); err != nil {
				t.Fatalf("healthy: %v", err)
			}
			heapBefore := heapInUse()

			srv.set(fault.h, fault.gone)
			refreshErr := keys.Refresh(ctx)
			_, errA := v.Validate(ctx, edToken("a", privA, iss, map[string]any{"jti": "fresh"}))
			_, errB := v.Validate(ctx, edToken("b", privB, iss, nil))
			t.Logf("refresh: %v", refreshErr)
			t.Logf("known kid: %v; new kid: %v", errA, errB)
			switch fault.name {
			case "keys change on every fetch":
				// The issuer really replaced its keys: the old key is gone.
				if refreshErr != nil || !errors.Is(errA, validator.ErrUnknownKey) {
					t.Errorf("replaced keys: refresh %v, old key %v; want the old key dropped", refreshErr, errA)
				}
			case "every key removed":
				// The issuer's word, not an outage: the removed keys are
				// trusted no longer, and every token is answered 503.
				if refreshErr == nil || !errors.Is(errA, validator.ErrKeysUnavailable) {
					t.Errorf("every key removed: refresh %v, old key %v; want the old key dropped, unavailable", refreshErr, errA)
				}
			default:
				if refreshErr == nil {
					t.Error("refresh against a faulty server succeeded")
				}
				if errA != nil {
					t.Errorf("cached good key stopped serving: %v", errA)
				}
			}
			// A new kid: unknown once a refetch says so; while the refetch
			// fails nobody can tell, and the answer is 503, not 401.
			switch wantB := validator.ErrKeysUnavailable; {
			case fault.name == "keys change on every fetch":
				if !errors.Is(errB, validator.ErrUnknownKey) {
					t.Errorf("new kid, keys replaced: %v, want ErrUnknownKey", errB)
				}
			case !errors.Is(errB, wantB) && !errors.Is(errB, validator.ErrUnknownKey):
				t.Errorf("new kid during the fault: %v, want %v (or ErrUnknownKey within the refetch limit)", errB, wantB)
			}
			if grown := int64(heapInUse()) - int64(heapBefore); grown > 8<<20 {
				t.Errorf("heap grew by %d bytes during the fault", grown)
			}
			if strings.Contains(logs.String(), "upstream-detail") {
				t.Error("upstream body reached the logs")
			}

			mu.Lock()
			doc = edKeyDoc("a", pubA)[:len(edKeyDoc("a", pubA))-2] + "," + edKeyDoc("b", pubB)[9:]
			mu.Unlock()
			srv.heal()
			if err := keys.Refresh(ctx); err != nil {
				t.Fatalf("after healing: %v", err)
			}
			if _, err := v.Validate(ctx, edToken("b", privB, iss, map[string]any{"jti": "healed"})); err != nil {
				t.Errorf("new key after healing: %v", err)
			}
			if _, err := v.Validate(ctx, edToken("a", privA, iss, map[string]any{"jti": "healed"})); err != nil {
				t.Errorf("old key after healing: %v", err)
			}
		})
	}
}

func TestIntrospectionFaults(t *testing.T) {
	var mu sync.Mutex
	active := map[string]bool{}
	for _, fault := range faults(func() string { return `{"active":true}` }) {
		if fault.name == "every key removed" || fault.name == "keys change on every fetch" {
			continue // key-set faults
		}
		t.Run(fault.name, func(t *testing.T) {
			leakcheck.Check(t)
			srv := newFlaky(t, func(w http.ResponseWriter, r *http.Request) {
				if u, p, ok := r.BasicAuth(); !ok || u != "api" || p != "api-secret" {
					http.Error(w, "invalid_client", http.StatusUnauthorized)
					return
				}
				mu.Lock()
				ok := active[r.PostFormValue("token")]
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"active":%v,"aud":"orders","scope":"read:data"}`, ok)
			})
			clock := testclock.New(time.Now())
			ic, err := introspect.New(srv.url("/introspect"), introspect.ClientSecretBasic("api", "api-secret"), introspect.WithClock(clock.Now),
				introspect.WithInsecureLoopbackHTTP(), introspect.WithTimeout(500*time.Millisecond), introspect.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			defer ic.Close()
			v, err := validator.New(validator.WithIntrospection("https://issuer.example/", ic), validator.WithAudience("orders"))
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			mu.Lock()
			active["cached-token"], active["new-token"] = true, true
			mu.Unlock()
			if _, err := v.Validate(ctx, "cached-token"); err != nil {
				t.Fatalf("healthy: %v", err)
			}
			srv.set(fault.h, fault.gone)
			if _, err := v.Validate(ctx, "cached-token"); err != nil {
				t.Errorf("cached answer stopped serving: %v", err)
			}
			_, err = v.Validate(ctx, "new-token")
			t.Logf("uncached token during the fault: %v", err)
			if !errors.Is(err, validator.ErrIntrospectionUnavailable) {
				t.Errorf("uncached token during the fault: %v, want unavailable (503)", err)
			}
			if c := validator.ChallengeFor(err, ""); c.Status != http.StatusServiceUnavailable || strings.Contains(c.Description, "upstream") {
				t.Errorf("answer %+v", c)
			}
			srv.heal()
			if strings.Contains(fault.name, "Retry-After") {
				// The endpoint asked for quiet: none of its requests until
				// then (at most validator.MaxRetryAfter), healed or not.
				if _, err := v.Validate(ctx, "new-token"); !errors.Is(err, validator.ErrIntrospectionUnavailable) {
					t.Errorf("healed, within the Retry-After: %v, want unavailable without a request", err)
				}
				clock.Advance(validator.MaxRetryAfter + time.Second)
			}
			if _, err := v.Validate(ctx, "new-token"); err != nil {
				t.Errorf("after healing: %v (a failure must not be cached)", err)
			}
		})
	}
}
