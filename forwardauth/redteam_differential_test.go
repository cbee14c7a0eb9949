package forwardauth_test

// Differential red-team tests: the same client request decided by the
// net/http adapter (httpbearer) over a guard, and by forward auth's front
// ends over the same guard, must get the same answer.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// diffRules: every path needs read:data, as the adapter's Require below.
const diffRules = `
default: deny
routes:
  - path: /
    scopes: [read:data]
`

// diffSurfaces is one guard behind the net/http adapter (in front of
// every path) and behind forward auth's four front ends.
type diffSurfaces struct {
	iss      *bearertest.Issuer
	direct   *httptest.Server
	nginx    *httptest.Server
	traefik  *httptest.Server
	envoyH   *httptest.Server
	envoyG   authv3.AuthorizationClient
	mu       sync.Mutex
	upstream []url.Values // what the adapter's handler read from the query
}

func newDiffSurfaces(t *testing.T, gopts ...httpbearer.Option) *diffSurfaces {
	t.Helper()
	return newDiffSurfacesWith(t, nil, gopts...)
}

// newDiffSurfacesWith is newDiffSurfaces with options for the Decider.
func newDiffSurfacesWith(t *testing.T, dopts []forwardauth.Option, gopts ...httpbearer.Option) *diffSurfaces {
	t.Helper()
	iss := bearertest.NewIssuer(t)
	keys, err := iss.NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = keys.Close() })
	v, err := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithAudience(audience))
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpbearer.New(v, append([]httpbearer.Option{httpbearer.WithRealm(audience)}, gopts...)...)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := forwardauth.ParseRules([]byte(diffRules))
	if err != nil {
		t.Fatal(err)
	}
	d, err := forwardauth.New(g, rs, dopts...)
	if err != nil {
		t.Fatal(err)
	}
	s := &diffSurfaces{iss: iss}
	s.direct = serve(t, g.Require(scopes.All("read:data"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.upstream = append(s.upstream, r.URL.Query())
		s.mu.Unlock()
	})))
	s.nginx = serve(t, d.NginxHandler())
	s.traefik = serve(t, d.TraefikHandler())
	s.envoyH = serve(t, d.EnvoyHTTPHandler("/envoy"))
	s.envoyG = envoyClient(t, d)
	return s
}

func (s *diffSurfaces) token(t *testing.T, scope string, opts ...bearertest.MintOption) string {
	return s.iss.Mint(t, bearertest.Claims{"aud": audience, "scope": scope, "sub": "user-1"}, opts...)
}

// diffRaw sends one HTTP/1.1 request exactly as written (request line and
// header lines) and returns the status.
func diffRaw(t *testing.T, addr, requestLine string, headers ...string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s\r\nHost: api.example.com\r\n", requestLine)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: %v", requestLine, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// forwarded asks every forward-auth front end about GET target with the
// client's header lines, as each gateway forwards them, and returns each
// front end's status.
func (s *diffSurfaces) forwarded(t *testing.T, target string, headers ...string) map[string]int {
	t.Helper()
	out := map[string]int{}
	out["nginx"] = diffRaw(t, s.nginx.Listener.Addr().String(), "GET /nginx HTTP/1.1", append([]string{
		"X-Original-Method: GET", "X-Original-URI: " + target, "X-Original-Host: api.example.com", "X-Original-Proto: https"}, headers...)...)
	out["traefik"] = diffRaw(t, s.traefik.Listener.Addr().String(), "GET /traefik HTTP/1.1", append([]string{
		"X-Forwarded-Method: GET", "X-Forwarded-Uri: " + target, "X-Forwarded-Host: api.example.com", "X-Forwarded-Proto: https"}, headers...)...)
	out["envoy-http"] = diffRaw(t, s.envoyH.Listener.Addr().String(), "GET /envoy"+target+" HTTP/1.1", headers...)
	hm := map[string]string{}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		hm[strings.ToLower(k)] = strings.TrimSpace(v)
	}
	resp, err := s.envoyG.Check(t.Context(), checkRequest("GET", "api.example.com", target, hm))
	if err != nil {
		t.Fatal(err)
	}
	if codes.Code(resp.GetStatus().GetCode()) == codes.OK {
		out["envoy-grpc"] = http.StatusOK
	} else {
		out["envoy-grpc"] = int(resp.GetDeniedResponse().GetStatus().GetCode())
	}
	return out
}

