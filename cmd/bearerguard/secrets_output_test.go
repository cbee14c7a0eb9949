package main

// Secrets in output (red-team review): URLs with user info or query values, and
// keys, reaching the CLI's output.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
)

func lineWith(out, s string) string {
	i := strings.Index(out, s)
	line := out[strings.LastIndex(out[:i], "\n")+1:]
	line, _, _ = strings.Cut(line, "\n")
	return strings.TrimSpace(line)
}

// --help (and the usage a mistyped flag prints, to stderr) shows the
// environment's URLs whole: a signed JWKS URL's signature, an
// introspection URL's query, a provider URL's password.
func TestUsageHidesURLSecretsFromEnvironment(t *testing.T) {
	env := map[string]string{
		"BEARERGUARD_ISSUER":            "https://id.example.com/",
		"BEARERGUARD_AUDIENCE":          "orders",
		"BEARERGUARD_JWKS_URL":          "https://keys.example.com/jwks.json?X-Amz-Signature=JWKS-SIG-s3cr3t",
		"BEARERGUARD_INTROSPECTION_URL": "https://as.example.com/introspect?api_key=INTRO-KEY-s3cr3t",
		"BEARERGUARD_PROVIDER_URL":      "https://admin:PROVIDER-PW-s3cr3t@kc.example.com",
	}
	secrets := []string{"JWKS-SIG-s3cr3t", "INTRO-KEY-s3cr3t", "PROVIDER-PW-s3cr3t"}
	for _, args := range [][]string{{"--help"}, {"--trusted-proxie", "10.0.0.0/8"}} {
		var stderr bytes.Buffer
		serveCommand(context.Background(), args, func(k string) string { return env[k] }, &stderr, nil, nil)
		for _, s := range secrets {
			if strings.Contains(stderr.String(), s) {
				t.Errorf("serve %v printed %s: %q", args, s, lineWith(stderr.String(), s))
			}
		}
	}
}

// Start-up errors of serve echo a URL's password or query, or a key.
func TestServeErrorsHideSecrets(t *testing.T) {
	file := filepath.Join(t.TempDir(), "routes.yaml")
	writeRoutes(t, file, serveRoutes)
	const key = "NgGiwj52tVTEDWo8shl3hbed//Wjhnp9T4B0tdA5ToA="
	for _, c := range []struct {
		name   string
		env    map[string]string
		secret string
	}{
		{"provider URL with a password", map[string]string{"BEARERGUARD_PROVIDER": "keycloak", "BEARERGUARD_KEYCLOAK_REALM": "r",
			"BEARERGUARD_AUDIENCE": "orders", "BEARERGUARD_PROVIDER_URL": "https://admin:PROVIDER-PW-s3cr3t@kc.example.com"}, "PROVIDER-PW-s3cr3t"},
		{"provider URL with a query", map[string]string{"BEARERGUARD_PROVIDER": "okta",
			"BEARERGUARD_AUDIENCE": "orders", "BEARERGUARD_PROVIDER_URL": "https://org.okta.example/?token=OKTA-Q-s3cr3t"}, "OKTA-Q-s3cr3t"},
		{"Redis URL with a password in its query", map[string]string{"BEARERGUARD_ISSUER": "https://id.example.com/", "BEARERGUARD_AUDIENCE": "orders",
			"BEARERGUARD_REDIS_URL": "redis://10.0.0.5:6379/0?password=REDIS-PW-s3cr3t"}, "REDIS-PW-s3cr3t"},
		{"Redis URL's user name", map[string]string{"BEARERGUARD_ISSUER": "https://id.example.com/", "BEARERGUARD_AUDIENCE": "orders",
			"BEARERGUARD_REDIS_URL": "redis://REDIS-USER-s3cr3t:pw@10.0.0.5:6379/0?dial_timeout=x"}, "REDIS-USER-s3cr3t"},
		{"encryption key given as key:id", map[string]string{"BEARERGUARD_ISSUER": "https://id.example.com/", "BEARERGUARD_AUDIENCE": "orders",
			"BEARERGUARD_REDIS_URL": "redis://127.0.0.1:1/0", "BEARERGUARD_REDIS_ENCRYPTION_KEYS": key + ":k1"}, key},
	} {
		var out lockedBuffer
		code := runServe(t.Context(), []string{"--routes", file}, func(k string) string { return c.env[k] }, &out, nil, nil)
		if strings.Contains(out.String(), c.secret) {
			t.Errorf("%s: serve (exit %d) printed it: %q", c.name, code, lineWith(out.String(), c.secret))
		}
	}
}

