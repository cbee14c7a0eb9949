package redisstore

import (
	"errors"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/redistest"
)

// After cacheTrip failures in a row the cache leaves Redis alone for
// cacheRetry, no longer: the pause is kept on the monotonic clock. It was
// a wall-clock reading (UnixNano), and a wall clock stepped back by an
// hour after the trip (NTP, a resumed VM) kept the fleet's shared answers
// unread and unwritten for that hour with Redis up (found by a review of
// time; the machine's clock cannot be stepped in a test, so this holds
// the mechanism: the pause is measured by monoNow and ends on time).
func TestCachePauseEndsOnTime(t *testing.T) {
	srv := redistest.Start(t)
	s, err := Open(srv.URL, WithLocalCache(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.cacheSkips() {
		t.Fatal("the cache skips a Redis that never failed")
	}
	for range cacheTrip {
		s.failed("test", errors.New("refused"))
	}
	if !s.cacheSkips() {
		t.Fatalf("%d failures in a row: the cache still asks Redis", cacheTrip)
	}
	if left := time.Duration(s.downUntil.Load() - monoNow()); left <= 0 || left > cacheRetry {
		t.Fatalf("the pause ends in %v, want within (0, %v]", left, cacheRetry)
	}
	time.Sleep(cacheRetry + 100*time.Millisecond)
	if s.cacheSkips() {
		t.Errorf("%v after the trip the cache still skips Redis", cacheRetry+100*time.Millisecond)
	}
}