// A request target's query may hold a raw '#': nginx passes it on as it
// came ($request_uri and the proxied request line), and a Go upstream
// reads everything after the '?' as the query (url.ParseRequestURI keeps
// the '#'), so "?x=1#&access_token=T" names an access_token parameter.
// The net/http adapter sees it and answers 400 (a query token, not
// enabled; or a token sent two ways), but forward auth cut the query at
// the '#' and allowed the request on the header token alone: the token
// the upstream reads from its query was never looked at.
func TestRedteamDiffFragmentInQuery(t *testing.T) {
	t.Run("query tokens off", func(t *testing.T) {
		s := newDiffSurfaces(t)
		read, other := s.token(t, "read:data"), s.token(t, "write:data")
		target := "/data?x=1#&access_token=" + other
		header := "Authorization: Bearer " + read

		// The adapter, over the same guard: 400, the handler never runs.
		if got := diffRaw(t, s.direct.Listener.Addr().String(), "GET "+target+" HTTP/1.1", header); got != http.StatusBadRequest {
			t.Fatalf("net/http adapter: %d, want 400 (the premise)", got)
		}
		// What a Go upstream reads from this target (no guard in the way).
		var seen url.Values
		up := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.URL.Query() }))
		diffRaw(t, up.Listener.Addr().String(), "GET "+target+" HTTP/1.1")
		if seen.Get("access_token") != other {
			t.Fatalf("a Go upstream reads access_token=%.12q…, want the second token (the premise)", seen.Get("access_token"))
		}
		for fe, got := range s.forwarded(t, target, header) {
			if got != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400 as the net/http adapter answers: the upstream reads an access_token forward auth never looked at", fe, got)
			}
		}
	})
	t.Run("query tokens on, two query tokens", func(t *testing.T) {
		s := newDiffSurfaces(t, httpbearer.WithQueryToken())
		read, other := s.token(t, "read:data"), s.token(t, "write:data")
		target := "/data?access_token=" + read + "#&access_token=" + other
		if got := diffRaw(t, s.direct.Listener.Addr().String(), "GET "+target+" HTTP/1.1"); got != http.StatusBadRequest {
			t.Fatalf("net/http adapter: %d, want 400 sent twice (the premise)", got)
		}
		for fe, got := range s.forwarded(t, target) {
			if got != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400 (the token was sent twice) as the net/http adapter answers", fe, got)
			}
		}
	})
}

// A certificate-bound token (cnf x5t#S256) whose certificate the gateway
// forwards in a header: the net/http adapter over a guard with
// WithClientCertHeader accepts it from a listed proxy. Forward auth never
// read the header (the request it handed the guard had no address). Giving
// every HTTP front end the gateway's address (this session's first fix)
// let a client forge it behind Traefik, whose ForwardAuth passes the
// client's own header on when the client sent no certificate (review of
// this session's changes). Now only the nginx front end, with
// WithNginxClientCert (its auth_request location sets the header), hands
// the guard a forwarded certificate; Traefik's is never read.
func TestRedteamDiffForwardedClientCertificate(t *testing.T) {
	ca := bearertest.MustClientCA(t)
	_, cert := ca.MustIssue(t, "client")
	_, other := ca.MustIssue(t, "other")
	header := httpbearer.WithClientCertHeader("X-SSL-Client-Cert", httpbearer.EscapedPEM, "127.0.0.0/8", "::1")
	for _, tt := range []struct {
		name      string
		dopts     []forwardauth.Option
		nginx, tf int // with the token's certificate in the header
	}{
		{"default", nil, http.StatusUnauthorized, http.StatusUnauthorized},
		{"WithNginxClientCert", []forwardauth.Option{forwardauth.WithNginxClientCert()}, http.StatusOK, http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newDiffSurfacesWith(t, tt.dopts, header)
			tok := s.token(t, "read:data", bearertest.BoundToCertificate(cert))
			headers := []string{"Authorization: Bearer " + tok, "X-SSL-Client-Cert: " + bearertest.EscapedPEM(cert)}
			if got := diffRaw(t, s.direct.Listener.Addr().String(), "GET /data HTTP/1.1", headers...); got != http.StatusOK {
				t.Fatalf("net/http adapter: %d, want 200 (the premise)", got)
			}
			got := s.forwarded(t, "/data", headers...)
			if got["nginx"] != tt.nginx || got["traefik"] != tt.tf {
				t.Errorf("nginx %d, traefik %d; want %d, %d", got["nginx"], got["traefik"], tt.nginx, tt.tf)
			}
			wrong := []string{"Authorization: Bearer " + tok, "X-SSL-Client-Cert: " + bearertest.EscapedPEM(other)}
			for _, fe := range []string{"nginx", "traefik"} {
				if got := s.forwarded(t, "/data", wrong...)[fe]; got != http.StatusUnauthorized {
					t.Errorf("%s, another certificate: %d, want 401", fe, got)
				}
			}
		})
	}
}

