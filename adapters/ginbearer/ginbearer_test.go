package ginbearer_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/bearerguard/bearerguard/adapters/ginbearer"
	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

func reply(c *gin.Context) {
	out := contract.Reply{Anonymous: true}
	if tok, ok := ginbearer.Token(c); ok {
		out = contract.Reply{Subject: tok.Subject}
		if ctxTok, ok := validator.FromContext(c.Request.Context()); ok {
			out.CtxSubject = ctxTok.Subject
		}
	}
	c.JSON(http.StatusOK, out)
}

func TestContract(t *testing.T) {
	gin.SetMode(gin.TestMode)
	contract.Run(t, func(t *testing.T, g *httpbearer.Guard) http.Handler {
		auth := must(t, g)
		r := gin.New()
		r.GET("/data", auth.Require(scopes.All("read:data")), reply)
		r.POST("/data", auth.Require(scopes.All("write:data")), reply)
		r.GET("/either", auth.Require(scopes.Any("read:data", "admin")), reply)
		api := r.Group("/", auth.Authenticate())
		api.GET("/any", reply)
		r.GET("/optional", auth.Optional(), reply)
		r.GET("/strong", auth.Require(scopes.All("read:data"), httpbearer.WithStepUp(contract.StrongAuth)), reply)
		r.GET("/mixed", auth.Require(contract.Mixed), reply)
		r.GET("/privileged", auth.Require(contract.Privileged), reply)
		return r
	}, func(t *testing.T, outer, inner *httpbearer.Guard) http.Handler {
		o, i := must(t, outer), must(t, inner)
		r := gin.New()
		r.Group("/nested", o.Authenticate()).GET("/required", i.Require(scopes.All("read:data")), reply)
		r.Group("/nested", o.Optional()).GET("/optional", i.Require(scopes.All("read:data")), reply)
		return r
	})
}

func must(t *testing.T, g *httpbearer.Guard) *ginbearer.Middleware {
	t.Helper()
	m, err := ginbearer.New(g)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewRejectsNilGuard(t *testing.T) {
	if m, err := ginbearer.New(nil); err == nil || m != nil {
		t.Fatalf("New(nil) = %v, %v; want an error", m, err)
	}
	// A zero Guard httpbearer.New did not build panicked on the first
	// request (SECURITY.md 111).
	if m, err := ginbearer.New(&httpbearer.Guard{}); err == nil || m != nil {
		t.Errorf("New(zero Guard) = %v, %v; want an error", m, err)
	}
}
