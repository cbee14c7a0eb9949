package setup

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParse(t *testing.T) {
	var out bytes.Buffer
	c, err := Parse("x", []string{"--issuer", "https://id/", "--audience", "orders", "--leeway", "0s", "--rfc9068"}, env(nil), &out)
	if err != nil || c.Issuer != "https://id/" || c.Audience != "orders" || c.Leeway != 0 || !c.RFC9068 || c.Addr != ":8080" {
		t.Errorf("flags: %+v, %v", c, err)
	}
	c, err = Parse("x", nil, env(map[string]string{"BEARERGUARD_ISSUER": "https://e/", "BEARERGUARD_AUDIENCE": "a",
		"BEARERGUARD_LEEWAY": "5s", "BEARERGUARD_RFC9068": "true", "ADDR": ":9", "BEARERGUARD_JWKS_URL": "https://e/k"}), &out)
	if err != nil || c.Issuer != "https://e/" || c.Leeway != 5*time.Second || !c.RFC9068 || c.Addr != ":9" || c.JWKSURL != "https://e/k" {
		t.Errorf("env: %+v, %v", c, err)
	}
	c, err = Parse("x", []string{"--introspection-url", "https://e/i", "--client-id", "c", "--client-secret", "s", "--introspection-audience-optional"},
		env(map[string]string{"BEARERGUARD_ISSUER": "https://e/", "BEARERGUARD_AUDIENCE": "a"}), &out)
	if err != nil || !c.IntrospectionAudienceOptional {
		t.Errorf("--introspection-audience-optional: %+v, %v", c, err)
	}
	c, err = Parse("x", nil, env(map[string]string{"BEARERGUARD_ISSUER": "https://e/", "BEARERGUARD_AUDIENCE": "a", "BEARERGUARD_INTROSPECTION_URL": "https://e/i",
		"BEARERGUARD_CLIENT_ID": "c", "BEARERGUARD_CLIENT_SECRET": "s", "BEARERGUARD_INTROSPECTION_AUDIENCE_OPTIONAL": "true"}), &out)
	if err != nil || !c.IntrospectionAudienceOptional {
		t.Errorf("BEARERGUARD_INTROSPECTION_AUDIENCE_OPTIONAL: %+v, %v", c, err)
	}
	if _, err = Parse("x", []string{"--issuer", "https://e/", "--audience", "a", "--introspection-audience-optional"}, env(nil), &out); err == nil {
		t.Error("--introspection-audience-optional without --introspection-url was accepted")
	}
	c, err = Parse("x", []string{"--audience", "flag"}, env(map[string]string{"BEARERGUARD_ISSUER": "https://e/", "BEARERGUARD_AUDIENCE": "env"}), &out)
	if err != nil || c.Audience != "flag" {
		t.Errorf("flag over env: %+v, %v", c, err)
	}
}

