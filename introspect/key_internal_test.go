package introspect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

// documentedKey computes a Key exactly as its documentation says, for
// implementers of a shared Cache to rely on.
func documentedKey(fields ...string) Key {
	h := sha256.New()
	for _, f := range fields {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return Key(h.Sum(nil))
}

func TestKeyIsAsDocumented(t *testing.T) {
	for _, token := range []string{"", "t", strings.Repeat("x", 400), strings.Repeat("y", 8192)} {
		got := tokenKey(keyPrefix("endpoint", "https://id.example.com/introspect", "orders-api", "max-ttl=1m0s"), token)
		want := documentedKey("bearerguard/introspect/v2", "endpoint", "https://id.example.com/introspect", "orders-api", "max-ttl=1m0s", token)
		if got != want {
			t.Errorf("token of %d bytes: key differs from its documentation", len(token))
		}
	}
}

func TestKeyFieldsCannotRunTogether(t *testing.T) {
	// Each pair has the same fields joined end to end.
	tests := []struct {
		name string
		a, b [5]string // kind, URL, client id, policy, token
	}{
		{"URL into client id", [5]string{"endpoint", "https://a/x", "b", "p", "t"}, [5]string{"endpoint", "https://a/", "xb", "p", "t"}},
		{"client id into token", [5]string{"endpoint", "https://a/", "id", "", "tok"}, [5]string{"endpoint", "https://a/", "idt", "", "ok"}},
		{"empty client id", [5]string{"endpoint", "https://a/", "", "p", "idtok"}, [5]string{"endpoint", "https://a/", "id", "p", "tok"}},
		{"policy into token", [5]string{"endpoint", "https://a/", "id", "p", "t"}, [5]string{"endpoint", "https://a/", "id", "", "pt"}},
		{"endpoint or issuer", [5]string{"endpoint", "https://a/", "id", "p", "t"}, [5]string{"issuer", "https://a/", "id", "p", "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka := tokenKey(keyPrefix(tt.a[0], tt.a[1], tt.a[2], tt.a[3]), tt.a[4])
			kb := tokenKey(keyPrefix(tt.b[0], tt.b[1], tt.b[2], tt.b[3]), tt.b[4])
			if ka == kb {
				t.Errorf("%q and %q share a key", tt.a, tt.b)
			}
		})
	}
}

func TestKeyNamespaceOfClients(t *testing.T) {
	auth := ClientSecretBasic("orders-api", "secret")
	byNew, err := New("https://id.example.com/", auth)
	if err != nil {
		t.Fatal(err)
	}
	defer byNew.Close()
	byDiscover, err := Discover("https://id.example.com/", auth)
	if err != nil {
		t.Fatal(err)
	}
	defer byDiscover.Close()
	if got, want := tokenKey(byNew.keyNS, "t"), documentedKey(keyVersion, "endpoint", "https://id.example.com/", "orders-api", "max-ttl=1m0s", "t"); got != want {
		t.Error("New: key not in the endpoint's namespace")
	}
	if got, want := tokenKey(byDiscover.keyNS, "t"), documentedKey(keyVersion, "issuer", "https://id.example.com/", "orders-api", "max-ttl=1m0s", "t"); got != want {
		t.Error("Discover: key not in the issuer's namespace")
	}
}

// Clients that require more of an answer than others (a shorter maximum
// TTL, signed answers, or signed answers of another issuer or audience)
// have keys of their own: one never takes, through a shared Cache, an
// answer another kept longer or did not verify (red-team findings).
func TestKeyPolicySeparatesClients(t *testing.T) {
	auth := ClientSecretBasic("orders-api", "secret")
	var keys noKeys
	build := func(opts ...Option) []byte {
		t.Helper()
		c, err := New("https://id.example.com/introspect", auth, opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.keyNS
	}
	base := build()
	if !bytes.Equal(base, build(WithMaxTTL(DefaultMaxTTL))) {
		t.Error("the same configuration gave two namespaces")
	}
	seen := map[string]string{string(base): "default"}
	for _, c := range []struct {
		name string
		ns   []byte
	}{
		{"max TTL 0", build(WithMaxTTL(0))},
		{"max TTL 5s", build(WithMaxTTL(5 * time.Second))},
		{"signed", build(WithSignedResponses("https://id.example.com/", keys, "orders-api"))},
		{"signed, another issuer", build(WithSignedResponses("https://other.example.com/", keys, "orders-api"))},
		{"signed, another audience", build(WithSignedResponses("https://id.example.com/", keys, "billing"))},
	} {
		if other, ok := seen[string(c.ns)]; ok {
			t.Errorf("%s shares the namespace of %s", c.name, other)
		}
		seen[string(c.ns)] = c.name
	}
}

// noKeys is a key source with no key: the namespace depends on the
// signed-response policy, not on the keys.
type noKeys struct{}

func (noKeys) Key(context.Context, string, validator.Algorithm) (*validator.Key, error) {
	return nil, validator.ErrUnknownKey
}
