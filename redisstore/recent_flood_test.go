package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

// recentProofs forgets its oldest entry when full, whatever it is: one
// client holding a DPoP-bound token sends 100,000 proofs of its own, each
// with an "iat" near the window's far edge (so each is remembered only a
// second or two: the validator's expires is iat+window+leeway+1s), through
// Redis while it is up. The replica then no longer knows the victim's proof
// it accepted through Redis a moment before, and accepts it again when
// replayed to it during an outage: SECURITY.md 95's guarantee, defeated on
// demand rather than only "under more than its size of proofs in one
// window" of honest traffic.
func TestFailOpenRecentFlushedByShortLivedProofs(t *testing.T) {
	f, r, now := failOpenOverFake(t)
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	ctx := context.Background()
	window := validator.DefaultProofWindow + validator.DefaultLeeway + time.Second
	if fresh, err := r.Remember(ctx, "victim-proof", clock().Add(window)); !fresh || err != nil {
		t.Fatalf("victim's proof through Redis: %v, %v", fresh, err)
	}
	// The attacker's proofs, each remembered 2 s, over ~20 s of the clock.
	for i := range validator.DefaultReplayStoreSize {
		if i%5000 == 0 {
			now.Add(int64(time.Second))
		}
		if fresh, err := r.Remember(ctx, fmt.Sprintf("attacker-%06d", i), clock().Add(2*time.Second)); !fresh || err != nil {
			t.Fatalf("attacker proof %d: %v, %v", i, fresh, err)
		}
	}
	now.Add(int64(3 * time.Second))
	f.down.Store(true) // Redis fails; the victim's proof has most of its window left
	if fresh, err := r.Remember(ctx, "victim-proof", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(window)); fresh {
		t.Errorf("victim's proof, accepted through Redis %v ago, replayed to the same replica during an outage: accepted again (err=%v, FailOpens=%d)",
			clock().Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), err, r.FailOpens())
	}
}
