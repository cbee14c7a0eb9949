package introspect_test

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// BenchmarkIntrospect measures a cache hit, and a miss against a loopback
// server (one HTTPS round trip per call, since every token is new).
func BenchmarkIntrospect(b *testing.B) {
	iss := bearertest.NewIssuer(b)
	iss.AddClient(bearertest.ClientConfig{ID: rsID, Secret: rsSecret})
	c, err := introspect.New(iss.IntrospectionURL(), introspect.ClientSecretBasic(rsID, rsSecret), introspect.WithHTTPClient(iss.Client()))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := b.Context()
	tok := iss.Opaque(b, bearertest.Claims{"aud": audience, "scope": "read:data"})
	if _, err := c.Introspect(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Introspect(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hit/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Introspect(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if _, err := c.Introspect(ctx, fmt.Sprintf("never-issued-%d", i)); err == nil {
				b.Fatal("unknown token active")
			}
		}
	})
}

// BenchmarkLRUParallel measures the default cache under concurrent hits on
// many tokens, the shape of a busy API: sharding keeps goroutines from
// queueing on one lock.
func BenchmarkLRUParallel(b *testing.B) {
	c := introspect.NewLRU(introspect.DefaultCacheSize)
	now := time.Now()
	keys := make([]introspect.Key, 4096)
	for i := range keys {
		keys[i] = introspect.Key(sha256.Sum256([]byte(fmt.Sprint("token-", i))))
		c.Put(keys[i], introspect.Entry{Token: &validator.Token{Subject: "s"}, Expires: now.Add(time.Hour)})
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := c.Get(keys[i&4095], now); !ok {
				b.Fatal("miss")
			}
			i += 7
		}
	})
}
