package jwks_test

import (
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/jwks"
)

// The one redaction (httpfetch.Redact) drops user info and query VALUES.
// A URL missing its "//" parses as opaque (no host, no user info): Redact
// keeps it whole, password included; a query made of a bare credential
// (?KEY, no "=") keeps it as the query's key.
func TestRefusedURLErrorsRedactOpaqueAndBareQuery(t *testing.T) {
	for _, raw := range []string{
		"https:admin:OPAQUE-PW-s3cr3t@keys.example.com/jwks", // "//" forgotten
		"http://keys.example.com/jwks?BARE-KEY-s3cr3t",       // refused: http off loopback
	} {
		_, err := jwks.New(raw, jwks.WithLogger(discard))
		if err == nil {
			t.Fatalf("%s accepted", raw)
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("jwks.New's error shows the credential: %v", err)
		}
	}
}