// Traefik's ForwardAuth sends the auth server every header of the client's
// request, and its passTLSClientCert middleware only sets
// X-Forwarded-Tls-Client-Cert when the client presented a certificate: a
// client without one, holding a stolen certificate-bound token, writes the
// victim's (public) certificate in that header. Whatever the options, the
// Traefik front end never hands the guard a forwarded certificate.
func TestReviewTraefikForwardsClientForgedCertificate(t *testing.T) {
	ca := bearertest.MustClientCA(t)
	_, victim := ca.MustIssue(t, "victim")
	s := newDiffSurfacesWith(t, []forwardauth.Option{forwardauth.WithNginxClientCert()},
		httpbearer.WithClientCertHeader("X-Forwarded-Tls-Client-Cert", httpbearer.EscapedPEM, "127.0.0.0/8", "::1"))
	stolen := s.token(t, "read:data", bearertest.BoundToCertificate(victim))
	got := diffRaw(t, s.traefik.Listener.Addr().String(), "GET /traefik HTTP/1.1",
		"X-Forwarded-Method: GET", "X-Forwarded-Uri: /data", "X-Forwarded-Host: api.example.com", "X-Forwarded-Proto: https",
		"Authorization: Bearer "+stolen, "X-Forwarded-Tls-Client-Cert: "+bearertest.EscapedPEM(victim))
	if got != http.StatusUnauthorized {
		t.Errorf("traefik: a client-written certificate header with a stolen bound token: %d, want 401", got)
	}
}

