package validator

import (
	"testing"
	"time"
)

func TestTokenCacheBound(t *testing.T) {
	c := newTokenCache(10_000, time.Hour)
	now := time.Now()
	tok := &Token{}
	var last cacheKey
	for i := range 100_000 {
		var k cacheKey
		k[0], k[1], k[2] = byte(i), byte(i>>8), byte(i>>16)
		c.put(k, cacheEntry{tok: tok}, now.Add(time.Hour))
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