// validate's report names the JWKS URL whole ("keys … from <URL>"),
// query included, where its own "reason" line redacts it.
func TestValidateHidesJWKSURLQuery(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders"})
	var out, errOut bytes.Buffer
	run(t.Context(), []string{"validate", "--issuer", iss.URL, "--jwks-url", iss.JWKSURL() + "?sig=JWKS-SIG-s3cr3t", "--audience", "orders", tok},
		nil, &out, &errOut, iss.Client())
	all := out.String() + errOut.String()
	if strings.Contains(all, "JWKS-SIG-s3cr3t") {
		t.Errorf("validate printed the JWKS URL's signature: %q", lineWith(all, "JWKS-SIG-s3cr3t"))
	}
}

// inspect's page (meant for screenshots) shows the JWKS and introspection
// URLs whole (settings, "Key set", the introspection row, the page's
// embedded configuration), while its list of outgoing calls drops the
// query.
func TestInspectHidesURLQuery(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders"})
	opaque := iss.Opaque(t, bearertest.Claims{"aud": "orders"})
	p := startInspect(t, iss.Client(), "--issuer", iss.URL, "--jwks-url", iss.JWKSURL()+"?sig=JWKS-SIG-s3cr3t", "--audience", "orders",
		"--introspection-url", iss.IntrospectionURL()+"?api_key=INTRO-KEY-s3cr3t", "--client-id", "api", "--client-secret", "api-secret")
	_, page := p.do(http.MethodGet, p.page, nil, nil)
	_, jwtRep := p.inspect(map[string]any{"token": tok, "audience": "orders"})
	_, opRep := p.inspect(map[string]any{"token": opaque, "audience": "orders"})
	for where, out := range map[string]string{"page HTML": string(page), "JWT report": string(jwtRep), "opaque report": string(opRep)} {
		for _, s := range []string{"JWKS-SIG-s3cr3t", "INTRO-KEY-s3cr3t"} {
			if i := strings.Index(out, s); i >= 0 {
				t.Errorf("inspect's %s shows %s: …%s…", where, s, out[max(0, i-90):i+len(s)])
			}
		}
	}
}

// Finding 76's class, for --tls-key: BEARERGUARD_TLS_KEY holding the PEM
// key itself (as platforms that inject secrets as variables do) is shown
// whole by --help (the flag's default) and by the start-up error
// (tls.LoadX509KeyPair's "open <path>").
func TestTLSKeyNotPrinted(t *testing.T) {
	keyPEM := newKeyPEM(t)
	body := strings.Split(keyPEM, "\n")[1]
	routes := filepath.Join(t.TempDir(), "routes.yaml")
	writeRoutes(t, routes, "default: deny\nroutes: []\n")
	cert := filepath.Join(t.TempDir(), "cert.pem")
	writeRoutes(t, cert, "not used: the key fails first\n")
	env := map[string]string{
		"BEARERGUARD_TLS_CERT":        cert,
		"BEARERGUARD_TLS_KEY":         keyPEM,
		"BEARERGUARD_ISSUER":          "https://id.example.com/",
		"BEARERGUARD_AUDIENCE":        "orders",
		"BEARERGUARD_ROUTES":          routes,
		"BEARERGUARD_STARTUP_TIMEOUT": "0",
	}
	for _, args := range [][]string{{"--help"}, {"--addr", "127.0.0.1:0"}} {
		var stderr lockedBuffer
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		serveCommand(ctx, args, func(k string) string { return env[k] }, &stderr, nil, nil)
		if strings.Contains(stderr.String(), body) {
			t.Errorf("serve %v printed the TLS private key from BEARERGUARD_TLS_KEY: %.160q…", args, lineWith(stderr.String(), body))
		}
	}
}

// newKeyPEM returns a fresh P-256 private key in PKCS #8 PEM: a secret the
// tests look for in what the command prints.
func newKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}
