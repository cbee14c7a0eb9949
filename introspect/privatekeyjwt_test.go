package introspect_test

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// TestPrivateKeyJWTWithOpaqueSigner: a crypto.Signer that is not one of the
// standard library's key types (a KMS or HSM key) signs the assertion, for
// every key kind, and bearertest's introspection endpoint verifies it.
func TestPrivateKeyJWTWithOpaqueSigner(t *testing.T) {
	iss := newIssuer(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  crypto.Signer
		hash crypto.Hash // what Sign must be asked for
	}{
		{"RSA", rsaKey, crypto.SHA256},
		{"ECDSA P-256", ecKey, crypto.SHA256},
		{"Ed25519", edKey, crypto.Hash(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "kms-" + strings.ReplaceAll(tt.name, " ", "-")
			iss.AddClient(bearertest.ClientConfig{ID: id, PublicKey: tt.key.Public()})
			signer := &opaqueSigner{key: tt.key}
			c, err := introspect.New(iss.IntrospectionURL(), introspect.PrivateKeyJWT(id, signer, "kms-key-1"), introspect.WithHTTPClient(iss.Client()))
			if err != nil {
				t.Fatalf("New() with an opaque %s signer = %v", tt.name, err)
			}
			defer c.Close()
			// Several assertions, so that ES256 meets R and S of every length.
			const n = 16
			for i := range n {
				tok := iss.Opaque(t, bearertest.Claims{"aud": audience})
				if _, err := c.Introspect(t.Context(), tok); err != nil {
					t.Fatalf("Introspect() #%d = %v", i, err)
				}
				if got := iss.LastIntrospectionAuth(); got != "private_key_jwt" {
					t.Fatalf("server saw %q, want private_key_jwt", got)
				}
			}
			if got, want := signer.hashes(), slices.Repeat([]crypto.Hash{tt.hash}, n); !slices.Equal(got, want) {
				t.Errorf("Sign called with hashes %v, want %v", got, want)
			}
		})
	}
}

func TestPrivateKeyJWTRefusesKeys(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  crypto.Signer
		want string
	}{
		{"nil signer", nil, "nil key"},
		{"RSA under 2048 bits", &opaqueSigner{key: small}, "2048"},
		{"ECDSA on P-384", &opaqueSigner{key: p384}, "P-256"},
		{"X25519", pubSigner{x25519.PublicKey()}, "unsupported public key type"},
		{"no public key", pubSigner{nil}, "no public key"},
		{"short Ed25519 key", pubSigner{ed25519.PublicKey{1, 2, 3}}, "Ed25519"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := introspect.New("https://id.example.com/introspect", introspect.PrivateKeyJWT("rs", tt.key, ""))
			if c != nil {
				c.Close()
			}
			if err == nil || !strings.Contains(err.Error(), "private_key_jwt") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() = %v, want a private_key_jwt error about %q", err, tt.want)
			}
		})
	}
}

// TestPrivateKeyJWTSignerFailures: a signer that fails, or returns what is
// not a signature, makes the call unavailable; nothing is sent.
func TestPrivateKeyJWTSignerFailures(t *testing.T) {
	iss := newIssuer(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss.AddClient(bearertest.ClientConfig{ID: "ec-client", PublicKey: ecKey.Public()})
	errHSM := errors.New("hsm: device not ready")
	tests := []struct {
		name   string
		signer *opaqueSigner
		want   error // also matched, if set
	}{
		{"signer error", &opaqueSigner{key: ecKey, fail: errHSM}, errHSM},
		{"raw R||S instead of DER", &opaqueSigner{key: ecKey, sig: make([]byte, 64)}, nil},
		{"garbage", &opaqueSigner{key: ecKey, sig: []byte("not a signature")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := introspect.New(iss.IntrospectionURL(), introspect.PrivateKeyJWT("ec-client", tt.signer, ""),
				introspect.WithHTTPClient(iss.Client()), introspect.WithLogger(discard))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			before := iss.IntrospectionRequests()
			_, err = c.Introspect(t.Context(), iss.Opaque(t, bearertest.Claims{"aud": audience}))
			if !errors.Is(err, validator.ErrIntrospectionUnavailable) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Introspect() = %v, want unavailable (matching %v)", err, tt.want)
			}
			if n := iss.IntrospectionRequests() - before; n != 0 {
				t.Errorf("%d requests sent without a valid assertion, want 0", n)
			}
		})
	}
}
