package introspect_test

import (
	"errors"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// TestZeroValues: a Client or an LRU not built by its constructor refuses
// or holds nothing, and never panics; behind a gRPC service a panic ended
// the process (SECURITY.md 108).
func TestZeroValues(t *testing.T) {
	var c introspect.Client
	if _, err := c.Introspect(t.Context(), "opaque"); !errors.Is(err, validator.ErrIntrospectionUnavailable) {
		t.Errorf("zero Client: Introspect = %v, want ErrIntrospectionUnavailable", err)
	}
	if err := c.WaitReady(t.Context()); err == nil {
		t.Error("zero Client: WaitReady succeeded")
	}
	if c.Ready() {
		t.Error("zero Client is ready")
	}
	if err := c.Close(); err != nil {
		t.Errorf("zero Client: Close = %v", err)
	}

	var l introspect.LRU
	var k introspect.Key
	l.Put(k, introspect.Entry{Expires: time.Now().Add(time.Minute)})
	if l.Add(k, introspect.Entry{Expires: time.Now().Add(time.Minute)}, time.Now()) {
		t.Error("zero LRU: Add stored")
	}
	if _, ok := l.Get(k, time.Now()); ok || l.Len() != 0 {
		t.Errorf("zero LRU: Get hit, Len %d", l.Len())
	}
	// As a Client's cache: every token is asked, none is cached.
	iss := newIssuer(t)
	cl := newClient(t, iss, introspect.WithCache(&l))
	tok := iss.Opaque(t, bearertest.Claims{"scope": "read:data"})
	for range 2 {
		if _, err := cl.Introspect(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := cl.Requests(); n != 2 {
		t.Errorf("over a zero LRU: %d requests, want 2", n)
	}
}
