package lru

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"
)

func hashInt(k int) uint64 { return uint64(k) * 0x9e3779b97f4a7c15 >> 32 }

func TestGetPutExpireEvict(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c := New[int, string](3, 1, hashInt)
	c.Put(1, "a", now.Add(time.Minute))
	c.Put(2, "b", now.Add(time.Second))
	c.Put(3, "c", now.Add(time.Minute))
	tests := []struct {
		name string
		key  int
		at   time.Time
		want string
		ok   bool
	}{
		{"present", 1, now, "a", true},
		{"absent", 9, now, "", false},
		{"before expiry", 2, now.Add(time.Second - 1), "b", true},
		{"at expiry", 2, now.Add(time.Second), "", false},
		{"removed once expired", 2, now, "", false},
	}
	for _, tt := range tests {
		got, ok := c.Get(tt.key, tt.at)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: Get(%d) = %q, %v; want %q, %v", tt.name, tt.key, got, ok, tt.want, tt.ok)
		}
	}
	// 1 was used more recently than 3: adding two more evicts 3 first.
	c.Get(1, now)
	c.Put(4, "d", now.Add(time.Minute))
	c.Put(5, "e", now.Add(time.Minute))
	if _, ok := c.Get(3, now); ok {
		t.Error("least recently used entry not evicted")
	}
	if _, ok := c.Get(1, now); !ok {
		t.Error("recently used entry evicted")
	}
	if c.Len() != 3 {
		t.Errorf("Len = %d, want 3", c.Len())
	}
	c.Put(1, "A", now.Add(time.Minute))
	if v, _ := c.Get(1, now); v != "A" || c.Len() != 3 {
		t.Errorf("replace: %q, Len %d", v, c.Len())
	}
	c.Remove(1)
	if _, ok := c.Get(1, now); ok || c.Len() != 2 {
		t.Errorf("after Remove: present %v, Len %d", ok, c.Len())
	}
}

func TestBoundedUnderConcurrency(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c := New[[8]byte, int](64, 8, func(k [8]byte) uint64 { return binary.LittleEndian.Uint64(k[:]) })
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 10_000 {
				var k [8]byte
				binary.LittleEndian.PutUint64(k[:], uint64(g*1_000_000+i))
				c.Put(k, i, now.Add(time.Hour))
				if v, ok := c.Get(k, now); ok && v != i {
					t.Errorf("Get = %d, want %d", v, i)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := c.Len(); n > 64 {
		t.Errorf("Len = %d, over the bound of 64", n)
	}
}
