package validator_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
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
	tests := []struct {
		name string
		tok  string
	}{
		{"kept whole, three audiences", rs256(baseClaims(map[string]any{"aud": []string{testAud, "x", "y"}}))},
		{"compact, two audiences", rs256(baseClaims(map[string]any{"aud": []string{testAud, "x"}}))},
		// An exp past 2262 is beyond the compact form's nanoseconds.
		{"kept whole, one audience", rs256(baseClaims(map[string]any{"aud": []string{testAud}, "exp": time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()}))},
	}
	for _, tt := range tests {
		for _, into := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/ValidateInto=%v", tt.name, into), func(t *testing.T) {
				testCachedTokenIsolation(t, tt.tok, into)
			})
		}
	}
}

// testCachedTokenIsolation checks that no request sees what another wrote
// to its token: concurrent callers of Validate (or of ValidateInto, each
// reusing one Token) scribble on every token they get.
func testCachedTokenIsolation(t *testing.T, tok string, into bool) {
	// A claim check that writes to the token it is given: it must be given
	// a copy too.
	v := newValidator(t, validator.WithClaimCheck(func(_ context.Context, tok *validator.Token) error {
		tok.Subject = "rewritten-by-check"
		return nil
	}))
	first, err := v.Validate(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	nAud := len(first.Audience)
	// The first caller's token is not the cache's copy either.
	first.Scopes = first.Scopes.Union(scopes.MustParse("admin"))
	first.Audience[0] = "evil"
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			var mine validator.Token
			for range 200 {
				got, err := &mine, error(nil)
				if into {
					err = v.ValidateInto(t.Context(), tok, got)
				} else {
					got, err = v.Validate(t.Context(), tok)
				}
				if err != nil {
					t.Error(err)
					return
				}
				if got.Scopes.Has("admin") || got.Scopes.Len() != 1 || len(got.Audience) != nAud || got.Audience[0] != testAud || got.Subject != "rewritten-by-check" {
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
			sameToken(t, "hit", hit, miss)
			// ValidateInto, hit and miss, into a Token that held another
			// token with every field set: nothing of it may be left.
			for _, form := range []struct {
				name string
				v    *validator.Validator
			}{{"ValidateInto hit", v}, {"ValidateInto miss", newValidator(t, validator.WithoutTokenCache(), validator.WithoutExpiryRequirement(),
				validator.WithIssuer("https://roles.example.com/", testKeySource(t),
					validator.IssuerRoleClaims("/roles", "/realm_access/roles"), validator.IssuerPermissionClaims("/permissions")))}} {
				dst := dirtyToken(t)
				if err := form.v.ValidateInto(t.Context(), tt.tok, dst); err != nil {
					t.Fatal(err)
				}
				sameToken(t, form.name, dst, miss)
			}
		})
	}
}

// sameToken fails unless got equals want in every exported field and in
// the claims JSON behind Claim, Decode and RawClaims.
func sameToken(t *testing.T, name string, got, want *validator.Token) {
	t.Helper()
	wv, gv := reflect.ValueOf(*want), reflect.ValueOf(*got)
	for i := range wv.NumField() {
		f := wv.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		if !reflect.DeepEqual(wv.Field(i).Interface(), gv.Field(i).Interface()) {
			t.Errorf("%s: %s: got %#v, want %#v", name, f.Name, gv.Field(i).Interface(), wv.Field(i).Interface())
		}
	}
	if g, w := string(got.RawClaims()), string(want.RawClaims()); g != w {
		t.Errorf("%s: RawClaims: got %s, want %s", name, g, w)
	}
	var gm, wm map[string]any
	if err := got.Decode(&gm); err != nil {
		t.Fatal(err)
	}
	if err := want.Decode(&wm); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gm, wm) {
		t.Errorf("%s: Decode: got %v, want %v", name, gm, wm)
	}
	gs, gok := got.Claim("sub")
	ws, wok := want.Claim("sub")
	if gs != ws || gok != wok {
		t.Errorf(`%s: Claim("sub"): got %v %v, want %v %v`, name, gs, gok, ws, wok)
	}
	// RawClaims is the caller's own copy, whatever the token's origin.
	raw := got.RawClaims()
	clear(raw)
	if string(got.RawClaims()) != string(want.RawClaims()) {
		t.Errorf("%s: writing to RawClaims' result changed the token", name)
	}
}

// dirtyToken returns a Token that a validation filled with every field a
// token can carry (two audiences, roles, permissions, a binding, all four
// times, extra claims), with its fields then written over as a handler
// might: what ValidateInto is given when a caller reuses a Token.
func dirtyToken(t *testing.T) *validator.Token {
	t.Helper()
	v := newValidator(t, validator.WithoutTokenCache(), validator.WithIssuer("https://roles.example.com/", testKeySource(t),
		validator.IssuerRoleClaims("/roles"), validator.IssuerPermissionClaims("/permissions")))
	cert := selfSigned(t, "dirty")
	sum := sha256.Sum256(cert.Raw)
	var tok validator.Token
	err := v.ValidatePresentationInto(t.Context(), validator.Presentation{Token: rs256(baseClaims(map[string]any{
		"iss": "https://roles.example.com/", "aud": []string{"https://other.example.com/", testAud},
		"sub": "dirty-sub", "jti": "dirty-jti", "client_id": "dirty-client", "acr": "dirty-acr",
		"nbf": testNow.Unix() - 7, "auth_time": testNow.Unix() - 70,
		"roles": []string{"Dirty.Role"}, "permissions": []string{"dirty:perm"}, "dirty": true,
		"cnf": map[string]any{"x5t#S256": jwstest.Encode(sum[:])},
	})), ClientCert: cert}, &tok)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.Audience) != 2 || tok.Roles.Len() == 0 || tok.Permissions.Len() == 0 || !tok.Confirmation.Bound() || tok.NotBefore.IsZero() || tok.AuthTime.IsZero() {
		t.Fatalf("the dirty token lacks fields: %+v", tok)
	}
	tok.Audience[1] = "written-by-handler"
	tok.Scopes = tok.Scopes.Union(scopes.MustParse("admin"))
	return &tok
}

