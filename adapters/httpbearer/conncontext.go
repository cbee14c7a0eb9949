package httpbearer

import (
	"context"
	"net"

	"github.com/bearerguard/bearerguard/internal/trustedproxy"
)

// ConnContext is an http.Server ConnContext hook that records the address
// of each connection's peer in the context of every request on it. A
// Guard with [WithClientCertHeader], and forward auth's trusted proxies
// (forwardauth.WithTrustedProxies), then decide whether a request comes
// from a proxy by that address, not by the request's RemoteAddr, which
// middleware such as chi's RealIP or gorilla's ProxyHeaders rewrites from
// headers any client can send.
//
//	srv := &http.Server{Handler: mux, ConnContext: httpbearer.ConnContext}
//
// A server with a ConnContext of its own calls this one from it.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return trustedproxy.WithPeer(ctx, c.RemoteAddr())
}
