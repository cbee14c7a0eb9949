package validator

import (
	"testing"
	"time"
)

func TestTokenCacheBound(t *testing.T) {
	c := newTokenCache(10_000, time.Hour)
	now := time.Now()
	tok := &Token{}
	for i := range 100_000 {
		var h [32]byte
		h[0], h[1], h[2] = byte(i), byte(i>>8), byte(i>>16)
		c.put(cacheEntry{hash: h, tok: tok, expires: now.Add(time.Hour)})
	}
	if n := c.len(); n > 10_000 {
		t.Fatalf("cache holds %d entries after 100,000 puts, bound 10,000", n)
	}
	var h [32]byte
	last := 99_999
	h[0], h[1], h[2] = byte(last), byte(last>>8), byte(last>>16)
	if _, ok := c.get(h, now); !ok {
		t.Error("most recent entry evicted")
	}
	if _, ok := c.get(h, now.Add(time.Hour)); ok {
		t.Error("entry returned at its expiry")
	}
}
