package httpbearer

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// TestErrorBodyAsEncodingJSON: the body written by hand is byte for byte
// what encoding/json's Encoder writes, for the library's own answers and
// for strings it must escape.
func TestErrorBodyAsEncodingJSON(t *testing.T) {
	for _, b := range []errorBody{
		{Error: "unauthorized", Description: "An access token is required"},
		{Error: "invalid_token", Description: "The access token expired"},
		{Error: "insufficient_scope", Description: "The request requires higher privileges than provided by the access token", Scope: "read:data write:data"},
		{Error: "temporarily_unavailable"},
		{Error: "x", Scope: "a<b>&c"},
		{Error: "quote\" and \\ backslash", Description: "tab\tnewline\n"},
		{Error: "é non-ASCII", Description: "\u2028\u2029", Scope: "\xff invalid UTF-8"},
		{Error: "del\x7f"},
		{},
	} {
		if got, want := b.appendJSON(nil), encoded(t, b); !bytes.Equal(got, want) {
			t.Errorf("%+v:\n got %q\nwant %q", b, got, want)
		}
	}
}

// FuzzErrorBodyJSON: appendJSON writes what encoding/json writes, for any
// three strings (a body writer of the caller's own may set any).
func FuzzErrorBodyJSON(f *testing.F) {
	f.Add("invalid_token", "The access token expired", "")
	f.Add("insufficient_scope", "", "read:data <write>")
	f.Add("\x00", "\u2028", "\xc3")
	f.Fuzz(func(t *testing.T, code, desc, scope string) {
		b := errorBody{Error: code, Description: desc, Scope: scope}
		if got, want := b.appendJSON(nil), encoded(t, b); !bytes.Equal(got, want) {
			t.Fatalf("%+v:\n got %q\nwant %q", b, got, want)
		}
	})
}

func encoded(t *testing.T, b errorBody) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFixedAnswersBuiltOnce: the answers built in New (no token, a
// malformed token, an unknown issuer, …) are the ones a request would have
// got built on the spot, for every configuration that shapes them (realm,
// DPoP modes, resource metadata) and both schemes; a validator of the
// caller's own that shapes its challenges is asked every time; and an
// error of a caller's own that is not comparable does not break the
// lookup.
func TestFixedAnswersBuiltOnce(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := validator.NewKey("k1", pub, validator.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	newValidator := func(t *testing.T, opts ...validator.Option) *validator.Validator {
		v, err := validator.New(append([]validator.Option{validator.WithIssuer("https://issuer.example", validator.NewKeys(key)), validator.WithAudience("orders")}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name  string
		vopts []validator.Option
		gopts []Option
	}{
		{"defaults", nil, nil},
		{"realm and metadata", nil, []Option{WithRealm("orders"), WithResourceMetadata("https://api.example.com/.well-known/oauth-protected-resource")}},
		{"DPoP allowed", []validator.Option{validator.WithDPoP(validator.DPoPAllowed)}, []Option{WithRealm("orders")}},
		{"DPoP required", []validator.Option{validator.WithDPoP(validator.DPoPRequired)}, []Option{WithResourceMetadata("https://api.example.com/.well-known/oauth-protected-resource")}},
		{"DPoP off", []validator.Option{validator.WithDPoP(validator.DPoPOff)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := New(newValidator(t, tc.vopts...), tc.gopts...)
			if err != nil {
				t.Fatal(err)
			}
			if len(g.answers) != 2*len(fixedReasons) {
				t.Fatalf("%d answers built in New, want %d", len(g.answers), 2*len(fixedReasons))
			}
			for _, reason := range fixedReasons {
				for _, scheme := range []validator.Scheme{validator.SchemeBearer, validator.SchemeDPoP} {
					fresh := g.challenge(reason, scheme)
					if got := g.answers[answerKey{reason, scheme}]; got == nil || !reflect.DeepEqual(*got, fresh) {
						t.Errorf("%v, scheme %v: built in New %+v, on the spot %+v", reason, scheme, got, fresh)
					}
				}
			}
			rec := httptest.NewRecorder()
			g.Require(scopes.All("read:data"), http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			want := g.challenge(validator.ErrNoToken, validator.SchemeBearer)
			if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != want.Header {
				t.Fatalf("served %d %q, want 401 %q", rec.Code, rec.Header().Get("WWW-Authenticate"), want.Header)
			}
		})
	}
	t.Run("a validator of the caller's own shaping challenges", func(t *testing.T) {
		own := &countingChallenger{Validator: newValidator(t)}
		g, err := New(own)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			g.Require(scopes.All("read:data"), http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		}
		if g.answers != nil || own.n != 3 {
			t.Fatalf("built in New: %d; the validator was asked %d times, want 3", len(g.answers), own.n)
		}
	})
	t.Run("an error that is not comparable", func(t *testing.T) {
		g, err := New(uncomparableFailer{})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer abc")
		rec := httptest.NewRecorder()
		g.Require(scopes.All("read:data"), http.NotFoundHandler()).ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", rec.Code)
		}
	})
}

// uncomparableFailer is a TokenValidator of a caller's own whose errors
// are values of a type that == cannot compare (a map key of it panics).
type uncomparableFailer struct{}

type uncomparableError struct{ reasons []string }

func (e uncomparableError) Error() string { return "refused: " + e.reasons[0] }

func (uncomparableFailer) Validate(context.Context, string) (*validator.Token, error) {
	return nil, uncomparableError{[]string{"no"}}
}

type countingChallenger struct {
	*validator.Validator
	n int
}

func (c *countingChallenger) Challenge(err error, realm string, scheme validator.Scheme) validator.Challenge {
	c.n++
	return c.Validator.Challenge(err, realm, scheme)
}
