package validator_test

// An independent JWS encoder for tests: tokens are built here with the
// standard library alone, not with the code paths under test, so hostile
// tokens (duplicate members, wrong types, bad encodings) can be made exactly.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"hash"
	"sync"
	"testing"

	"github.com/bearerguard/bearerguard/validator"
)

var enc = base64.RawURLEncoding

// testKeys are generated once per test binary.
var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	rsaKey2  *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
	ec384Key *ecdsa.PrivateKey
	edKey    ed25519.PrivateKey
)

func loadKeys(testing.TB) {
	keysOnce.Do(func() {
		var err error
		must := func(e error) {
			if e != nil && err == nil {
				err = e
			}
		}
		rsaKey, err = rsa.GenerateKey(rand.Reader, 2048)
		var e error
		rsaKey2, e = rsa.GenerateKey(rand.Reader, 2048)
		must(e)
		ecKey, e = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(e)
		ec384Key, e = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		must(e)
		_, edKey, e = ed25519.GenerateKey(rand.Reader)
		must(e)
		if err != nil {
			panic(err)
		}
	})
}

// rawToken joins the base64url encodings of header and payload JSON and a
// signature made by signer over them.
func rawToken(header, payload string, signer func(signingInput []byte) []byte) string {
	in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	return in + "." + enc.EncodeToString(signer([]byte(in)))
}

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func digest(h crypto.Hash, in []byte) []byte {
	w := h.New()
	w.Write(in)
	return w.Sum(nil)
}

func signRS(key *rsa.PrivateKey, h crypto.Hash) func([]byte) []byte {
	return func(in []byte) []byte {
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, digest(h, in))
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func signPS(key *rsa.PrivateKey, h crypto.Hash) func([]byte) []byte {
	return func(in []byte) []byte {
		sig, err := rsa.SignPSS(rand.Reader, key, h, digest(h, in), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func signES(key *ecdsa.PrivateKey, h crypto.Hash) func([]byte) []byte {
	return func(in []byte) []byte {
		r, s, err := ecdsa.Sign(rand.Reader, key, digest(h, in))
		if err != nil {
			panic(err)
		}
		size := (key.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out
	}
}

func signEd(key ed25519.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte { return ed25519.Sign(key, in) }
}

func signHS(secret []byte, h func() hash.Hash) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(h, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

func mustKey(t testing.TB, kid string, pub crypto.PublicKey, alg validator.Algorithm) *validator.Key {
	t.Helper()
	k, err := validator.NewKey(kid, pub, alg)
	if err != nil {
		t.Fatalf("NewKey(%q): %v", kid, err)
	}
	return k
}