func TestParseDPoPAndTLS(t *testing.T) {
	var out bytes.Buffer
	base := map[string]string{"BEARERGUARD_ISSUER": "https://e/", "BEARERGUARD_AUDIENCE": "a"}
	c, err := Parse("x", []string{"--dpop", "required", "--public-url", "https://api.example/v1", "--dpop-nonce", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--client-ca", "ca.pem"}, env(base), &out)
	if err != nil || c.DPoP != validator.DPoPRequired || c.PublicURL != "https://api.example/v1" || !c.DPoPNonce || c.TLSCert != "c.pem" || c.TLSKey != "k.pem" || c.ClientCA != "ca.pem" {
		t.Errorf("flags: %+v, %v", c, err)
	}
	withEnv := map[string]string{"BEARERGUARD_DPOP": "off", "BEARERGUARD_DPOP_NONCE": "true", "BEARERGUARD_PUBLIC_URL": "https://p/",
		"BEARERGUARD_DPOP_NONCE_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	for k, v := range base {
		withEnv[k] = v
	}
	c, err = Parse("x", nil, env(withEnv), &out)
	if err != nil || c.DPoP != validator.DPoPOff || !c.DPoPNonce || c.PublicURL != "https://p/" || string(c.DPoPNonceKey) != "0123456789abcdef0123456789abcdef" {
		t.Errorf("env: %+v, %v", c, err)
	}
	if c, err := Parse("x", nil, env(base), &out); err != nil || c.DPoP != validator.DPoPAllowed {
		t.Errorf("default DPoP mode: %v, %v", c.DPoP, err)
	}
	for _, args := range [][]string{{"--dpop", "maybe"}, {"--tls-cert", "c.pem"}, {"--client-ca", "ca.pem"}} {
		if _, err := Parse("x", args, env(base), &out); err == nil {
			t.Errorf("Parse(%q) accepted", args)
		}
	}
	short := map[string]string{"BEARERGUARD_DPOP_NONCE_KEY": "c2hvcnQ="}
	for k, v := range base {
		short[k] = v
	}
	if _, err := Parse("x", nil, env(short), &out); err == nil {
		t.Error("a short nonce key was accepted")
	}
}

func TestRunBadConfiguration(t *testing.T) {
	never := func(Config, *http.Client) (http.Handler, func(), error) { panic("must not be called") }
	tests := []struct {
		args []string
		want string
		code int
	}{
		{nil, "--issuer (or BEARERGUARD_ISSUER) is required; --audience (or BEARERGUARD_AUDIENCE) is required", 2},
		{[]string{"--issuer", "https://i/", "--audience", "a", "--leeway", "soon"}, `--leeway "soon" is not a non-negative duration`, 2},
		{[]string{"--issuer", "https://i/", "--audience", "a", "--introspection-url", "https://i/introspect"}, "--introspection-url needs --client-id and --client-secret", 2},
		{[]string{"--help"}, "", 0},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		code := run(t.Context(), "svc", tt.args, env(nil), &stderr, never, nil)
		if code != tt.code {
			t.Errorf("run(%q) = %d, want %d", tt.args, code, tt.code)
		}
		if tt.want != "" {
			if got := strings.TrimSpace(stderr.String()); got != "svc: "+tt.want {
				t.Errorf("run(%q) stderr = %q", tt.args, got)
			}
			if strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("run(%q) printed more than one line: %q", tt.args, stderr.String())
			}
		} else if !strings.Contains(stderr.String(), "GET  /data") {
			t.Errorf("--help output: %q", stderr.String())
		}
	}
	// An insecure issuer URL is refused by the handler constructor, in one line.
	var stderr bytes.Buffer
	code := run(t.Context(), "svc", []string{"--issuer", "http://id.example.com/", "--audience", "a"}, env(nil), &stderr,
		func(c Config, cl *http.Client) (http.Handler, func(), error) {
			_, _, err := c.Guard(cl)
			return nil, nil, err
		}, nil)
	if code != 2 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "https") {
		t.Errorf("insecure issuer: %d %q", code, stderr.String())
	}
}

// Each example's --help names what that example serves, and nothing it
// does not: the gRPC service has no HTTP routes, the MCP server no /data.
func TestHelpNamesTheExamplesOwnRoutes(t *testing.T) {
	for _, c := range []struct {
		name         string
		want, absent []string
	}{
		{"nethttp", []string{"GET  /data", "POST /data", "GET  /readyz"}, []string{"/mcp", "Data/Get"}},
		{"gin", []string{"GET  /data", "POST /data"}, []string{"/mcp", "Data/Get"}},
		{"mcp", []string{"/mcp", "read_data", "write_data", "GET  /readyz", "--resource"}, []string{"/data ", "Data/Get"}},
		{"grpc", []string{"Data/Get", "Data/Put", "Data/Watch", "grpc.health.v1.Health", "--public-url"}, []string{"/data", "/healthz", "/readyz", "/mcp"}},
	} {
		var help bytes.Buffer
		if _, err := Parse(c.name, []string{"--help"}, env(nil), &help); !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("%s --help: %v", c.name, err)
		}
		usage, _, _ := strings.Cut(help.String(), "Flags:")
		for _, w := range c.want {
			if !strings.Contains(usage, w) {
				t.Errorf("%s --help does not name %q:\n%s", c.name, w, usage)
			}
		}
		for _, a := range c.absent {
			if strings.Contains(usage, a) {
				t.Errorf("%s --help names %q, which it does not serve:\n%s", c.name, a, usage)
			}
		}
	}
}

// --issuer-ca must name a readable PEM file holding a certificate; a bad
// one is a configuration error at start, never a silent fallback to the
// system's roots alone.
func TestIssuerCAFlag(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	keyOnly := filepath.Join(dir, "key.pem")
	badCert := filepath.Join(dir, "bad.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	os.WriteFile(keyOnly, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600)
	os.WriteFile(badCert, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o600)
	base := []string{"--issuer", "https://id.example.com/", "--audience", "orders"}
	for _, c := range []struct{ file, want string }{
		{filepath.Join(dir, "missing.pem"), "no such file"},
		{notPEM, "holds no PEM certificate"},
		{keyOnly, "holds no PEM certificate"},
		{badCert, "bad.pem"},
	} {
		_, err := Parse("x", append(base, "--issuer-ca", c.file), env(nil), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "--issuer-ca") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--issuer-ca %s: %v, want an error mentioning %q", filepath.Base(c.file), err, c.want)
		}
	}
	cfg, err := Parse("x", base, env(map[string]string{"BEARERGUARD_ISSUER_CA": ""}), &bytes.Buffer{})
	if err != nil || cfg.HTTPClient(nil) != nil {
		t.Errorf("without --issuer-ca: %v, client %v; want each package's default", err, cfg.HTTPClient(nil))
	}
}

