package validator_test

// Shared test helpers: keys generated once per test binary, valid claims
// at a fixed time, and a validator that trusts those keys. Tokens are built
// with internal/jwstest, an encoder independent of the code under test.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/validator"
)

const (
	testIssuer = "https://id.example.com/"
	hmacIssuer = "https://hmac.example.com/"
	testAud    = "orders"
)

var (
	testNow    = time.Unix(1_800_000_000, 0)
	hmacSecret = []byte("0123456789abcdef0123456789abcdef-hmac-secret-for-tests-64-bytes!")
)

// baseClaims are valid claims at testNow; overrides replace members, and a
// nil override removes one.
func baseClaims(overrides map[string]any) string {
	return jwstest.Claims(map[string]any{
		"iss": testIssuer, "sub": "svc-a", "aud": testAud, "client_id": "svc-a",
		"iat": testNow.Unix() - 10, "exp": testNow.Unix() + 300, "jti": "id-1", "scope": "read:data",
	}, overrides)
}

func testKeySource(t testing.TB) validator.KeySource {
	loadKeys(t)
	return validator.NewKeys(
		mustKey(t, "rsa-1", &rsaKey.PublicKey, ""),
		mustKey(t, "rsa-rs256", &rsaKey2.PublicKey, validator.RS256),
		mustKey(t, "ec-1", &ecKey.PublicKey, ""),
		mustKey(t, "ec384-1", &ec384Key.PublicKey, validator.ES384),
		mustKey(t, "ed-1", edKey.Public(), ""),
	)
}

func newValidator(t testing.TB, opts ...validator.Option) *validator.Validator {
	t.Helper()
	base := []validator.Option{
		validator.WithIssuer(testIssuer, testKeySource(t)),
		validator.WithIssuerSecret(hmacIssuer, hmacSecret),
		validator.WithAudience(testAud, "other-api"),
		validator.WithClock(func() time.Time { return testNow }),
	}
	v, err := validator.New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

// rs256 is a valid-shaped access token for claims: RS256 with rsa-1, typ
// at+jwt.
func rs256(claims string) string {
	return jwstest.Token(`{"alg":"RS256","kid":"rsa-1","typ":"at+jwt"}`, claims, jwstest.RS(rsaKey, crypto.SHA256))
}

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

func mustKey(t testing.TB, kid string, pub crypto.PublicKey, alg validator.Algorithm) *validator.Key {
	t.Helper()
	k, err := validator.NewKey(kid, pub, alg)
	if err != nil {
		t.Fatalf("NewKey(%q): %v", kid, err)
	}
	return k
}
