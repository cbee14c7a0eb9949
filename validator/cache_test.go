package validator_test

import (
	"context"
	"crypto"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// countingKeys counts lookups and can drop its keys.
type countingKeys struct {
	mu      sync.Mutex
	keys    *validator.Keys
	lookups int
}

func (c *countingKeys) Key(ctx context.Context, kid string, alg validator.Algorithm) (*validator.Key, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lookups++
	return c.keys.Key(ctx, kid, alg)
}

func (c *countingKeys) set(keys *validator.Keys) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = keys
}

func TestTokenCache(t *testing.T) {
	loadKeys(t)
	clk := testclock.New(testNow)
	rsa1 := mustKey(t, "rsa-1", &rsaKey.PublicKey, "")
	keys := &countingKeys{keys: validator.NewKeys(rsa1)}
	var checks atomic.Int64
	v, err := validator.New(validator.WithIssuer(testIssuer, keys), validator.WithAudience(testAud), validator.WithClock(clk.Now),
		validator.WithClaimCheck(func(context.Context, *validator.Token) error { checks.Add(1); return nil }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tok := rs256(baseClaims(map[string]any{"nbf": testNow.Unix() - 5}))

	first, err := v.Validate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	second, err := v.Validate(ctx, tok)
	if err != nil || second == first || !reflect.DeepEqual(second, first) {
		t.Fatalf("second Validate() = %p, %v; want an equal copy of %p, not the same Token", second, err, first)
	}
	if v.CachedTokens() != 1 || checks.Load() != 2 {
		t.Errorf("cached %d, claim checks %d; want 1 and 2 (checks run on hits too)", v.CachedTokens(), checks.Load())
	}
	// A tampered copy never hits the entry.
	if _, err := v.Validate(ctx, tok[:len(tok)-4]+"AAAA"); !errors.Is(err, validator.ErrSignature) {
		t.Errorf("tampered token: %v", err)
	}

	// Hits honour exp and nbf with the clock.
	clk.Set(testNow.Add(299 * time.Second))
	if _, err := v.Validate(ctx, tok); err != nil {
		t.Errorf("before exp: %v", err)
	}
	clk.Set(testNow.Add(-time.Minute))
	if _, err := v.Validate(ctx, tok); !errors.Is(err, validator.ErrNotYetValid) {
		t.Errorf("clock before nbf: %v, want ErrNotYetValid", err)
	}
	clk.Set(testNow)
	if _, err := v.Validate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	clk.Set(testNow.Add(300*time.Second + validator.DefaultLeeway))
	if _, err := v.Validate(ctx, tok); !errors.Is(err, validator.ErrExpired) {
		t.Errorf("past exp: %v, want ErrExpired", err)
	}

	// A caller modifying the shared token cannot change the next decision.
	clk.Set(testNow.Add(300*time.Second + validator.DefaultLeeway))
	tok3 := rs256(baseClaims(map[string]any{"jti": "third", "exp": testNow.Unix() + 600}))
	clk.Set(testNow)
	got, err := v.Validate(ctx, tok3)
	if err != nil {
		t.Fatal(err)
	}
	got.Expiry = testNow.Add(100 * time.Hour)
	got.Audience = []string{"anything"}
	clk.Set(testNow.Add(600*time.Second + validator.DefaultLeeway))
	if _, err := v.Validate(ctx, tok3); !errors.Is(err, validator.ErrExpired) {
		t.Errorf("after the caller rewrote Expiry: %v, want ErrExpired", err)
	}

	// The key that verified a cached token is removed: the token fails.
	clk.Set(testNow)
	tok2 := rs256(baseClaims(map[string]any{"jti": "second"}))
	if _, err := v.Validate(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	keys.set(validator.NewKeys(mustKey(t, "rsa-other", &rsaKey2.PublicKey, "")))
	if _, err := v.Validate(ctx, tok2); !errors.Is(err, validator.ErrUnknownKey) {
		t.Errorf("after key removal: %v, want ErrUnknownKey", err)
	}
	// Replaced by a different key under the same kid: the token fails too.
	keys.set(validator.NewKeys(mustKey(t, "rsa-1", &rsaKey2.PublicKey, "")))
	if _, err := v.Validate(ctx, tok2); !errors.Is(err, validator.ErrSignature) {
		t.Errorf("after key replacement: %v, want ErrSignature", err)
	}
}

func TestWithoutTokenCache(t *testing.T) {
	loadKeys(t)
	v := newValidator(t, validator.WithoutTokenCache())
	tok := rs256(baseClaims(nil))
	a, _ := v.Validate(t.Context(), tok)
	b, _ := v.Validate(t.Context(), tok)
	if a == nil || a == b || v.CachedTokens() != 0 {
		t.Errorf("cache off: %p %p, %d cached", a, b, v.CachedTokens())
	}
}

func TestTokenCacheHMAC(t *testing.T) {
	v := newValidator(t)
	tok := jwstest.Token(`{"alg":"HS256"}`, baseClaims(map[string]any{"iss": hmacIssuer}), jwstest.HS(hmacSecret, crypto.SHA256))
	a, err := v.Validate(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := v.Validate(t.Context(), tok); err != nil || !reflect.DeepEqual(a, b) || v.CachedTokens() != 1 {
		t.Errorf("HMAC token not cached: %v, %d cached", err, v.CachedTokens())
	}
}

// Regression (issue 12, finding 2): every cache hit used to return the same
// *Token, so a handler that changed its token changed what the next request
// with that token was granted, and concurrent requests raced on it.
func TestCachedTokenIsolation(t *testing.T) {
	loadKeys(t)
	// A claim check that writes to the token it is given: it must be given
	// a copy too.
	v := newValidator(t, validator.WithClaimCheck(func(_ context.Context, tok *validator.Token) error {
		tok.Subject = "rewritten-by-check"
		return nil
	}))
	tok := rs256(baseClaims(map[string]any{"aud": []string{testAud, "x", "y"}}))
	first, err := v.Validate(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	// The first caller's token is not the cache's copy either.
	first.Scopes = first.Scopes.Union(scopes.MustParse("admin"))
	first.Audience[0] = "evil"
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				got, err := v.Validate(t.Context(), tok)
				if err != nil {
					t.Error(err)
					return
				}
				if got.Scopes.Has("admin") || got.Scopes.Len() != 1 || got.Audience[0] != testAud || got.Subject != "rewritten-by-check" {
					t.Errorf("a cache hit saw another request's writes: scopes %q, aud %q, sub %q", got.Scopes, got.Audience, got.Subject)
					return
				}
				// What a careless handler might do.
				got.Scopes = got.Scopes.Union(scopes.MustParse("admin"))
				got.Audience[0] = "evil"
				got.Audience = append(got.Audience, "more")
				got.Subject = "admin"
			}
		})
	}
	wg.Wait()
	if v.CachedTokens() != 1 {
		t.Errorf("cached %d, want 1", v.CachedTokens())
	}
}

// scribbler is a claims type whose UnmarshalJSON writes over the bytes it
// is given, as careless code might (encoding/json hands it slices of the
// input).
type scribbler struct{}

func (*scribbler) UnmarshalJSON(b []byte) error {
	for i := range b {
		b[i] = 'X'
	}
	return nil
}

// Decode hands encoding/json a copy of the claims: a type that writes over
// its input changes nothing that the cache, or another request, reads. A
// token with three audiences is cached whole, sharing its claims with the
// caller's token.
func TestDecodeCannotWriteClaims(t *testing.T) {
	loadKeys(t)
	v := newValidator(t)
	tok := rs256(baseClaims(map[string]any{"aud": []string{testAud, "x", "y"}}))
	var want []byte
	for i := range 3 { // the second sighting is cached; the third is a hit
		got, err := v.Validate(t.Context(), tok)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			want = got.RawClaims()
		}
		if raw := got.RawClaims(); string(raw) != string(want) {
			t.Fatalf("sighting %d: claims %q, want %q", i+1, raw, want)
		}
		var s scribbler
		if err := got.Decode(&s); err != nil {
			t.Fatal(err)
		}
		if raw := got.RawClaims(); string(raw) != string(want) {
			t.Fatalf("sighting %d: Decode wrote over the token's claims: %q", i+1, raw)
		}
	}
}

