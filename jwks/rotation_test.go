package jwks_test

// The key-rotation and revocation lifecycle, end to end
// (real httptest JWKS servers, a jwks.Set, a validator with its cache).

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

const rvIss, rvAud = "https://issuer.example", "api"

func rvToken(t testing.TB, kid string, key *rsa.PrivateKey, jti string) string {
	t.Helper()
	h := map[string]any{"alg": "RS256", "typ": "JWT"}
	if kid != "" {
		h["kid"] = kid
	}
	now := time.Now()
	return jwstest.Token(jwstest.JSON(h), jwstest.JSON(map[string]any{
		"iss": rvIss, "aud": rvAud, "sub": "alice", "jti": jti,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}), jwstest.RS(key, crypto.SHA256))
}

func rvValidator(t testing.TB, keys validator.KeySource) *validator.Validator {
	t.Helper()
	v, err := validator.New(validator.WithIssuer(rvIss, keys), validator.WithAudience(rvAud))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// validateN validates tok n times (the cache admits on the second sighting,
// so three calls leave it cached and answered from the cache).
func validateN(t *testing.T, v *validator.Validator, tok string, n int) {
	t.Helper()
	for range n {
		if _, err := v.Validate(t.Context(), tok); err != nil {
			t.Fatalf("Validate: %v", err)
		}
	}
}

// A kid reused for new key material after a rotation: the cached token of
// the old key must be refused at once after Refresh, and the new key's
// tokens accepted.
func TestRotationKidReusedCachedTokenRefused(t *testing.T) {
	loadKeys()
	srv := newServer(t, jwksDoc(jwk("k", &rsaA.PublicKey, nil)))
	set := newSet(t, srv)
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	v := rvValidator(t, set)
	old := rvToken(t, "k", rsaA, "old")
	validateN(t, v, old, 3)
	if v.CachedTokens() != 1 {
		t.Fatalf("cached %d, want 1", v.CachedTokens())
	}
	// Same material, refetched: the key keeps its identity (no false
	// invalidation) and the entry still answers.
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	validateN(t, v, old, 1)
	if v.CachedTokens() != 1 {
		t.Errorf("identical refetch dropped the cached token")
	}
	// Rotation under the same kid.
	srv.set(200, jwksDoc(jwk("k", &rsaB.PublicKey, nil)), nil)
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(t.Context(), old); !errors.Is(err, validator.ErrSignature) {
		t.Errorf("old key's cached token after the kid was reused: %v, want ErrSignature", err)
	}
	validateN(t, v, rvToken(t, "k", rsaB, "new"), 1)
}

// The issuer removes its compromised key and publishes nothing usable in
// its place (an empty set, or only a key of a type this library skips): a
// well-formed set is the issuer's word, not an outage, so the removed key
// goes and tokens are answered unavailable until a usable key is back.
func TestRotationRemovedKeyKeptWhenNothingUsableReplacesIt(t *testing.T) {
	loadKeys()
	cases := []struct {
		name string
		doc  []byte
	}{
		{"empty set", jwksDoc()},
		{"only an encryption key", jwksDoc(jwk("enc", &rsaB.PublicKey, map[string]any{"use": "enc"}))},
		{"only an unsupported key type", []byte(`{"keys":[{"kty":"OKP","crv":"Ed448","kid":"pq","x":"` +
			"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" + `"}]}`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, jwksDoc(jwk("compromised", &rsaA.PublicKey, nil)))
			set := newSet(t, srv)
			if err := set.Refresh(t.Context()); err != nil {
				t.Fatal(err)
			}
			v := rvValidator(t, set)
			srv.set(200, c.doc, nil)
			rerr := set.Refresh(t.Context())
			_, err := v.Validate(t.Context(), rvToken(t, "compromised", rsaA, "x"))
			if rerr == nil || !errors.Is(err, validator.ErrKeysUnavailable) {
				t.Errorf("issuer now serves %s: Refresh() = %v, token of the removed key: %v, want unavailable", c.name, rerr, err)
			}
			// A usable key again: it verifies, the removed one still not.
			srv.set(200, jwksDoc(jwk("next", &rsaB.PublicKey, nil)), nil)
			if err := set.Refresh(t.Context()); err != nil {
				t.Fatal(err)
			}
			validateN(t, v, rvToken(t, "next", rsaB, "n"), 1)
			if _, err := v.Validate(t.Context(), rvToken(t, "compromised", rsaA, "y")); err == nil {
				t.Error("the removed key came back with the next set")
			}
		})
	}
}

