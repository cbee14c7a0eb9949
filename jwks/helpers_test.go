package jwks_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/internal/testlog"
	"github.com/bearerguard/bearerguard/jwks"
)

var b64 = base64.RawURLEncoding

// discard is the logger of tests that do not read the logs.
var discard = slog.New(slog.DiscardHandler)

func newClock() *testclock.Clock { return testclock.New(time.Unix(1_800_000_000, 0)) }

// newSet returns a Set for s's JWKS, closed when the test ends.
func newSet(t testing.TB, s *server, opts ...jwks.Option) *jwks.Set {
	t.Helper()
	set, err := jwks.New(s.URL+"/jwks", append([]jwks.Option{jwks.WithHTTPClient(s.Client()), jwks.WithLogger(discard)}, opts...)...)
	if err != nil {
		t.Fatalf("jwks.New: %v", err)
	}
	t.Cleanup(func() { set.Close() })
	return set
}

var (
	keysOnce         sync.Once
	rsaA, rsaB, rsaC *rsa.PrivateKey
	ecA              *ecdsa.PrivateKey
	edA              ed25519.PrivateKey
)

func loadKeys() {
	keysOnce.Do(func() {
		var err error
		for _, k := range []**rsa.PrivateKey{&rsaA, &rsaB, &rsaC} {
			if *k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				panic(err)
			}
		}
		if ecA, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if _, edA, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
	})
}

// jwk renders a public key as a JWK, independently of the code under test.
func jwk(kid string, pub crypto.PublicKey, extra map[string]any) map[string]any {
	m := map[string]any{}
	if kid != "" {
		m["kid"] = kid
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64.EncodeToString(k.N.Bytes()), b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())
	case *ecdsa.PublicKey:
		point, err := k.Bytes() // 0x04 || X || Y
		if err != nil {
			panic(err)
		}
		size := (len(point) - 1) / 2
		m["kty"], m["crv"] = "EC", k.Curve.Params().Name
		m["x"], m["y"] = b64.EncodeToString(point[1:1+size]), b64.EncodeToString(point[1+size:])
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64.EncodeToString(k)
	default:
		panic("unsupported key")
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func jwksDoc(keys ...map[string]any) []byte {
	if keys == nil {
		keys = []map[string]any{}
	}
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		panic(err)
	}
	return b
}

// server is a JWKS server whose answer the test changes on cue.
type server struct {
	*httptest.Server
	requests atomic.Int64

	mu      sync.Mutex
	body    []byte
	status  int
	headers map[string]string
	handler http.HandlerFunc // replaces the default answer when set
}

func newServer(t testing.TB, body []byte) *server {
	t.Helper()
	s := &server{body: body, status: 200}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.mu.Lock()
	body, status, headers, h := s.body, s.status, s.headers, s.handler
	s.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	for k, v := range headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *server) set(status int, body []byte, headers map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body, s.headers, s.handler = status, body, headers, nil
}

func (s *server) setHandler(h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
}

// noKeepAlive returns a client trusting s that closes connections after
// each request, so no transport goroutine outlives a fetch (synctest).
func (s *server) noKeepAlive() *http.Client {
	tr := s.Client().Transport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	return &http.Client{Transport: tr}
}

// logBuffer captures log output.
type logBuffer = testlog.Buffer

func newLogger(l *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// issuerServer serves discovery metadata at one well-known path.
func issuerServer(t *testing.T, path string, issuerSuffix string, claimedIssuer func(base string) string, failing *atomic.Bool) *httptest.Server {
	t.Helper()
	loadKeys()
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwksDoc(jwk("a", &rsaA.PublicKey, nil)))
	})
	mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		if failing != nil && failing.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": claimedIssuer(srv.URL + issuerSuffix), "jwks_uri": srv.URL + "/keys"})
	})
	srv = httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func same(s string) string { return s }
