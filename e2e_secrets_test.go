package bearerguard_test

// Secrets: run the library's scenarios (good, bad and hostile tokens
// through an adapter, introspection with client credentials, upstream
// failures) with every log line captured at Debug level, every error
// string and every response kept, and check that no token, client secret
// or Authorization value appears in any of them.

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

func TestNoSecretsLeak(t *testing.T) {
	log, tr := captureLogs() // the transcript: logs, errors and responses
	prev := slog.Default()
	slog.SetDefault(log) // anything logging through the default is captured too
	t.Cleanup(func() { slog.SetDefault(prev) })

	const clientSecret = "cl1ent-s3cret-V4lue-that-must-never-appear"
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: clientSecret})
	keys := iss.KeySet(t, jwks.WithLogger(log))
	ic, err := introspect.New(iss.IntrospectionURL(), introspect.ClientSecretBasic("orders-api", clientSecret),
		introspect.WithHTTPClient(iss.Client()), introspect.WithLogger(log), introspect.WithMaxTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ic.Close() })
	v, err := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithIntrospection(iss.URL, ic),
		validator.WithAudience(audience), validator.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	guard, err := httpbearer.New(v, httpbearer.WithRealm("orders"), httpbearer.WithObserver(func(r *http.Request, err error, c validator.Challenge) {
		log.Info("refused", "error", err, "status", c.Status, "challenge", c.Header)
	}))
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(guard.Require(scopes.All("read:data"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := validator.FromContext(r.Context())
		io.WriteString(w, "hello "+tok.ClientID)
	})))
	t.Cleanup(api.Close)

	good := iss.Mint(t, bearertest.Claims{"aud": audience, "scope": "read:data"})
	opaque := iss.Opaque(t, bearertest.Claims{"aud": audience, "scope": "read:data"})
	revoked := iss.Opaque(t, bearertest.Claims{"aud": audience})
	iss.Revoke(revoked)
	secrets := []string{clientSecret, good, opaque, revoked}
	tokens := []string{
		good, opaque, revoked,
		iss.Mint(t, bearertest.Claims{"aud": audience}, bearertest.ExpiresIn(-time.Hour)),
		iss.Mint(t, bearertest.Claims{"aud": "payments"}),
		iss.Mint(t, bearertest.Claims{"aud": audience, "scope": "profile"}),
		iss.Mint(t, bearertest.Claims{"aud": audience}, bearertest.WithKeyID("unknown-kid")),
		good[:len(good)-8] + "AAAAAAAA",
		jwstest.Token(`{"alg":"none"}`, jwstest.JSON(map[string]any{"iss": iss.URL, "aud": audience}), jwstest.Fixed(nil)),
		"opaque-token-never-issued-" + strings.Repeat("x", 20),
		strings.Repeat("A", 9000),
	}
	secrets = append(secrets, tokens...)

	exercise := func() {
		for _, tok := range tokens {
			if _, err := v.Validate(context.Background(), tok); err != nil {
				tr.add("error: " + err.Error())
				c := validator.ChallengeFor(err, "orders")
				tr.add("challenge: " + c.Header + " " + c.Description)
			}
			for _, auth := range []string{"Bearer " + tok, "bearer  " + tok + " trailing", "Basic " + tok} {
				req, _ := http.NewRequest("GET", api.URL+"/?access_token="+tok, nil)
				req.Header.Set("Authorization", auth)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				tr.add("response: " + resp.Status + " " + resp.Header.Get("WWW-Authenticate") + " " + string(body))
			}
		}
	}
	exercise()
	// Upstream failures: keys and introspection down.
	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }))
	iss.SetIntrospectionHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusInternalServerError) }))
	if err := keys.Refresh(context.Background()); err != nil {
		tr.add("refresh error: " + err.Error())
	}
	exercise()
	// Wrong client credentials at the introspection endpoint.
	iss.SetIntrospectionHandler(nil)
	bad, _ := introspect.New(iss.IntrospectionURL(), introspect.ClientSecretPost("orders-api", clientSecret+"-wrong"),
		introspect.WithHTTPClient(iss.Client()), introspect.WithLogger(log))
	defer bad.Close()
	if _, err := bad.Introspect(context.Background(), opaque); err != nil {
		tr.add("error: " + err.Error())
	}

	out := tr.String()
	if len(out) < 1000 || !strings.Contains(out, "token_sha256") || !strings.Contains(out, "level=WARN") {
		t.Fatalf("the transcript did not capture the scenarios (%d bytes)", len(out))
	}
	for _, s := range secrets {
		for _, part := range leakParts(s) {
			if strings.Contains(out, part) {
				t.Errorf("secret material %q… found in logs, errors or responses", part[:min(12, len(part))])
			}
		}
	}
	t.Logf("checked %d bytes of logs, errors and responses against %d secrets", len(out), len(secrets))
}

// leakParts is what must not appear of a secret: the whole of it and, for
// a JWT, each segment long enough to matter.
func leakParts(s string) []string {
	parts := []string{s}
	for _, seg := range strings.Split(s, ".") {
		if len(seg) >= 24 && seg != s {
			parts = append(parts, seg)
		}
	}
	return parts
}