func TestParseSecretFiles(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secret := file("secret", "s3cr3t-from-file\n")
	redisURL := file("redis-url", "redis://:hunter2@127.0.0.1:6379/0\n")
	keys := file("keys", "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n")
	nonce := file("nonce", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	empty := file("empty", "\n")
	base := map[string]string{"BEARERGUARD_ISSUER": "https://e/", "BEARERGUARD_AUDIENCE": "a"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	intro := []string{"--introspection-url", "https://e/i", "--client-id", "c"}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(Config) bool
		wantErr string // "" for none
	}{
		{"client secret by flag", append(intro, "--client-secret-file", secret), nil,
			func(c Config) bool { return c.ClientSecret == "s3cr3t-from-file" }, ""},
		{"client secret by env", intro, map[string]string{"BEARERGUARD_CLIENT_SECRET_FILE": secret},
			func(c Config) bool { return c.ClientSecret == "s3cr3t-from-file" }, ""},
		{"redis url and keys", append(intro, "--client-secret", "s", "--redis-url-file", redisURL, "--redis-encryption-keys-file", keys), nil,
			func(c Config) bool {
				return c.RedisURL == "redis://:hunter2@127.0.0.1:6379/0" && len(c.RedisEncryptionKeys) == 1 && c.RedisEncryptionKeys[0].ID == "k1"
			}, ""},
		{"nonce key", nil, map[string]string{"BEARERGUARD_DPOP_NONCE_KEY_FILE": nonce},
			func(c Config) bool { return string(c.DPoPNonceKey) == "0123456789abcdef0123456789abcdef" }, ""},
		{"both flag and file", append(intro, "--client-secret", "s", "--client-secret-file", secret), nil, nil,
			"--client-secret and --client-secret-file (or their environment variables) are both set: give one"},
		{"env value and file flag", append(intro, "--client-secret-file", secret), map[string]string{"BEARERGUARD_CLIENT_SECRET": "s"}, nil,
			"--client-secret and --client-secret-file"},
		{"nonce key twice", nil, map[string]string{"BEARERGUARD_DPOP_NONCE_KEY_FILE": nonce, "BEARERGUARD_DPOP_NONCE_KEY": "x"}, nil,
			"BEARERGUARD_DPOP_NONCE_KEY and --dpop-nonce-key-file"},
		{"missing file", append(intro, "--client-secret-file", filepath.Join(dir, "nope")), nil, nil, "--client-secret-file: no such file"},
		{"empty file", append(intro, "--client-secret-file", empty), nil, nil, "--client-secret-file: the file is empty"},
		{"a secret where its path belongs", append(intro, "--client-secret-file", "s3cr3t-given-by-mistake"), nil, nil, "--client-secret-file: no such file"},
		{"bad keys in a file", []string{"--redis-url", "redis://127.0.0.1:1", "--redis-encryption-keys-file", secret}, nil, nil,
			"--redis-encryption-keys: entry 1 is not id:key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			c, err := Parse("x", tt.args, env(with(tt.env)), &out)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if !tt.check(c) {
					t.Fatalf("Parse: %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse: %v, want %q", err, tt.wantErr)
			}
			for _, leak := range []string{"s3cr3t", "hunter2", "MDEyMzQ1"} {
				if strings.Contains(err.Error(), leak) {
					t.Fatalf("the error shows a secret: %v", err)
				}
			}
		})
	}
}

func TestPlaintextRemoteRedis(t *testing.T) {
	tests := []struct {
		url, host string
		plain     bool
	}{
		{"redis://redis.internal:6379/0", "redis.internal", true},
		{"redis://:hunter2@10.0.0.7:6379", "10.0.0.7", true},
		{"redis://[2001:db8::1]:6379", "2001:db8::1", true},
		{"redis://127.0.0.1:6379", "127.0.0.1", false},
		{"redis://localhost:6379", "localhost", false},
		{"redis://[::1]:6379", "::1", false},
		{"redis://", "", false},
		{"rediss://redis.internal:6380", "", false},
		{"unix:///run/redis.sock", "", false},
		{"redis://%zz", "", false},
	}
	for _, tt := range tests {
		host, plain := plaintextRemote(tt.url)
		if host != tt.host || plain != tt.plain {
			t.Errorf("plaintextRemote(%q) = %q, %v; want %q, %v", tt.url, host, plain, tt.host, tt.plain)
		}
	}
}

