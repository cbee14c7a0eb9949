package providers_test

// Secrets in output (red-team review): checkURL quotes the refused URL whole, so
// the password or query it is refused for is in the error.

import (
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/providers"
)

func TestPresetURLErrorHidesPasswordAndQuery(t *testing.T) {
	_, err := providers.Keycloak("https://admin:KC-PW-s3cr3t@kc.example.com", "realm", providers.WithAudience("api"))
	if err == nil || strings.Contains(err.Error(), "KC-PW-s3cr3t") {
		t.Errorf("Keycloak: the error shows the URL's password: %v", err)
	}
	_, err = providers.Okta("https://org.okta.example/?token=OKTA-s3cr3t", "default", []string{"api"})
	if err == nil || strings.Contains(err.Error(), "OKTA-s3cr3t") {
		t.Errorf("Okta: the error shows the URL's query: %v", err)
	}
}
