package validator

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// The replay store's queue is bounded by the store's size, not only its
// map: a proof expiring later at the queue's head (a proof's "iat" may be
// up to the leeway in the future, so its expiry up to two leeways after a
// proof of the window's start) kept every key queued behind it, swept
// from the map or not, and the queue grew to ~55 times the store's size.
func TestReplayStoreQueueBounded(t *testing.T) {
	const size = 1000
	tests := []struct {
		name string
		// each second, for the store s at time now
		second func(s *MemoryReplayStore, now time.Time, n *int)
	}{
		{"proofs swept behind a later-expiring head", func(s *MemoryReplayStore, now time.Time, n *int) {
			// one long-lived proof a second from one client, and as many
			// short-lived ones as the store takes from another
			_, _ = s.rememberFor(context.Background(), fmt.Sprintf("long-%d", *n), 1, now.Add(121*time.Second))
			*n++
			for range 2 * size {
				if ok, _ := s.rememberFor(context.Background(), fmt.Sprintf("short-%d", *n), 3, now.Add(time.Second)); ok {
					*n++
				}
			}
		}},
		{"keys remembered again once expired", func(s *MemoryReplayStore, now time.Time, n *int) {
			_, _ = s.Remember(context.Background(), fmt.Sprintf("long-%d", *n), now.Add(time.Hour))
			*n++
			for i := range 3 * size {
				// the same few keys, each already expired: the store
				// stays below half full and never sweeps
				_, _ = s.Remember(context.Background(), fmt.Sprintf("k%d", i%10), now)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Unix(1_800_000_000, 0)
			s := NewMemoryReplayStore(size, func() time.Time { return now })
			n, peak := 0, 0
			for range 180 {
				tc.second(s, now, &n)
				peak = max(peak, len(s.queue)-s.head)
				now = now.Add(time.Second)
			}
			if peak > 2*size+1 {
				t.Errorf("the queue held %d entries, %d times the store's size %d", peak, peak/size, size)
			}
			live := 0
			for _, c := range s.owners {
				live += c
			}
			if live != len(s.seen) {
				t.Errorf("owners count %d entries, the map holds %d", live, len(s.seen))
			}
			for k, m := range s.seen {
				found := false
				for _, e := range s.queue[s.head:] {
					if e.key == k && e.expires.Equal(m.expires) {
						found = true
						break
					}
				}
				if !found {
					t.Fatalf("key %q remembered but not queued: it would never be dropped", k)
				}
			}
			t.Logf("%d proofs accepted; map %d, queue %d (peak %d)", n, len(s.seen), len(s.queue)-s.head, peak)
		})
	}
}

// The store's bookkeeping over random sequences (the review of the queue's
// bound): remember and rememberFor mixed, keys remembered again once
// expired, the clock stepping back and forth, sizes 1 to 6. No proof is
// accepted twice while its first is unexpired; the queue stays within
// twice the size; every remembered key is queued with its expiry; the
// principals' counts add up to the map.
func TestReplayStoreModel(t *testing.T) {
	for seed := range uint64(1500) {
		r := rand.New(rand.NewPCG(seed, 7))
		size := 1 + r.IntN(6)
		base := time.Unix(1_800_000_000, 0)
		now := base
		s := NewMemoryReplayStore(size, func() time.Time { return now })
		accepted := map[string]time.Time{} // expiry of each key's last accepted proof
		reached := map[string]bool{}       // whether the clock has reached it since
		for step := range 400 {
			switch r.IntN(10) {
			case 0:
				now = now.Add(-time.Duration(r.IntN(5)) * time.Second)
			case 1, 2, 3:
				now = now.Add(time.Duration(r.IntN(3)) * time.Second)
			}
			key := fmt.Sprintf("k%d", r.IntN(8))
			exp := now.Add(time.Duration(r.IntN(24)-4) * time.Second)
			owner := uint64(r.IntN(3)*2 + 1)
			if r.IntN(3) == 0 {
				owner = 0
			}
			fresh, _ := s.rememberFor(context.Background(), key, owner, exp)
			if fresh {
				// Once its expiry has been reached at some step the store
				// may forget a key, even if the clock then steps back.
				if last, ok := accepted[key]; ok && now.Before(last) && !reached[key] {
					t.Fatalf("seed %d step %d: %s accepted again at %v, its proof expiring at %v", seed, step, key, now.Sub(base), last.Sub(base))
				}
				accepted[key] = exp
				reached[key] = !now.Before(exp)
			}
			for k, e := range accepted {
				if !now.Before(e) {
					reached[k] = true
				}
			}
			if q := len(s.queue) - s.head; q > 2*s.max+1 {
				t.Fatalf("seed %d step %d: queue %d, store size %d", seed, step, q, s.max)
			}
			live := 0
			for _, c := range s.owners {
				live += c
			}
			if live != len(s.seen) {
				t.Fatalf("seed %d step %d: principals count %d, map %d", seed, step, live, len(s.seen))
			}
			for k, m := range s.seen {
				if !slices.ContainsFunc(s.queue[s.head:], func(e replayEntry) bool { return e.key == k && e.expires.Equal(m.expires) }) {
					t.Fatalf("seed %d step %d: %s remembered, not queued", seed, step, k)
				}
			}
		}
	}
}

// A store sized "unbounded" (math.MaxInt) compacted its queue on every
// insert: twice its size overflowed. 40,000 proofs take milliseconds; on
// every insert, seconds.
func TestReplayStoreHugeSize(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := NewMemoryReplayStore(math.MaxInt, func() time.Time { return now })
	start := time.Now()
	for i := range 40_000 {
		if fresh, err := s.Remember(context.Background(), strconv.Itoa(i), now.Add(time.Hour)); !fresh || err != nil {
			t.Fatal(fresh, err)
		}
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("40,000 proofs took %v in a store of size math.MaxInt", el)
	}
}
