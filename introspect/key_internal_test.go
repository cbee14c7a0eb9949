package introspect

import (
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"
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
		got := tokenKey(keyPrefix("endpoint", "https://id.example.com/introspect", "orders-api"), token)
		want := documentedKey("bearerguard/introspect/v1", "endpoint", "https://id.example.com/introspect", "orders-api", token)
		if got != want {
			t.Errorf("token of %d bytes: key differs from its documentation", len(token))
		}
	}
}

func TestKeyFieldsCannotRunTogether(t *testing.T) {
	// Each pair has the same fields joined end to end.
	tests := []struct {
		name string
		a, b [4]string // kind, URL, client id, token
	}{
		{"URL into client id", [4]string{"endpoint", "https://a/x", "b", "t"}, [4]string{"endpoint", "https://a/", "xb", "t"}},
		{"client id into token", [4]string{"endpoint", "https://a/", "id", "tok"}, [4]string{"endpoint", "https://a/", "idt", "ok"}},
		{"empty client id", [4]string{"endpoint", "https://a/", "", "idtok"}, [4]string{"endpoint", "https://a/", "id", "tok"}},
		{"endpoint or issuer", [4]string{"endpoint", "https://a/", "id", "t"}, [4]string{"issuer", "https://a/", "id", "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka := tokenKey(keyPrefix(tt.a[0], tt.a[1], tt.a[2]), tt.a[3])
			kb := tokenKey(keyPrefix(tt.b[0], tt.b[1], tt.b[2]), tt.b[3])
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
	if got, want := tokenKey(byNew.keyNS, "t"), documentedKey(keyVersion, "endpoint", "https://id.example.com/", "orders-api", "t"); got != want {
		t.Error("New: key not in the endpoint's namespace")
	}
	if got, want := tokenKey(byDiscover.keyNS, "t"), documentedKey(keyVersion, "issuer", "https://id.example.com/", "orders-api", "t"); got != want {
		t.Error("Discover: key not in the issuer's namespace")
	}
}
