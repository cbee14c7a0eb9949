package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The issuer is written here rather than taken from bearertest: the fresh
// modes need tens of thousands of distinct RS256 tokens minted up front,
// and bearertest records every token it mints (for introspection) and signs
// through jwx. This one signs with crypto/rsa and crypto/ecdsa directly,
// serves one JWK Set (RSA-2048 RS256 and P-256 ES256) over HTTPS on
// loopback, and counts JWKS requests per target: each target's HTTP client
// names itself in the tagHeader request header.

const (
	audience  = "orders"
	subject   = "svc-bench"
	tagHeader = "X-Sidebyside-Target"
)

var b64 = base64.RawURLEncoding

type issuer struct {
	URL    string
	CAFile string // PEM of the server certificate, for the targets' clients

	srv   *httptest.Server
	rsKey *rsa.PrivateKey
	ecKey *ecdsa.PrivateKey
	rsKid string
	ecKid string
	jwks  []byte

	hdrRS, hdrES string // encoded protected headers with the real kids

	mu      sync.Mutex
	fetches map[string]int64 // JWKS requests by tagHeader value
	total   atomic.Int64
}

// startIssuer generates the keys and starts the HTTPS server on 127.0.0.1.
// dir receives the CA file. The caller must call close.
func startIssuer(dir string) (*issuer, error) {
	rsKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	iss := &issuer{rsKey: rsKey, ecKey: ecKey, rsKid: "rs-" + randomHex(6), ecKid: "es-" + randomHex(6), fetches: map[string]int64{}}
	iss.hdrRS = encodeHeader("RS256", iss.rsKid)
	iss.hdrES = encodeHeader("ES256", iss.ecKid)
	if iss.jwks, err = json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": iss.rsKid,
			"n": b64.EncodeToString(rsKey.N.Bytes()), "e": b64.EncodeToString(bigEndian(rsKey.E))},
		{"kty": "EC", "use": "sig", "alg": "ES256", "kid": iss.ecKid, "crv": "P-256",
			"x": b64.EncodeToString(ecKey.X.FillBytes(make([]byte, 32))), "y": b64.EncodeToString(ecKey.Y.FillBytes(make([]byte, 32)))},
	}}); err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		iss.total.Add(1)
		iss.mu.Lock()
		iss.fetches[r.Header.Get(tagHeader)]++
		iss.mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(iss.jwks)
	})
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": iss.URL, "jwks_uri": iss.JWKSURL(),
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"}})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	iss.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	iss.srv.StartTLS()
	iss.URL = iss.srv.URL
	iss.CAFile = filepath.Join(dir, "issuer-ca.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: iss.srv.Certificate().Raw})
	if err := os.WriteFile(iss.CAFile, certPEM, 0o600); err != nil {
		iss.srv.Close()
		return nil, err
	}
	return iss, nil
}

func (iss *issuer) close() { iss.srv.Close() }

func (iss *issuer) JWKSURL() string { return iss.URL + "/jwks" }

// Fetches returns how many JWKS requests the target tagged tag has made.
func (iss *issuer) Fetches(tag string) int64 {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return iss.fetches[tag]
}

func encodeHeader(alg, kid string) string {
	h, _ := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid,omitempty"`
		Typ string `json:"typ"`
	}{alg, kid, "at+jwt"})
	return b64.EncodeToString(h)
}

func bigEndian(e int) []byte {
	var b []byte
	for ; e > 0; e >>= 8 {
		b = append([]byte{byte(e)}, b...)
	}
	return b
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// claims returns the standard claims of a valid token; jti makes it
// distinct.
func (iss *issuer) claims(scope, jti string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": iss.URL, "sub": subject, "client_id": subject, "aud": audience, "scope": scope,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": jti,
	}
}

// sign signs claims with alg ("RS256" or "ES256"); kid overrides the key
// id when not "" (an unknown kid for the flood).
func (iss *issuer) sign(alg, kid string, claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	var hdr string
	switch {
	case kid != "":
		hdr = encodeHeader(alg, kid)
	case alg == "RS256":
		hdr = iss.hdrRS
	case alg == "ES256":
		hdr = iss.hdrES
	default:
		return "", fmt.Errorf("alg %q", alg)
	}
	in := hdr + "." + b64.EncodeToString(payload)
	digest := sha256.Sum256([]byte(in))
	var sig []byte
	switch alg {
	case "RS256":
		if sig, err = rsa.SignPKCS1v15(nil, iss.rsKey, crypto.SHA256, digest[:]); err != nil {
			return "", err
		}
	case "ES256":
		r, s, err := ecdsa.Sign(rand.Reader, iss.ecKey, digest[:])
		if err != nil {
			return "", err
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	default:
		return "", fmt.Errorf("alg %q", alg)
	}
	return in + "." + b64.EncodeToString(sig), nil
}

// signRaw builds a token from an arbitrary header, for the contract's
// hostile cases: "none" (empty signature) or HS256 keyed with the RSA
// public key's PEM (algorithm confusion).
func (iss *issuer) signRaw(header map[string]any, claims map[string]any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	in := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	switch header["alg"] {
	case "none":
		return in + ".", nil
	case "HS256":
		der, err := x509.MarshalPKIXPublicKey(&iss.rsKey.PublicKey)
		if err != nil {
			return "", err
		}
		mac := hmac.New(sha256.New, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		mac.Write([]byte(in))
		return in + "." + b64.EncodeToString(mac.Sum(nil)), nil
	}
	return "", errors.New("signRaw: unsupported alg")
}

// mintMany mints n tokens on every core; spec(i) returns the alg, the kid
// override and the claims of token i. It gives up at deadline or once stop
// is set.
func mintMany(n int, deadline time.Time, stop *atomic.Bool, spec func(i int) (alg, kid string, claims map[string]any), sign func(alg, kid string, claims map[string]any) (string, error)) ([]string, error) {
	out := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, runtime.GOMAXPROCS(0))
	for w := range errs {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if i%256 == 0 && (time.Now().After(deadline) || stop.Load()) {
					errs[w] = fmt.Errorf("minting %d tokens: stopped after %d", n, i)
					return
				}
				alg, kid, c := spec(i)
				tok, err := sign(alg, kid, c)
				if err != nil {
					errs[w] = err
					return
				}
				out[i] = tok
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}
