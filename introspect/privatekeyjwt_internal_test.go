package introspect

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"fmt"
	"math/big"
	"testing"
)

// TestECDSAJWS: DER signatures become fixed-size R||S, short values
// left-padded; anything else is refused.
func TestECDSAJWS(t *testing.T) {
	der := func(r, s *big.Int) []byte {
		b, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	one, two := big.NewInt(1), big.NewInt(2)
	top := new(big.Int).Lsh(one, 256)      // 2^256: one bit too many
	max := new(big.Int).Sub(top, one)      // 2^256 - 1
	padded := append(make([]byte, 31), 1)  // 1 as 32 bytes
	padded2 := append(make([]byte, 31), 2) // 2 as 32 bytes
	full := bytes.Repeat([]byte{0xff}, 32) // 2^256 - 1
	tests := []struct {
		name string
		der  []byte
		want []byte // nil: refused
	}{
		{"short R and S are left-padded", der(one, two), append(padded, padded2...)},
		{"full-size R and S", der(max, max), append(full, full...)},
		{"R too large", der(top, one), nil},
		{"zero R", der(big.NewInt(0), one), nil},
		{"negative S", der(one, big.NewInt(-1)), nil},
		{"trailing data", append(der(one, two), 0), nil},
		{"raw R||S", append(full, full...), nil},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ecdsaJWS(tt.der, 32)
			if tt.want == nil {
				if err == nil {
					t.Errorf("ecdsaJWS() = %x, want an error", got)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Errorf("ecdsaJWS() = %x, %v; want %x", got, err, tt.want)
			}
		})
	}
	// Real signatures convert to R||S that verifies.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 64 {
		digest := sha256.Sum256(fmt.Appendf(nil, "message %d", i))
		sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		out, err := ecdsaJWS(sig, 32)
		if err != nil || len(out) != 64 {
			t.Fatalf("ecdsaJWS(real signature) = %x, %v", out, err)
		}
		r, s := new(big.Int).SetBytes(out[:32]), new(big.Int).SetBytes(out[32:])
		if !ecdsa.Verify(&key.PublicKey, digest[:], r, s) {
			t.Fatalf("R||S of signature %d does not verify", i)
		}
	}
}
