package introspect

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// ClientAuth is how the resource server authenticates to the
// introspection endpoint (RFC 7662 §2.1). Build one with
// [ClientSecretBasic], [ClientSecretPost], [PrivateKeyJWT] or [BearerToken].
type ClientAuth interface {
	apply(req *http.Request, form url.Values, audience string, now time.Time) error
	validate() error
	// clientID names the client that authenticates, for the cache
	// namespace ("" when it is not known, as for [BearerToken]).
	clientID() string
}

// ClientSecretBasic authenticates with HTTP Basic, the client id and secret
// each form-urlencoded first (RFC 6749 §2.3.1). This is the default method
// of most authorization servers.
func ClientSecretBasic(clientID, secret string) ClientAuth {
	return secretBasic{id: clientID, secret: secret}
}

type secretBasic struct{ id, secret string }

func (a secretBasic) apply(req *http.Request, _ url.Values, _ string, _ time.Time) error {
	req.SetBasicAuth(url.QueryEscape(a.id), url.QueryEscape(a.secret))
	return nil
}

func (a secretBasic) validate() error { return requireIDSecret(a.id, a.secret) }

func (a secretBasic) clientID() string { return a.id }

// ClientSecretPost sends client_id and client_secret in the form body
// (RFC 6749 §2.3.1).
func ClientSecretPost(clientID, secret string) ClientAuth {
	return secretPost{id: clientID, secret: secret}
}

type secretPost struct{ id, secret string }

func (a secretPost) apply(_ *http.Request, form url.Values, _ string, _ time.Time) error {
	form.Set("client_id", a.id)
	form.Set("client_secret", a.secret)
	return nil
}

func (a secretPost) validate() error { return requireIDSecret(a.id, a.secret) }

func (a secretPost) clientID() string { return a.id }

func requireIDSecret(id, secret string) error {
	if id == "" || secret == "" {
		return errors.New("client id and secret are required")
	}
	return nil
}

// PrivateKeyJWT authenticates with a JWT assertion signed by key (RFC 7523
// §2.2, OpenID Connect private_key_jwt): iss and sub the client id, aud the
// introspection endpoint, a 60 s lifetime and a random jti. key must be an
// *rsa.PrivateKey (RS256), an *ecdsa.PrivateKey on P-256 (ES256) or an
// ed25519.PrivateKey (EdDSA); kid, if set, names the key.
func PrivateKeyJWT(clientID string, key crypto.Signer, kid string) ClientAuth {
	return privateKeyJWT{id: clientID, key: key, kid: kid}
}

type privateKeyJWT struct {
	id  string
	key crypto.Signer
	kid string
}

func (a privateKeyJWT) validate() error {
	if a.id == "" {
		return errors.New("private_key_jwt: client id is required")
	}
	_, err := jwtAlg(a.key)
	return err
}

func (a privateKeyJWT) clientID() string { return a.id }

func jwtAlg(key crypto.Signer) (string, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return "", errors.New("private_key_jwt: RSA key shorter than 2048 bits")
		}
		return "RS256", nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return "", errors.New("private_key_jwt: EC keys must be on P-256")
		}
		return "ES256", nil
	case ed25519.PrivateKey:
		return "EdDSA", nil
	}
	return "", fmt.Errorf("private_key_jwt: unsupported key type %T", key)
}

func (a privateKeyJWT) apply(_ *http.Request, form url.Values, audience string, now time.Time) error {
	alg, err := jwtAlg(a.key)
	if err != nil {
		return err
	}
	header := map[string]string{"alg": alg, "typ": "JWT"}
	if a.kid != "" {
		header["kid"] = a.kid
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return err
	}
	claims := map[string]any{
		"iss": a.id, "sub": a.id, "aud": audience,
		"iat": now.Unix(), "exp": now.Add(60 * time.Second).Unix(), "jti": hex.EncodeToString(jti[:]),
	}
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	in := enc.EncodeToString(hb) + "." + enc.EncodeToString(cb)
	sig, err := signJWS(a.key, []byte(in))
	if err != nil {
		return err
	}
	form.Set("client_id", a.id)
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", in+"."+enc.EncodeToString(sig))
	return nil
}

func signJWS(key crypto.Signer, in []byte) ([]byte, error) {
	switch k := key.(type) {
	case ed25519.PrivateKey:
		return ed25519.Sign(k, in), nil
	case *rsa.PrivateKey:
		d := sha256.Sum256(in)
		return rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
	case *ecdsa.PrivateKey:
		d := sha256.Sum256(in)
		r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
		if err != nil {
			return nil, err
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out, nil
	}
	return nil, errors.New("unsupported key")
}

// BearerToken authenticates with an access token of the resource server's
// own (RFC 7662 §2.1 allows it), taken from source on every request so it
// can be refreshed.
//
// No client id is known with this method, so Clients using it for the same
// endpoint share cache entries when they share a [Cache] (see [Key]); give
// Clients that authenticate as different clients caches of their own.
func BearerToken(source func() (string, error)) ClientAuth { return bearerAuth{source: source} }

type bearerAuth struct{ source func() (string, error) }

func (a bearerAuth) validate() error {
	if a.source == nil {
		return errors.New("bearer: nil token source")
	}
	return nil
}

func (a bearerAuth) clientID() string { return "" }

func (a bearerAuth) apply(req *http.Request, _ url.Values, _ string, _ time.Time) error {
	tok, err := a.source()
	if err != nil {
		return fmt.Errorf("bearer token source: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}
