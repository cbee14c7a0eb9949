package echobearer_test

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/bearerguard/bearerguard/adapters/echobearer"
	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

func reply(c echo.Context) error {
	out := contract.Reply{Anonymous: true}
	if tok, ok := echobearer.Token(c); ok {
		out = contract.Reply{Subject: tok.Subject}
		if ctxTok, ok := validator.FromContext(c.Request().Context()); ok {
			out.CtxSubject = ctxTok.Subject
		}
	}
	return c.JSON(http.StatusOK, out)
}

func TestContract(t *testing.T) {
	contract.Run(t, func(t *testing.T, g *httpbearer.Guard) http.Handler {
		auth := must(t, g)
		e := echo.New()
		e.GET("/data", reply, auth.Require(scopes.All("read:data")))
		e.POST("/data", reply, auth.Require(scopes.All("write:data")))
		e.GET("/either", reply, auth.Require(scopes.Any("read:data", "admin")))
		api := e.Group("", auth.Authenticate())
		api.GET("/any", reply)
		e.GET("/optional", reply, auth.Optional())
		e.GET("/strong", reply, auth.Require(scopes.All("read:data"), httpbearer.WithStepUp(contract.StrongAuth)))
		e.GET("/mixed", reply, auth.Require(contract.Mixed))
		e.GET("/privileged", reply, auth.Require(contract.Privileged))
		return e
	}, func(t *testing.T, outer, inner *httpbearer.Guard) http.Handler {
		o, i := must(t, outer), must(t, inner)
		e := echo.New()
		e.Group("/nested", o.Authenticate()).GET("/required", reply, i.Require(scopes.All("read:data")))
		e.Group("/nested", o.Optional()).GET("/optional", reply, i.Require(scopes.All("read:data")))
		return e
	})
}

func must(t *testing.T, g *httpbearer.Guard) *echobearer.Middleware {
	t.Helper()
	m, err := echobearer.New(g)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewRejectsNilGuard(t *testing.T) {
	if m, err := echobearer.New(nil); err == nil || m != nil {
		t.Fatalf("New(nil) = %v, %v; want an error", m, err)
	}
	// A zero Guard httpbearer.New did not build panicked on the first
	// request (SECURITY.md 111).
	if m, err := echobearer.New(&httpbearer.Guard{}); err == nil || m != nil {
		t.Errorf("New(zero Guard) = %v, %v; want an error", m, err)
	}
}
