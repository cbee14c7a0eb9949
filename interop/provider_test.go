package interop

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

const (
	apiAudience  = "orders"
	jwtResource  = "https://api.example.com/orders"
	opaqueResrc  = "https://api.example.com/orders-opaque"
	rsClientID   = "orders-api"
	rsSecret     = "orders-api-secret-value"
	rsaClientID  = "svc-rs256"
	ecClientID   = "svc-es256"
	readClientID = "svc-readonly"
	clientSecret = "client-secret-value-for-tests"
	mtlsClientID = "svc-mtls" // certificate-bound tokens (RFC 8705), with TLS only
)

// signingKey is a private key the provider signs with.
type signingKey struct {
	kid  string
	alg  jwa.SignatureAlgorithm
	priv crypto.Signer
}

func newSigningKey(t *testing.T, alg jwa.SignatureAlgorithm) signingKey {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case jwa.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jwa.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	return signingKey{kid: fmt.Sprintf("%s-%x", alg, b), alg: alg, priv: priv}
}

func (k signingKey) jwk(t *testing.T) jwk.Key {
	t.Helper()
	key, err := jwk.FromRaw(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	key.Set(jwk.KeyIDKey, k.kid)
	if k.alg != jwa.EdDSA {
		// An Ed25519 key has no "alg": the provider signs with it as
		// EdDSA or as Ed25519 (RFC 9864), whichever a client asks for.
		key.Set(jwk.AlgorithmKey, k.alg)
	}
	key.Set(jwk.KeyUsageKey, "sig")
	return key
}

// authServer is a running node-oidc-provider.
type authServer struct {
	t      *testing.T
	issuer string
	port   int
	dir    string
	cmd    *exec.Cmd
	opts   providerOptions
	client *http.Client // trusts the provider's certificate when it serves HTTPS
}

// providerOptions are the provider's optional features.
type providerOptions struct {
	// dpopNonce makes the token endpoint require its own DPoP nonces.
	dpopNonce bool
	// tls serves HTTPS and issues certificate-bound tokens to mtlsClientID.
	tls *tlsFiles
	// clientAlgs sets the JWS algorithm of clients' JWT access tokens
	// (default RS256; ecClientID ES256).
	clientAlgs map[string]string
	// resources adds resource indicators (RFC 8707) to jwtResource and
	// opaqueResrc: indicator → audience, for JWT access tokens.
	resources map[string]string
}

// tlsFiles are PEM files: the server's certificate and key, and the CA
// whose client certificates are asked for.
type tlsFiles struct {
	cert, key, clientCA string
	client              *http.Client // trusts cert, presents no certificate
}

// requireNode finds node and the installed packages, or stops the test:
// in CI (CI=true) with a failure, elsewhere with a skip and the reason.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		err = checkNodeModules()
	}
	if err != nil {
		msg := fmt.Sprintf("interop tests need Node.js 20+ and the npm packages of interop/package.json: %v", err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node
}

// checkNodeModules checks that node_modules holds every package of
// package.json at its pinned version: a checkout updated since the last
// "npm ci" fails here with the fix, not later with a missing module.
func checkNodeModules() error {
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	b, err := os.ReadFile("package.json")
	if err == nil {
		err = json.Unmarshal(b, &pkg)
	}
	if err != nil {
		return fmt.Errorf("package.json: %v", err)
	}
	for name, want := range pkg.Dependencies {
		var installed struct {
			Version string `json:"version"`
		}
		b, err := os.ReadFile(filepath.Join("node_modules", name, "package.json"))
		if err == nil {
			err = json.Unmarshal(b, &installed)
		}
		if err != nil || installed.Version != want {
			return fmt.Errorf("node_modules/%s is not version %s: run \"npm ci\" in interop/", name, want)
		}
	}
	return nil
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startAuthServer starts the provider signing with keys (the first key of
// each algorithm signs; all are published).
func startAuthServer(t *testing.T, keys ...signingKey) *authServer {
	t.Helper()
	return startAuthServerWith(t, providerOptions{}, keys...)
}

// startAuthServerWith is startAuthServer with optional features.
func startAuthServerWith(t *testing.T, opts providerOptions, keys ...signingKey) *authServer {
	t.Helper()
	a := &authServer{t: t, port: freePort(t), dir: t.TempDir(), opts: opts, client: http.DefaultClient}
	a.issuer = fmt.Sprintf("http://127.0.0.1:%d", a.port)
	if opts.tls != nil {
		a.issuer = fmt.Sprintf("https://127.0.0.1:%d", a.port)
		a.client = opts.tls.client
	}
	a.start(keys)
	t.Cleanup(a.stop)
	return a
}

func (a *authServer) start(keys []signingKey) {
	t := a.t
	node := requireNode(t)
	set := jwk.NewSet()
	for _, k := range keys {
		set.AddKey(k.jwk(t))
	}
	client := func(id, secret, method, scope string) map[string]any {
		return map[string]any{"client_id": id, "client_secret": secret, "grant_types": []string{"client_credentials"},
			"redirect_uris": []string{}, "response_types": []string{}, "token_endpoint_auth_method": method, "scope": scope}
	}
	clientAlgs := map[string]string{ecClientID: "ES256"}
	maps.Copy(clientAlgs, a.opts.clientAlgs)
	clients := []any{
		client(rsaClientID, clientSecret, "client_secret_basic", "read:data write:data"),
		client(ecClientID, clientSecret, "client_secret_basic", "read:data write:data"),
		client(readClientID, clientSecret, "client_secret_basic", "read:data"),
		client(rsClientID, rsSecret, "client_secret_basic", "read:data"),
	}
	resources := map[string]any{
		jwtResource: map[string]string{"audience": apiAudience, "format": "jwt"},
		opaqueResrc: map[string]string{"audience": apiAudience, "format": "opaque"},
	}
	for indicator, aud := range a.opts.resources {
		resources[indicator] = map[string]string{"audience": aud, "format": "jwt"}
	}
	cfg := map[string]any{
		"issuer": a.issuer, "port": a.port, "jwks": set, "dpopNonce": a.opts.dpopNonce,
		"clientAlgs": clientAlgs, "resources": resources,
	}
	if f := a.opts.tls; f != nil {
		cfg["tls"] = map[string]string{"cert": f.cert, "key": f.key, "clientCA": f.clientCA}
		mtls := client(mtlsClientID, clientSecret, "client_secret_basic", "read:data write:data")
		mtls["tls_client_certificate_bound_access_tokens"] = true
		clients = append(clients, mtls)
	}
	cfg["clients"] = clients
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(a.dir, "config.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "node/provider.mjs", path)
	cmd.Stderr = &testWriter{t: t, prefix: "provider: "}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the provider: %v", err)
	}
	a.cmd = cmd
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "READY ") {
				ready <- nil
				return
			}
		}
		ready <- fmt.Errorf("provider exited before it was ready")
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		a.stop()
		t.Fatal("provider not ready within 30 s")
	}
}

