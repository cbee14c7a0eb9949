package bearerguard_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// clientToken gets a token from iss's token endpoint the way a Go caller
// does, with x/oauth2's client-credentials flow (client_secret_basic).
func clientToken(t *testing.T, iss *bearertest.Issuer, id, secret string, scopes ...string) string {
	t.Helper()
	cfg := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: iss.TokenURL(), Scopes: scopes, AuthStyle: oauth2.AuthStyleInHeader}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, iss.Client())
	tok, err := cfg.Token(ctx)
	if err != nil {
		t.Fatalf("client credentials: %v", err)
	}
	return tok.AccessToken
}

func introspectingStack(t *testing.T, iss *bearertest.Issuer, opts ...validator.Option) *validator.Validator {
	t.Helper()
	iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "orders-api-secret"})
	ic, err := introspect.Discover(iss.URL, introspect.ClientSecretBasic("orders-api", "orders-api-secret"), introspect.WithHTTPClient(iss.Client()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ic.Close() })
	return newStack(t, iss, append([]validator.Option{validator.WithIntrospection(iss.URL, ic)}, opts...)...)
}

func TestEndToEndClientCredentialsAndIntrospection(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "billing", Secret: "billing-secret", Scopes: []string{"read:data", "write:data"}, Audience: audience})
	iss.AddClient(bearertest.ClientConfig{ID: "reports", Secret: "reports-secret", Scopes: []string{"read:data"}, Audience: audience, Opaque: true})
	v := introspectingStack(t, iss)
	ctx := t.Context()

	jwt := clientToken(t, iss, "billing", "billing-secret", "read:data")
	tok, err := v.Validate(ctx, jwt)
	if err != nil || tok.Source != validator.SourceJWT || tok.ClientID != "billing" || !tok.Scopes.Has("read:data") || tok.Scopes.Has("write:data") {
		t.Fatalf("JWT from the token endpoint: %+v, %v", tok, err)
	}
	if n := iss.IntrospectionRequests(); n != 0 {
		t.Errorf("a JWT from a keyed issuer cost %d introspection requests", n)
	}

	opaque := clientToken(t, iss, "reports", "reports-secret")
	tok, err = v.Validate(ctx, opaque)
	if err != nil || tok.Source != validator.SourceIntrospection || tok.ClientID != "reports" || !tok.Scopes.Has("read:data") {
		t.Fatalf("opaque token: %+v, %v", tok, err)
	}
	if _, err := v.Validate(ctx, opaque); err != nil || iss.IntrospectionRequests() != 1 {
		t.Errorf("second check: %v, %d requests (want 1: cached)", err, iss.IntrospectionRequests())
	}

	unknown := "opaque-never-issued"
	if _, err := v.Validate(ctx, unknown); !errors.Is(err, validator.ErrInactive) {
		t.Errorf("unknown opaque token: %v, want ErrInactive", err)
	}
}

