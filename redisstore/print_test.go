package redisstore_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/redisstore"
)

// Finding 92 gave redisstore.EncryptionKey Format and LogValue, "for every
// verb, and to slog's handlers". slog resolves a LogValuer only for the
// attribute's own value: the keys as WithEncryption takes them, a slice,
// go to the JSON handler through encoding/json, which prints each Key in
// base64 (and json.Marshal of a key prints it too).
func TestEncryptionKeysInSliceNotPrinted(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789ABCDEF")
	b64 := base64.StdEncoding.EncodeToString(secret)
	keys := []redisstore.EncryptionKey{{ID: "k1", Key: secret}}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("redis", "keys", keys)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("redis", "keys", keys)
	m, _ := json.Marshal(keys[0])
	for name, out := range map[string]string{
		"%v (slice)":         fmt.Sprintf("%v", keys),
		"slog text (slice)":  text.String(),
		"slog JSON (slice)":  js.String(),
		"json.Marshal (key)": string(m),
	} {
		if strings.Contains(out, b64) || strings.Contains(out, string(secret)) {
			t.Errorf("%s prints the AES key: %s", name, strings.TrimSpace(out))
		}
	}
}
