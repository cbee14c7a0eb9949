package echobearer_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bearerguard/bearerguard/adapters/echobearer"
	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/validator"
)

// As TestOptionalClearsOuterGuardsToken in ginbearer: the inner
// guard decides "anonymous", echobearer.Token still gives the handler the
// outer guard's token (another validator, another audience).
func TestOptionalClearsOuterGuardsToken(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	key, _ := validator.NewKey("k", pub, validator.EdDSA)
	newV := func(aud string) *validator.Validator {
		v, err := validator.New(validator.WithIssuer("https://id.example.com/", validator.NewKeys(key)), validator.WithAudience(aud))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	enc := base64.RawURLEncoding
	claims, _ := json.Marshal(map[string]any{"iss": "https://id.example.com/", "aud": "public", "sub": "site-user",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
	in := enc.EncodeToString([]byte(`{"alg":"EdDSA","kid":"k"}`)) + "." + enc.EncodeToString(claims)
	siteToken := in + "." + enc.EncodeToString(ed25519.Sign(priv, []byte(in)))

	outerG, err := httpbearer.New(newV("public"), httpbearer.WithCookie("session"))
	if err != nil {
		t.Fatal(err)
	}
	innerG, err := httpbearer.New(newV("admin"))
	if err != nil {
		t.Fatal(err)
	}
	outer, _ := echobearer.New(outerG)
	inner, _ := echobearer.New(innerG)
	e := echo.New()
	var got *validator.Token
	e.Group("", outer.Optional()).GET("/admin/whoami", func(c echo.Context) error {
		got, _ = echobearer.Token(c)
		return c.NoContent(http.StatusOK)
	}, inner.Optional())
	req := httptest.NewRequest("GET", "/admin/whoami", nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: siteToken})
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if got != nil {
		t.Fatalf("the admin guard let the request through as anonymous, but echobearer.Token gives its handler the outer guard's token: sub %q, aud %q", got.Subject, got.Audience)
	}
}
