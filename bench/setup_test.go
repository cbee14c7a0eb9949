package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	auth0validator "github.com/auth0/go-jwt-middleware/v2/validator"
	gjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v2/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/validator"
)

const audience = "https://api.example.com/orders"

var algs = []validator.Algorithm{validator.RS256, validator.ES256, validator.EdDSA}

// env is everything the benchmarks share: one issuer, its keys, one token
// per algorithm, and every implementation configured to accept them.
type env struct {
	iss      *bearertest.Issuer
	tokens   map[validator.Algorithm]string
	pub      map[validator.Algorithm]crypto.PublicKey
	cold     *validator.Validator // bearerguard, token cache off
	warm     *validator.Validator // bearerguard, defaults (token cache on)
	keyfunc  keyfunc.Keyfunc
	jwxSet   jwk.Set
	auth0    map[validator.Algorithm]*auth0validator.Validator
	jwksJSON json.RawMessage
}

var (
	envOnce sync.Once
	shared  *env
)

// tb lets one issuer outlive the benchmark that created it.
type tb struct{ testing.TB }

func (tb) Cleanup(func()) {}

func setup(b *testing.B) *env {
	b.Helper()
	envOnce.Do(func() { shared = newEnv(tb{b}) })
	return shared
}

func newEnv(t bearertest.T) *env {
	iss := bearertest.NewIssuer(t)
	e := &env{iss: iss, tokens: map[validator.Algorithm]string{}, pub: map[validator.Algorithm]crypto.PublicKey{}, auth0: map[validator.Algorithm]*auth0validator.Validator{}}
	for _, alg := range algs[1:] {
		iss.Rotate(t, alg)
	}
	now := time.Now()
	for _, alg := range algs {
		e.tokens[alg] = iss.Mint(t, bearertest.Claims{
			"aud": audience, "sub": "svc-billing", "client_id": "svc-billing", "scope": "read:data write:data",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		}, bearertest.WithAlgorithm(alg))
	}
	// The issuer's JWKS document, fetched once, feeds every peer.
	resp, err := iss.Client().Get(iss.JWKSURL())
	if err != nil {
		t.Fatalf("fetching JWKS: %v", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&e.jwksJSON); err != nil {
		t.Fatalf("decoding JWKS: %v", err)
	}

	keys := iss.KeySet(t)
	for _, c := range []struct {
		v   **validator.Validator
		opt validator.Option
	}{{&e.cold, validator.WithoutTokenCache()}, {&e.warm, validator.WithTokenCache(validator.DefaultTokenCacheSize, validator.DefaultTokenCacheMaxTTL)}} {
		v, err := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithAudience(audience), c.opt)
		if err != nil {
			t.Fatalf("validator: %v", err)
		}
		*c.v = v
	}
	// Warm bearerguard's key set.
	for _, alg := range algs {
		if _, err := e.cold.Validate(context.Background(), e.tokens[alg]); err != nil {
			t.Fatalf("bearerguard %s: %v", alg, err)
		}
	}

	if e.keyfunc, err = keyfunc.NewJWKSetJSON(e.jwksJSON); err != nil {
		t.Fatalf("keyfunc: %v", err)
	}
	if e.jwxSet, err = jwk.Parse(e.jwksJSON); err != nil {
		t.Fatalf("jwx: %v", err)
	}
	for i := 0; i < e.jwxSet.Len(); i++ {
		k, _ := e.jwxSet.Key(i)
		var raw any
		if err := k.Raw(&raw); err != nil {
			t.Fatalf("jwx raw: %v", err)
		}
		alg := validator.Algorithm(k.Algorithm().String())
		e.pub[alg] = raw
	}
	for _, alg := range algs {
		pub := e.pub[alg]
		v, err := auth0validator.New(func(context.Context) (any, error) { return pub, nil },
			auth0validator.SignatureAlgorithm(alg), iss.URL, []string{audience})
		if err != nil {
			t.Fatalf("auth0: %v", err)
		}
		e.auth0[alg] = v
	}
	return e
}

// impls are the cold-path implementations: each validates a token in full
// (signature, iss, aud, exp) and returns an error if it is not good.
func (e *env) impls(alg validator.Algorithm) []struct {
	name string
	fn   func(ctx context.Context, tok string) error
} {
	return []struct {
		name string
		fn   func(ctx context.Context, tok string) error
	}{
		{"raw", e.rawVerify(alg)},
		{"bearerguard", func(ctx context.Context, tok string) error { _, err := e.cold.Validate(ctx, tok); return err }},
		{"golang-jwt+keyfunc", func(ctx context.Context, tok string) error {
			_, err := gjwt.Parse(tok, e.keyfunc.Keyfunc, gjwt.WithValidMethods([]string{string(alg)}),
				gjwt.WithIssuer(e.iss.URL), gjwt.WithAudience(audience), gjwt.WithExpirationRequired())
			return err
		}},
		{"auth0", func(ctx context.Context, tok string) error {
			_, err := e.auth0[alg].ValidateToken(ctx, tok)
			return err
		}},
		{"jwx", func(ctx context.Context, tok string) error {
			_, err := jwxjwt.ParseString(tok, jwxjwt.WithKeySet(e.jwxSet, jwxInferAlg()), jwxjwt.WithValidate(true),
				jwxjwt.WithIssuer(e.iss.URL), jwxjwt.WithAudience(audience))
			return err
		}},
	}
}

// rawVerify is the floor: hash the signing input and verify the signature
// with the standard library, nothing else.
func (e *env) rawVerify(alg validator.Algorithm) func(context.Context, string) error {
	tok := e.tokens[alg]
	i := strings.LastIndexByte(tok, '.')
	in := []byte(tok[:i])
	sig, _ := b64.DecodeString(tok[i+1:])
	pub := e.pub[alg]
	return func(context.Context, string) error {
		switch alg {
		case validator.RS256:
			d := sha256.Sum256(in)
			return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, d[:], sig)
		case validator.ES256:
			d := sha256.Sum256(in)
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			if !ecdsa.Verify(pub.(*ecdsa.PublicKey), d[:], r, s) {
				return errVerify
			}
			return nil
		default:
			if !ed25519.Verify(pub.(ed25519.PublicKey), in, sig) {
				return errVerify
			}
			return nil
		}
	}
}

func setupT(t *testing.T) *env {
	t.Helper()
	envOnce.Do(func() { shared = newEnv(tb{t}) })
	return shared
}
