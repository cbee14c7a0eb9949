package interop

import (
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/validator"
)

// `bearerguard serve --dpop-nonce` behind the README's nginx configuration:
// the first DPoP request of a client has no nonce, and serve answers 401
// use_dpop_nonce with the nonce to use in DPoP-Nonce (RFC 9449 §8). nginx's
// auth_request passes a 401's WWW-Authenticate to the client by itself and
// nothing else: without auth_request_set and add_header for DPoP-Nonce the
// client was told to use a nonce it was never given, and no DPoP request
// through nginx could succeed (differential review). With them, the client
// retries with the nonce and is served.
func TestNginxPassesDPoPNonce(t *testing.T) {
	// X-Original-Host $host:$server_port: the port the client called,
	// which its proof signs (nginx here listens on a port of its own).
	t.Run("nginx on its own port", func(t *testing.T) { nginxDPoPNonce(t, false) })
	// --public-url (the URL clients call) decides over it.
	t.Run("--public-url", func(t *testing.T) { nginxDPoPNonce(t, true) })
}

func nginxDPoPNonce(t *testing.T, publicURL bool) {
	nginx := requireNginx(t)
	bin := buildBearerguard(t)
	dir := t.TempDir()
	iss := bearertest.NewIssuer(t)
	ca := filepath.Join(dir, "issuer.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: iss.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	routes := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(routes, []byte("default: deny\nroutes:\n  - path: /\n    scopes: [read:data]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bgPort, ngPort := freePort(t), freePort(t)
	for ngPort == bgPort {
		ngPort = freePort(t)
	}
	gateway := fmt.Sprintf("http://127.0.0.1:%d", ngPort)
	htuBase := gateway
	args := []string{"serve", "--addr", fmt.Sprintf("127.0.0.1:%d", bgPort), "--issuer", iss.URL, "--issuer-ca", ca,
		"--audience", "orders", "--routes", routes, "--dpop-nonce"}
	if publicURL {
		// A URL of its own (as behind a port mapping): the proofs sign it.
		htuBase = "https://api.example:8443"
		args = append(args, "--public-url", htuBase)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "BEARERGUARD_DPOP_NONCE_KEY="+base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32))))
	startProcess(t, "bearerguard serve", cmd, "")
	waitHTTP(t, "bearerguard serve", fmt.Sprintf("http://127.0.0.1:%d/readyz", bgPort), 200)

	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(up.Close)
	upPort := up.Listener.Addr().(*net.TCPAddr).Port

	startNginx(t, nginx, dir, fmt.Sprintf(nginxServer, ngPort, bgPort, upPort))
	waitHTTP(t, "nginx", gateway+"/data", 401)

	key := bearertest.MustDPoPKey(t, validator.ES256)
	tok := iss.Mint(t, bearertest.Claims{"aud": "orders", "scope": "read:data", "sub": "user-1"}, bearertest.BoundToKey(key))
	ask := func(url, htu string, opts ...bearertest.ProofOption) *http.Response {
		req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", key.MustProof(t, "GET", htu, tok, opts...))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// The premise: serve itself answers use_dpop_nonce with the nonce.
	direct := func() *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", fmt.Sprintf("http://127.0.0.1:%d/nginx", bgPort), nil)
		req.Header.Set("X-Original-Method", "GET")
		req.Header.Set("X-Original-URI", "/data")
		req.Header.Set("X-Original-Host", fmt.Sprintf("127.0.0.1:%d", ngPort))
		req.Header.Set("X-Original-Proto", "http")
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", key.MustProof(t, "GET", htuBase+"/data", tok))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}()
	if direct.StatusCode != 401 || !strings.Contains(direct.Header.Get("WWW-Authenticate"), "use_dpop_nonce") || direct.Header.Get("DPoP-Nonce") == "" {
		t.Fatalf("serve's own answer: %d %q DPoP-Nonce=%q, want 401 use_dpop_nonce with a nonce (the premise)",
			direct.StatusCode, direct.Header.Get("WWW-Authenticate"), direct.Header.Get("DPoP-Nonce"))
	}
	resp := ask(gateway+"/data", htuBase+"/data")
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "use_dpop_nonce") {
		t.Fatalf("through nginx: %d %q, want 401 use_dpop_nonce", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	nonce := resp.Header.Get("DPoP-Nonce")
	if nonce == "" {
		t.Fatalf("through nginx with the README's configuration: 401 use_dpop_nonce without a DPoP-Nonce header: the client can never retry with a nonce")
	}
	if resp := ask(gateway+"/data", htuBase+"/data", bearertest.ProofNonce(nonce)); resp.StatusCode != 200 {
		t.Errorf("through nginx, the proof with the nonce given: %d %q, want 200", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}
