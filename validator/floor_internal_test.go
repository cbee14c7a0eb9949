package validator

import (
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/jwstest"
)

// Sinks keep the compiler from dropping what BenchmarkHitFloor measures.
var (
	floorKey cacheKey
	floorTok *Token
)

// BenchmarkHitFloor measures what no cache hit can skip, for a token of
// the size of BenchmarkValidateCached's RS256 token: the cache key (a
// keyed GHASH over every byte of the token) and one allocation of the
// Token a hit hands out (a copy of its own, audience inline, as
// cachedToken.token allocates it). BenchmarkValidateCached minus this is
// what the lookup, the key and time checks, and filling the Token cost.
// The allocation's cost depends on the machine and the garbage collector
// far more than on the code: on a virtual machine whose page faults are
// dear it can be most of a hit.
func BenchmarkHitFloor(b *testing.B) {
	claims := jwstest.JSON(map[string]any{
		"iss": "https://issuer.example.com/", "sub": "svc-billing", "aud": "https://api.example.com/orders",
		"client_id": "svc-billing", "iat": 1_800_000_000 - 60, "exp": 1_800_000_000 + 3540,
		"jti": "8f1c2e1a-6d0b-4a55-9d4e-3b1f0c7a2e11", "scope": "read:data write:data",
	})
	// An RS256 (2048-bit) signature is 342 base64url characters; the
	// key's cost depends on the length alone.
	token := jwstest.Encode([]byte(`{"alg":"RS256","kid":"rsa-1","typ":"at+jwt"}`)) + "." +
		jwstest.Encode([]byte(claims)) + "." + strings.Repeat("s", 342)
	c := newTokenCache(DefaultTokenCacheSize, time.Hour)
	b.Run("key", func(b *testing.B) {
		b.SetBytes(int64(len(token)))
		for b.Loop() {
			floorKey = c.key(token)
		}
	})
	b.Run("alloc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			floorTok = &new(struct {
				tok Token
				aud [2]string
			}).tok
		}
	})
	b.Run("key+alloc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			floorKey = c.key(token)
			floorTok = &new(struct {
				tok Token
				aud [2]string
			}).tok
		}
	})
}
