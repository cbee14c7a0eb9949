package echobearer_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/bearerguard/bearerguard/adapters/echobearer"
	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/scopes"
)

func ExampleMiddleware_Require() {
	v, mint := contract.Offline() // in production: validator.New with a jwks.Set
	guard, err := httpbearer.New(v, httpbearer.WithRealm("orders"))
	if err != nil {
		panic(err)
	}
	auth, err := echobearer.New(guard)
	if err != nil {
		panic(err)
	}
	e := echo.New()
	e.GET("/data", func(c echo.Context) error {
		tok, _ := echobearer.Token(c)
		return c.String(http.StatusOK, "hello "+tok.ClientID)
	}, auth.Require(scopes.All("read:data")))

	for _, scope := range []string{"read:data", "profile"} {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/data", nil)
		req.Header.Set("Authorization", "Bearer "+mint(scope))
		e.ServeHTTP(w, req)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%d %s", w.Code, w.Header().Get("WWW-Authenticate"))))
	}
	// Output:
	// 200
	// 403 Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read:data", DPoP realm="orders", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"
}
