package resourcemeta

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/bearerguard/bearerguard/validator"
)

// sign returns signed_metadata: a compact JWS over md's members (without
// signed_metadata itself) and "iss", which WithSignedMetadata left in
// md.SignedMetadata.
func sign(md Metadata, key crypto.Signer, alg validator.Algorithm, kid string) (string, error) {
	iss := md.SignedMetadata
	md.SignedMetadata = ""
	members, err := json.Marshal(md)
	if err != nil {
		return "", err
	}
	var claims map[string]any
	if err := json.Unmarshal(members, &claims); err != nil {
		return "", err
	}
	claims["iss"] = iss
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	header := map[string]string{"alg": string(alg), "typ": "JWT"}
	if kid != "" {
		header["kid"] = kid
	}
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(payload)
	sig, err := signInput(key, alg, []byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// signInput signs with any crypto.Signer (a KMS or HSM key too), choosing
// the JWS form from alg and the key's public half.
func signInput(key crypto.Signer, alg validator.Algorithm, in []byte) ([]byte, error) {
	hashOf := func(h crypto.Hash) []byte {
		d := h.New()
		d.Write(in)
		return d.Sum(nil)
	}
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		switch alg {
		case validator.RS256:
			return key.Sign(rand.Reader, hashOf(crypto.SHA256), crypto.SHA256)
		case validator.PS256:
			return key.Sign(rand.Reader, hashOf(crypto.SHA256), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
		}
	case *ecdsa.PublicKey:
		if alg == validator.ES256 && pub.Curve.Params().BitSize == 256 {
			der, err := key.Sign(rand.Reader, hashOf(crypto.SHA256), crypto.SHA256)
			if err != nil {
				return nil, err
			}
			var rs struct{ R, S *big.Int }
			if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) > 0 {
				return nil, errors.New("ECDSA signer returned a malformed signature")
			}
			out := make([]byte, 64)
			rs.R.FillBytes(out[:32])
			rs.S.FillBytes(out[32:])
			return out, nil
		}
	case ed25519.PublicKey:
		if alg == validator.EdDSA {
			return key.Sign(rand.Reader, in, crypto.Hash(0))
		}
	}
	return nil, fmt.Errorf("algorithm %q does not fit a %T key (RS256, PS256, ES256 on P-256, EdDSA)", alg, key.Public())
}
