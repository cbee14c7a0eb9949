package bearertest

// The seam to github.com/lestrrat-go/jwx/v2 for key export and signing.

import (
	"encoding/json"

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
