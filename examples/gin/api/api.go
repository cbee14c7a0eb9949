// Package api is the Gin example service; the command in the parent
// directory serves it, and the interop tests drive it.
package api

import (
	"io"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bearerguard/bearerguard/adapters/ginbearer"
	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/resourcemeta"
	"github.com/bearerguard/bearerguard/scopes"
)

// New returns the service's handler: GET /healthz open, GET /data needs
// read:data, POST /data needs write:data, and with a resource
// (cfg.Resource) its RFC 9728 metadata document at its well-known path.
// client, if not nil, fetches keys.
func New(cfg setup.Config, client *http.Client) (http.Handler, func(), error) {
	md, err := cfg.Metadata(resourcemeta.WithScopes("read:data", "write:data"))
	if err != nil {
		return nil, nil, err
	}
	guard, closeKeys, err := cfg.Guard(client)
	if err != nil {
		return nil, nil, err
	}
	auth, err := ginbearer.New(guard)
	if err != nil {
		closeKeys()
		return nil, nil, err
	}
	r := gin.New()
	r.Use(gin.CustomRecoveryWithWriter(io.Discard, recovered))
	r.GET("/healthz", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", setup.HealthBody) })
	if md != nil {
		r.Any(md.Path(), gin.WrapH(md)) // GET and HEAD; 405 for the rest
	}
	r.GET("/data", auth.Require(scopes.All("read:data")), func(c *gin.Context) {
		tok, _ := ginbearer.Token(c)
		c.JSON(http.StatusOK, setup.Reply(tok))
	})
	r.POST("/data", auth.Require(scopes.All("write:data")), func(c *gin.Context) {
		tok, _ := ginbearer.Token(c)
		reply := setup.Reply(tok)
		reply.Stored = true
		c.JSON(http.StatusCreated, reply)
	})
	return r, closeKeys, nil
}

// recovered answers a request whose handler panicked with 500, and logs
// its method and path alone: gin.Recovery's own log holds the request line,
// query and all, and with --allow-query-token the query holds the token.
func recovered(c *gin.Context, err any) {
	slog.Error("handler panicked", "method", c.Request.Method, "path", c.Request.URL.Path, "panic", err)
	c.AbortWithStatus(http.StatusInternalServerError)
}