// ValidateInto leaves the zero Token on every error: a refused token, a
// cache hit that a claim check refuses after the Token was filled, and a
// bound token presented without its binding. A nil Token is an error,
// not a panic.
func TestValidateIntoError(t *testing.T) {
	loadKeys(t)
	refuseSub := "refused-by-check"
	v := newValidator(t, validator.WithClaimCheck(func(_ context.Context, tok *validator.Token) error {
		if tok.Subject == refuseSub {
			return errors.New("not this one")
		}
		return nil
	}))
	refusedByCheck := rs256(baseClaims(map[string]any{"sub": refuseSub}))
	good := rs256(baseClaims(nil))
	for range 2 { // a valid token, cached (admitted on its second sighting)
		if _, err := v.Validate(t.Context(), good); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256([]byte("some certificate"))
	tests := []struct {
		name string
		tok  string
		want error
	}{
		{"expired", rs256(baseClaims(map[string]any{"exp": testNow.Unix() - 31})), validator.ErrExpired},
		{"bad signature", good[:len(good)-4] + "AAAA", validator.ErrSignature},
		{"refused by a claim check", refusedByCheck, validator.ErrInvalidToken},
		{"certificate-bound, no certificate", rs256(baseClaims(map[string]any{"cnf": map[string]any{"x5t#S256": jwstest.Encode(sum[:])}})), validator.ErrBoundToken},
		{"empty", "", validator.ErrNoToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range 3 { // the later sightings of a cacheable token are hits
				dst := dirtyToken(t)
				err := v.ValidateInto(t.Context(), tt.tok, dst)
				if !errors.Is(err, tt.want) {
					t.Fatalf("sighting %d: err %v, want %v", i+1, err, tt.want)
				}
				if !reflect.DeepEqual(*dst, validator.Token{}) {
					t.Fatalf("sighting %d: after %v the Token is not zero: %+v", i+1, err, *dst)
				}
			}
		})
	}
	// The cached token still validates into a Token that held a refusal.
	var tok validator.Token
	if err := v.ValidateInto(t.Context(), refusedByCheck, &tok); err == nil {
		t.Fatal("the claim check did not refuse")
	}
	if err := v.ValidateInto(t.Context(), good, &tok); err != nil || tok.Subject != "svc-a" {
		t.Fatalf("after a refusal: err %v, sub %q", err, tok.Subject)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a nil *Token did not panic")
			}
		}()
		_ = v.ValidateInto(t.Context(), good, nil)
	}()
}

// A copy of a Token (t2 := *tok) keeps its Audience when the Token it was
// copied from is overwritten: by the next ValidateInto into it, by a
// refusal (which leaves the zero Token), or by the caller. Tokens kept
// whole by the cache and compact ones, hits and misses.
func TestTokenCopySurvivesReuse(t *testing.T) {
	loadKeys(t)
	v := newValidator(t)
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC).Unix() // beyond the compact form: kept whole
	alice := rs256(baseClaims(map[string]any{"sub": "alice", "aud": []string{testAud, "tenant-a"}}))
	aliceWhole := rs256(baseClaims(map[string]any{"sub": "alice", "aud": []string{testAud, "tenant-a"}, "exp": far}))
	bob := rs256(baseClaims(map[string]any{"sub": "bob", "aud": []string{"tenant-b", testAud}}))
	expired := rs256(baseClaims(map[string]any{"exp": testNow.Unix() - 31}))
	for _, first := range []string{alice, aliceWhole} {
		for i := range 3 { // a miss, the sighting that admits it, then hits
			var dst validator.Token
			if err := v.ValidateInto(t.Context(), first, &dst); err != nil {
				t.Fatal(err)
			}
			kept := dst
			if err := v.ValidateInto(t.Context(), bob, &dst); err != nil {
				t.Fatal(err)
			}
			if err := v.ValidateInto(t.Context(), expired, &dst); err == nil {
				t.Fatal("expired token accepted")
			}
			p, err := v.Validate(t.Context(), first)
			if err != nil {
				t.Fatal(err)
			}
			keptP := *p
			*p = validator.Token{}
			for _, k := range []validator.Token{kept, keptP} {
				if k.Subject != "alice" || len(k.Audience) != 2 || k.Audience[0] != testAud || k.Audience[1] != "tenant-a" {
					t.Fatalf("sighting %d: a kept copy changed: sub %q, aud %q", i+1, k.Subject, k.Audience)
				}
			}
		}
	}
}
