package bearertest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/leakcheck"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

func TestStartServesUntilClose(t *testing.T) {
	leakcheck.Check(t)
	iss, err := bearertest.Start()
	if err != nil {
		t.Fatal(err)
	}
	client := iss.Client()
	resp, err := client.Get(iss.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	err = json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || meta.Issuer != iss.URL || meta.JWKSURI != iss.JWKSURL() {
		t.Fatalf("discovery: %d %+v %v", resp.StatusCode, meta, err)
	}
	if iss.CurrentKeyID(validator.RS256) == "" {
		t.Error("no RS256 key published at start")
	}

	iss.Close()
	if resp, err := client.Get(iss.JWKSURL()); err == nil {
		resp.Body.Close()
		t.Fatalf("JWKS still served after Close: %d", resp.StatusCode)
	}
	iss.Close() // a second Close does nothing
}

// The error-returning forms produce tokens and key sets a validator
// accepts, over the issuer's real endpoints.
func TestErrorFormsValidate(t *testing.T) {
	iss, err := bearertest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	iss.AddClient(bearertest.ClientConfig{ID: "api", Secret: "api-secret"})
	// Every key exists before the key set's first fetch, so that no
	// lookup depends on a rate-limited refetch.
	edKid, err := iss.RotateKey(validator.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	mint := func(opts ...bearertest.MintOption) func() (string, error) {
		return func() (string, error) {
			return iss.MintToken(bearertest.Claims{"aud": "orders", "sub": "svc"}, opts...)
		}
	}
	tests := []struct {
		name   string
		token  func() (string, error)
		source validator.Source
		kid    func() string
	}{
		{"MintToken, default RS256", mint(), validator.SourceJWT, func() string { return iss.CurrentKeyID(validator.RS256) }},
		{"MintToken, key made on demand", mint(bearertest.WithAlgorithm(validator.ES256)), validator.SourceJWT, func() string { return iss.CurrentKeyID(validator.ES256) }},
		{"MintToken with the RotateKey kid", mint(bearertest.WithAlgorithm(validator.EdDSA)), validator.SourceJWT, func() string { return edKid }},
		{"OpaqueToken", func() (string, error) {
			return iss.OpaqueToken(bearertest.Claims{"aud": "orders", "sub": "svc"})
		}, validator.SourceIntrospection, func() string { return "" }},
	}
	tokens := make([]string, len(tests))
	for i, tt := range tests {
		if tokens[i], err = tt.token(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
	}

	keys, err := iss.NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	ic, err := introspect.New(iss.IntrospectionURL(), introspect.ClientSecretBasic("api", "api-secret"), introspect.WithHTTPClient(iss.Client()))
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	v, err := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithIntrospection(iss.URL, ic), validator.WithAudience("orders"))
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Validate(t.Context(), tokens[i])
			if err != nil {
				t.Fatal(err)
			}
			if kid := tt.kid(); got.Subject != "svc" || got.Source != tt.source || got.KeyID != kid {
				t.Errorf("got subject %q, source %v, kid %q; want svc, %v, %q", got.Subject, got.Source, got.KeyID, tt.source, kid)
			}
		})
	}
}

