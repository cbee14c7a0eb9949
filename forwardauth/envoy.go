package forwardauth

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"slices"
	"strings"

	"github.com/bearerguard/bearerguard/validator"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
)

// EnvoyServer returns Envoy's ext_authz gRPC service
// (envoy.service.auth.v3.Authorization/Check) over d: register it with
// authv3.RegisterAuthorizationServer. An allowed request's CheckResponse
// has status OK and an ok_response that overwrites the identity headers
// with non-empty values and removes those that are empty, so what the
// client sent under those names never reaches the upstream. A refusal has
// a denied_response with the HTTP status (400, 401, 403 or 503), the
// headers (WWW-Authenticate, Retry-After, …) and the JSON body, and the
// gRPC status that matches it (INVALID_ARGUMENT, UNAUTHENTICATED,
// PERMISSION_DENIED, UNAVAILABLE): Envoy sends the client that HTTP
// status. An unavailable issuer is a denied_response too, never an
// error_response, so failure_mode_allow cannot turn it into an allowed
// request. A peer outside the trusted proxies gets a denied_response of
// 403 (PERMISSION_DENIED), never a gRPC error, for the same reason.
//
// It panics on a Decider not built by [New] (a nil one, whose New
// returned an error): grpc-go recovers no panic, and the first Check would
// end the process.
func (d *Decider) EnvoyServer() authv3.AuthorizationServer {
	if d == nil || d.guard == nil {
		panic("forwardauth: EnvoyServer of a Decider not built by New (check New's error)")
	}
	return &envoyServer{d: d}
}

type envoyServer struct {
	authv3.UnimplementedAuthorizationServer
	d *Decider
}

// Check implements authv3.AuthorizationServer.
func (s *envoyServer) Check(ctx context.Context, req *authv3.CheckRequest) (resp *authv3.CheckResponse, err error) {
	d := s.d
	completed := false
	defer func() {
		if completed {
			return
		}
		// grpc-go recovers no panic: one (a collaborator built without its
		// constructor, say) would end the process. It is a denied 503,
		// never an error, which failure_mode_allow would let through, nor
		// the empty answer a nil panic (GODEBUG=panicnil=1) would leave,
		// which Envoy reads as OK.
		p := recover()
		resp, err = checkResponse(refusal(http.StatusServiceUnavailable, "temporarily_unavailable", "", validator.ErrUnavailable)), nil
		// The log and the metrics may be what panicked: once more here
		// would end the process.
		defer func() { _ = recover() }()
		what := fmt.Sprintf("%T", p) // not the value: it could quote the request
		if re, ok := p.(runtime.Error); ok {
			what = re.Error()
		}
		d.log.Error("forwardauth: the decision panicked", "panic", what)
		d.tel.record(ctx, d.tel.start(ctx), feEnvoyGRPC, http.StatusServiceUnavailable)
	}()
	resp = s.check(ctx, req)
	completed = true
	return resp, nil
}

// check is Check's decision.
func (s *envoyServer) check(ctx context.Context, req *authv3.CheckRequest) *authv3.CheckResponse {
	d := s.d
	p, ok := peer.FromContext(ctx)
	if !ok || !d.trustedPeer(p.Addr) {
		// A denied answer, not a gRPC error: an Envoy left out of the
		// trusted proxies by mistake, with failure_mode_allow on, would
		// let every request through on an error.
		d.tel.record(ctx, d.tel.start(ctx), feEnvoyGRPC, http.StatusForbidden)
		addr := "unknown"
		if ok && p.Addr != nil {
			addr = p.Addr.String()
		}
		d.refusedUntrusted(feEnvoyGRPC, addr)
		return checkResponse(refusal(http.StatusForbidden, "access_denied", "", ErrUntrustedProxy))
	}
	hr := req.GetAttributes().GetRequest().GetHttp()
	if hr == nil {
		d.tel.record(ctx, d.tel.start(ctx), feEnvoyGRPC, http.StatusBadRequest)
		return checkResponse(refusal(http.StatusBadRequest, "invalid_request", "", ErrOriginalRequest))
	}
	cert, ok := envoyClientCert(req.GetAttributes().GetSource().GetCertificate())
	if !ok {
		d.tel.record(ctx, d.tel.start(ctx), feEnvoyGRPC, http.StatusBadRequest)
		return checkResponse(refusal(http.StatusBadRequest, "invalid_request", "", ErrOriginalRequest))
	}
	dec := d.decide(ctx, Request{
		Method:     hr.GetMethod(),
		Scheme:     strings.ToLower(hr.GetScheme()),
		Host:       hr.GetHost(),
		URI:        hr.GetPath(),
		Header:     envoyHeaders(hr),
		ClientCert: cert, // its own, never a header: no Peer for the guard's WithClientCertHeader
	}, feEnvoyGRPC)
	return checkResponse(dec)
}

