package redisstore_test

import (
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/redisstore"
)

// TestZeroValues: a ReplayStore or a Cache not built by a Store refuses
// (the replay check fails closed) or holds nothing, and never panics
// (SECURITY.md 108).
func TestZeroValues(t *testing.T) {
	var r redisstore.ReplayStore
	if fresh, err := r.Remember(t.Context(), "k", time.Now().Add(time.Minute)); fresh || err == nil {
		t.Errorf("zero ReplayStore: Remember = %v, %v; want a refusal", fresh, err)
	}
	var c redisstore.Cache
	var k introspect.Key
	c.Put(k, introspect.Entry{Expires: time.Now().Add(time.Minute)})
	if _, ok := c.Get(k, time.Now()); ok {
		t.Error("zero Cache: Get hit")
	}
	_ = c.Stats()
}
