package validator_test

import (
	"errors"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// introspectingIssuer returns a test issuer that knows the client "api"
// and an introspection client of its endpoint that authenticates as it
// and caches nothing.
func introspectingIssuer(t *testing.T) (*bearertest.Issuer, *introspect.Client) {
	t.Helper()
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "api", Secret: "api-secret"})
	ic, err := introspect.New(iss.IntrospectionURL(), introspect.ClientSecretBasic("api", "api-secret"),
		introspect.WithHTTPClient(iss.Client()), introspect.WithMaxTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ic.Close() })
	return iss, ic
}

// TestIntrospectionOnly checks the mode of a validator with
// WithIntrospection and no issuer of its own: every token, JWT-shaped or
// not, is introspected (nothing is decided locally, no key is needed), and
// an answer without "iss" gets the configured issuer.
func TestIntrospectionOnly(t *testing.T) {
	iss, ic := introspectingIssuer(t)

	const configured = "https://as.example/"
	noIss := iss.Opaque(t, bearertest.Claims{"iss": nil, "aud": "orders", "scope": "read:data"})
	sameIss := iss.Opaque(t, bearertest.Claims{"iss": configured, "aud": "orders"})
	otherIss := iss.Opaque(t, bearertest.Claims{"aud": "orders"}) // iss: the test issuer's URL
	jwt := iss.Mint(t, bearertest.Claims{"iss": nil, "aud": "orders", "scope": "read:data"})
	// JWT-shaped, but its header is not JSON: locally ErrMalformed; here the
	// authorization server decides (it does not know it).
	garbled := "e30x.e30.c2ln"

	for _, tt := range []struct {
		name       string
		issuer     string
		token      string
		wantIssuer string
		wantErr    error
	}{
		{"opaque, no iss", configured, noIss, configured, nil},
		{"opaque, the configured iss", configured, sameIss, configured, nil},
		{"opaque, another iss", configured, otherIss, "", validator.ErrIssuer},
		{"signed JWT, introspected", configured, jwt, configured, nil},
		{"JWT-shaped, unknown", configured, garbled, "", validator.ErrInactive},
		{"no issuer configured, no iss", "", noIss, "", nil},
		{"no issuer configured, an iss", "", sameIss, "", validator.ErrIssuer},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := validator.New(validator.WithIntrospection(tt.issuer, ic), validator.WithAudience("orders"))
			if err != nil {
				t.Fatal(err)
			}
			before := iss.IntrospectionRequests()
			tok, err := v.Validate(t.Context(), tt.token)
			if n := iss.IntrospectionRequests() - before; n != 1 {
				t.Errorf("Validate(%q) made %d introspection requests, want 1", tt.token, n)
			}
			if !errors.Is(err, tt.wantErr) || (tt.wantErr != nil) != (err != nil) {
				t.Fatalf("Validate(%q) = %v, want %v", tt.token, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if tok.Source != validator.SourceIntrospection || tok.Issuer != tt.wantIssuer {
				t.Errorf("Validate(%q): source %v, issuer %q; want introspection, %q", tt.token, tok.Source, tok.Issuer, tt.wantIssuer)
			}
		})
	}

	t.Run("with an issuer of its own, JWTs stay local", func(t *testing.T) {
		signed := iss.Mint(t, bearertest.Claims{"aud": "orders"})
		v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithIntrospection(configured, ic),
			validator.WithAudience("orders"))
		if err != nil {
			t.Fatal(err)
		}
		before := iss.IntrospectionRequests()
		if tok, err := v.Validate(t.Context(), signed); err != nil || tok.Source != validator.SourceJWT {
			t.Fatalf("Validate(JWT) = %v, %v; want a locally checked token", tok, err)
		}
		if _, err := v.Validate(t.Context(), garbled); !errors.Is(err, validator.ErrMalformed) {
			t.Errorf("Validate(%q) = %v, want ErrMalformed", garbled, err)
		}
		if n := iss.IntrospectionRequests() - before; n != 0 {
			t.Errorf("%d introspection requests, want 0", n)
		}
	})
}

