package jwks

// The seam to github.com/lestrrat-go/jwx/v2: the only file of this package
// that imports it. Moving to jwx/v3 is a change to this file alone.

import (
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/bearerguard/bearerguard/internal/httpfetch"
	"github.com/bearerguard/bearerguard/validator"
)

// maxKeys bounds how many keys of one document are considered.
const maxKeys = 100

// skippedKey records why a key of a JWKS was not used.
type skippedKey struct {
	kid    string
	reason string
}

// jwkMeta is what we check before handing a key to jwx.
type jwkMeta struct {
	Kty    string
	Use    string
	KeyOps []string
	Alg    string
	Kid    any
}

// readMeta reads the members of a JWK that decide whether it may verify,
// by their exact names, as RFC 7517 and jwx read them. (encoding/json's
// struct decoding matches names case-insensitively, the last one winning:
// "use":"enc" beside "USE":"sig" would have read as "sig" here while jwx
// read an encryption key.) Names repeated exactly take the last value, as
// in jwx.
func readMeta(raw json.RawMessage) (jwkMeta, error) {
	var members map[string]json.RawMessage
	var meta jwkMeta
	if err := json.Unmarshal(raw, &members); err != nil {
		return meta, errMembers
	}
	for name, dst := range map[string]any{"kty": &meta.Kty, "use": &meta.Use, "key_ops": &meta.KeyOps, "alg": &meta.Alg, "kid": &meta.Kid} {
		if v, ok := members[name]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return meta, errMembers
			}
		}
	}
	return meta, nil
}

var (
	errNotJWKS = errors.New("response is not a JWK Set")
	errMembers = errors.New("not a JSON object with string members")
)

// parseKeySet parses a JWK Set document (RFC 7517 §5). A key that cannot be
// used for signature verification is skipped, never fatal for the set:
// "use" other than "sig", "key_ops" without "verify", symmetric ("oct")
// keys, private keys (published, hence compromised), unsupported key types,
// curves or algorithms, and RSA keys under 2048 or over 8192 bits (see
// [validator.NewKey]).
func parseKeySet(body []byte) ([]*validator.Key, []skippedKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Keys == nil {
		return nil, nil, errNotJWKS
	}
	var keys []*validator.Key
	var skipped []skippedKey
	var exposed []crypto.PublicKey // keys whose private half the set publishes
	for i, raw := range doc.Keys {
		if i == maxKeys {
			skipped = append(skipped, skippedKey{reason: fmt.Sprintf("%d more keys beyond the first %d", len(doc.Keys)-maxKeys, maxKeys)})
			break
		}
		k, kid, err := parseKey(raw)
		if err != nil {
			var pe *privateKeyError
			if errors.As(err, &pe) && pe.public != nil {
				exposed = append(exposed, pe.public)
			}
			skipped = append(skipped, skippedKey{kid: kid, reason: err.Error()})
			continue
		}
		keys = append(keys, k)
	}
	// A key whose private half is published is compromised under any kid:
	// its public copies go too.
	keys = slices.DeleteFunc(keys, func(k *validator.Key) bool {
		for _, pub := range exposed {
			if eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); ok && eq.Equal(k.Public()) {
				skipped = append(skipped, skippedKey{kid: k.ID(), reason: "its private key is published in the key set"})
				return true
			}
		}
		return false
	})
	return keys, skipped, nil
}

// privateKeyError skips a key whose private material the set publishes;
// public is its public half (nil when it could not be had), so that the
// set's public copies of the same key are dropped too.
type privateKeyError struct{ public crypto.PublicKey }

func (*privateKeyError) Error() string { return "private key material published in the key set" }

func parseKey(raw json.RawMessage) (*validator.Key, string, error) {
	meta, err := readMeta(raw)
	if err != nil {
		return nil, "", err
	}
	kid, ok := meta.Kid.(string)
	if meta.Kid != nil && !ok {
		return nil, "", errors.New(`"kid" is not a string`)
	}
	if len(kid) > validator.MaxKeyIDLen {
		return nil, kid[:32] + "…", errors.New(`"kid" too long`)
	}
	switch {
	case meta.Kty == "oct":
		return nil, kid, errors.New("symmetric key in a remote key set")
	case meta.Use != "" && meta.Use != "sig":
		return nil, kid, fmt.Errorf("use %q is not \"sig\"", httpfetch.Truncate(meta.Use, 16))
	case meta.KeyOps != nil && !slices.Contains(meta.KeyOps, "verify"):
		return nil, kid, errors.New(`key_ops lacks "verify"`)
	}
	key, err := jwk.ParseKey(raw)
	if err != nil {
		return nil, kid, fmt.Errorf("unsupported key (kty %q)", httpfetch.Truncate(meta.Kty, 16))
	}
	if private, err := jwk.IsPrivateKey(key); err != nil || private {
		pe := &privateKeyError{}
		if pk, err := jwk.PublicKeyOf(key); err == nil {
			var pub any
			if pk.Raw(&pub) == nil {
				pe.public = pub
			}
		}
		return nil, kid, pe
	}
	var pub any
	if err := key.Raw(&pub); err != nil {
		return nil, kid, fmt.Errorf("unsupported key (kty %q)", httpfetch.Truncate(meta.Kty, 16))
	}
	k, err := validator.NewKey(kid, pub, validator.Algorithm(meta.Alg))
	if err != nil {
		return nil, kid, err
	}
	return k, kid, nil
}
