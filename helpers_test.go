package bearerguard_test

// Helpers shared by the end-to-end tests (e2e_*_test.go). Tokens that a
// bearertest issuer would not mint are built with internal/jwstest.

import (
	"log/slog"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/testlog"
	"github.com/bearerguard/bearerguard/validator"
)

const audience = "https://api.example.com/orders"

// newStack is a validator for audience that trusts iss, fetching its keys
// over HTTPS; opts come after (and so override) the defaults.
func newStack(t *testing.T, iss *bearertest.Issuer, opts ...validator.Option) *validator.Validator {
	t.Helper()
	v, err := validator.New(append([]validator.Option{
		validator.WithIssuer(iss.URL, iss.KeySet(t)),
		validator.WithAudience(audience),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// logBuffer collects log output, and any lines a test adds, safely across
// goroutines.
type logBuffer struct{ testlog.Buffer }

// add appends one line that is not a log record (an error, a response).
func (l *logBuffer) add(s string) { _, _ = l.Write([]byte(s + "\n")) }

// captureLogs returns a Debug-level text logger and the buffer it writes to.
func captureLogs() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}
