package introspect_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/introspect"
)

// Finding 94 changed what WithSignedResponses(iss, keys, "") means: from
// "no aud check" to "aud must name the client id". A deployment whose
// authorization server signs answers for the resource server's URI (or
// with no aud), which worked, now has EVERY introspection refused 503 at
// request time; New/Discover accept the configuration, and the only
// trace is "signed response: wrong audience", which names neither the
// audience now required (the client id, by default) nor the option.
func TestSignedAudienceDefaultFailureIsExplained(t *testing.T) {
	iss := newIssuer(t)
	var logs bytes.Buffer
	c, err := introspect.Discover(iss.URL, introspect.ClientSecretBasic(rsID, rsSecret), introspect.WithHTTPClient(iss.Client()),
		introspect.WithSignedResponses("", iss.KeySet(t), ""), introspect.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), introspect.WithMaxTTL(0))
	if err != nil {
		t.Fatalf("configuration refused at construction (that would be clear): %v", err)
	}
	defer c.Close()
	iss.SetIntrospectionHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jwt := iss.Mint(t, bearertest.Claims{"iss": iss.URL, "aud": "https://orders.example.com/", "token_introspection": map[string]any{"active": true, "aud": audience}},
			bearertest.WithHeader("typ", "token-introspection+jwt"))
		w.Header().Set("Content-Type", "application/token-introspection+jwt")
		_, _ = w.Write([]byte(jwt))
	}))
	_, err = c.Introspect(t.Context(), "opaque-1")
	if err == nil {
		t.Fatal("accepted")
	}
	out := err.Error() + "\n" + logs.String()
	if !strings.Contains(out, rsID) && !strings.Contains(out, "WithSignedResponses") {
		t.Errorf("every answer refused after the default changed, and nothing says what aud is now required:\n  error: %v\n  log:   %s", err, strings.TrimSpace(logs.String()))
	}
}