// Envoy's ext_authz gRPC service sends the client's certificate (mutual
// TLS ended at Envoy, include_peer_certificate) in the check request's
// source: a certificate-bound token is allowed with its certificate only.
func TestEnvoyClientCertificate(t *testing.T) {
	ca := bearertest.MustClientCA(t)
	_, cert := ca.MustIssue(t, "client")
	_, other := ca.MustIssue(t, "other")
	s := newDiffSurfaces(t)
	bound := s.token(t, "read:data", bearertest.BoundToCertificate(cert))
	plain := s.token(t, "read:data")
	check := func(tok, certPEM, scheme string) codes.Code {
		t.Helper()
		req := checkRequest("GET", "api.example.com", "/data", map[string]string{"authorization": "Bearer " + tok})
		req.Attributes.Request.Http.Scheme = scheme
		req.Attributes.Source = &authv3.AttributeContext_Peer{Certificate: certPEM}
		resp, err := s.envoyG.Check(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		return codes.Code(resp.GetStatus().GetCode())
	}
	for _, tt := range []struct {
		name, tok, cert, scheme string
		want                    codes.Code
	}{
		{"bound, its certificate", bound, bearertest.EscapedPEM(cert), "https", codes.OK},
		{"bound, another certificate", bound, bearertest.EscapedPEM(other), "https", codes.Unauthenticated},
		{"bound, no certificate", bound, "", "https", codes.Unauthenticated},
		{"plain, a certificate", plain, bearertest.EscapedPEM(other), "https", codes.OK},
		{"a certificate that does not parse", plain, "-----BEGIN%20CERTIFICATE-----%0Anope%0A-----END%20CERTIFICATE-----%0A", "https", codes.InvalidArgument},
		{"a certificate over plain http", bound, bearertest.EscapedPEM(cert), "http", codes.InvalidArgument},
		{"a certificate too long", plain, strings.Repeat("A", 17<<10), "https", codes.InvalidArgument},
	} {
		if got := check(tt.tok, tt.cert, tt.scheme); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// The Envoy gRPC service copies the client's Cookie header into the
// request the guard decides on. It handed the guard Envoy's (trusted)
// address too, so a guard reading its certificate header from Cookie (a
// setting nothing refused) took a certificate the client wrote there: a
// stolen bound token passed without its certificate, and an ordinary
// cookie failed every request (review of this session's changes). Both
// ends are closed: WithClientCertHeader refuses Cookie (and every header
// with another use), and the gRPC service passes only the certificate
// Envoy verified, whatever headers the check request carries.
func TestReviewEnvoyGRPCNeverReadsCertificateHeader(t *testing.T) {
	ca := bearertest.MustClientCA(t)
	_, victim := ca.MustIssue(t, "victim")
	iss := bearertest.NewIssuer(t)
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience("orders"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := httpbearer.New(v, httpbearer.WithClientCertHeader("Cookie", httpbearer.EscapedPEM, "127.0.0.0/8")); err == nil {
		t.Error("WithClientCertHeader(\"Cookie\") accepted")
	}
	s := newDiffSurfacesWith(t, []forwardauth.Option{forwardauth.WithNginxClientCert()},
		httpbearer.WithClientCertHeader("X-SSL-Client-Cert", httpbearer.EscapedPEM, "127.0.0.0/8", "::1"))
	stolen := s.token(t, "read:data", bearertest.BoundToCertificate(victim))
	plain := s.token(t, "read:data")
	for _, tt := range []struct {
		name, tok string
		headers   map[string]string
		want      codes.Code
	}{
		{"bound token, the victim's certificate in the header, none from Envoy", stolen,
			map[string]string{"x-ssl-client-cert": bearertest.EscapedPEM(victim), "cookie": bearertest.EscapedPEM(victim)}, codes.Unauthenticated},
		{"plain token, an ordinary cookie", plain, map[string]string{"cookie": "session=abc"}, codes.OK},
	} {
		h := map[string]string{"authorization": "Bearer " + tt.tok}
		for k, v := range tt.headers {
			h[k] = v
		}
		resp, err := s.envoyG.Check(t.Context(), checkRequest("GET", "api.example.com", "/data", h))
		if err != nil {
			t.Fatal(err)
		}
		if got := codes.Code(resp.GetStatus().GetCode()); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Over plain http there is no client certificate to forward: the nginx
// front end does not let the guard read the header then, as the Envoy
// gRPC service refuses a certificate with the http scheme (review of this
// session's changes: the two disagreed).
func TestReviewNginxCertificateNeedsHTTPS(t *testing.T) {
	ca := bearertest.MustClientCA(t)
	_, cert := ca.MustIssue(t, "client")
	s := newDiffSurfacesWith(t, []forwardauth.Option{forwardauth.WithNginxClientCert()},
		httpbearer.WithClientCertHeader("X-SSL-Client-Cert", httpbearer.EscapedPEM, "127.0.0.0/8", "::1"))
	bound := s.token(t, "read:data", bearertest.BoundToCertificate(cert))
	for _, tt := range []struct {
		proto string
		want  int
	}{
		{"https", http.StatusOK},
		{"http", http.StatusUnauthorized},
		{"", http.StatusUnauthorized}, // not said: the header may be the client's own
	} {
		headers := []string{"X-Original-Method: GET", "X-Original-URI: /data", "X-Original-Host: api.example.com",
			"Authorization: Bearer " + bound, "X-SSL-Client-Cert: " + bearertest.EscapedPEM(cert)}
		if tt.proto != "" {
			headers = append(headers, "X-Original-Proto: "+tt.proto)
		}
		got := diffRaw(t, s.nginx.Listener.Addr().String(), "GET /nginx HTTP/1.1", headers...)
		if got != tt.want {
			t.Errorf("X-Original-Proto %s: %d, want %d", tt.proto, got, tt.want)
		}
	}
}
