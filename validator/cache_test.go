package validator_test

import (
	"context"
	"crypto"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/validator"
)

// countingKeys counts lookups and can drop its keys.
type countingKeys struct {
	mu      sync.Mutex
	keys    *validator.Keys
	lookups int
}

func (c *countingKeys) Key(ctx context.Context, kid string, alg validator.Algorithm) (*validator.Key, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lookups++
	return c.keys.Key(ctx, kid, alg)
}

func (c *countingKeys) set(keys *validator.Keys) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = keys
}

func TestTokenCache(t *testing.T) {
	loadKeys(t)
	clk := testclock.New(testNow)
	rsa1 := mustKey(t, "rsa-1", &rsaKey.PublicKey, "")
	keys := &countingKeys{keys: validator.NewKeys(rsa1)}
	var checks atomic.Int64
	v, err := validator.New(validator.WithIssuer(testIssuer, keys), validator.WithAudience(testAud), validator.WithClock(clk.Now),
		validator.WithClaimCheck(func(context.Context, *validator.Token) error { checks.Add(1); return nil }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tok := rs256(baseClaims(map[string]any{"nbf": testNow.Unix() - 5}))

	first, err := v.Validate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	second, err := v.Validate(ctx, tok)
	if err != nil || second != first {
		t.Fatalf("second Validate() = %p, %v; want the cached %p", second, err, first)
	}
	if v.CachedTokens() != 1 || checks.Load() != 2 {
		t.Errorf("cached %d, claim checks %d; want 1 and 2 (checks run on hits too)", v.CachedTokens(), checks.Load())
	}
	// A tampered copy never hits the entry.
	if _, err := v.Validate(ctx, tok[:len(tok)-4]+"AAAA"); !errors.Is(err, validator.ErrSignature) {
		t.Errorf("tampered token: %v", err)
	}

	// Hits honour exp and nbf with the clock.
	clk.Set(testNow.Add(299 * time.Second))
	if _, err := v.Validate(ctx, tok); err != nil {
		t.Errorf("before exp: %v", err)
	}
	clk.Set(testNow.Add(-time.Minute))
	if _, err := v.Validate(ctx, tok); !errors.Is(err, validator.ErrNotYetValid) {
		t.Errorf("clock before nbf: %v, want ErrNotYetValid", err)
	}
	clk.Set(testNow)
	if _, err := v.Validate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	clk.Set(testNow.Add(300*time.Second + validator.DefaultLeeway))
	if _, err := v.Validate(ctx, tok); !errors.Is(err, validator.ErrExpired) {
		t.Errorf("past exp: %v, want ErrExpired", err)
	}

	// A caller modifying the shared token cannot change the next decision.
	clk.Set(testNow.Add(300*time.Second + validator.DefaultLeeway))
	tok3 := rs256(baseClaims(map[string]any{"jti": "third", "exp": testNow.Unix() + 600}))
	clk.Set(testNow)
	got, err := v.Validate(ctx, tok3)
	if err != nil {
		t.Fatal(err)
	}
	got.Expiry = testNow.Add(100 * time.Hour)
	got.Audience = []string{"anything"}
	clk.Set(testNow.Add(600*time.Second + validator.DefaultLeeway))
	if _, err := v.Validate(ctx, tok3); !errors.Is(err, validator.ErrExpired) {
		t.Errorf("after the caller rewrote Expiry: %v, want ErrExpired", err)
	}

	// The key that verified a cached token is removed: the token fails.
	clk.Set(testNow)
	tok2 := rs256(baseClaims(map[string]any{"jti": "second"}))
	if _, err := v.Validate(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	keys.set(validator.NewKeys(mustKey(t, "rsa-other", &rsaKey2.PublicKey, "")))
	if _, err := v.Validate(ctx, tok2); !errors.Is(err, validator.ErrUnknownKey) {
		t.Errorf("after key removal: %v, want ErrUnknownKey", err)
	}
	// Replaced by a different key under the same kid: the token fails too.
	keys.set(validator.NewKeys(mustKey(t, "rsa-1", &rsaKey2.PublicKey, "")))
	if _, err := v.Validate(ctx, tok2); !errors.Is(err, validator.ErrSignature) {
		t.Errorf("after key replacement: %v, want ErrSignature", err)
	}
}

func TestWithoutTokenCache(t *testing.T) {
	loadKeys(t)
	v := newValidator(t, validator.WithoutTokenCache())
	tok := rs256(baseClaims(nil))
	a, _ := v.Validate(t.Context(), tok)
	b, _ := v.Validate(t.Context(), tok)
	if a == nil || a == b || v.CachedTokens() != 0 {
		t.Errorf("cache off: %p %p, %d cached", a, b, v.CachedTokens())
	}
}

func TestTokenCacheHMAC(t *testing.T) {
	v := newValidator(t)
	tok := rawToken(`{"alg":"HS256"}`, baseClaims(map[string]any{"iss": hmacIssuer}), signHS(hmacSecret, sha256New))
	a, err := v.Validate(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := v.Validate(t.Context(), tok); err != nil || b != a {
		t.Errorf("HMAC token not cached: %v", err)
	}
}

var sha256New = crypto.SHA256.New
