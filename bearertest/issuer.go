package bearertest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

// Issuer is an in-process issuer. Its exported methods are safe for
// concurrent use.
type Issuer struct {
	// URL is the issuer identifier and the base URL of its server.
	URL string

	srv   *httptest.Server
	clock func() time.Time

	mu           sync.Mutex
	keys         []*signingKey // published, in order
	current      map[validator.Algorithm]*signingKey
	cacheControl string
	jwksHook     http.Handler

	jwksRequests atomic.Int64
	st           state
}

type signingKey struct {
	kid     string
	alg     validator.Algorithm
	private crypto.Signer
}

// Option configures an Issuer.
type Option func(*Issuer)

// WithClock sets the clock used for "iat" and "exp" defaults (default
// time.Now).
func WithClock(now func() time.Time) Option { return func(i *Issuer) { i.clock = now } }

// Start starts an issuer on a loopback HTTPS server, with an RS256 key
// published. The caller must call [Issuer.Close] when done with it. It is
// the form of [NewIssuer] for code without a testing.T, such as a demo or a
// load generator.
func Start(opts ...Option) (*Issuer, error) {
	iss := &Issuer{clock: time.Now, current: map[validator.Algorithm]*signingKey{}}
	iss.st.clients = map[string]ClientConfig{}
	iss.st.issued = map[string]Claims{}
	iss.st.revoked = map[string]bool{}
	for _, o := range opts {
		o(iss)
	}
	if _, err := iss.RotateKey(validator.RS256); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", iss.serveMetadata)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", iss.serveMetadata)
	mux.HandleFunc("GET /jwks", iss.serveJWKS)
	mux.HandleFunc("POST /oauth/token", iss.serveToken)
	mux.HandleFunc("POST /oauth/introspect", iss.serveIntrospect)
	mux.HandleFunc("POST /oauth/revoke", iss.serveRevoke)
	// httptest.NewTLSServer panics when it cannot listen; listen here so
	// that the failure is an error.
	l, err := listenLoopback()
	if err != nil {
		return nil, fmt.Errorf("bearertest: listening on loopback: %w", err)
	}
	tlsCfg, err := loopbackTLS()
	if err != nil {
		l.Close()
		return nil, err
	}
	iss.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: mux}, TLS: tlsCfg}
	iss.srv.StartTLS()
	iss.URL = iss.srv.URL
	return iss, nil
}

// loopbackTLS returns a server TLS configuration with a certificate of its
// own: a fresh P-256 key, self-signed, for 127.0.0.1, ::1 and localhost
// only, valid for a week, and not a CA. httptest's own certificate is one
// CA whose private key every Go installation ships: trusting it (to reach
// this issuer from another process) would trust anything anyone signs
// with it.
func loopbackTLS() (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "bearertest issuer (loopback)"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("bearertest: a loopback certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, nil
}

// listenLoopback listens on a free loopback port, IPv4 or else IPv6, as
// httptest does.
func listenLoopback() (net.Listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		var err6 error
		if l, err6 = net.Listen("tcp6", "[::1]:0"); err6 != nil {
			return nil, errors.Join(err, err6)
		}
	}
	return l, nil
}

// Close stops the server and waits for requests in flight. [NewIssuer]
// calls it when the test ends; an issuer from [Start] must be closed by
// its caller. Calling it again does nothing.
func (iss *Issuer) Close() { iss.srv.Close() }

// Client returns an HTTP client that trusts the issuer's certificate.
func (iss *Issuer) Client() *http.Client { return iss.srv.Client() }

// Certificate returns the issuer's TLS certificate, for code in another
// process to trust it (the examples' --issuer-ca, or SSL_CERT_FILE): made
// for this issuer alone, self-signed for 127.0.0.1, ::1 and localhost, not
// a CA, valid for a week.
func (iss *Issuer) Certificate() *x509.Certificate { return iss.srv.Certificate() }

// JWKSURL returns the URL of the issuer's JWK Set.
func (iss *Issuer) JWKSURL() string { return iss.URL + "/jwks" }

