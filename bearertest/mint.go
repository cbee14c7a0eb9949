package bearertest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

// Claims are a token's claims. A nil value removes a default claim.
type Claims map[string]any

// MintOption adjusts one minted token.
type MintOption func(*mintConfig)

type mintConfig struct {
	alg       validator.Algorithm
	kid       *string
	header    map[string]any
	expiresIn time.Duration
	raw       bool           // sign claims as given, unrecorded
	cnf       map[string]any // "cnf" members from BoundToKey, BoundToCertificate
}

// WithAlgorithm signs with the issuer's current key for alg (default
// RS256), generating one first if there is none.
func WithAlgorithm(alg validator.Algorithm) MintOption {
	return func(c *mintConfig) { c.alg = alg }
}

// WithKeyID overrides the "kid" header; "" leaves it out.
func WithKeyID(kid string) MintOption { return func(c *mintConfig) { c.kid = &kid } }

// WithHeader sets a protected header member, e.g. "typ". "alg" and "kid"
// are the signing key's and replace what it sets: use [WithAlgorithm] and
// [WithKeyID].
func WithHeader(name string, value any) MintOption {
	return func(c *mintConfig) { c.header[name] = value }
}

// ExpiresIn sets "exp" relative to the issuer's clock (default 1 h); a
// negative duration mints an expired token.
func ExpiresIn(d time.Duration) MintOption { return func(c *mintConfig) { c.expiresIn = d } }

// MintToken returns a signed JWT access token. Defaults: "iss" the issuer,
// "sub" "test-client", "client_id" "test-client", "iat" now, "exp" in one
// hour, a random "jti", and "typ" "at+jwt"; claims override them. The token
// is also known to the introspection endpoint. It fails if a claim or
// header value cannot be encoded as JSON, or for an algorithm matching
// [ErrUnsupportedAlgorithm]. It is the form of [Issuer.Mint] for code
// without a testing.T.
func (iss *Issuer) MintToken(claims Claims, opts ...MintOption) (string, error) {
	c := mintConfig{alg: validator.RS256, header: map[string]any{"typ": "at+jwt"}, expiresIn: time.Hour}
	for _, o := range opts {
		o(&c)
	}
	tok, err := iss.mint(claims, c)
	if err != nil {
		return "", fmt.Errorf("bearertest: minting: %w", err)
	}
	return tok, nil
}

// defaultClaims merges claims over the defaults; a nil value removes one.
func (iss *Issuer) defaultClaims(claims Claims, ttl time.Duration) Claims {
	now := iss.clock()
	all := Claims{
		"iss":       iss.URL,
		"sub":       "test-client",
		"client_id": "test-client",
		"iat":       now.Unix(),
		"exp":       now.Add(ttl).Unix(),
		"jti":       randomID(),
	}
	for name, v := range claims {
		if v == nil {
			delete(all, name)
		} else {
			all[name] = v
		}
	}
	return all
}

// mint signs claims (over the defaults unless c.raw) with the current key
// for c.alg, generating one if needed.
func (iss *Issuer) mint(claims Claims, c mintConfig) (string, error) {
	iss.mu.Lock()
	k := iss.current[c.alg]
	iss.mu.Unlock()
	if k == nil {
		var err error
		if k, err = iss.rotate(c.alg); err != nil {
			return "", err
		}
	}
	all := claims
	if !c.raw {
		all = c.withConfirmation(claims, iss.defaultClaims(claims, c.expiresIn))
	}
	kid := k.kid
	if c.kid != nil {
		kid = *c.kid
	}
	header := map[string]any{}
	for name, v := range c.header {
		header[name] = v
	}
	if kid != "" {
		header["kid"] = kid
	}
	payload, err := json.Marshal(all)
	if err != nil {
		return "", err
	}
	tok, err := sign(k, header, payload)
	if err != nil {
		return "", err
	}
	if !c.raw {
		iss.record(tok, all)
	}
	return tok, nil
}
