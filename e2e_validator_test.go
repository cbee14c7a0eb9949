package bearerguard_test

// End-to-end tests of the whole stack: a bearertest issuer on loopback,
// a jwks.Set fetching its keys over HTTPS, a validator, and scopes.

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

func TestEndToEnd(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	algs := []validator.Algorithm{validator.RS256, validator.RS384, validator.PS256, validator.ES256, validator.ES384, validator.ES512, validator.EdDSA}
	for _, alg := range algs[1:] {
		iss.Rotate(t, alg)
	}
	v := newStack(t, iss, validator.WithRFC9068())
	readData := scopes.All("read:data")
	tests := []struct {
		name      string
		claims    bearertest.Claims
		opts      []bearertest.MintOption
		want      error
		wantScope bool
	}{
		{name: "valid with scope", claims: bearertest.Claims{"aud": audience, "scope": "read:data write:data"}, wantScope: true},
		{name: "valid without scope", claims: bearertest.Claims{"aud": audience, "scope": "profile"}},
		{name: "scp array", claims: bearertest.Claims{"aud": audience, "scp": []string{"read:data"}}, wantScope: true},
		{name: "expired", claims: bearertest.Claims{"aud": audience}, opts: []bearertest.MintOption{bearertest.ExpiresIn(-time.Minute)}, want: validator.ErrExpired},
		{name: "wrong audience", claims: bearertest.Claims{"aud": "https://api.example.com/payments"}, want: validator.ErrAudience},
		{name: "typ JWT refused in RFC 9068 mode", claims: bearertest.Claims{"aud": audience}, opts: []bearertest.MintOption{bearertest.WithHeader("typ", "JWT")}, want: validator.ErrType},
		{name: "jti missing in RFC 9068 mode", claims: bearertest.Claims{"aud": audience, "jti": nil}, want: validator.ErrMissingClaim},
		{name: "unknown kid", claims: bearertest.Claims{"aud": audience}, opts: []bearertest.MintOption{bearertest.WithKeyID("nope")}, want: validator.ErrUnknownKey},
		{name: "other issuer claimed", claims: bearertest.Claims{"aud": audience, "iss": "https://evil.example/"}, want: validator.ErrIssuer},
	}
	for _, alg := range algs {
		for _, tt := range tests {
			t.Run(string(alg)+"/"+tt.name, func(t *testing.T) {
				tok := iss.Mint(t, tt.claims, append([]bearertest.MintOption{bearertest.WithAlgorithm(alg)}, tt.opts...)...)
				got, err := v.Validate(t.Context(), tok)
				if tt.want != nil {
					if !errors.Is(err, tt.want) {
						t.Fatalf("Validate() = %v, want %v", err, tt.want)
					}
					if c := validator.ChallengeFor(err, "api"); c.Status != http.StatusUnauthorized {
						t.Errorf("status %d, want 401", c.Status)
					}
					return
				}
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				if got.Algorithm != alg || got.Issuer != iss.URL || got.ClientID != "test-client" || got.Source != validator.SourceJWT {
					t.Errorf("token = %+v", got)
				}
				if readData.Satisfied(got.Scopes) != tt.wantScope {
					t.Errorf("read:data satisfied = %v, want %v (scopes %v)", !tt.wantScope, tt.wantScope, got.Scopes)
				}
			})
		}
	}
}

