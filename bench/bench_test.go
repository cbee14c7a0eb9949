package bench

import (
	"testing"

	"github.com/bearerguard/bearerguard/validator"
)

// TestEveryImplementationAccepts guards the benchmarks: each implementation
// must accept the tokens it is timed on, and refuse a tampered one.
func TestEveryImplementationAccepts(t *testing.T) {
	e := setupT(t)
	for _, alg := range algs {
		tok := e.tokens[alg]
		bad := tok[:len(tok)-6] + "AAAAAA"
		for _, impl := range e.impls(alg) {
			if err := impl.fn(t.Context(), tok); err != nil {
				t.Errorf("%s %s refused the token: %v", impl.name, alg, err)
			}
			if impl.name != "raw" {
				if err := impl.fn(t.Context(), bad); err == nil {
					t.Errorf("%s %s accepted a tampered token", impl.name, alg)
				}
			}
		}
		if _, err := e.warm.Validate(t.Context(), tok); err != nil {
			t.Errorf("bearerguard warm %s: %v", alg, err)
		}
	}
}

// BenchmarkCold: the first time a token is seen (bearerguard's cache off).
func BenchmarkCold(b *testing.B) {
	e := setup(b)
	for _, alg := range algs {
		tok := e.tokens[alg]
		for _, impl := range e.impls(alg) {
			b.Run("alg="+string(alg)+"/impl="+impl.name, func(b *testing.B) {
				b.ReportAllocs()
				ctx := b.Context()
				for b.Loop() {
					if err := impl.fn(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkColdParallel: the same on every core.
func BenchmarkColdParallel(b *testing.B) {
	e := setup(b)
	for _, alg := range algs {
		tok := e.tokens[alg]
		for _, impl := range e.impls(alg) {
			b.Run("alg="+string(alg)+"/impl="+impl.name, func(b *testing.B) {
				b.ReportAllocs()
				ctx := b.Context()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := impl.fn(ctx, tok); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}

// BenchmarkWarm: a token seen before (bearerguard's default cache), with
// Validate and with ValidateInto (a Token the caller reuses). Peers have
// no such cache, so their figures are their cold ones.
func BenchmarkWarm(b *testing.B) {
	e := setup(b)
	for _, alg := range []validator.Algorithm{validator.RS256, validator.ES256, validator.EdDSA} {
		tok := e.tokens[alg]
		if _, err := e.warm.Validate(b.Context(), tok); err != nil {
			b.Fatal(err)
		}
		b.Run("alg="+string(alg)+"/impl=bearerguard", func(b *testing.B) {
			b.ReportAllocs()
			ctx := b.Context()
			for b.Loop() {
				if _, err := e.warm.Validate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("alg="+string(alg)+"/impl=bearerguard-parallel", func(b *testing.B) {
			b.ReportAllocs()
			ctx := b.Context()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.warm.Validate(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
		// ValidateInto into a Token the caller reuses: a hit allocates only
		// the Audience slice.
		b.Run("alg="+string(alg)+"/impl=bearerguard-into", func(b *testing.B) {
			b.ReportAllocs()
			ctx := b.Context()
			var dst validator.Token
			for b.Loop() {
				if err := e.warm.ValidateInto(ctx, tok, &dst); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("alg="+string(alg)+"/impl=bearerguard-into-parallel", func(b *testing.B) {
			b.ReportAllocs()
			ctx := b.Context()
			b.RunParallel(func(pb *testing.PB) {
				var dst validator.Token
				for pb.Next() {
					if err := e.warm.ValidateInto(ctx, tok, &dst); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
