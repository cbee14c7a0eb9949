package main

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
)

// Finding 92's fix refuses BEARERGUARD_TLS_KEY only when it starts with
// "-----BEGIN" (after spaces). The key in other forms platforms and tools
// give it is still quoted whole by the start-up error, as the "path" of
// os.Open's error: the base64 of the PEM (a common way to pass a
// multi-line secret in one variable), the PEM in quotes (docker
// --env-file keeps them), or openssl pkcs12 -nodes output (which begins
// with "Bag Attributes").
func TestTLSKeyOtherFormsNotPrinted(t *testing.T) {
	keyPEM := newKeyPEM(t)
	body := strings.Split(keyPEM, "\n")[1]
	b64 := base64.StdEncoding.EncodeToString([]byte(keyPEM))
	routes := filepath.Join(t.TempDir(), "routes.yaml")
	writeRoutes(t, routes, "default: deny\nroutes: []\n")
	cert := filepath.Join(t.TempDir(), "cert.pem")
	writeRoutes(t, cert, "not used: the key fails first\n")
	for name, tt := range map[string]struct{ value, secret string }{
		"base64 of the PEM":  {b64, b64[20:80]},
		"quoted PEM":         {`"` + strings.ReplaceAll(keyPEM, "\n", `\n`) + `"`, body},
		"pkcs12 -nodes dump": {"Bag Attributes\n    localKeyID: 01 02 03\nKey Attributes: <No Attributes>\n" + keyPEM, body},
	} {
		env := map[string]string{
			"BEARERGUARD_TLS_CERT":        cert,
			"BEARERGUARD_TLS_KEY":         tt.value,
			"BEARERGUARD_ISSUER":          "https://id.example.com/",
			"BEARERGUARD_AUDIENCE":        "orders",
			"BEARERGUARD_ROUTES":          routes,
			"BEARERGUARD_STARTUP_TIMEOUT": "0",
		}
		var stderr lockedBuffer
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		serveCommand(ctx, []string{"--addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, &stderr, nil, nil)
		if strings.Contains(stderr.String(), tt.secret) {
			t.Errorf("%s in BEARERGUARD_TLS_KEY: serve printed the private key: %.160q…", name, lineWith(stderr.String(), tt.secret))
		}
	}
}