// A service told to share its state over plain redis:// with another
// host says so at start, naming the host and never the password.
func TestGuardWarnsOfPlaintextRemoteRedis(t *testing.T) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	for _, tt := range []struct {
		url  string
		warn bool
	}{
		{"redis://:hunter2@redis.internal:6379/0", true},
		{"redis://:hunter2@127.0.0.1:6379/0", false},
		{"rediss://:hunter2@redis.internal:6380/0", false},
	} {
		logs.Reset()
		c, err := Parse("x", []string{"--issuer", "https://id.example.com/", "--audience", "a", "--jwks-url", "https://id.example.com/jwks", "--redis-url", tt.url}, env(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		_, closeAll, err := c.Guard(nil)
		if err != nil {
			t.Fatal(err)
		}
		closeAll()
		got := strings.Contains(logs.String(), "plain redis://")
		if got != tt.warn {
			t.Errorf("%s: warned %v, want %v; logs:\n%s", strings.Replace(tt.url, "hunter2", "…", 1), got, tt.warn, logs.String())
		}
		if tt.warn && !strings.Contains(logs.String(), "redis_host=redis.internal") {
			t.Errorf("the warning does not name the host:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), "hunter2") {
			t.Errorf("the logs show the password:\n%s", logs.String())
		}
	}
}

// TestRedteamExampleUsageDoesNotPrintSecretsFromEnvironment: every
// example service (net/http, Gin, Echo, MCP, gRPC) parses its flags here,
// each flag defaulting to its environment variable; the usage printed for
// -h and for any unknown or mistyped flag showed those defaults: the Redis
// password, the Redis encryption keys and the client secret, and (second
// review) a secret given by mistake in a *_FILE variable, where its file's
// path belongs. Nor may an error print them.
func TestRedteamExampleUsageDoesNotPrintSecretsFromEnvironment(t *testing.T) {
	for _, suffix := range []string{"", "_FILE"} {
		env := map[string]string{
			"BEARERGUARD_REDIS_URL" + suffix:             "redis://default:hunter2-redis-password@redis.internal:6379/0",
			"BEARERGUARD_REDIS_ENCRYPTION_KEYS" + suffix: "k1:c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC0xMjM=",
			"BEARERGUARD_CLIENT_SECRET" + suffix:         "client-secret-s3cr3t",
			"BEARERGUARD_DPOP_NONCE_KEY" + suffix:        "bm9uY2Uta2V5LW5vbmNlLWtleS1ub25jZS1rZXktMTIzNA==",
		}
		secrets := []string{"hunter2-redis-password", "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC0xMjM", "client-secret-s3cr3t", "bm9uY2Uta2V5"}
		for _, args := range [][]string{{"-h"}, {"--audiance", "orders"}} {
			var out bytes.Buffer
			_, err := Parse("nethttp", args, func(k string) string { return env[k] }, &out)
			text := out.String()
			if err != nil {
				text += err.Error()
			}
			for _, sec := range secrets {
				if strings.Contains(text, sec) {
					t.Errorf("Parse %v with BEARERGUARD_*%s printed %q from the environment", args, suffix, sec)
				}
			}
		}
	}
}

func TestParseRedisCA(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("no certificate here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"--issuer", "https://e/", "--audience", "a"}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--redis-ca", notPEM}, "--redis-encryption-keys, --redis-prefix, --redis-ca and --redis-unencrypted need --redis-url"},
		{[]string{"--redis-url", "redis://127.0.0.1:6379", "--redis-ca", notPEM}, "--redis-ca needs a rediss:// --redis-url"},
		{[]string{"--redis-url", "rediss://127.0.0.1:6379", "--redis-ca", notPEM}, "--redis-ca: " + notPEM + " holds no PEM certificate"},
		{[]string{"--redis-url", "rediss://127.0.0.1:6379", "--redis-ca", notPEM + ".missing"}, "--redis-ca: open "},
	} {
		_, err := Parse("x", append(slices.Clone(base), tt.args...), env(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q): %v, want %q", tt.args, err, tt.want)
		}
	}
}
