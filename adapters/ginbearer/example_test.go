package ginbearer_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"

	"github.com/bearerguard/bearerguard/adapters/ginbearer"
	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/scopes"
)

func ExampleMiddleware_Require() {
	gin.SetMode(gin.ReleaseMode)
	v, mint := contract.Offline() // in production: validator.New with a jwks.Set
	guard, err := httpbearer.New(v, httpbearer.WithRealm("orders"))
	if err != nil {
		panic(err)
	}
	auth, err := ginbearer.New(guard)
	if err != nil {
		panic(err)
	}
	r := gin.New()
	r.GET("/data", auth.Require(scopes.All("read:data")), func(c *gin.Context) {
		tok, _ := ginbearer.Token(c)
		c.String(http.StatusOK, "hello %s", tok.ClientID)
	})

	for _, scope := range []string{"read:data", "profile"} {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/data", nil)
		req.Header.Set("Authorization", "Bearer "+mint(scope))
		r.ServeHTTP(w, req)
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"), w.Body.String())
	}
	// Output:
	// 200  hello svc-example
	// 403 Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read:data", DPoP realm="orders", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519" {"error":"insufficient_scope","error_description":"The access token lacks a required scope","scope":"read:data"}
}