// maxEnvoyCert bounds the client certificate Envoy sends (URL-encoded
// PEM), as httpbearer bounds a forwarded one.
const maxEnvoyCert = 16 << 10

// envoyClientCert reads the client's certificate from the check request's
// source (URL-encoded PEM, when Envoy terminated mutual TLS): nil and true
// without one; false for one that does not parse.
func envoyClientCert(encoded string) (*x509.Certificate, bool) {
	if encoded == "" {
		return nil, true
	}
	if len(encoded) > maxEnvoyCert {
		return nil, false
	}
	text, err := url.QueryUnescape(encoded)
	if err != nil {
		return nil, false
	}
	block, rest := pem.Decode([]byte(text))
	if block == nil || block.Type != "CERTIFICATE" || strings.TrimSpace(string(rest)) != "" {
		return nil, false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, false
	}
	return cert, true
}

// trustedPeer reports whether a gRPC peer is a trusted proxy. A peer over
// a Unix socket is trusted: only local processes with the socket's
// permissions reach it.
func (d *Decider) trustedPeer(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		addr, ok := netip.AddrFromSlice(a.IP)
		return ok && d.trustedAddr(addr)
	case *net.UnixAddr:
		return true
	}
	return false
}

// envoyReads reports whether a decision reads the header Envoy names
// name (in lower case, or as the client sent it in header_map): those the
// Guard reads, those an upstream takes another method, host or URL from
// ([isOverrideHeader], [forwardedHosts], [urlOverride]), and any with a
// byte other than a letter, digit or '-', which may spell an identity
// header ([Decider.spelledOtherwise]) or one of those.
func envoyReads(name string) bool {
	switch strings.ToLower(name) {
	case "authorization", "dpop", "cookie", "x-forwarded-host", "forwarded", "x-original-url", "x-rewrite-url":
		return true
	}
	return !plainName(name) || isOverrideHeader(name)
}

// envoyHeaders copies the headers a decision reads ([envoyReads]) from
// Envoy's attribute context: the headers map, or header_map when Envoy
// sends raw headers. Envoy joins a repeated header's values with ","; a
// token sent twice then fails to parse, and is refused. A DPoP proof (a
// compact JWS) never holds a ',': a joined value is split back into the
// proofs the client sent, so that two are refused as two (exactly one is
// allowed), as the HTTP front ends refuse them.
func envoyHeaders(hr *authv3.AttributeContext_HttpRequest) http.Header {
	h := http.Header{}
	for name, v := range hr.GetHeaders() {
		if envoyReads(name) {
			ck := http.CanonicalHeaderKey(name)
			h[ck] = append(h[ck], v)
		}
	}
	for _, hv := range hr.GetHeaderMap().GetHeaders() {
		k := hv.GetKey()
		if !envoyReads(k) {
			continue
		}
		v := hv.GetValue()
		if v == "" {
			v = string(hv.GetRawValue())
		}
		ck := http.CanonicalHeaderKey(k)
		h[ck] = append(h[ck], v)
	}
	if proofs := h["Dpop"]; len(proofs) == 1 && strings.IndexByte(proofs[0], ',') >= 0 {
		h["Dpop"] = strings.Split(proofs[0], ",")
	}
	return h
}

// grpcCode is the gRPC status that goes with a refusal's HTTP status.
func grpcCode(status int) codes.Code {
	switch status {
	case http.StatusOK:
		return codes.OK
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	}
	return codes.PermissionDenied
}

func checkResponse(dec *Decision) *authv3.CheckResponse {
	if dec.Allowed {
		ok := &authv3.OkHttpResponse{}
		for _, k := range sortedKeys(dec.Header) {
			if k == "Cache-Control" {
				continue // for the HTTP front ends' own answer, not the upstream request
			}
			v := dec.Header[k][0]
			if v == "" {
				ok.HeadersToRemove = append(ok.HeadersToRemove, strings.ToLower(k))
				continue
			}
			ok.Headers = append(ok.Headers, &corev3.HeaderValueOption{
				Header:       &corev3.HeaderValue{Key: strings.ToLower(k), Value: v},
				AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
			})
		}
		return &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(codes.OK)}, HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: ok}}
	}
	denied := &authv3.DeniedHttpResponse{Status: &typev3.HttpStatus{Code: typev3.StatusCode(dec.Status)}, Body: string(dec.Body)}
	for _, k := range sortedKeys(dec.Header) {
		for _, v := range dec.Header[k] {
			denied.Headers = append(denied.Headers, &corev3.HeaderValueOption{
				Header:       &corev3.HeaderValue{Key: strings.ToLower(k), Value: v},
				AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
			})
		}
	}
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(grpcCode(dec.Status)), Message: http.StatusText(dec.Status)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: denied},
	}
}

func sortedKeys(h http.Header) []string { return slices.Sorted(maps.Keys(h)) }
