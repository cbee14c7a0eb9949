package redisstore_test

import (
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/redisstore"
)

// A Redis URL with one slash too few ("redis:/:pw@host", a typo of
// "redis://:pw@host"): Open's error prints the password twice, once in
// the "redacted" URL and once in go-redis's own message, which quotes the
// path. parseURL's scrubbing only replaces what url.Parse found as user
// info or query values, and here it found none.
func TestOpenErrorHostlessRedisURL(t *testing.T) {
	for _, raw := range []string{"redis:/:HUNTER2@redis.internal:6379/0", "redis:///:HUNTER2@redis.internal:6379/0", "rediss://:1234/HUNTER2@redis.internal:6379/0"} {
		s, err := redisstore.Open(raw)
		if s != nil {
			s.Close()
		}
		if err == nil || strings.Contains(err.Error(), "HUNTER2") {
			t.Errorf("Open(%q): %v", raw, err)
		}
	}
}
