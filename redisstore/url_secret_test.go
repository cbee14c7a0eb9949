package redisstore_test

// Secrets in output (red-team review): Open's error names the URL by
// url.URL.Redacted, which replaces the password only: the user name and
// every query value stay (a "?password=" other Redis clients read, an
// auth token a proxy takes in the query).

import (
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/redisstore"
)

func TestOpenErrorHidesUserAndQuery(t *testing.T) {
	for _, c := range []struct{ url, secret string }{
		{"redis://redis.internal:6379/0?password=REDIS-PW-s3cr3t", "REDIS-PW-s3cr3t"},
		{"rediss://redis.internal:6380/0?auth_token=TOKEN-s3cr3t", "TOKEN-s3cr3t"},
		{"redis://USER-s3cr3t:pw@redis.internal:6379/0?db=x", "USER-s3cr3t"},
	} {
		_, err := redisstore.Open(c.url)
		if err == nil || strings.Contains(err.Error(), c.secret) {
			t.Errorf("Open(%q): the error shows %s: %v", c.url, c.secret, err)
		}
	}
}