func TestEndToEndIntrospectionChecks(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	v := introspectingStack(t, iss)
	ctx := t.Context()
	tests := []struct {
		name   string
		claims bearertest.Claims
		want   error
	}{
		{"good", bearertest.Claims{"aud": audience}, nil},
		{"wrong audience", bearertest.Claims{"aud": "payments"}, validator.ErrAudience},
		{"no audience", bearertest.Claims{}, validator.ErrAudience},
		{"foreign issuer", bearertest.Claims{"aud": audience, "iss": "https://evil.example/"}, validator.ErrIssuer},
		{"no issuer", bearertest.Claims{"aud": audience, "iss": nil}, nil},
		{"not yet valid", bearertest.Claims{"aud": audience, "nbf": 4_000_000_000}, validator.ErrNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Validate(ctx, iss.Opaque(t, tt.claims))
			if !errors.Is(err, tt.want) {
				t.Errorf("Validate() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestEndToEndRevocation(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "orders-api", Secret: "orders-api-secret"})
	ic, err := introspect.New(iss.IntrospectionURL(), introspect.ClientSecretBasic("orders-api", "orders-api-secret"),
		introspect.WithHTTPClient(iss.Client()), introspect.WithMaxTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ic.Close() })
	// Revocation-sensitive: JWTs are introspected too.
	v := newStack(t, iss, validator.WithIntrospection(iss.URL, ic), validator.WithIntrospectJWTs())
	ctx := t.Context()
	for _, tok := range []string{iss.Mint(t, bearertest.Claims{"aud": audience}), iss.Opaque(t, bearertest.Claims{"aud": audience})} {
		got, err := v.Validate(ctx, tok)
		if err != nil || got.Source != validator.SourceIntrospection {
			t.Fatalf("before revocation: %+v, %v", got, err)
		}
		iss.Revoke(tok)
		_, err = v.Validate(ctx, tok)
		if !errors.Is(err, validator.ErrInactive) {
			t.Fatalf("after revocation: %v, want ErrInactive", err)
		}
		if c := validator.ChallengeFor(err, "api"); c.Status != http.StatusUnauthorized {
			t.Errorf("revoked: status %d", c.Status)
		}
	}
}

func TestEndToEndIntrospectionDown(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	v := introspectingStack(t, iss)
	iss.SetIntrospectionHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	_, err := v.Validate(t.Context(), iss.Opaque(t, bearertest.Claims{"aud": audience}))
	if !errors.Is(err, validator.ErrIntrospectionUnavailable) {
		t.Fatalf("Validate() = %v, want unavailable", err)
	}
	if c := validator.ChallengeFor(err, "api"); c.Status != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", c.Status)
	}
}

func TestEndToEndExpiredIntrospectionAnswer(t *testing.T) {
	// A server that calls an expired token active is overruled.
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"active":true,"aud":%q,"exp":1000}`, audience)
	}))
	defer srv.Close()
	ic, err := introspect.New(srv.URL, introspect.ClientSecretBasic("a", "b"), introspect.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	v, err := validator.New(validator.WithIntrospection(srv.URL, ic), validator.WithAudience(audience))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(t.Context(), "opaque"); !errors.Is(err, validator.ErrExpired) {
		t.Errorf("Validate() = %v, want ErrExpired", err)
	}
}

// Regression (issue 12, finding 8): an authorization server that never sends
// "aud" in introspection answers could be accepted only with
// WithoutAudienceCheck, which also dropped the audience check on JWTs.
// WithIntrospectionAudienceOptional accepts answers without "aud" alone.
func TestIntrospectionAudienceOptional(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	noAud := iss.Opaque(t, bearertest.Claims{"scope": "read:data"})
	emptyAud := iss.Opaque(t, bearertest.Claims{"aud": []string{}, "scope": "read:data"})
	wrongAud := iss.Opaque(t, bearertest.Claims{"aud": "admin", "scope": "read:data"})
	rightAud := iss.Opaque(t, bearertest.Claims{"aud": audience, "scope": "read:data"})
	jwtNoAud := iss.Mint(t, bearertest.Claims{"scope": "read:data"})
	jwtWrongAud := iss.Mint(t, bearertest.Claims{"aud": "admin"})

	strict := introspectingStack(t, iss)
	optional := introspectingStack(t, iss, validator.WithIntrospectionAudienceOptional())
	tests := []struct {
		name  string
		v     *validator.Validator
		token string
		want  error // nil: accepted
	}{
		{"default: answer without aud refused", strict, noAud, validator.ErrAudience},
		{"default: right aud", strict, rightAud, nil},
		{"optional: answer without aud accepted", optional, noAud, nil},
		{"optional: empty aud list still refused", optional, emptyAud, validator.ErrAudience},
		{"optional: wrong aud still refused", optional, wrongAud, validator.ErrAudience},
		{"optional: right aud", optional, rightAud, nil},
		{"optional: JWT without aud still refused", optional, jwtNoAud, validator.ErrAudience},
		{"optional: JWT with wrong aud still refused", optional, jwtWrongAud, validator.ErrAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := tt.v.Validate(t.Context(), tt.token)
			if tt.want == nil {
				if err != nil || !tok.Scopes.Has("read:data") {
					t.Fatalf("Validate() = %+v, %v; want accepted", tok, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Validate() = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience(audience),
		validator.WithIntrospectionAudienceOptional()); err == nil {
		t.Error("WithIntrospectionAudienceOptional without WithIntrospection was accepted")
	}
}

// A DPoP-bound opaque token: the introspection answer's cnf.jkt binds it,
// exactly as a JWT's claim would.
func TestIntrospectedTokenBoundToDPoPKey(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	key := bearertest.MustDPoPKey(t, validator.ES256)
	opaque := iss.Opaque(t, bearertest.Claims{"aud": audience, "scope": "read:data", "cnf": map[string]any{"jkt": key.Thumbprint()}})
	v := introspectingStack(t, iss)
	const url = "https://api.example.com/data"
	present := func(scheme validator.Scheme, proof string) error {
		_, err := v.ValidatePresentation(t.Context(), validator.Presentation{Scheme: scheme, Token: opaque, Proof: proof, Method: "GET", URL: url})
		return err
	}
	if err := present(validator.SchemeDPoP, key.MustProof(t, "GET", url, opaque)); err != nil {
		t.Fatalf("with its proof: %v", err)
	}
	if err := present(validator.SchemeBearer, ""); !errors.Is(err, validator.ErrBoundToken) {
		t.Errorf("as Bearer: %v, want ErrBoundToken", err)
	}
	other := bearertest.MustDPoPKey(t, validator.ES256)
	if err := present(validator.SchemeDPoP, other.MustProof(t, "GET", url, opaque)); !errors.Is(err, validator.ErrBindingMismatch) {
		t.Errorf("proof of another key: %v, want ErrBindingMismatch", err)
	}
}
