package interop

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/bearerguard/bearerguard/bearertest"
)

// nginxMTLSServer is nginxServer ending mutual TLS itself: it asks for
// client certificates of the CA in %[4]s (optional: a client without one
// is let through, to its token's fate), and its auth_request location
// passes the client's certificate to bearerguard in X-SSL-Client-Cert,
// set for every request (empty, and so dropped, without a certificate),
// as the README says. %[5]s and %[6]s are the server's certificate and
// key.
const nginxMTLSServer = `
  server {
    listen 127.0.0.1:%[1]d ssl;
    ssl_certificate %[5]s;
    ssl_certificate_key %[6]s;
    ssl_client_certificate %[4]s;
    ssl_verify_client optional;

    location = /_bearerguard {
      internal;
      proxy_pass http://127.0.0.1:%[2]d/nginx;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Host $host:$server_port;
      proxy_set_header X-Original-Proto $scheme;
      proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
    }

    location / {
      auth_request /_bearerguard;
      auth_request_set $auth_subject $upstream_http_x_auth_subject;
      auth_request_set $auth_client_id $upstream_http_x_auth_client_id;
      auth_request_set $auth_scopes $upstream_http_x_auth_scopes;
      auth_request_set $auth_tenant $upstream_http_x_auth_tenant;
      auth_request_set $auth_www_authenticate $upstream_http_www_authenticate;
      add_header WWW-Authenticate $bearerguard_challenge_403 always;
      proxy_set_header X-Auth-Subject $auth_subject;
      proxy_set_header X-Auth-Client-Id $auth_client_id;
      proxy_set_header X-Auth-Scopes $auth_scopes;
      proxy_set_header X-Auth-Tenant $auth_tenant;
      proxy_pass http://127.0.0.1:%[3]d;
    }
  }
`

// TestNginxClientCertificate: nginx ends mutual TLS and passes
// $ssl_client_escaped_cert to `bearerguard serve
// --nginx-client-cert-header`; node-oidc-provider binds the token to the
// client's certificate (RFC 8705). The token passes with that certificate
// only: not with another one of the same CA, not without one, and not
// with the certificate written into the header by a client that has none
// (nginx sets the header itself for every request).
func TestNginxClientCertificate(t *testing.T) {
	node := requireNode(t)
	nginx := requireNginx(t)
	dir := t.TempDir()
	certs := newClientCerts(t)
	certFile, keyFile, roots := serverCert(t, dir)
	caFile := writeCA(t, dir, certs.ca)
	plain := tlsClient(roots, nil)
	as := startAuthServerWith(t, providerOptions{tls: &tlsFiles{cert: certFile, key: keyFile, clientCA: caFile, client: plain}},
		newSigningKey(t, jwa.RS256))
	bound, err := as.mtlsToken(tlsClient(roots, &certs.a), jwtResource)
	if err != nil {
		t.Fatalf("x/oauth2 with a client certificate: %v", err)
	}
	if got, want := cnfMember(jwtClaims(t, bound), "x5t#S256"), bearertest.CertThumbprint(certs.aLeaf); got != want {
		t.Fatalf("provider's JWT cnf x5t#S256 %v, want %s", got, want)
	}
	unbound := as.goToken(rsaClientID, "read:data", jwtResource)

	bin := buildBearerguard(t)
	routes := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(routes, []byte(nginxRoutes), 0o600); err != nil {
		t.Fatal(err)
	}
	bgPort := freePort(t)
	serve := exec.Command(bin, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", bgPort),
		"--issuer", as.issuer, "--audience", apiAudience, "--routes", routes, "--nginx-client-cert-header", "X-SSL-Client-Cert")
	serve.Env = append(os.Environ(), "SSL_CERT_FILE="+certFile) // the provider's HTTPS certificate
	startProcess(t, "bearerguard serve", serve, "")
	waitHTTP(t, "bearerguard serve", fmt.Sprintf("http://127.0.0.1:%d/readyz", bgPort), 200)

	upPort := startUpstream(t, node, "upstream", "node/upstream.mjs")
	ngPort := freePort(t)
	startNginx(t, nginx, dir, fmt.Sprintf(nginxMTLSServer, ngPort, bgPort, upPort, caFile, certFile, keyFile))
	gateway := fmt.Sprintf("https://127.0.0.1:%d", ngPort)
	waitHTTPWith(t, plain, "nginx", gateway+"/healthz", 200)

	ask := func(client *http.Client, token string, forged string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), "GET", gateway+"/orders/7", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if forged != "" {
			req.Header.Set("X-SSL-Client-Cert", forged)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
	}
	for _, tt := range []struct {
		name   string
		client *http.Client
		token  string
		forged string // X-SSL-Client-Cert as the client sends it
		want   int
	}{
		{"bound token, its certificate", tlsClient(roots, &certs.a), bound, "", 200},
		{"bound token, its certificate, a forged header beside", tlsClient(roots, &certs.a), bound, bearertest.EscapedPEM(certs.foreignLeaf), 200},
		{"bound token, another certificate of the same CA", tlsClient(roots, &certs.b), bound, "", 401},
		{"bound token, another certificate, its own in a forged header", tlsClient(roots, &certs.b), bound, bearertest.EscapedPEM(certs.aLeaf), 401},
		{"bound token, no certificate", plain, bound, "", 401},
		{"bound token, no certificate, its own in a forged header", plain, bound, bearertest.EscapedPEM(certs.aLeaf), 401},
		{"unbound token, no certificate", plain, unbound, "", 200},
		{"unbound token, a certificate", tlsClient(roots, &certs.a), unbound, "", 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, challenge := ask(tt.client, tt.token, tt.forged)
			if status != tt.want {
				t.Errorf("status %d (challenge %q), want %d", status, challenge, tt.want)
			}
			if tt.want == 401 && !strings.Contains(challenge, `error="invalid_token"`) {
				t.Errorf("challenge %q, want error=\"invalid_token\"", challenge)
			}
		})
	}
}