// Two keys under one kid: the first in document order that allows the
// token's alg verifies; the token cannot pick another one of the same type.
func TestRotationDuplicateKid(t *testing.T) {
	loadKeys()
	srv := newServer(t, jwksDoc(jwk("k", &rsaA.PublicKey, nil), jwk("k", &rsaB.PublicKey, nil), jwk("k", &ecA.PublicKey, nil)))
	set := newSet(t, srv)
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	v := rvValidator(t, set)
	validateN(t, v, rvToken(t, "k", rsaA, "a"), 1)
	if _, err := v.Validate(t.Context(), rvToken(t, "k", rsaB, "b")); !errors.Is(err, validator.ErrSignature) {
		t.Errorf("second RSA key under the same kid: %v, want ErrSignature (the first wins)", err)
	}
	ec := jwstest.Token(`{"alg":"ES256","kid":"k"}`, jwstest.JSON(map[string]any{
		"iss": rvIss, "aud": rvAud, "exp": time.Now().Add(time.Hour).Unix(),
	}), jwstest.ES(ecA, crypto.SHA256))
	validateN(t, v, ec, 1)
	// A kid-less token with several candidates matches none.
	if _, err := v.Validate(t.Context(), rvToken(t, "", rsaA, "n")); err == nil {
		t.Errorf("kid-less token accepted with two RSA candidates")
	}
}

// Refresh after an emergency removal drops the validated-token cache's
// entries of that key at once (the next Validate).
func TestRotationRefreshDropsCachedTokensAtOnce(t *testing.T) {
	loadKeys()
	srv := newServer(t, jwksDoc(jwk("compromised", &rsaA.PublicKey, nil), jwk("b", &rsaB.PublicKey, nil)))
	set := newSet(t, srv, jwks.WithMinRefetchInterval(time.Hour))
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	v := rvValidator(t, set)
	tok := rvToken(t, "compromised", rsaA, "c")
	validateN(t, v, tok, 3)
	// Use up the on-demand refetch budget, so the cache hit cannot refetch.
	_, _ = set.Key(t.Context(), "nope", validator.RS256)
	srv.set(200, jwksDoc(jwk("b", &rsaB.PublicKey, nil)), nil)
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(t.Context(), tok); !errors.Is(err, validator.ErrUnknownKey) {
		t.Errorf("cached token of a key removed and refreshed away: %v, want ErrUnknownKey", err)
	}
}

// The issuer is down during its rotation, then back with a wholly new set.
func TestRotationOutageThenNewSet(t *testing.T) {
	loadKeys()
	srv := newServer(t, jwksDoc(jwk("a", &rsaA.PublicKey, nil)))
	clk := newClock()
	set := newSet(t, srv, jwks.WithClock(clk.Now))
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	v := rvValidator(t, set)
	oldTok := rvToken(t, "a", rsaA, "a")
	newTok := rvToken(t, "b", rsaB, "b")
	srv.set(503, []byte("down"), nil)
	validateN(t, v, oldTok, 1) // stale keys kept
	if _, err := v.Validate(t.Context(), newTok); !errors.Is(err, validator.ErrUnavailable) {
		t.Errorf("new kid during the outage: %v, want unavailable", err)
	}
	srv.set(200, jwksDoc(jwk("b", &rsaB.PublicKey, nil)), nil)
	clk.Advance(31 * time.Second)
	validateN(t, v, newTok, 1)
	if _, err := v.Validate(t.Context(), oldTok); !errors.Is(err, validator.ErrUnknownKey) {
		t.Errorf("old key after the new set: %v, want ErrUnknownKey", err)
	}
}

// privateJWK renders an RSA private key as a full JWK (what a misconfigured
// issuer serves when it publishes its signing key).
func privateJWK(kid string, k *rsa.PrivateKey) map[string]any {
	k.Precompute()
	m := jwk(kid, &k.PublicKey, nil)
	enc := func(b []byte) string { return b64.EncodeToString(b) }
	m["d"], m["p"], m["q"] = enc(k.D.Bytes()), enc(k.Primes[0].Bytes()), enc(k.Primes[1].Bytes())
	m["dp"], m["dq"], m["qi"] = enc(k.Precomputed.Dp.Bytes()), enc(k.Precomputed.Dq.Bytes()), enc(k.Precomputed.Qinv.Bytes())
	return m
}

