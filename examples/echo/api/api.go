// Package api is the Echo example service; the command in the parent
// directory serves it, and the interop tests drive it.
package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/bearerguard/bearerguard/adapters/echobearer"
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
	auth, err := echobearer.New(guard)
	if err != nil {
		closeKeys()
		return nil, nil, err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(middleware.Recover())
	e.GET("/healthz", func(c echo.Context) error { return c.JSONBlob(http.StatusOK, setup.HealthBody) })
	if md != nil {
		e.Any(md.Path(), echo.WrapHandler(md)) // GET and HEAD; 405 for the rest
	}
	e.GET("/data", func(c echo.Context) error {
		tok, _ := echobearer.Token(c)
		return c.JSON(http.StatusOK, setup.Reply(tok))
	}, auth.Require(scopes.All("read:data")))
	e.POST("/data", func(c echo.Context) error {
		tok, _ := echobearer.Token(c)
		reply := setup.Reply(tok)
		reply.Stored = true
		return c.JSON(http.StatusCreated, reply)
	}, auth.Require(scopes.All("write:data")))
	return e, closeKeys, nil
}