func TestErrorFormsFail(t *testing.T) {
	iss, err := bearertest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	var unencodable *json.UnsupportedTypeError

	tests := []struct {
		name    string
		call    func() error
		is      error // matched with errors.Is, if set
		as      any   // matched with errors.As, if set
		message string
	}{
		{"RotateKey HS256", func() error { _, err := iss.RotateKey(validator.HS256); return err },
			bearertest.ErrUnsupportedAlgorithm, nil, "bearertest: generating a HS256 key: unsupported algorithm HS256"},
		{"RotateKey none", func() error { _, err := iss.RotateKey("none"); return err },
			bearertest.ErrUnsupportedAlgorithm, nil, "bearertest: generating a none key: unsupported algorithm none"},
		{"MintToken none", func() error {
			_, err := iss.MintToken(bearertest.Claims{}, bearertest.WithAlgorithm("none"))
			return err
		}, bearertest.ErrUnsupportedAlgorithm, nil, "bearertest: minting: unsupported algorithm none"},
		{"MintToken unencodable claim", func() error {
			_, err := iss.MintToken(bearertest.Claims{"aud": make(chan int)})
			return err
		}, nil, &unencodable, "bearertest: minting: json: unsupported type: chan int"},
		{"OpaqueToken unencodable claim", func() error {
			_, err := iss.OpaqueToken(bearertest.Claims{"aud": make(chan int)})
			return err
		}, nil, &unencodable, "bearertest: opaque token: json: unsupported type: chan int"},
		{"NewKeySet bad option", func() error {
			set, err := iss.NewKeySet(jwks.WithUnknownKeyTTL(-1))
			if set != nil {
				set.Close()
			}
			return err
		}, nil, nil, "bearertest: jwks.New: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if tt.as != nil && !errors.As(err, tt.as) {
				t.Errorf("errors.As(%v, %T) = false", err, tt.as)
			}
			if !strings.HasPrefix(err.Error(), tt.message) {
				t.Errorf("error %q, want it to start %q", err, tt.message)
			}
		})
	}
	if _, err := iss.MintToken(bearertest.Claims{"aud": "orders"}); err != nil {
		t.Errorf("the issuer no longer mints after the failures: %v", err)
	}
}

// recordingT is a T that records instead of stopping, to see what the T
// forms report and register.
type recordingT struct {
	fatals   []string
	cleanups []func()
}

func (*recordingT) Helper() {}
func (r *recordingT) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
}
func (r *recordingT) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

func (r *recordingT) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.cleanups = nil
}

// The T forms report the error forms' errors with Fatalf, unchanged, and
// tie what they start to the test's cleanups.
func TestTFormsReportAndCleanUp(t *testing.T) {
	leakcheck.Check(t)
	rt := &recordingT{}
	iss := bearertest.NewIssuer(rt)
	if len(rt.fatals) != 0 || len(rt.cleanups) != 1 {
		t.Fatalf("NewIssuer: fatals %q, %d cleanups; want none, 1", rt.fatals, len(rt.cleanups))
	}
	defer rt.runCleanups() // on an early failure

	tests := []struct {
		name     string
		call     func()
		fatal    string // prefix of the one Fatalf message; "" for none
		cleanups int    // cleanups registered
	}{
		{"KeySet", func() { iss.KeySet(rt) }, "", 1},
		{"KeySet bad option", func() { iss.KeySet(rt, jwks.WithUnknownKeyTTL(-1)) }, "bearertest: jwks.New: ", 0},
		{"Mint", func() { iss.Mint(rt, bearertest.Claims{"aud": "orders"}) }, "", 0},
		{"Mint none", func() { iss.Mint(rt, bearertest.Claims{}, bearertest.WithAlgorithm("none")) }, "bearertest: minting: unsupported algorithm none", 0},
		{"Opaque", func() { iss.Opaque(rt, bearertest.Claims{"aud": "orders"}) }, "", 0},
		{"Opaque unencodable", func() { iss.Opaque(rt, bearertest.Claims{"aud": func() {}}) }, "bearertest: opaque token: json: unsupported type", 0},
		{"Rotate", func() { iss.Rotate(rt, validator.ES384) }, "", 0},
		{"Rotate HS256", func() { iss.Rotate(rt, validator.HS256) }, "bearertest: generating a HS256 key: unsupported algorithm HS256", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fatals, cleanups := len(rt.fatals), len(rt.cleanups)
			tt.call()
			got := rt.fatals[fatals:]
			switch {
			case tt.fatal == "" && len(got) != 0:
				t.Errorf("Fatalf %q, want none", got)
			case tt.fatal != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tt.fatal)):
				t.Errorf("Fatalf %q, want one starting %q", got, tt.fatal)
			}
			if n := len(rt.cleanups) - cleanups; n != tt.cleanups {
				t.Errorf("%d cleanups registered, want %d", n, tt.cleanups)
			}
		})
	}

	rt.runCleanups()
	if resp, err := iss.Client().Get(iss.JWKSURL()); err == nil {
		resp.Body.Close()
		t.Fatalf("JWKS still served after the cleanups: %d", resp.StatusCode)
	}
}