// A cache hit gives the same token a full validation gives: every exported
// field, and the claims JSON behind Claim, Decode and RawClaims (which a
// hit takes from the presented token), for tokens the cache holds in its
// compact form and for those it keeps whole.
func TestCacheHitEqualsMiss(t *testing.T) {
	loadKeys(t)
	hs := func(claims string) string {
		return jwstest.Token(`{"alg":"HS256","typ":"JWT"}`, claims, jwstest.HS(hmacSecret, crypto.SHA256))
	}
	tests := []struct {
		name string
		tok  string
	}{
		{"typical", rs256(baseClaims(nil))},
		{"no kid, no typ", jwstest.Token(`{"alg":"ES256"}`, baseClaims(nil), jwstest.ES(ecKey, crypto.SHA256))},
		{"HMAC issuer", hs(baseClaims(map[string]any{"iss": hmacIssuer}))},
		{"two audiences, one not configured", rs256(baseClaims(map[string]any{"aud": []string{"elsewhere", testAud}}))},
		{"three audiences", rs256(baseClaims(map[string]any{"aud": []string{testAud, "x", "y"}}))},
		{"audience list of one", rs256(baseClaims(map[string]any{"aud": []string{testAud}}))},
		{"no scopes", rs256(baseClaims(map[string]any{"scope": nil}))},
		{"scp array", rs256(baseClaims(map[string]any{"scope": nil, "scp": []string{"read:data", "write:data", "read:data"}}))},
		{"fractional times", rs256(baseClaims(map[string]any{"exp": float64(testNow.Unix()) + 299.25, "iat": float64(testNow.Unix()) - 9.5}))},
		{"nbf, acr, auth_time", rs256(baseClaims(map[string]any{"nbf": testNow.Unix() - 5, "acr": "urn:mace:incommon:iap:silver", "auth_time": testNow.Unix() - 100}))},
		{"no exp", rs256(baseClaims(map[string]any{"exp": nil}))},
		{"unicode and escapes", rs256(baseClaims(map[string]any{"sub": "dépôt \"svc\" ☃", "jti": "\u00e9\u2028", "client_id": "c/\\d"}))},
		{"azp as client", rs256(baseClaims(map[string]any{"client_id": nil, "azp": "svc-azp"}))},
		{"extra claims", rs256(baseClaims(map[string]any{"tenant": map[string]any{"id": 7, "tags": []string{"a"}}}))},
		{"roles and permissions", rs256(baseClaims(map[string]any{"iss": "https://roles.example.com/", "roles": []string{"Data.Read", "Data.Write"},
			"realm_access": map[string]any{"roles": []string{"admin"}}, "permissions": []string{"read:data"}}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newValidator(t, validator.WithoutExpiryRequirement(),
				validator.WithIssuer("https://roles.example.com/", testKeySource(t),
					validator.IssuerRoleClaims("/roles", "/realm_access/roles"), validator.IssuerPermissionClaims("/permissions")))
			miss, err := v.Validate(t.Context(), tt.tok)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Validate(t.Context(), tt.tok); err != nil { // admitted on its second sighting
				t.Fatal(err)
			}
			if v.CachedTokens() != 1 {
				t.Fatalf("cached %d tokens, want 1", v.CachedTokens())
			}
			hit, err := v.Validate(t.Context(), tt.tok)
			if err != nil {
				t.Fatal(err)
			}
			mv, hv := reflect.ValueOf(*miss), reflect.ValueOf(*hit)
			for i := range mv.NumField() {
				f := mv.Type().Field(i)
				if !f.IsExported() {
					continue
				}
				if !reflect.DeepEqual(mv.Field(i).Interface(), hv.Field(i).Interface()) {
					t.Errorf("%s: hit %#v, miss %#v", f.Name, hv.Field(i).Interface(), mv.Field(i).Interface())
				}
			}
			if got, want := string(hit.RawClaims()), string(miss.RawClaims()); got != want {
				t.Errorf("RawClaims: hit %s, miss %s", got, want)
			}
			var hm, mm map[string]any
			if err := hit.Decode(&hm); err != nil {
				t.Fatal(err)
			}
			if err := miss.Decode(&mm); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(hm, mm) {
				t.Errorf("Decode: hit %v, miss %v", hm, mm)
			}
			hs, hok := hit.Claim("sub")
			ms, mok := miss.Claim("sub")
			if hs != ms || hok != mok {
				t.Errorf(`Claim("sub"): hit %v %v, miss %v %v`, hs, hok, ms, mok)
			}
			// RawClaims is the caller's own copy on a hit too.
			raw := hit.RawClaims()
			clear(raw)
			if string(hit.RawClaims()) != string(miss.RawClaims()) {
				t.Error("writing to RawClaims' result changed the token")
			}
		})
	}
}
