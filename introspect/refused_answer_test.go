package introspect_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// TestRefusedAnswerLogged: an answer that is well-formed JSON but breaks
// the claim rules ("Sub" beside "sub", as a claim mapper might write for
// every token) is refused as the same claims in a JWT are (ErrMalformed,
// 401), and the operator is told, once per interval, that the server's
// answers are at fault: without it every user gets invalid_token and no
// log says why. The token itself is never in the log.
func TestRefusedAnswerLogged(t *testing.T) {
	srv := handRolled(t, 200, "application/json", `{"active":true,"sub":"user-1","Sub":"admin","token_type":"Bearer"}`)
	var logs bytes.Buffer // written by the client before Introspect returns, as the package's other log tests rely on
	c, err := introspect.New(srv.URL, introspect.ClientSecretPost("a", "b"), introspect.WithHTTPClient(srv.Client()),
		introspect.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const token = "opaque-secret-token-value"
	for range 5 {
		if _, err := c.Introspect(t.Context(), token); !errors.Is(err, validator.ErrMalformed) {
			t.Fatalf("Introspect() = %v, want ErrMalformed", err)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "breaks the claim rules"); n != 1 {
		t.Errorf("%d Warn lines about the answer for 5 refusals in a row, want 1 (rate-limited):\n%s", n, out)
	}
	if strings.Contains(out, token) {
		t.Errorf("the token is in the log:\n%s", out)
	}
}
