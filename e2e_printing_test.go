package bearerguard_test

// Secrets in output (red-team review): fmt and slog of the library's exported
// configuration and value types. Each case builds a value from a secret
// and prints it the ways an application's debug logging would.

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/redisstore"
)

func TestPrintingExportedTypesHidesSecrets(t *testing.T) {
	const secret = "CLIENTSECRET-s3cr3t"
	aesKey := []byte("AESKEY-0123456789abcdef012345678") // 32 bytes
	seed := bytes.Repeat([]byte{0xAB}, ed25519.SeedSize)
	edKey := ed25519.NewKeyFromSeed(seed)

	basic := introspect.ClientSecretBasic("rs", secret)
	post := introspect.ClientSecretPost("rs", secret)
	pkj := introspect.PrivateKeyJWT("rs", edKey, "k1")
	client, err := introspect.New("https://as.example/introspect", basic)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	store, err := redisstore.Open("redis://127.0.0.1:1/0", redisstore.WithEncryption(redisstore.EncryptionKey{ID: "k1", Key: aesKey}))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	signer, err := forwardauth.NewSigner(edKey, "https://fa.example/", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwks.New("https://keys.example.com/jwks.json?X-Amz-Signature=JWKS-SIG-s3cr3t")
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	cfg := setup.Config{ClientSecret: secret, RedisURL: "redis://u:REDISPW@r:6379/0"}

	// How a secret shows in each kind of output: as text, as fmt prints
	// a []byte (%v: decimal list; %#v: hex list), as hex.
	needles := func(b []byte) []string {
		var dec, hx []string
		for _, c := range b[:8] {
			dec = append(dec, fmt.Sprint(c))
			hx = append(hx, fmt.Sprintf("0x%x", c))
		}
		return []string{string(b[:8]), strings.Join(dec, " "), strings.Join(hx, ", "), hex.EncodeToString(b[:8]), base64.StdEncoding.EncodeToString(b)[:10]}
	}
	cases := []struct {
		name  string
		v     any
		leaks []string
	}{
		{"introspect.ClientSecretBasic", basic, []string{secret}},
		{"introspect.ClientSecretPost", post, []string{secret}},
		{"introspect.PrivateKeyJWT(ed25519)", pkj, needles(seed)},
		{"*introspect.Client", client, []string{secret}},
		{"redisstore.EncryptionKey", redisstore.EncryptionKey{ID: "k1", Key: aesKey}, needles(aesKey)},
		{"*redisstore.Store", store, needles(aesKey)},
		{"*forwardauth.Signer(ed25519)", signer, needles(seed)},
		{"setup.Config", cfg, []string{secret, "REDISPW"}},
		{"jwks.Status", keys.Status(), []string{"JWKS-SIG-s3cr3t"}},
	}
	for _, c := range cases {
		outs := map[string]string{
			"%v":  fmt.Sprintf("%v", c.v),
			"%+v": fmt.Sprintf("%+v", c.v),
			"%#v": fmt.Sprintf("%#v", c.v),
		}
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("debug", "value", c.v)
		outs["slog text"] = buf.String()
		buf.Reset()
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("debug", "value", c.v)
		outs["slog json"] = buf.String()
		for how, out := range outs {
			for _, n := range c.leaks {
				if strings.Contains(out, n) {
					t.Errorf("%s printed with %s shows its secret (%q): %.200s", c.name, how, n, out)
					break
				}
			}
		}
	}
}