func TestEndToEndRotation(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	v := newStack(t, iss)
	ctx := t.Context()
	claims := bearertest.Claims{"aud": audience}

	oldKid := iss.CurrentKeyID(validator.RS256)
	oldTok := iss.Mint(t, claims)
	if _, err := v.Validate(ctx, oldTok); err != nil {
		t.Fatalf("before rotation: %v", err)
	}
	fetches := iss.JWKSRequests()

	// The issuer rotates: new tokens are accepted at once, with one refetch.
	iss.Rotate(t, validator.RS256)
	newTok := iss.Mint(t, claims)
	if _, err := v.Validate(ctx, newTok); err != nil {
		t.Fatalf("new key after rotation: %v", err)
	}
	if got := iss.JWKSRequests() - fetches; got != 1 {
		t.Errorf("rotation cost %d JWKS fetches, want 1", got)
	}
	// Old tokens keep validating while their key is published.
	if _, err := v.Validate(ctx, oldTok); err != nil {
		t.Fatalf("old key still published: %v", err)
	}
	// The old key is withdrawn: after the next refresh its tokens fail.
	iss.Remove(oldKid)
	set := iss.KeySet(t)
	v2, err := validator.New(validator.WithIssuer(iss.URL, set), validator.WithAudience(audience))
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Validate(ctx, oldTok); !errors.Is(err, validator.ErrUnknownKey) {
		t.Fatalf("withdrawn key: %v, want ErrUnknownKey", err)
	}
	if _, err := v2.Validate(ctx, newTok); err != nil {
		t.Fatalf("current key: %v", err)
	}
}

func TestEndToEndMultipleIssuers(t *testing.T) {
	a, b := bearertest.NewIssuer(t), bearertest.NewIssuer(t)
	v, err := validator.New(
		validator.WithIssuer(a.URL, a.KeySet(t)),
		validator.WithIssuer(b.URL, b.KeySet(t)),
		validator.WithAudience(audience),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, iss := range []*bearertest.Issuer{a, b} {
		if _, err := v.Validate(ctx, iss.Mint(t, bearertest.Claims{"aud": audience})); err != nil {
			t.Errorf("issuer %s: %v", iss.URL, err)
		}
	}
	// A token minted by b but claiming to be from a is checked with a's keys only.
	forged := b.Mint(t, bearertest.Claims{"aud": audience, "iss": a.URL}, bearertest.WithKeyID(a.CurrentKeyID(validator.RS256)))
	if _, err := v.Validate(ctx, forged); !errors.Is(err, validator.ErrSignature) {
		t.Errorf("cross-issuer forgery: %v, want ErrSignature", err)
	}
	// Nothing is fetched for an issuer that is not configured.
	c := bearertest.NewIssuer(t)
	if _, err := v.Validate(ctx, c.Mint(t, bearertest.Claims{"aud": audience})); !errors.Is(err, validator.ErrIssuer) {
		t.Errorf("unconfigured issuer: %v", err)
	}
	if n := c.JWKSRequests(); n != 0 {
		t.Errorf("unconfigured issuer's JWKS fetched %d times", n)
	}
}

func TestEndToEndDiscoveryAndOutage(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	keys, err := jwks.Discover(iss.URL, jwks.WithHTTPClient(iss.Client()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	v, err := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithAudience(audience))
	if err != nil {
		t.Fatal(err)
	}
	tok := iss.Mint(t, bearertest.Claims{"aud": audience})
	if _, err := v.Validate(t.Context(), tok); err != nil {
		t.Fatalf("via discovery: %v", err)
	}
	// The issuer goes down: cached keys keep serving.
	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	if err := keys.Refresh(t.Context()); err == nil {
		t.Fatal("Refresh() against a down issuer = nil")
	}
	if _, err := v.Validate(t.Context(), tok); err != nil {
		t.Fatalf("during outage: %v", err)
	}
}

func TestEndToEndUnavailable(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	v := newStack(t, iss)
	_, err := v.Validate(t.Context(), iss.Mint(t, bearertest.Claims{"aud": audience}))
	if !errors.Is(err, validator.ErrUnavailable) {
		t.Fatalf("Validate() with keys never loaded = %v, want ErrUnavailable", err)
	}
	c := validator.ChallengeFor(err, "api")
	if c.Status != http.StatusServiceUnavailable || c.RetryAfter <= 0 || c.Header != "" {
		t.Errorf("challenge = %+v, want 503 with Retry-After", c)
	}
}
