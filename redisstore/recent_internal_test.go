package redisstore

import (
	"fmt"
	"testing"
	"time"
)

// recentProofs' queue is not bounded by max: a proof key remembered again
// once its entry expired leaves a stale queue entry, which is dropped only
// when it reaches the head; behind one live head entry they pile up, one per
// Remember, while len(seen) stays small.
func TestRecentProofsQueueExceedsMax(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &recentProofs{max: 100, clock: func() time.Time { return now }, seen: map[string]time.Time{}}
	p.remember("long-lived-head", now.Add(2*time.Minute))
	for i := range 20000 {
		now = now.Add(5 * time.Millisecond) // 100 s in all, within the head's life
		p.remember(fmt.Sprintf("reused-%d", i%10), now.Add(time.Millisecond))
	}
	if n := len(p.queue) - p.head; n > 10*p.max {
		t.Errorf("recentProofs{max: %d}: %d queue entries held (%d keys live in seen)", p.max, n, len(p.seen))
	}
}
