package validator

import (
	"context"
	"fmt"
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