// JWKSRequests returns how many times the JWK Set has been requested.
func (iss *Issuer) JWKSRequests() int64 { return iss.jwksRequests.Load() }

// NewKeySet returns a [jwks.Set] for the issuer's keys, with an HTTP client
// that trusts the issuer's certificate; extra options are applied after
// that client option. The caller must close the set. It is the form of
// [Issuer.KeySet] for code without a testing.T.
func (iss *Issuer) NewKeySet(opts ...jwks.Option) (*jwks.Set, error) {
	set, err := jwks.New(iss.JWKSURL(), append([]jwks.Option{jwks.WithHTTPClient(iss.Client())}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("bearertest: jwks.New: %w", err)
	}
	return set, nil
}

// SetCacheControl sets the Cache-Control header of JWKS responses.
func (iss *Issuer) SetCacheControl(v string) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.cacheControl = v
}

// SetJWKSHandler replaces the JWKS endpoint with h (nil restores it), for
// fault injection: outages, slow or broken responses.
func (iss *Issuer) SetJWKSHandler(h http.Handler) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.jwksHook = h
}

// RotateKey generates a new key for alg, publishes it next to the
// existing ones and makes it the one minting uses for alg. It returns the
// new kid. An algorithm without key generation here (HMAC, "none") is an
// error matching [ErrUnsupportedAlgorithm]. It is the form of
// [Issuer.Rotate] for code without a testing.T.
func (iss *Issuer) RotateKey(alg validator.Algorithm) (kid string, err error) {
	k, err := iss.rotate(alg)
	if err != nil {
		return "", fmt.Errorf("bearertest: generating a %s key: %w", alg, err)
	}
	return k.kid, nil
}

// rotate generates, publishes and returns a new current key for alg.
func (iss *Issuer) rotate(alg validator.Algorithm) (*signingKey, error) {
	priv, err := generate(alg)
	if err != nil {
		return nil, err
	}
	k := &signingKey{kid: randomID(), alg: alg, private: priv}
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.keys = append(iss.keys, k)
	iss.current[alg] = k
	return k, nil
}

// Remove unpublishes the key with kid. Tokens signed with it keep their
// signatures, but a key set refreshed afterwards no longer trusts them.
func (iss *Issuer) Remove(kid string) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.keys = slices.DeleteFunc(iss.keys, func(k *signingKey) bool { return k.kid == kid })
	for alg, k := range iss.current {
		if k.kid == kid {
			delete(iss.current, alg)
		}
	}
}

// CurrentKeyID returns the kid minting uses for alg, or "".
func (iss *Issuer) CurrentKeyID(alg validator.Algorithm) string {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if k := iss.current[alg]; k != nil {
		return k.kid
	}
	return ""
}

func generate(alg validator.Algorithm) (crypto.Signer, error) {
	switch alg {
	case validator.RS256, validator.RS384, validator.RS512, validator.PS256, validator.PS384, validator.PS512:
		return rsa.GenerateKey(rand.Reader, 2048)
	case validator.ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case validator.ES384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case validator.ES512:
		return ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case validator.EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("%w %s", ErrUnsupportedAlgorithm, alg)
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (iss *Issuer) serveMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                iss.URL,
		"jwks_uri":                              iss.JWKSURL(),
		"token_endpoint":                        iss.TokenURL(),
		"introspection_endpoint":                iss.IntrospectionURL(),
		"revocation_endpoint":                   iss.RevocationURL(),
		"grant_types_supported":                 []string{"client_credentials"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "private_key_jwt"},
		"id_token_signing_alg_values_supported": []string{"RS256", "ES256", "EdDSA"},
		"dpop_signing_alg_values_supported":     validator.DefaultAlgorithms,
	})
}

func (iss *Issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	iss.jwksRequests.Add(1)
	iss.mu.Lock()
	hook, cc := iss.jwksHook, iss.cacheControl
	keys := slices.Clone(iss.keys)
	iss.mu.Unlock()
	if hook != nil {
		hook.ServeHTTP(w, r)
		return
	}
	doc, err := publicJWKS(keys)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	_, _ = w.Write(doc)
}
