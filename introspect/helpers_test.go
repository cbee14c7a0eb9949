package introspect_test

import (
	"crypto"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/introspect"
)

// discard is the logger of tests that do not read the logs.
var discard = slog.New(slog.DiscardHandler)

const (
	rsID     = "orders-api"
	rsSecret = "orders-api-secret"
	audience = "orders"
)

func newIssuer(t *testing.T) *bearertest.Issuer {
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: rsID, Secret: rsSecret})
	return iss
}

func newClient(t *testing.T, iss *bearertest.Issuer, opts ...introspect.Option) *introspect.Client {
	t.Helper()
	c, err := introspect.New(iss.IntrospectionURL(), introspect.ClientSecretBasic(rsID, rsSecret),
		append([]introspect.Option{introspect.WithHTTPClient(iss.Client())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// handRolled serves a fixed introspection response.
func handRolled(t *testing.T, status int, contentType, body string) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.PostFormValue("token") == "" || r.PostFormValue("token_type_hint") != "access_token" {
			http.Error(w, "bad request", 400)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// perClient serves introspection answers that depend on the client asking
// (the Basic user name): answer maps it to a response body.
func perClient(t *testing.T, answer func(clientID string) string) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, answer(id))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// countingServer answers every token active and counts the requests.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"active":true}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// noKeepAlive returns a client trusting srv that closes connections after
// each request, so that no transport goroutine outlives a request (for
// testing/synctest bubbles).
func noKeepAlive(srv *httptest.Server) *http.Client {
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	return &http.Client{Transport: tr}
}

// gatedIssuer is an issuer whose discovery answers wait for the test: each
// request for its OpenID configuration is announced on arrived, then held
// until open is called (or the request ends). Its introspection endpoint
// answers every token active.
type gatedIssuer struct {
	*httptest.Server
	discoveries  atomic.Int64  // requests for the OpenID configuration
	arrived      chan struct{} // one value per such request, as it arrives
	failing      atomic.Bool   // answer discovery with a 500
	release      chan struct{}
	releaseOnce  sync.Once
	introspected atomic.Int64 // introspection requests
}

func newGatedIssuer(t *testing.T) *gatedIssuer {
	t.Helper()
	g := &gatedIssuer{arrived: make(chan struct{}, 1000), release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		g.discoveries.Add(1)
		select {
		case g.arrived <- struct{}{}:
		default:
		}
		select {
		case <-g.release:
		case <-r.Context().Done():
			return
		}
		if g.failing.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": g.URL, "introspection_endpoint": g.URL + "/introspect"})
	})
	mux.HandleFunc("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		g.introspected.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"active":true}`)
	})
	g.Server = httptest.NewTLSServer(mux)
	t.Cleanup(g.Close)
	t.Cleanup(g.open) // before Close: held requests end first
	return g
}

// open lets held and future discovery requests answer.
func (g *gatedIssuer) open() { g.releaseOnce.Do(func() { close(g.release) }) }

// gatedCache is an LRU whose Put waits until gate is closed: a request that
// has its answer stays in flight until then.
type gatedCache struct {
	*introspect.LRU
	gate chan struct{}
}

// Put stores e once the gate is open.
func (c gatedCache) Put(key introspect.Key, e introspect.Entry) {
	<-c.gate
	c.LRU.Put(key, e)
}

// opaqueSigner is a crypto.Signer that is none of the standard library's
// key types, as a KMS or HSM signer is not. It records the options of each
// Sign call, and fails with fail, or returns sig, when they are set.
type opaqueSigner struct {
	key  crypto.Signer
	fail error
	sig  []byte

	mu   sync.Mutex
	opts []crypto.SignerOpts
}

// Public returns the wrapped key's public key.
func (s *opaqueSigner) Public() crypto.PublicKey { return s.key.Public() }

// Sign signs with the wrapped key.
func (s *opaqueSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.mu.Lock()
	s.opts = append(s.opts, opts)
	s.mu.Unlock()
	switch {
	case s.fail != nil:
		return nil, s.fail
	case s.sig != nil:
		return s.sig, nil
	}
	return s.key.Sign(rand, digest, opts)
}

// hashes returns the hash of each Sign call's options so far.
func (s *opaqueSigner) hashes() []crypto.Hash {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []crypto.Hash
	for _, o := range s.opts {
		out = append(out, o.HashFunc())
	}
	return out
}

// pubSigner is a crypto.Signer whose public key is pub; it never signs.
type pubSigner struct{ pub crypto.PublicKey }

// Public returns pub.
func (s pubSigner) Public() crypto.PublicKey { return s.pub }

// Sign fails.
func (s pubSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, fmt.Errorf("pubSigner cannot sign")
}
