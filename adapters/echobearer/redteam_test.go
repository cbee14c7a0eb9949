package echobearer_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/bearerguard/bearerguard/adapters/echobearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/validator"
)

// An inner Optional guard that lets a request through as anonymous leaves
// echobearer.Token nothing, not the token an outer guard over another
// validator stored (contract.OuterTokenUnderOptional).
func TestOptionalClearsOuterGuardsToken(t *testing.T) {
	outerG, innerG, req := contract.OuterTokenUnderOptional(t)
	outer, _ := echobearer.New(outerG)
	inner, _ := echobearer.New(innerG)
	e := echo.New()
	var got *validator.Token
	e.Group("", outer.Optional()).GET("/admin/whoami", func(c echo.Context) error {
		got, _ = echobearer.Token(c)
		return c.NoContent(http.StatusOK)
	}, inner.Optional())
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if got != nil {
		t.Fatalf("the admin guard let the request through as anonymous, but echobearer.Token gives its handler the outer guard's token: sub %q, aud %q", got.Subject, got.Audience)
	}
}