// The issuer publishes its signing key's private half: the key is
// compromised under any kid. Neither the previous fetch (when it was the
// only key) nor a public twin entry in the same document may keep it:
// anyone who read the JWKS could sign tokens.
func TestRotationPublishedPrivateKeyStillTrusted(t *testing.T) {
	loadKeys()
	cases := []struct {
		name string
		doc  []byte
	}{
		{"private key replaces the public one", jwksDoc(privateJWK("k", rsaA))},
		{"every key published private", jwksDoc(privateJWK("k", rsaA), privateJWK("b", rsaB))},
		{"private key beside its public twin", jwksDoc(jwk("k", &rsaA.PublicKey, nil), privateJWK("k-leaked", rsaA))},
		{"private key beside its public twin and another key", jwksDoc(jwk("k", &rsaA.PublicKey, nil), privateJWK("k", rsaA), jwk("b", &rsaB.PublicKey, nil))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, jwksDoc(jwk("k", &rsaA.PublicKey, nil), jwk("b", &rsaB.PublicKey, nil)))
			set := newSet(t, srv)
			if err := set.Refresh(t.Context()); err != nil {
				t.Fatal(err)
			}
			v := rvValidator(t, set)
			srv.set(200, c.doc, nil)
			rerr := set.Refresh(t.Context())
			// The attacker read the private key off the JWKS and signs.
			forged := rvToken(t, "k", rsaA, "forged-by-anyone")
			tok, err := v.Validate(t.Context(), forged)
			t.Logf("Refresh() = %v; token signed with the published private key: err=%v", rerr, err)
			if err == nil {
				t.Errorf("a key whose private half the issuer published is still trusted: token for %q accepted", tok.Subject)
			}
		})
	}
}

// The issuer puts a new key under the same kid (or uses no kid) and signs
// with it at once: the first token it signs makes the set look again
// (within the unknown-kid rate limit), the old key's tokens are refused
// after that, and a flood of forged tokens under a known kid costs at most
// that one fetch.
func TestRotationKidReusedNewKeyPickedUp(t *testing.T) {
	loadKeys()
	for _, kid := range []string{"k", ""} {
		name := "kid " + kid
		if kid == "" {
			name = "no kid"
		}
		t.Run(name, func(t *testing.T) {
			srv := newServer(t, jwksDoc(jwk(kid, &rsaA.PublicKey, nil)))
			set := newSet(t, srv, jwks.WithMinRefetchInterval(time.Hour))
			if err := set.Refresh(t.Context()); err != nil {
				t.Fatal(err)
			}
			v := rvValidator(t, set)
			validateN(t, v, rvToken(t, kid, rsaA, "a"), 1)
			srv.set(200, jwksDoc(jwk(kid, &rsaB.PublicKey, nil)), nil)
			before := srv.requests.Load()
			validateN(t, v, rvToken(t, kid, rsaB, "b"), 3)
			if n := srv.requests.Load() - before; n != 1 {
				t.Errorf("the new key cost %d fetches, want 1", n)
			}
			if _, err := v.Validate(t.Context(), rvToken(t, kid, rsaA, "old")); !errors.Is(err, validator.ErrSignature) {
				t.Errorf("old key's token after the rotation: %v, want ErrSignature", err)
			}
			// Forged tokens under the known kid: no more fetches (the rate
			// limit of an hour has been used).
			for i := range 50 {
				forged := rvToken(t, kid, rsaA, fmt.Sprint("forged-", i))
				if _, err := v.Validate(t.Context(), forged); !errors.Is(err, validator.ErrSignature) {
					t.Fatalf("forged token: %v, want ErrSignature", err)
				}
			}
			if n := srv.requests.Load() - before; n != 1 {
				t.Errorf("forged tokens under a known kid cost %d fetches in all, want 1", n)
			}
		})
	}
}

var _ validator.KeyRefresher = (*jwks.Set)(nil)

// During an issuer outage nobody can tell whether a token that fails with
// a known kid's key was signed with a new key under it: 503, as for a new
// kid, not a 401 a client would throw its token away on.
func TestRotationRefreshKeyOutageAnswersUnavailable(t *testing.T) {
	loadKeys()
	srv := newServer(t, jwksDoc(jwk("k", &rsaA.PublicKey, nil)))
	set := newSet(t, srv, jwks.WithMinRefetchInterval(time.Hour))
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	v := rvValidator(t, set)
	srv.set(503, []byte("down"), nil)
	if _, err := v.Validate(t.Context(), rvToken(t, "k", rsaB, "same-kid")); !errors.Is(err, validator.ErrKeysUnavailable) {
		t.Errorf("a new key under a known kid, refetch failed: %v, want ErrKeysUnavailable", err)
	}
	// The refetch budget is used: a forged token is refused at once.
	if _, err := v.Validate(t.Context(), rvToken(t, "k", rsaB, "again")); !errors.Is(err, validator.ErrSignature) {
		t.Errorf("within the rate limit: %v, want ErrSignature", err)
	}
}
