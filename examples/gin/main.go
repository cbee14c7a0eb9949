// Command gin is an API protected by bearerguard with Gin.
//
//	go run ./examples/gin --issuer https://id.example.com/ --audience orders
//
// Routes: GET /healthz (open), GET /readyz (open: 503 until the keys have
// loaded), GET /data (read:data), POST /data (write:data), and with a
// resource (--resource, or an https audience) its RFC 9728 metadata
// document at the well-known path (open); with --metrics-addr, GET
// /metrics on that address. Run with --help for every flag.
package main

import (
	"github.com/gin-gonic/gin"

	"github.com/bearerguard/bearerguard/examples/gin/api"
	"github.com/bearerguard/bearerguard/examples/setup"
)

func main() {
	gin.SetMode(gin.ReleaseMode)
	setup.Main("gin", api.New)
}