func (a *authServer) stop() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		a.cmd.Process.Kill()
		<-done
	}
	a.cmd = nil
}

// restart stops the provider and starts it again on the same port and
// issuer with a new key set: a key rotation.
func (a *authServer) restart(keys ...signingKey) {
	a.stop()
	a.start(keys)
}

type testWriter struct {
	t      *testing.T
	prefix string
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimSpace(string(p)))
	return len(p), nil
}

// metadata returns the provider's discovery document.
func (a *authServer) metadata() map[string]any {
	resp, err := a.client.Get(a.issuer + "/.well-known/openid-configuration")
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var md map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&md); err != nil {
		a.t.Fatal(err)
	}
	return md
}

func (a *authServer) endpoint(name string) string {
	s, _ := a.metadata()[name].(string)
	if s == "" {
		a.t.Fatalf("discovery document has no %s", name)
	}
	return s
}

// nodeToken gets a token with the Node caller (mode simple-oauth2 or fetch).
func (a *authServer) nodeToken(mode, clientID, scope, resource string) string {
	a.t.Helper()
	out, err := exec.Command("node", "node/caller.mjs", mode, a.endpoint("token_endpoint"), clientID, clientSecret, scope, resource).CombinedOutput()
	if err != nil {
		a.t.Fatalf("node caller (%s): %v\n%s", mode, err, out)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(out, &tok); err != nil || tok.AccessToken == "" {
		a.t.Fatalf("node caller (%s) printed %s", mode, out)
	}
	return tok.AccessToken
}

// revoke revokes a token at the provider (RFC 7009), as its client.
func (a *authServer) revoke(clientID, token string) {
	a.t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, a.endpoint("revocation_endpoint"),
		strings.NewReader(url.Values{"token": {token}, "token_type_hint": {"access_token"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		a.t.Fatalf("revocation: %s", resp.Status)
	}
}
