package bearertest

// The seam to github.com/lestrrat-go/jwx/v2 for key export and signing.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"

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
