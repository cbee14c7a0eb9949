package validator_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

const benchIssuer = "https://id.example.com/"

// benchSetup returns a validator with a warmed, fixed key set and one
// realistic client-credentials token per algorithm.
func benchSetup(b *testing.B, opts ...validator.Option) (*validator.Validator, map[validator.Algorithm]string) {
	cacheOpt := validator.WithoutTokenCache() // cold: every call a full validation
	if len(opts) > 0 {
		cacheOpt = opts[0]
	}
	loadKeys(b)
	keys := validator.NewKeys(
		mustKey(b, "rsa-1", &rsaKey.PublicKey, validator.RS256),
		mustKey(b, "ec-1", &ecKey.PublicKey, validator.ES256),
		mustKey(b, "ed-1", edKey.Public(), validator.EdDSA),
	)
	now := time.Unix(1_800_000_000, 0)
	v, err := validator.New(
		validator.WithIssuer(benchIssuer, keys),
		validator.WithAudience("https://api.example.com/orders"),
		validator.WithClock(func() time.Time { return now }),
		cacheOpt,
	)
	if err != nil {
		b.Fatal(err)
	}
	claims := jsonOf(map[string]any{
		"iss": benchIssuer, "sub": "svc-billing", "aud": "https://api.example.com/orders",
		"client_id": "svc-billing", "iat": now.Unix() - 60, "exp": now.Unix() + 3540,
		"jti": "8f1c2e1a-6d0b-4a55-9d4e-3b1f0c7a2e11", "scope": "read:data write:data",
	})
	toks := map[validator.Algorithm]string{
		validator.RS256: rawToken(`{"alg":"RS256","kid":"rsa-1","typ":"at+jwt"}`, claims, signRS(rsaKey, crypto.SHA256)),
		validator.ES256: rawToken(`{"alg":"ES256","kid":"ec-1","typ":"at+jwt"}`, claims, signES(ecKey, crypto.SHA256)),
		validator.EdDSA: rawToken(`{"alg":"EdDSA","kid":"ed-1","typ":"at+jwt"}`, claims, signEd(edKey)),
	}
	return v, toks
}

func BenchmarkValidate(b *testing.B) {
	v, toks := benchSetup(b)
	for _, alg := range []validator.Algorithm{validator.RS256, validator.ES256, validator.EdDSA} {
		tok := toks[alg]
		b.Run(string(alg), func(b *testing.B) {
			b.ReportAllocs()
			ctx := b.Context()
			for b.Loop() {
				if _, err := v.Validate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(alg)+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			ctx := b.Context()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := v.Validate(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkRawVerify is the floor: hashing the signing input and verifying
// the already-decoded signature of the same tokens with the standard library.
func BenchmarkRawVerify(b *testing.B) {
	_, toks := benchSetup(b)
	for _, alg := range []validator.Algorithm{validator.RS256, validator.ES256, validator.EdDSA} {
		tok := toks[alg]
		i := strings.LastIndexByte(tok, '.')
		in := []byte(tok[:i])
		sig, _ := enc.DecodeString(tok[i+1:])
		var verify func() bool
		switch alg {
		case validator.RS256:
			verify = func() bool {
				d := sha256.Sum256(in)
				return rsa.VerifyPKCS1v15(&rsaKey.PublicKey, crypto.SHA256, d[:], sig) == nil
			}
		case validator.ES256:
			verify = func() bool {
				d := sha256.Sum256(in)
				r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
				return ecdsa.Verify(&ecKey.PublicKey, d[:], r, s)
			}
		case validator.EdDSA:
			pub := edKey.Public().(ed25519.PublicKey)
			verify = func() bool { return ed25519.Verify(pub, in, sig) }
		}
		b.Run(string(alg), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !verify() {
					b.Fatal("verify failed")
				}
			}
		})
		b.Run(string(alg)+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if !verify() {
						b.Fatal("verify failed")
					}
				}
			})
		})
	}
}

// BenchmarkValidateCached is the warm path: the same token again.
func BenchmarkValidateCached(b *testing.B) {
	v, toks := benchSetup(b, validator.WithTokenCache(validator.DefaultTokenCacheSize, validator.DefaultTokenCacheMaxTTL))
	for _, alg := range []validator.Algorithm{validator.RS256, validator.ES256} {
		tok := toks[alg]
		if _, err := v.Validate(b.Context(), tok); err != nil {
			b.Fatal(err)
		}
		b.Run(string(alg), func(b *testing.B) {
			b.ReportAllocs()
			ctx := b.Context()
			for b.Loop() {
				if _, err := v.Validate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(alg)+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			ctx := b.Context()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := v.Validate(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
