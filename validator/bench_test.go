package validator_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/validator"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
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
	all := []validator.Option{
		validator.WithIssuer(benchIssuer, keys),
		validator.WithAudience("https://api.example.com/orders"),
		validator.WithClock(func() time.Time { return now }),
		cacheOpt,
	}
	if len(opts) > 1 {
		all = append(all, opts[1:]...)
	}
	v, err := validator.New(all...)
	if err != nil {
		b.Fatal(err)
	}
	claims := jwstest.JSON(map[string]any{
		"iss": benchIssuer, "sub": "svc-billing", "aud": "https://api.example.com/orders",
		"client_id": "svc-billing", "iat": now.Unix() - 60, "exp": now.Unix() + 3540,
		"jti": "8f1c2e1a-6d0b-4a55-9d4e-3b1f0c7a2e11", "scope": "read:data write:data",
	})
	toks := map[validator.Algorithm]string{
		validator.RS256: jwstest.Token(`{"alg":"RS256","kid":"rsa-1","typ":"at+jwt"}`, claims, jwstest.RS(rsaKey, crypto.SHA256)),
		validator.ES256: jwstest.Token(`{"alg":"ES256","kid":"ec-1","typ":"at+jwt"}`, claims, jwstest.ES(ecKey, crypto.SHA256)),
		validator.EdDSA: jwstest.Token(`{"alg":"EdDSA","kid":"ed-1","typ":"at+jwt"}`, claims, jwstest.EdDSA(edKey)),
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
		sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
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

// BenchmarkValidateCached is the warm path: the same token again, with
// Validate (a Token of its own each time) and with ValidateInto (a Token
// the caller reuses).
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
		// ValidateInto: the caller's Token, reused, so a hit allocates only
		// the Audience slice.
		b.Run(string(alg)+"/into", func(b *testing.B) {
			b.ReportAllocs()
			ctx := b.Context()
			var dst validator.Token
			for b.Loop() {
				if err := v.ValidateInto(ctx, tok, &dst); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(alg)+"/into/parallel", func(b *testing.B) {
			b.ReportAllocs()
			ctx := b.Context()
			b.RunParallel(func(pb *testing.PB) {
				var dst validator.Token
				for pb.Next() {
					if err := v.ValidateInto(ctx, tok, &dst); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkForgedToken measures what an unauthenticated caller can make a
// validator do with a token at the size limit (issue 12, finding 3): full
// of distinct scopes (a "scope" string, or an "scp" array), against a token
// of the same size padded with one long claim. Before the signature only
// the header and "iss" are decoded, so the two must cost about the same.
// Variants: a trusted "iss" and kid with an attacker's signature (the
// signature check runs and fails), and an untrusted "iss" with no kid
// (refused before any key is looked at).
func BenchmarkForgedToken(b *testing.B) {
	loadKeys(b)
	keys := validator.NewKeys(mustKey(b, "rsa-1", &rsaKey.PublicKey, validator.RS256))
	for _, limit := range []int{8 << 10, 32 << 10} {
		v, err := validator.New(validator.WithIssuer(benchIssuer, keys), validator.WithAudience("api"),
			validator.WithMaxTokenSize(limit), validator.WithoutTokenCache())
		if err != nil {
			b.Fatal(err)
		}
		for _, variant := range []struct{ name, iss, header string }{
			{"trusted-iss", benchIssuer, `{"alg":"RS256","kid":"rsa-1"}`},
			{"untrusted-iss", "https://attacker.example/", `{"alg":"RS256"}`},
		} {
			for _, shape := range []string{"padding", "scope", "scp"} {
				tok := forgedToken(limit, variant.header, variant.iss, shape)
				b.Run(fmt.Sprintf("%dKiB/%s/%s", limit>>10, variant.name, shape), func(b *testing.B) {
					b.ReportAllocs()
					b.SetBytes(int64(len(tok)))
					ctx := b.Context()
					for b.Loop() {
						if _, err := v.Validate(ctx, tok); err == nil {
							b.Fatal("forged token accepted")
						}
					}
				})
			}
		}
	}
}

// BenchmarkForgedNames measures what a forged token full of member names
// costs before it is refused (an untrusted "iss": no key is looked at),
// in its claims or its header, against one of the same size padded with
// one long member. Duplicate-name checks that cost more than a pass over
// the bytes wait for the signature, so every shape should cost about what
// the padding does (TestForgedNamesCostNothingBeforeSignature checks the
// allocations).
func BenchmarkForgedNames(b *testing.B) {
	loadKeys(b)
	keys := validator.NewKeys(mustKey(b, "rsa-1", &rsaKey.PublicKey, validator.RS256))
	v, err := validator.New(validator.WithIssuer(benchIssuer, keys), validator.WithAudience("api"), validator.WithoutTokenCache())
	if err != nil {
		b.Fatal(err)
	}
	const size = 5600 // 8 KiB once base64url-encoded and signed
	const header = `{"alg":"RS256","kid":"rsa-1"}`
	claims := `{"iss":"https://attacker.example/"`
	short := claims + "}"
	hprefix := strings.TrimSuffix(header, "}")
	shapes := append([]struct {
		name    string
		members func(prefix string) string
	}{{"padding", func(prefix string) string { return padded(prefix, size) }}}, forgedNameShapes(size)...)
	for _, shape := range shapes {
		for _, where := range []struct{ name, header, claims string }{
			{"claims", header, shape.members(claims)},
			{"header", shape.members(hprefix), short},
		} {
			tok := jwstest.Token(where.header, where.claims, jwstest.RS(rsaKey2, crypto.SHA256))
			b.Run(where.name+"/"+strings.ReplaceAll(shape.name, " ", "-"), func(b *testing.B) {
				b.ReportAllocs()
				ctx := b.Context()
				for b.Loop() {
					if _, err := v.Validate(ctx, tok); err == nil {
						b.Fatal("forged token accepted")
					}
				}
			})
		}
	}
}

// padded closes the object begun by prefix with one long member, to size
// bytes.
func padded(prefix string, size int) string {
	return prefix + `,"p":"` + strings.Repeat("x", size-len(prefix)-8) + `"}`
}

// forgedNameShapes are objects of many member names an attacker can send:
// each closes the object begun by prefix, at most size bytes.
func forgedNameShapes(size int) []struct {
	name    string
	members func(prefix string) string
} {
	flat := func(name func(i int) string) func(string) string {
		return func(prefix string) string {
			var b strings.Builder
			b.WriteString(prefix)
			for i := 0; ; i++ {
				m := `,"` + name(i) + `":0`
				if b.Len()+len(m)+1 > size {
					break
				}
				b.WriteString(m)
			}
			b.WriteString("}")
			return b.String()
		}
	}
	return []struct {
		name    string
		members func(prefix string) string
	}{
		{"short names", flat(func(i int) string { return fmt.Sprintf("a%d", i) })},
		{"names of 40 bytes", flat(func(i int) string { return fmt.Sprintf("%040d", i) })},
		{"escaped names", flat(func(i int) string { return fmt.Sprintf(`\u0061%d`, i) })},
		{"nested short names", func(prefix string) string {
			return strings.TrimSuffix(flat(func(i int) string { return fmt.Sprintf("a%d", i) })(prefix+`,"o":{"z":0`), "}") + "}}"
		}},
		// 15 long names alike under folding up to their last rune, spelled
		// with the four runes of one folding orbit (Θ θ ϑ ϴ): a folded
		// comparison would go through every rune of every pair.
		{"names alike under folding", func(prefix string) string {
			variants := []string{"\u0398", "\u03b8", "\u03d1", "\u03f4"}
			var b strings.Builder
			b.WriteString(prefix)
			per := (size - len(prefix)) / 15 / 2
			x := uint32(1)
			for i := range 15 {
				b.WriteString(`,"`)
				for range per - 4 {
					x = x*1664525 + 1013904223
					b.WriteString(variants[x>>30])
				}
				fmt.Fprintf(&b, `%c":0`, 'a'+i)
			}
			b.WriteString("}")
			return b.String()
		}},
	}
}

// forgedToken builds a token of at most limit bytes signed by an attacker's
// key, whose claims are padded to the limit with one long claim
// ("padding"), distinct two-letter scopes in a "scope" string ("scope"),
// or the same in an "scp" array ("scp").
func forgedToken(limit int, header, iss, shape string) string {
	// base64url grows by 4/3; keep room for the header and a 256-byte
	// signature, then shrink until the token fits.
	room := (limit-len(jwstest.Encode([]byte(header)))-2-344)*3/4 - 64
	for {
		tok := jwstest.Token(header, forgedClaims(room, iss, shape), jwstest.RS(rsaKey2, crypto.SHA256))
		if len(tok) <= limit {
			return tok
		}
		room -= (len(tok)-limit)*3/4 + 4
	}
}

func forgedClaims(room int, iss, shape string) string {
	if shape == "padding" {
		return fmt.Sprintf(`{"iss":%q,"aud":"api","exp":1900000000,"pad":"%s"}`, iss, strings.Repeat("x", room))
	}
	var list []string
	sep := 3 // `","`
	if shape == "scope" {
		sep = 1 // " "
	}
	size := 0
	for i := 0; size < room; i++ {
		s := string([]byte{'a' + byte(i/26%26), 'a' + byte(i%26)})
		if i >= 26*26 {
			s += string(rune('a' + i/(26*26)%26))
		}
		list = append(list, s)
		size += len(s) + sep
	}
	if shape == "scope" {
		return fmt.Sprintf(`{"iss":%q,"aud":"api","exp":1900000000,"scope":%q}`, iss, strings.Join(list, " "))
	}
	return fmt.Sprintf(`{"iss":%q,"aud":"api","exp":1900000000,"scp":["%s"]}`, iss, strings.Join(list, `","`))
}

// BenchmarkCacheHeapPerEntry reports the heap one validated-token cache
// entry holds (the cache's own copy of the Token, its claims, and the
// cache's bookkeeping), with a realistic client-credentials token. Each
// token is validated twice: the cache admits a token on its second
// sighting.
func BenchmarkCacheHeapPerEntry(b *testing.B) {
	loadKeys(b)
	const n = 4096
	now := time.Unix(1_800_000_000, 0)
	toks := make([]string, n)
	for i := range toks {
		toks[i] = jwstest.Token(`{"alg":"EdDSA","kid":"ed-1","typ":"at+jwt"}`, jwstest.JSON(map[string]any{
			"iss": benchIssuer, "sub": "svc-billing", "aud": "https://api.example.com/orders",
			"client_id": "svc-billing", "iat": now.Unix() - 60, "exp": now.Unix() + 3540,
			"jti": fmt.Sprintf("8f1c2e1a-6d0b-4a55-9d4e-%012d", i), "scope": "read:data write:data",
		}), jwstest.EdDSA(edKey))
	}
	keys := validator.NewKeys(mustKey(b, "ed-1", edKey.Public(), validator.EdDSA))
	var perEntry float64
	for b.Loop() {
		v, err := validator.New(validator.WithIssuer(benchIssuer, keys), validator.WithAudience("https://api.example.com/orders"),
			validator.WithClock(func() time.Time { return now }), validator.WithTokenCache(2*n, time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, tok := range toks {
			for range 2 {
				if _, err := v.Validate(b.Context(), tok); err != nil {
					b.Fatal(err)
				}
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if v.CachedTokens() != n {
			b.Fatalf("cached %d, want %d", v.CachedTokens(), n)
		}
		perEntry = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(v)
	}
	b.ReportMetric(perEntry, "B/entry")
	b.ReportMetric(float64(len(toks[0])), "B/token")
}

// BenchmarkDPoP measures what DPoP adds to a request with a reused token:
// the token is a cache hit either way; a DPoP request also verifies a
// fresh ES256 proof (parsing its key, the signature, the claims) and
// records it in the replay store. Compare the difference with
// BenchmarkRawVerify/ES256, one signature check.
func BenchmarkDPoP(b *testing.B) {
	loadKeys(b)
	key := newProofKey(b)
	now := time.Unix(1_800_000_000, 0)
	keys := validator.NewKeys(mustKey(b, "rsa-1", &rsaKey.PublicKey, validator.RS256))
	v, err := validator.New(validator.WithIssuer(benchIssuer, keys), validator.WithAudience("https://api.example.com/orders"),
		validator.WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	claims := func(extra map[string]any) string {
		return jwstest.Claims(map[string]any{"iss": benchIssuer, "sub": "svc-billing", "aud": "https://api.example.com/orders",
			"client_id": "svc-billing", "iat": now.Unix() - 60, "exp": now.Unix() + 3540, "jti": "8f1c2e1a", "scope": "read:data write:data"}, extra)
	}
	header := `{"alg":"RS256","kid":"rsa-1","typ":"at+jwt"}`
	bearer := jwstest.Token(header, claims(nil), jwstest.RS(rsaKey, crypto.SHA256))
	bound := jwstest.Token(header, claims(map[string]any{"cnf": map[string]any{"jkt": key.thumbprint()}}), jwstest.RS(rsaKey, crypto.SHA256))
	const htu = "https://api.example.com/orders/data"
	proofs := make([]string, 40_000)
	for i := range proofs {
		proofs[i] = jwstest.Token(jwstest.JSON(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": key.jwk}),
			jwstest.JSON(map[string]any{"jti": fmt.Sprintf("bench-%d", i), "htm": "GET", "htu": htu, "iat": now.Unix(), "ath": ath(bound)}),
			jwstest.ES(key.priv, crypto.SHA256))
	}
	ctx := b.Context()
	for range 2 { // admitted to the token cache on the second sighting
		if _, err := v.Validate(ctx, bearer); err != nil {
			b.Fatal(err)
		}
		if _, err := v.ValidatePresentation(ctx, validator.Presentation{Scheme: validator.SchemeDPoP, Token: bound, Proof: proofs[len(proofs)-1-len(proofs)%2], Method: "GET", URL: htu}); err != nil && !errors.Is(err, validator.ErrProofReplayed) {
			b.Fatal(err)
		}
	}
	b.Run("bearer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Validate(ctx, bearer); err != nil {
				b.Fatal(err)
			}
		}
	})
	i := 0 // proofs are used once, across every run of the sub-benchmark
	b.Run("dpop", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if i >= len(proofs)-2 {
				b.Fatal("out of fresh proofs: lower -benchtime")
			}
			p := validator.Presentation{Scheme: validator.SchemeDPoP, Token: bound, Proof: proofs[i], Method: "GET", URL: htu}
			if _, err := v.ValidatePresentation(ctx, p); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkTelemetry is the warm path with the metrics API's no-op
// provider (the floor), with the global provider left as it is (what a user
// who configured nothing gets), and with an SDK provider and a reader (what
// a user who exports metrics gets).
func BenchmarkTelemetry(b *testing.B) {
	for _, c := range []struct {
		name string
		opt  validator.Option
	}{
		{"noop", validator.WithMeterProvider(noop.NewMeterProvider())},
		{"global", validator.WithTokenCache(validator.DefaultTokenCacheSize, validator.DefaultTokenCacheMaxTTL)},
		{"sdk", validator.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())))},
	} {
		v, toks := benchSetup(b, validator.WithTokenCache(validator.DefaultTokenCacheSize, validator.DefaultTokenCacheMaxTTL), c.opt)
		tok := toks[validator.ES256]
		for range 2 {
			if _, err := v.Validate(b.Context(), tok); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := b.Context()
			for b.Loop() {
				if _, err := v.Validate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
