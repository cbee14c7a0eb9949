package bearertest

// The seam to github.com/lestrrat-go/jwx/v2 for key export and signing.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bearerguard/bearerguard/validator"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

func publicJWKS(keys []*signingKey) ([]byte, error) {
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := jwk.FromRaw(k.private.Public())
		if err != nil {
			return nil, err
		}
		_ = pub.Set(jwk.KeyIDKey, k.kid)
		_ = pub.Set(jwk.AlgorithmKey, jwa.SignatureAlgorithm(k.alg))
		_ = pub.Set(jwk.KeyUsageKey, "sig")
		if err := set.AddKey(pub); err != nil {
			return nil, err
		}
	}
	return json.Marshal(set)
}

func sign(k *signingKey, header map[string]any, payload []byte) (string, error) {
	hdrs := jws.NewHeaders()
	for name, v := range header {
		if err := hdrs.Set(name, v); err != nil {
			return "", err
		}
	}
	out, err := jws.Sign(payload, jws.WithKey(jwa.SignatureAlgorithm(k.alg), k.private, jws.WithProtectedHeaders(hdrs)))
	return string(out), err
}

// verifyAssertion verifies a private_key_jwt client assertion signed by
// pub and returns its claims.
func verifyAssertion(assertion string, pub crypto.PublicKey) (map[string]any, error) {
	var alg jwa.SignatureAlgorithm
	switch pub.(type) {
	case *rsa.PublicKey:
		alg = jwa.RS256
	case *ecdsa.PublicKey:
		alg = jwa.ES256
	case ed25519.PublicKey:
		alg = jwa.EdDSA
	default:
		return nil, errors.New("unsupported client key")
	}
	payload, err := jws.Verify([]byte(assertion), jws.WithKey(alg, pub))
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// verifyDPoPProof checks a DPoP proof's form, header and signature (RFC
// 9449 §4.3 steps 2 to 7) and returns its claims and public key; the
// caller checks the claims.
func verifyDPoPProof(proof string) (map[string]any, crypto.PublicKey, error) {
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		return nil, nil, errors.New("not a compact JWS")
	}
	rawHeader, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	var header struct {
		Typ string          `json:"typ"`
		Alg string          `json:"alg"`
		JWK json.RawMessage `json:"jwk"`
	}
	if err := json.Unmarshal(rawHeader, &header); err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	if header.Typ != "dpop+jwt" {
		return nil, nil, fmt.Errorf("typ %q", header.Typ)
	}
	if !slices.Contains(validator.DefaultAlgorithms, validator.Algorithm(header.Alg)) {
		return nil, nil, fmt.Errorf("alg %q", header.Alg)
	}
	if len(header.JWK) == 0 {
		return nil, nil, errors.New("no jwk")
	}
	key, err := jwk.ParseKey(header.JWK)
	if err != nil {
		return nil, nil, fmt.Errorf("jwk: %w", err)
	}
	var pub any
	if err := key.Raw(&pub); err != nil {
		return nil, nil, fmt.Errorf("jwk: %w", err)
	}
	switch pub.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return nil, nil, fmt.Errorf("jwk is a %T, not a public key", pub)
	}
	payload, err := jws.Verify([]byte(proof), jws.WithKey(jwa.SignatureAlgorithm(header.Alg), pub))
	if err != nil {
		return nil, nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, nil, fmt.Errorf("claims: %w", err)
	}
	return claims, pub, nil
}
