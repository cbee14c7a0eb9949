package validator

import (
	"crypto"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/bearerguard/bearerguard/internal/jwstest"
)

func TestTokenCacheBound(t *testing.T) {
	c := newTokenCache(10_000, time.Hour)
	now := time.Now()
	tok := &Token{}
	var last cacheKey
	for i := range 100_000 {
		var k cacheKey
		k[0], k[1], k[2] = byte(i), byte(i>>8), byte(i>>16)
		c.put(k, cachedToken{more: &cachedMore{full: tok}}, now.Add(time.Hour))
		last = k
	}
	if n := c.len(); n > 10_000 {
		t.Fatalf("cache holds %d entries after 100,000 puts, bound 10,000", n)
	}
	if _, ok := c.get(last, now); !ok {
		t.Error("most recent entry evicted")
	}
	if _, ok := c.get(last, now.Add(time.Hour)); ok {
		t.Error("entry returned at its expiry")
	}
}

// TestTokenCacheMatchesWholeTag: the table is keyed by the tag's first
// half, but a hit needs all 128 bits: a tag differing in any byte of its
// second half finds nothing, and taking the slot replaces the other entry.
func TestTokenCacheMatchesWholeTag(t *testing.T) {
	c := newTokenCache(16, time.Hour)
	now := time.Now()
	var k cacheKey
	for i := range k {
		k[i] = byte(i + 1)
	}
	c.put(k, cachedToken{arena: "first"}, now.Add(time.Hour))
	for i := range 16 {
		other := k
		other[i] ^= 0x80
		if _, ok := c.get(other, now); ok {
			t.Errorf("tag differing in byte %d: a hit", i)
		}
	}
	if e, ok := c.get(k, now); !ok || e.arena != "first" {
		t.Fatalf("own tag: %q, %v", e.arena, ok)
	}
	sameFirst := k
	sameFirst[15] ^= 1
	c.put(sameFirst, cachedToken{arena: "second"}, now.Add(time.Hour))
	if _, ok := c.get(k, now); ok {
		t.Error("replaced entry still found")
	}
	if e, ok := c.get(sameFirst, now); !ok || e.arena != "second" {
		t.Errorf("replacing entry: %q, %v", e.arena, ok)
	}
	c.remove(k) // not the entry's tag: it stays
	if e, ok := c.get(sameFirst, now); !ok || e.arena != "second" {
		t.Errorf("remove of another tag with the same first half dropped the entry: %q, %v", e.arena, ok)
	}
	c.remove(sameFirst)
	if c.len() != 0 {
		t.Errorf("%d entries after remove", c.len())
	}
}

// Tags are a function of the whole token and of the cache's own key.
func TestTokenCacheKey(t *testing.T) {
	a, b := newTokenCache(16, time.Hour), newTokenCache(16, time.Hour)
	tok := "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln"
	if k1, k2 := a.key(tok), a.key(tok); k1 != k2 {
		t.Fatal("the same token has two tags")
	}
	if a.key(tok) == b.key(tok) {
		t.Error("two caches share a MAC key")
	}
	seen := map[cacheKey]string{}
	for _, other := range []string{tok + "x", tok[:len(tok)-1], "x" + tok, tok[:10] + "A" + tok[11:], ""} {
		k := a.key(other)
		if k == a.key(tok) {
			t.Errorf("%q has the tag of %q", other, tok)
		}
		if prev, dup := seen[k]; dup {
			t.Errorf("%q and %q share a tag", other, prev)
		}
		seen[k] = other
	}
}

// A token is admitted on its second sighting; a flood of tokens seen once
// is never admitted.
func TestTokenCacheAdmission(t *testing.T) {
	c := newTokenCache(100, time.Hour)
	reused := c.key("reused")
	if c.admit(reused) {
		t.Fatal("admitted on first sighting")
	}
	if !c.admit(reused) {
		t.Fatal("not admitted on second sighting")
	}
	admitted := 0
	for i := range 10_000 {
		if c.admit(c.key(string(rune(i)) + "-fresh")) {
			admitted++
		}
	}
	if admitted > 0 {
		t.Errorf("%d of 10,000 tokens seen once were admitted", admitted)
	}
}

// The cache holds ordinary tokens compactly (no claims JSON, strings in
// one small arena, scopes shared) and keeps whole those the compact form
// cannot hold exactly.
func TestCompactCacheForm(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef-compact-form-test-secret")
	now := time.Unix(1_800_000_000, 0)
	v, err := New(WithIssuerSecret("https://hs.example.com/", secret), WithAudience("orders"),
		WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	claims := func(aud any) string {
		return jwstest.JSON(map[string]any{"iss": "https://hs.example.com/", "sub": "svc", "aud": aud,
			"exp": now.Unix() + 60, "scope": "read:data write:data", "jti": "j-1"})
	}
	for _, tt := range []struct {
		name string
		aud  any
		full bool
	}{
		{"one audience", "orders", false},
		{"two audiences", []string{"orders", "billing"}, false},
		{"three audiences", []string{"orders", "billing", "crm"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := v.Validate(t.Context(), jwstest.Token(`{"alg":"HS256"}`, claims(tt.aud), jwstest.HS(secret, crypto.SHA256)))
			if err != nil {
				t.Fatal(err)
			}
			c := v.compact(tok, "", nil, v.issuers["https://hs.example.com/"])
			if got := c.whole() != nil; got != tt.full {
				t.Fatalf("kept whole: %v, want %v", got, tt.full)
			}
			if tt.full {
				return
			}
			if c.arena != "svcj-1"+strings.Join(anyStrings(tt.aud)[1:], "") {
				t.Errorf("arena %q", c.arena)
			}
			if c.scopes != v.compact(tok, "", nil, v.issuers["https://hs.example.com/"]).scopes {
				t.Error("two tokens with the same scopes do not share their set")
			}
		})
	}
}

func anyStrings(v any) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	return v.([]string)
}

// Role names may hold spaces: {"a b"} and {"a", "b"} are two sets, each
// held compactly, neither answering for the other.
func TestCompactCacheRoleNames(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef-compact-roles-test-secret")
	now := time.Unix(1_800_000_000, 0)
	const iss = "https://hs.example.com/"
	v, err := New(WithIssuerSecret(iss, secret, IssuerRoleClaims("/roles")), WithAudience("orders"),
		WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for _, roles := range [][]string{{"a b"}, {"a", "b"}, {"Données", `say "hi"`}} {
			tok, err := v.Validate(t.Context(), jwstest.Token(`{"alg":"HS256"}`, jwstest.JSON(map[string]any{"iss": iss, "aud": "orders",
				"exp": now.Unix() + 60, "roles": roles}), jwstest.HS(secret, crypto.SHA256)))
			if err != nil {
				t.Fatal(err)
			}
			c := v.compact(tok, "", nil, v.issuers[iss])
			if c.whole() != nil {
				t.Fatalf("round %d, roles %q: kept whole", round, roles)
			}
			if got, _ := c.rolesPerms(); !slices.Equal(got.List(), roles) {
				t.Errorf("round %d: compact roles %q, want %q", round, got.List(), roles)
			}
		}
	}
}

// TestCachedTokenSize: a cached token is at most 112 bytes, so that the
// cache's entry (its links, tag, expiry and recency around it) fits the
// allocator's 176-byte size class. A field added to cachedToken costs
// every entry 16 bytes or more: put rare fields in cachedMore.
func TestCachedTokenSize(t *testing.T) {
	if got := unsafe.Sizeof(cachedToken{}); got > 112 {
		t.Errorf("cachedToken is %d bytes, want at most 112", got)
	}
}