// An introspection endpoint vouches for its own issuer's tokens only. An
// answer naming another issuer the validator trusts (for its JWTs) once
// passed with that issuer's checks: a hostile or compromised endpoint of
// one authorization server made up another's users for any opaque string
// (review of session 11).
func TestIntrospectionAnswerForAnotherTrustedIssuer(t *testing.T) {
	other := bearertest.NewIssuer(t) // trusted for its JWTs
	other.AddClient(bearertest.ClientConfig{ID: "api", Secret: "api-secret"})
	ic, err := introspect.New(other.IntrospectionURL(), introspect.ClientSecretBasic("api", "api-secret"),
		introspect.WithHTTPClient(other.Client()), introspect.WithMaxTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ic.Close() })
	const endpointIssuer = "https://as.example/"
	v, err := validator.New(validator.WithIssuer(other.URL, other.KeySet(t)), validator.WithIntrospection(endpointIssuer, ic),
		validator.WithAudience("orders"))
	if err != nil {
		t.Fatal(err)
	}
	forged := other.Opaque(t, bearertest.Claims{"iss": other.URL, "aud": "orders", "sub": "admin"})
	if tok, err := v.Validate(t.Context(), forged); !errors.Is(err, validator.ErrIssuer) {
		t.Errorf("an answer naming another trusted issuer: %+v, %v; want ErrIssuer", tok, err)
	}
	own := other.Opaque(t, bearertest.Claims{"iss": endpointIssuer, "aud": "orders", "sub": "alice"})
	if tok, err := v.Validate(t.Context(), own); err != nil || tok.Issuer != endpointIssuer {
		t.Errorf("an answer naming the endpoint's issuer: %+v, %v", tok, err)
	}
	if tok, err := v.Validate(t.Context(), other.Mint(t, bearertest.Claims{"aud": "orders"})); err != nil || tok.Source != validator.SourceJWT {
		t.Errorf("the other issuer's own JWT: %+v, %v", tok, err)
	}
}

// A validator whose only issuer, the introspection endpoint's, checks its
// own audience ([validator.IssuerAudience] or [validator.IssuerClientIDs])
// needs no validator-wide one: every answer is checked as that issuer's.
// Any other issuer, or an introspection endpoint without such an issuer,
// still does.
func TestIntrospectionIssuerOwnAudience(t *testing.T) {
	iss, ic := introspectingIssuer(t)
	other := bearertest.NewIssuer(t)

	t.Run("configurations", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			opts []validator.Option
			ok   bool
		}{
			{"introspection issuer with IssuerAudience", []validator.Option{
				validator.WithIssuer(iss.URL, iss.KeySet(t), validator.IssuerAudience("orders")),
				validator.WithIntrospection(iss.URL, ic)}, true},
			{"introspection issuer with IssuerClientIDs", []validator.Option{
				validator.WithIssuer(iss.URL, iss.KeySet(t), validator.IssuerClientIDs("caller")),
				validator.WithIntrospection(iss.URL, ic)}, true},
			{"introspection only", []validator.Option{
				validator.WithIntrospection(iss.URL, ic)}, false},
			{"introspection issuer without its own audience", []validator.Option{
				validator.WithIssuer(iss.URL, iss.KeySet(t)),
				validator.WithIntrospection(iss.URL, ic)}, false},
			{"another issuer has the audience", []validator.Option{
				validator.WithIssuer(other.URL, other.KeySet(t), validator.IssuerAudience("orders")),
				validator.WithIntrospection(iss.URL, ic)}, false},
			{"a second issuer without its own audience", []validator.Option{
				validator.WithIssuer(iss.URL, iss.KeySet(t), validator.IssuerAudience("orders")),
				validator.WithIssuer(other.URL, other.KeySet(t)),
				validator.WithIntrospection(iss.URL, ic)}, false},
		} {
			_, err := validator.New(tt.opts...)
			if (err == nil) != tt.ok {
				t.Errorf("%s: New = %v, want ok=%v", tt.name, err, tt.ok)
			}
		}
	})

	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t), validator.IssuerAudience("orders")),
		validator.WithIntrospection(iss.URL, ic))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		claims bearertest.Claims
		want   error
	}{
		{"its audience", bearertest.Claims{"aud": "orders", "token_type": "Bearer"}, nil},
		{"no iss, its audience", bearertest.Claims{"iss": nil, "aud": "orders", "token_type": "Bearer"}, nil},
		{"another audience", bearertest.Claims{"aud": "billing", "token_type": "Bearer"}, validator.ErrAudience},
		{"no audience", bearertest.Claims{"aud": nil, "token_type": "Bearer"}, validator.ErrAudience},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Validate(t.Context(), iss.Opaque(t, tt.claims))
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Validate = %v, want %v", err, tt.want)
			}
		})
	}
}
