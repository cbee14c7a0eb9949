package bearertest

import (
	"crypto/rsa"
	"encoding/base64"
	"math/big"
	"testing"
)

// The RSA key of RFC 7638 §3.1 (from RFC 7517 Appendix A.1) and its
// thumbprint, as the RFC gives them.
const (
	rfc7638N          = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	rfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

// The JWK of a public key and its thumbprint, the code behind
// DPoPKey.PublicJWK and DPoPKey.Thumbprint, give the RFC's values for the
// RFC's key.
func TestThumbprintRFC7638(t *testing.T) {
	n, err := base64.RawURLEncoding.DecodeString(rfc7638N)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := publicJWK(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"kty": "RSA", "n": rfc7638N, "e": "AQAB"}
	if len(jwk) != len(want) || jwk["kty"] != want["kty"] || jwk["n"] != want["n"] || jwk["e"] != want["e"] {
		t.Fatalf("publicJWK = %v, want %v", jwk, want)
	}
	got, err := thumbprint(jwk)
	if err != nil {
		t.Fatal(err)
	}
	if got != rfc7638Thumbprint {
		t.Errorf("thumbprint = %q, want %q", got, rfc7638Thumbprint)
	}
}
