package lru

import (
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"
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

// TestExpiryFarAndMonotonic: expiry times centuries away in either
// direction, and a TTL measured on the monotonic clock, compare exactly as
// time.Time.Before does.
func TestExpiryFarAndMonotonic(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c := New[int, string](4, 1, hashInt)
	c.Put(1, "far", time.Unix(1<<40, 0)) // year 36812
	c.Put(2, "past", time.Time{})        // year 1
	c.Put(3, "max", time.Unix(1<<62, 0)) // far beyond
	mono := time.Now()
	c.Put(4, "ttl", mono.Add(time.Minute))
	for _, tt := range []struct {
		key int
		at  time.Time
		ok  bool
	}{
		{4, mono.Add(time.Minute - time.Nanosecond), true},
		{4, mono.Add(time.Minute), false},
		{1, now, true},
		{1, time.Date(2261, 12, 31, 0, 0, 0, 0, time.UTC), true},
		{2, now, false},
		{3, now, true},
	} {
		if _, ok := c.Get(tt.key, tt.at); ok != tt.ok {
			t.Errorf("Get(%d) at %v: present %v, want %v", tt.key, tt.at, ok, tt.ok)
		}
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

// TestRecentHitsStayPut: a hit in the most recent quarter of a shard does
// not reorder it, a hit further back does, and the evicted entry is always
// one that at least max-max/4 present entries were used after: checked
// against a model of last uses over random Gets and Puts.
func TestRecentHitsStayPut(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c := New[int, int](8, 1, hashInt)
	s := &c.shards[0]
	for k := 1; k <= 8; k++ {
		c.Put(k, k, now.Add(time.Hour))
	}
	order := func() (keys []int) {
		for e := s.head.next; e != &s.head; e = e.next {
			keys = append(keys, e.key)
		}
		return keys
	}
	c.Get(7, now) // second from the front: within the quarter (2), stays
	if got := order(); got[0] != 8 || got[1] != 7 {
		t.Fatalf("after a recent hit: %v, want 8, 7 in front", got)
	}
	c.Get(1, now) // the tail: moves to the front
	if got := order(); got[0] != 1 || got[len(got)-1] != 2 {
		t.Fatalf("after a hit at the tail: %v, want 1 in front and 2 last", got)
	}
	c.Put(9, 9, now.Add(time.Hour))
	if _, ok := s.items[2]; ok {
		t.Fatal("2, the least recently used, was not evicted")
	}

	for _, size := range []int{1, 2, 3, 4, 8, 16, 64} {
		c := New[int, int](size, 1, hashInt)
		s := &c.shards[0]
		lastUse := map[int]int{}
		r := rand.New(rand.NewPCG(uint64(size), 7))
		for clock := range 20_000 {
			k := r.IntN(size * 3)
			if r.IntN(3) == 0 {
				if _, ok := c.Get(k, now); ok {
					lastUse[k] = clock
				}
				continue
			}
			before := map[int]bool{}
			for key := range s.items {
				before[key] = true
			}
			c.Put(k, clock, now.Add(time.Hour))
			lastUse[k] = clock
			for key := range before {
				if _, ok := s.items[key]; ok {
					continue
				}
				later := 0 // present entries used after the evicted one
				for other := range s.items {
					if lastUse[other] > lastUse[key] {
						later++
					}
				}
				if want := size - size/4; later < want {
					t.Fatalf("size %d: evicted %d with only %d present entries used after it, want at least %d", size, key, later, want)
				}
			}
			if len(s.items) > size {
				t.Fatalf("size %d: %d entries", size, len(s.items))
			}
		}
	}
}

// TestHotKeyConcurrent: many goroutines hitting one entry (the read-lock
// path) while others put and remove, under -race.
func TestHotKeyConcurrent(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c := New[int, int](64, 1, hashInt)
	c.Put(0, 42, now.Add(time.Hour))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 5_000 {
				if g%2 == 0 {
					if v, ok := c.Get(0, now); ok && v != 42 {
						t.Errorf("Get(0) = %d", v)
						return
					}
					continue
				}
				c.Put(1+i%100, i, now.Add(time.Hour))
				if i%7 == 0 {
					c.Remove(1 + i%100)
				}
			}
		})
	}
	wg.Wait()
	if n := c.Len(); n > 64 {
		t.Errorf("Len = %d, over the bound", n)
	}
}

// TestIdleCacheHoldsLittle: a cache allocates for the entries it holds,
// not for the ones it may hold. Every live byte on the heap makes the
// collector run sooner in the user's whole process, and a table of
// pointers is scanned on every cycle: a resource server's 10,000-entry
// token cache that is barely used (every request an open route, or one
// token reused) must not make everything else in it pay for an empty
// table.
func TestIdleCacheHoldsLittle(t *testing.T) {
	for _, tc := range []struct{ size, shards, use int }{{10_000, 16, 0}, {10_000, 16, 1}, {100_000, 16, 16}} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c := New[uint64, [64]byte](tc.size, tc.shards, func(k uint64) uint64 { return k })
		for k := range tc.use {
			c.Put(uint64(k), [64]byte{}, time.Unix(2_000_000_000, 0))
		}
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > 32<<10 {
			t.Errorf("New(%d, %d) with %d entries allocated %d B, want at most 32 KiB", tc.size, tc.shards, tc.use, got)
		}
		runtime.KeepAlive(c)
	}
}

// TestEntryOverhead: an entry is its key and value and 56 bytes besides
// (links, expiry, recency). The validated-token cache sizes its value so
// that an entry fills the allocator's 176-byte size class exactly; a field
// added here costs every entry of every cache 16 bytes or more.
func TestEntryOverhead(t *testing.T) {
	if got := unsafe.Sizeof(entry[uint64, [120]byte]{}); got != 176 {
		t.Errorf("an entry of an 8-byte key and a 120-byte value is %d bytes, want 176", got)
	}
}

// TestRemoveIf: the entry goes only when drop says so of its value.
func TestRemoveIf(t *testing.T) {
	c := New[int, string](4, 1, hashInt)
	exp := time.Unix(2_000_000_000, 0)
	c.Put(1, "keep", exp)
	c.RemoveIf(1, func(v string) bool { return v == "drop" })
	if v, ok := c.Get(1, time.Unix(0, 0)); !ok || v != "keep" {
		t.Fatalf("RemoveIf refused by drop: %q, %v", v, ok)
	}
	c.RemoveIf(2, func(string) bool { t.Error("drop asked about an absent key"); return true })
	c.Put(1, "drop", exp)
	c.RemoveIf(1, func(v string) bool { return v == "drop" })
	if _, ok := c.Get(1, time.Unix(0, 0)); ok || c.Len() != 0 {
		t.Errorf("RemoveIf granted by drop: present %v, Len %d", ok, c.Len())
	}
}
