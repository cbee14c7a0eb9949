package jwks_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/validator"
)

// A key whose private half the set publishes must be dropped under every
// kid, its public copies too (SECURITY.md 115), in every shape a private
// key is published in: WebCrypto's key_ops ["sign"], use "enc", a bad kid,
// private values without the public ones, RSA primes without d.
func TestExposedPrivateKeyShapes(t *testing.T) {
	loadKeys()
	enc := func(b []byte) string { return b64.EncodeToString(b) }
	with := func(m map[string]any, kv ...any) map[string]any {
		m = maps.Clone(m)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	rsaPriv := privateJWK("leaked", rsaA)
	ecPriv := jwk("leaked", &ecA.PublicKey, map[string]any{"d": enc(scalar(t, ecA))})
	edPriv := jwk("leaked", edA.Public(), map[string]any{"d": enc(edA.Seed())})

	// An EC key whose X starts with a zero byte, to check the same point
	// encoded differently (short x in one copy).
	var ecZ *ecdsa.PrivateKey
	for {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if k.X.BitLen() <= 248 {
			ecZ = k
			break
		}
	}
	ecZPub := jwk("k", &ecZ.PublicKey, nil)
	ecZPriv := jwk("leaked", &ecZ.PublicKey, map[string]any{"d": enc(scalar(t, ecZ))})
	ecZPubShort := with(ecZPub, "x", enc(ecZ.X.Bytes())) // leading zero stripped

	// A P-256 key whose scalar starts with a zero byte, written as
	// big.Int.Bytes() writes it (31 bytes; review of SECURITY.md 149).
	var ecD *ecdsa.PrivateKey
	for ecD == nil {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if scalar(t, k)[0] == 0 {
			ecD = k
		}
	}
	ecDPub := jwk("k", &ecD.PublicKey, nil)
	ecDPriv := jwk("leaked", &ecD.PublicKey, map[string]any{"d": enc(scalar(t, ecD)[1:])})
	// An RSA prime padded with zero bytes past 1024 (review of 149).
	paddedP := enc(append(make([]byte, 1025-len(rsaA.Primes[0].Bytes())), rsaA.Primes[0].Bytes()...))

	type tc struct {
		name   string
		public map[string]any
		leaked map[string]any
		sign   func(kid string) string
	}
	rsTok := func(kid string) string { return rvToken(t, kid, rsaA, "forged") }
	esTok := func(k *ecdsa.PrivateKey) func(string) string {
		return func(kid string) string {
			return jwstest.Token(jwstest.JSON(map[string]any{"alg": "ES256", "kid": kid}), jwstest.JSON(map[string]any{
				"iss": rvIss, "aud": rvAud, "sub": "mallory", "exp": time.Now().Add(time.Hour).Unix(),
			}), jwstest.ES(k, crypto.SHA256))
		}
	}
	edTok := func(kid string) string {
		return jwstest.Token(jwstest.JSON(map[string]any{"alg": "EdDSA", "kid": kid}), jwstest.JSON(map[string]any{
			"iss": rvIss, "aud": rvAud, "sub": "mallory", "exp": time.Now().Add(time.Hour).Unix(),
		}), jwstest.EdDSA(edA))
	}
	rsaPub := jwk("k", &rsaA.PublicKey, nil)
	ecPub := jwk("k", &ecA.PublicKey, nil)
	edPub := jwk("k", edA.Public(), nil)
	cases := []tc{
		{"RSA full private (control)", rsaPub, rsaPriv, rsTok},
		{"EC private (control)", ecPub, ecPriv, esTok(ecA)},
		{"Ed25519 private (control)", edPub, edPriv, edTok},
		{"EC same point, public copy x without leading zero", ecZPubShort, ecZPriv, esTok(ecZ)},
		{"EC same point, private copy x without leading zero", ecZPub, with(ecZPriv, "x", enc(ecZ.X.Bytes())), esTok(ecZ)},
		{"RSA private key_ops [sign] (WebCrypto export)", rsaPub, with(rsaPriv, "key_ops", []string{"sign"}), rsTok},
		{"EC private key_ops [sign] (WebCrypto export)", ecPub, with(ecPriv, "key_ops", []string{"sign"}, "ext", true), esTok(ecA)},
		{"Ed25519 private key_ops [sign]", edPub, with(edPriv, "key_ops", []string{"sign"}), edTok},
		{"RSA private use enc", rsaPub, with(rsaPriv, "use", "enc"), rsTok},
		{"RSA private n,e,d only", rsaPub, with(rsaPriv, "p", nil, "q", nil, "dp", nil, "dq", nil, "qi", nil), rsTok},
		{"RSA private n,e,p,q (no d)", rsaPub, with(rsaPriv, "d", nil, "dp", nil, "dq", nil, "qi", nil), rsTok},
		{"EC private d without x,y", ecPub, with(ecPriv, "x", nil, "y", nil), esTok(ecA)},
		{"Ed25519 private d without x", edPub, with(edPriv, "x", nil), edTok},
		{"RSA private kid not a string", rsaPub, with(rsaPriv, "kid", 7), rsTok},
		{"RSA private no n, p padded with zero bytes to 1025", rsaPub, with(rsaPriv, "n", nil, "p", paddedP), rsTok},
		{"EC private d without its leading zero byte", ecDPub, ecDPriv, esTok(ecD)},
		{"EC private d without its leading zero byte, no x,y", ecDPub, with(ecDPriv, "x", nil, "y", nil), esTok(ecD)},
		{"EC private d out of range, x,y given", ecPub, with(ecPriv, "d", enc(bytes.Repeat([]byte{0xff}, 32))), esTok(ecA)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, jwksDoc(c.public, c.leaked))
			set := newSet(t, srv)
			rerr := set.Refresh(t.Context())
			v := rvValidator(t, set)
			_, err := v.Validate(t.Context(), c.sign("k"))
			t.Logf("Refresh=%v Status.Skipped=%d; token forged with the published private key under the public twin's kid: %v", rerr, set.Status().Skipped, err)
			if err == nil {
				t.Errorf("EXPOSED: the set publishes this key's private half (%s), yet its public copy still verifies forged tokens", c.name)
			}
		})
	}
	_ = validator.ErrSignature
}

// scalar is k's private scalar, as a JWK's "d" holds it.
func scalar(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	b, err := k.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A set that publishes more private keys than are looked at
// (maxExposed, 8) trusts none of its keys, so that a hostile issuer cannot
// make every fetch cost a scalar multiplication per entry (red-team of the
// outbound calls); up to that many, the keys they do not expose stay
// trusted.
func TestManyPublishedPrivateKeysTrustNone(t *testing.T) {
	loadKeys()
	tok := rvToken(t, "k", rsaA, "honest")
	for _, tc := range []struct {
		leaked int
		ok     bool
	}{{0, true}, {8, true}, {9, false}, {200, false}} {
		entries := []map[string]any{jwk("k", &rsaA.PublicKey, nil)}
		for i := range tc.leaked {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			entries = append(entries, jwk(fmt.Sprintf("leaked-%d", i), &k.PublicKey, map[string]any{"d": b64.EncodeToString(scalar(t, k))}))
		}
		set := newSet(t, newServer(t, jwksDoc(entries...)))
		_ = set.Refresh(t.Context())
		_, err := rvValidator(t, set).Validate(t.Context(), tok)
		if (err == nil) != tc.ok {
			t.Errorf("an honest key beside %d published private keys: %v, want accepted %v", tc.leaked, err, tc.ok)
		}
	}
}
