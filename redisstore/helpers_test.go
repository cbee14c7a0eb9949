package redisstore_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/introspection"
	"github.com/bearerguard/bearerguard/internal/redistest"
	"github.com/bearerguard/bearerguard/internal/testlog"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/redisstore"
	"github.com/bearerguard/bearerguard/validator"
)

// testTimeout is the per-call timeout of tests that are not about time:
// on a loaded two-core CI machine a loopback Redis call now and then takes
// longer than the 100 ms default, which would be a fallback, not a bug.
const testTimeout = 2 * time.Second

// faultTimeout is the per-call timeout of the fault tests: short enough to
// show that a frozen Redis costs a caller no more, long enough for a
// loaded machine's healthy calls.
const faultTimeout = 300 * time.Millisecond

// open returns a store of srv (with testTimeout unless opts set another)
// that the test closes when it ends.
func open(t testing.TB, srv *redistest.Server, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	s, err := redisstore.Open(srv.URL, append([]redisstore.Option{redisstore.WithTimeout(testTimeout)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// answer parses an introspection answer as the introspect client does.
func answer(t testing.TB, body string) *validator.Token {
	t.Helper()
	tok, err := introspection.ParseResponse[*validator.Token]([]byte(body))
	if err != nil || tok == nil {
		t.Fatalf("answer %s: %v, %v", body, tok, err)
	}
	return tok
}

const activeBody = `{"active":true,"sub":"alice","client_id":"billing","scope":"read:data write:data",` +
	`"aud":"orders","exp":4000000000,"cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"},"department":"finance"}`

// key returns a distinct cache key per name.
func key(name string) introspect.Key {
	var k introspect.Key
	copy(k[:], name)
	k[31] = byte(len(name))
	return k
}

// logBuffer collects log output safely across goroutines.
type logBuffer = testlog.Buffer

func captureLogs() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// eventually polls cond every 20 ms for at most d.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
