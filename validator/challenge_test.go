package validator_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

func TestChallengeFor(t *testing.T) {
	tests := []struct {
		err        error
		status     int
		header     string
		retryAfter time.Duration
	}{
		{validator.ErrNoToken, 401, `Bearer realm="api"`, 0},
		{validator.ErrMalformedHeader, 400, `Bearer realm="api", error="invalid_request", error_description="The Authorization header is malformed"`, 0},
		{validator.ErrMultipleTokens, 400, `Bearer realm="api", error="invalid_request", error_description="The access token was sent more than once"`, 0},
		{validator.ErrExpired, 401, `Bearer realm="api", error="invalid_token", error_description="The access token expired"`, 0},
		{fmt.Errorf("wrapped: %w", validator.ErrSignature), 401, `Bearer realm="api", error="invalid_token", error_description="The access token signature is invalid"`, 0},
		{validator.ErrInvalidToken, 401, `Bearer realm="api", error="invalid_token", error_description="The access token is invalid"`, 0},
		{&validator.ScopeError{Missing: []string{"read:data", "admin"}}, 403, `Bearer realm="api", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read:data admin"`, 0},
		{&validator.UnavailableError{Reason: validator.ErrKeysUnavailable, Err: errors.New("secret upstream detail")}, 503, "", validator.DefaultRetryAfter},
		{&validator.UnavailableError{Reason: validator.ErrIntrospectionUnavailable, RetryAfter: 42 * time.Second}, 503, "", 42 * time.Second},
		{&validator.UnavailableError{Reason: validator.ErrKeysUnavailable, RetryAfter: time.Millisecond}, 503, "", time.Second},
		// The authorization server's day is not passed on whole (review of
		// session 11): its Retry-After paces our calls, not our clients.
		{&validator.UnavailableError{Reason: validator.ErrIntrospectionUnavailable, RetryAfter: 24 * time.Hour}, 503, "", validator.MaxRetryAfter},
		{errors.New("some unknown failure"), 401, `Bearer realm="api", error="invalid_token", error_description="The access token is invalid"`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			c := validator.ChallengeFor(tt.err, "api")
			if c.Status != tt.status || c.Header != tt.header || c.RetryAfter != tt.retryAfter {
				t.Errorf("ChallengeFor(%v) = %d %q %v, want %d %q %v", tt.err, c.Status, c.Header, c.RetryAfter, tt.status, tt.header, tt.retryAfter)
			}
			h := http.Header{}
			c.Apply(h)
			if h.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", h.Get("Cache-Control"))
			}
			if tt.status == 503 && h.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if strings.Contains(c.Header+c.Description, "secret") {
				t.Errorf("challenge leaks the cause: %+v", c)
			}
		})
	}
}

func TestBuildChallengeDropsForbiddenCharacters(t *testing.T) {
	got := validator.BuildChallenge("my \"realm\"\\\r\n", "invalid_token", "bad\x00 \"token\"", "")
	want := `Bearer realm="my realm", error="invalid_token", error_description="bad token"`
	if got != want {
		t.Errorf("BuildChallenge() = %q, want %q", got, want)
	}
	if got := validator.BuildChallenge("", "", "", ""); got != "Bearer" {
		t.Errorf("BuildChallenge(empty) = %q", got)
	}
}

// parseChallenge parses a Bearer challenge by the grammar of RFC 6750 §3
// (RFC 7235 §2.1 auth-params as quoted-strings, with RFC 6750's value
// character sets), independently of the builder.
func parseChallenge(s string) (map[string]string, error) {
	rest, ok := strings.CutPrefix(s, "Bearer")
	if !ok {
		return nil, errors.New("not a Bearer challenge")
	}
	params := map[string]string{}
	if rest == "" {
		return params, nil
	}
	rest, ok = strings.CutPrefix(rest, " ")
	if !ok {
		return nil, errors.New("no SP after scheme")
	}
	for rest != "" {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return nil, errors.New("no attribute name")
		}
		name := rest[:eq]
		for _, c := range name {
			if !(c >= 'a' && c <= 'z' || c == '_') {
				return nil, fmt.Errorf("bad name %q", name)
			}
		}
		rest = rest[eq+1:]
		if !strings.HasPrefix(rest, `"`) {
			return nil, errors.New("value not quoted")
		}
		end := strings.IndexByte(rest[1:], '"')
		if end < 0 {
			return nil, errors.New("unterminated value")
		}
		val := rest[1 : end+1]
		for i := 0; i < len(val); i++ {
			c := val[i]
			if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
				return nil, fmt.Errorf("forbidden character %q", c)
			}
		}
		if _, dup := params[name]; dup {
			return nil, fmt.Errorf("duplicate %s", name)
		}
		params[name] = val
		rest = rest[end+2:]
		if rest != "" {
			if rest, ok = strings.CutPrefix(rest, ", "); !ok {
				return nil, errors.New("no separator")
			}
		}
	}
	return params, nil
}

