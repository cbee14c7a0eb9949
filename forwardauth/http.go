package forwardauth

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/bearerguard/bearerguard/internal/trustedproxy"
)

// trusted reports whether remoteAddr ("host:port") is a trusted proxy.
func (d *Decider) trusted(remoteAddr string) bool { return d.proxies.ContainsRemote(remoteAddr) }

// trustedAddr reports whether addr is a trusted proxy.
func (d *Decider) trustedAddr(addr netip.Addr) bool { return d.proxies.Contains(addr) }

// one returns the single value of a header; ok is false when it is
// absent or sent more than once (a forwarded header sent twice has no
// meaning we could trust).
func one(h http.Header, name string) (string, bool) {
	v := h[name]
	if len(v) != 1 {
		return "", false
	}
	return v[0], true
}

// optional returns the single value of a header, "" when absent; ok is
// false when it is sent more than once.
func optional(h http.Header, name string) (string, bool) {
	v := h[name]
	switch len(v) {
	case 0:
		return "", true
	case 1:
		return v[0], true
	}
	return "", false
}

// NginxHandler answers nginx's auth_request subrequests: the original
// method and URI in X-Original-Method and X-Original-URI (set them with
// proxy_set_header ... $request_method / $request_uri), the host and
// scheme in X-Original-Host and X-Original-Proto (names: [WithNginxHeaders]),
// the client's Authorization and DPoP headers as nginx passes them. 200
// with the identity headers allows (read them with auth_request_set);
// 401 and 403 carry WWW-Authenticate. nginx turns any other status (400,
// 503) into 500, unless an error_page location passes it on from
// $upstream_status (the README's configuration does).
func (d *Decider) NginxHandler() http.Handler {
	n := d.nginx
	return d.frontHandler(feNginx, func(r *http.Request) (Request, bool) {
		method, ok1 := one(r.Header, n.Method)
		uri, ok2 := one(r.Header, n.URI)
		host, ok3 := optional(r.Header, n.Host)
		proto, ok4 := optional(r.Header, n.Proto)
		return Request{Method: method, URI: uri, Host: host, Scheme: strings.ToLower(proto), Header: r.Header}, ok1 && ok2 && ok3 && ok4
	})
}

// TraefikHandler answers Traefik's ForwardAuth: the original request in
// X-Forwarded-Method, X-Forwarded-Proto, X-Forwarded-Host and
// X-Forwarded-Uri (method, host and URI required), the client's headers
// as Traefik forwards them. 200 with the identity headers allows (list
// them in authResponseHeaders); any other answer is returned to the
// client as it is, WWW-Authenticate included.
func (d *Decider) TraefikHandler() http.Handler {
	return d.frontHandler(feTraefik, func(r *http.Request) (Request, bool) {
		method, ok1 := one(r.Header, "X-Forwarded-Method")
		uri, ok2 := one(r.Header, "X-Forwarded-Uri")
		host, ok3 := one(r.Header, "X-Forwarded-Host")
		proto, ok4 := optional(r.Header, "X-Forwarded-Proto")
		return Request{Method: method, URI: uri, Host: host, Scheme: strings.ToLower(proto), Header: r.Header}, ok1 && ok2 && ok3 && ok4
	})
}

// EnvoyHTTPHandler answers Envoy's ext_authz HTTP service, which sends
// the original method, Host and headers, and the original path after
// path_prefix (give prefix the same value, e.g. "/envoy"); the scheme is
// X-Forwarded-Proto when Envoy sends it (allowed_headers), else https.
// 200 allows, with the identity headers (allowed_upstream_headers);
// refusals carry WWW-Authenticate (allowed_client_headers). Envoy answers
// 403 for a 5xx from the service unless status_on_error says otherwise.
func (d *Decider) EnvoyHTTPHandler(prefix string) http.Handler {
	prefix = strings.TrimSuffix(prefix, "/")
	return d.frontHandler(feEnvoyHTTP, func(r *http.Request) (Request, bool) {
		uri, ok := strings.CutPrefix(r.RequestURI, prefix)
		proto, ok2 := optional(r.Header, "X-Forwarded-Proto")
		return Request{Method: r.Method, URI: uri, Host: r.Host, Scheme: strings.ToLower(proto), Header: r.Header}, ok && ok2
	})
}

// frontHandler is the shape of every HTTP front end: trust the peer,
// read the original request, decide, answer. No request body is read.
func (d *Decider) frontHandler(fe frontend, read func(*http.Request) (Request, bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var dec *Decision
		peer := trustedproxy.Remote(r) // the connection's, with httpbearer.ConnContext
		if !d.trusted(peer) {
			dec = refusal(http.StatusForbidden, "access_denied", "", ErrUntrustedProxy)
			d.tel.record(r.Context(), d.tel.start(r.Context()), fe, dec.Status)
			d.refusedUntrusted(fe, peer)
			// Not a gateway: no keep-alive connection held for it.
			w.Header().Set("Connection", "close")
		} else if req, ok := read(r); !ok {
			dec = refusal(http.StatusBadRequest, "invalid_request", "", ErrOriginalRequest)
			d.tel.record(r.Context(), d.tel.start(r.Context()), fe, dec.Status)
			d.log.Debug("forwardauth: refused", "frontend", fe.String(), "status", dec.Status, "error", dec.Err)
		} else {
			if fe == feNginx && d.nginxCert && req.Scheme == "https" {
				// The guard may read the certificate header nginx set, for
				// an original request nginx says was https: over plain http
				// (or when it does not say) nginx sets no certificate, and
				// the header would be the client's own.
				req.Peer = peer
			}
			dec = d.decide(r.Context(), req, fe)
		}
		writeDecision(w, dec)
	})
}

// writeDecision answers with a decision: its headers, status and body.
func writeDecision(w http.ResponseWriter, dec *Decision) {
	h := w.Header()
	for k, v := range dec.Header {
		h[k] = v
	}
	w.WriteHeader(dec.Status)
	if len(dec.Body) > 0 {
		_, _ = w.Write(dec.Body)
	}
}