func FuzzBuildChallenge(f *testing.F) {
	f.Add("api", "invalid_token", "The access token expired", "")
	f.Add("a\"b", "x\\y", "\r\n", "read:data write:data")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, realm, code, desc, scope string) {
		h := validator.BuildChallenge(realm, code, desc, scope)
		params, err := parseChallenge(h)
		if err != nil {
			t.Fatalf("BuildChallenge(%q, %q, %q, %q) = %q does not parse: %v", realm, code, desc, scope, h, err)
		}
		for name, in := range map[string]string{"realm": realm, "error": code, "error_description": desc, "scope": scope} {
			got, present := params[name]
			if present && !strings.Contains(in, "") || len(got) > len(in) {
				t.Fatalf("%s = %q from %q", name, got, in)
			}
			if clean := isClean(in); clean && in != "" && got != in {
				t.Fatalf("%s: clean value %q became %q", name, in, got)
			}
		}
	})
}

func isClean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Apply writes each header under its canonical key, as Header.Set would,
// so that Get and the server find it.
func TestApplyCanonicalKeys(t *testing.T) {
	c := validator.ChallengeFor(&validator.UnavailableError{Reason: validator.ErrUnavailable, RetryAfter: 7 * time.Second}, "orders")
	c.Nonce = "n-1"
	h := http.Header{}
	c.Apply(h)
	u := validator.ChallengeFor(validator.ErrExpired, `or"ders`).WithResourceMetadata("https://api.example.com/.well-known/oauth-protected-resource")
	u.Apply(h)
	for k := range h {
		if k != http.CanonicalHeaderKey(k) {
			t.Errorf("header key %q, want %q", k, http.CanonicalHeaderKey(k))
		}
	}
	for k, want := range map[string]string{
		"Retry-After":      "7",
		"DPoP-Nonce":       "n-1",
		"Cache-Control":    "no-store",
		"WWW-Authenticate": `Bearer realm="orders", error="invalid_token", error_description="The access token expired", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`,
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}

// nonceVia hands over a NonceError through its own As method, as a
// claim check's error type may, without wrapping ErrUseDPoPNonce.
type nonceVia struct{ nonce string }

func (e nonceVia) Error() string { return "needs a nonce" }

func (e nonceVia) As(target any) bool {
	if p, ok := target.(**validator.NonceError); ok {
		*p = &validator.NonceError{Nonce: e.nonce}
		return true
	}
	return false
}

// A NonceError found by errors.As, through Unwrap or an As method, puts
// its nonce on the challenge.
func TestChallengeNonceFromAnyNonceError(t *testing.T) {
	v, err := validator.New(validator.WithIssuerSecret("https://id.example.com/", []byte("0123456789abcdef0123456789abcdef")), validator.WithAudience("orders"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []error{&validator.NonceError{Nonce: "n-7"}, fmt.Errorf("wrapped: %w", &validator.NonceError{Nonce: "n-7"}), nonceVia{"n-7"}} {
		if c := v.Challenge(e, "orders", validator.SchemeDPoP); c.Nonce != "n-7" {
			t.Errorf("%v: nonce %q, want n-7", e, c.Nonce)
		}
	}
}

// Each Validator's challenge names its own DPoP algorithms (written once
// per Validator): two validators built side by side, and used from many
// goroutines, never answer with the other's.
func TestChallengeAlgsPerValidator(t *testing.T) {
	build := func(algs ...validator.Algorithm) *validator.Validator {
		v, err := validator.New(validator.WithIssuerSecret("https://id.example.com/", []byte("0123456789abcdef0123456789abcdef")),
			validator.WithAudience("orders"), validator.WithDPoPAlgorithms(algs...))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		v    *validator.Validator
		want string
	}{
		{build(validator.ES256), `algs="ES256"`},
		{build(validator.EdDSA, validator.PS256), `algs="PS256 EdDSA"`},
	}
	var wg sync.WaitGroup
	for range 4 {
		for _, c := range cases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 200 {
					h := c.v.Challenge(validator.ErrNoToken, "orders", validator.SchemeBearer).Header
					if !strings.HasSuffix(h, c.want) {
						t.Errorf("challenge %q, want it to end with %s", h, c.want)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
}
