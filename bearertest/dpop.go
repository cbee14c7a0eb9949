package bearertest

// DPoP (RFC 9449) on the client's side: proof keys, proofs, and tokens
// bound to a key. Signing uses the standard library only, so that proofs
// are independent of the validator's and of jwx's code.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

// DPoPKey is a client's DPoP proof key (RFC 9449): it signs proofs that
// carry its public key, and its thumbprint binds tokens to it (see
// [BoundToKey]). Its methods are safe for concurrent use.
type DPoPKey struct {
	alg        validator.Algorithm
	private    crypto.Signer
	jwk        map[string]string // public members, as strings
	thumbprint string

	mu    sync.Mutex
	clock func() time.Time
}

// Format prints the key's algorithm and thumbprint, for every verb: fmt
// would print an Ed25519 private key's bytes.
func (k *DPoPKey) Format(f fmt.State, _ rune) {
	if k == nil {
		fmt.Fprint(f, "<nil>")
		return
	}
	fmt.Fprintf(f, "bearertest.DPoPKey{alg: %s, thumbprint: %s}", k.alg, k.thumbprint)
}

// NewDPoPKey generates a DPoP proof key for alg: ES256 (the default, for
// ""), ES384, ES512, RS256, RS384, RS512, PS256, PS384, PS512 (RSA keys of
// 2048 bits) or EdDSA (Ed25519). Any other algorithm, HMAC and "none"
// included, is an error matching [ErrUnsupportedAlgorithm]. Its T form is
// [MustDPoPKey].
func NewDPoPKey(alg validator.Algorithm) (*DPoPKey, error) {
	if alg == "" {
		alg = validator.ES256
	}
	priv, err := generate(alg)
	if err != nil {
		return nil, fmt.Errorf("bearertest: generating a DPoP %s key: %w", alg, err)
	}
	jwk, err := publicJWK(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("bearertest: generating a DPoP %s key: %w", alg, err)
	}
	tp, err := thumbprint(jwk)
	if err != nil {
		return nil, fmt.Errorf("bearertest: generating a DPoP %s key: %w", alg, err)
	}
	return &DPoPKey{alg: alg, private: priv, jwk: jwk, thumbprint: tp, clock: time.Now}, nil
}

// Algorithm returns the algorithm the key signs proofs with.
func (k *DPoPKey) Algorithm() validator.Algorithm { return k.alg }

// Public returns the public key: an *ecdsa.PublicKey, an *rsa.PublicKey or
// an ed25519.PublicKey.
func (k *DPoPKey) Public() crypto.PublicKey { return k.private.Public() }

// Thumbprint returns the key's RFC 7638 JWK SHA-256 thumbprint, base64url
// without padding: the "jkt" of tokens bound to it and the value an
// authorization server compares with the DPoP proof's key.
func (k *DPoPKey) Thumbprint() string { return k.thumbprint }

// PublicJWK returns the public key as a JWK with its required members only
// ("kty" and "crv", "x", "y" for EC; "kty", "n", "e" for RSA; "kty",
// "crv", "x" for OKP), as embedded in proofs. The map is the caller's: to
// send a JWK with a private member, add one ("d") and pass it to
// [ProofHeader] as "jwk".
func (k *DPoPKey) PublicJWK() map[string]any {
	out := make(map[string]any, len(k.jwk))
	for name, v := range k.jwk {
		out[name] = v
	}
	return out
}

// SetClock sets the clock of the proofs' "iat" (default time.Now; nil
// restores it). To have the issuer's token endpoint accept the key's
// proofs, the clock must agree with the issuer's (see [WithClock]) within
// five minutes.
func (k *DPoPKey) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.clock = now
}

func (k *DPoPKey) now() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.clock()
}

// ProofOption adjusts one DPoP proof, mostly to make it wrong in a
// particular way.
type ProofOption func(*proofConfig)

type proofConfig struct {
	nonce  *string
	iat    *time.Time
	jti    *string
	claims map[string]any // overrides; nil removes
	header map[string]any // overrides; nil removes
	signer *DPoPKey
}

// ProofNonce adds a "nonce" claim, the value of a server's DPoP-Nonce
// header (RFC 9449 §8, §9).
func ProofNonce(nonce string) ProofOption { return func(c *proofConfig) { c.nonce = &nonce } }

// ProofIssuedAt sets "iat" instead of the key's clock, e.g. to make a
// proof too old or from the future.
func ProofIssuedAt(t time.Time) ProofOption { return func(c *proofConfig) { c.iat = &t } }

// ProofJTI sets "jti" instead of a random one, e.g. to replay an
// identifier.
func ProofJTI(jti string) ProofOption { return func(c *proofConfig) { c.jti = &jti } }

// ProofClaims sets claims over everything else (the defaults, [ProofNonce],
// [ProofIssuedAt], [ProofJTI]); a nil value removes one, e.g.
// ProofClaims(map[string]any{"ath": nil}). Several ProofClaims merge, the
// last one winning.
func ProofClaims(claims map[string]any) ProofOption {
	return func(c *proofConfig) {
		for name, v := range claims {
			c.claims[name] = v
		}
	}
}

// ProofHeader sets a protected header member over the defaults ("typ"
// "dpop+jwt", "alg" the signing key's algorithm, "jwk" the key's
// [DPoPKey.PublicJWK]); a nil value removes one. The signature is made
// with the signing key's own algorithm whatever "alg" says, so
// ProofHeader("alg", "RS256") on an ES256 key makes a header that lies.
func ProofHeader(name string, value any) ProofOption {
	return func(c *proofConfig) { c.header[name] = value }
}

// ProofSignedBy signs the proof with other's private key (and, unless
// [ProofHeader] says otherwise, other's algorithm in "alg") while the
// header still carries this key's "jwk": a proof whose signature does not
// match its key. A nil other is the key itself.
func ProofSignedBy(other *DPoPKey) ProofOption { return func(c *proofConfig) { c.signer = other } }

// Proof returns a DPoP proof (RFC 9449 §4.2) for a request with method and
// url, signed by the key: a compact JWS with header {"typ": "dpop+jwt",
// "alg", "jwk"} and claims "jti" (random), "htm" (method), "htu" (url
// without its query and fragment), "iat" (the key's clock, see
// [DPoPKey.SetClock]) and, if accessToken is not "", "ath" (the base64url
// SHA-256 of accessToken), as a resource server expects. A request to the
// token endpoint has no access token. opts change the proof.
//
// It fails only if a value given in opts cannot be encoded as JSON. Its T
// form is [DPoPKey.MustProof].
func (k *DPoPKey) Proof(method, url, accessToken string, opts ...ProofOption) (string, error) {
	c := proofConfig{claims: map[string]any{}, header: map[string]any{}, signer: k}
	for _, o := range opts {
		o(&c)
	}
	if c.signer == nil {
		c.signer = k
	}
	if i := strings.IndexAny(url, "?#"); i >= 0 {
		url = url[:i]
	}
	iat := k.now()
	if c.iat != nil {
		iat = *c.iat
	}
	jti := randomID() + randomID()
	if c.jti != nil {
		jti = *c.jti
	}
	claims := map[string]any{"jti": jti, "htm": method, "htu": url, "iat": iat.Unix()}
	if accessToken != "" {
		claims["ath"] = AccessTokenHash(accessToken)
	}
	if c.nonce != nil {
		claims["nonce"] = *c.nonce
	}
	header := map[string]any{"typ": "dpop+jwt", "alg": string(c.signer.alg), "jwk": k.PublicJWK()}
	override(claims, c.claims)
	override(header, c.header)
	tok, err := signCompact(c.signer.alg, c.signer.private, header, claims)
	if err != nil {
		return "", fmt.Errorf("bearertest: DPoP proof: %w", err)
	}
	return tok, nil
}

// AccessTokenHash returns the "ath" of a DPoP proof sent with
// accessToken: the base64url SHA-256 of its ASCII bytes, without padding
// (RFC 9449 §4.2).
func AccessTokenHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// BoundToKey binds a minted token to k (RFC 9449 §6.1): it adds "cnf":
// {"jkt": k.Thumbprint()} to the token, and so to its introspection
// answer, which then says "token_type": "DPoP". With
// [BoundToCertificate], both members go in the one "cnf"; a "cnf" in the
// claims replaces it. k must not be nil.
//
// [Issuer.OpaqueToken] takes no options: give it the claim instead,
// Claims{"cnf": map[string]any{"jkt": k.Thumbprint()}}.
func BoundToKey(k *DPoPKey) MintOption {
	jkt := k.Thumbprint()
	return func(c *mintConfig) { c.confirm("jkt", jkt) }
}

// override sets members of dst from src; a nil value removes one.
func override(dst, src map[string]any) {
	for name, v := range src {
		if v == nil {
			delete(dst, name)
		} else {
			dst[name] = v
		}
	}
}

// publicJWK returns the required members of pub's JWK (RFC 7638 §3.2).
func publicJWK(pub crypto.PublicKey) (map[string]string, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes() // 0x04 || X || Y, each the curve's full size
		if err != nil {
			return nil, err
		}
		n := (len(raw) - 1) / 2
		return map[string]string{"kty": "EC", "crv": pub.Curve.Params().Name, "x": b64(raw[1 : 1+n]), "y": b64(raw[1+n:])}, nil
	case *rsa.PublicKey:
		return map[string]string{"kty": "RSA", "n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}, nil
	case ed25519.PublicKey:
		return map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(pub)}, nil
	}
	return nil, fmt.Errorf("no JWK for a %T", pub)
}

// thumbprint returns the RFC 7638 SHA-256 thumbprint of a JWK's required
// members: encoding/json writes map keys sorted and no whitespace, and the
// members' values need no escaping, so the encoding is the canonical one.
func thumbprint(jwk map[string]string) (string, error) {
	canonical, err := json.Marshal(jwk)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canonical)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// signCompact returns the compact JWS of claims under header, signed by
// priv with alg (RFC 7515 §3.1, RFC 7518 §3).
func signCompact(alg validator.Algorithm, priv crypto.Signer, header, claims map[string]any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(h) + "." + b64(p)
	sig, err := signInput(alg, priv, []byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

func signInput(alg validator.Algorithm, priv crypto.Signer, input []byte) ([]byte, error) {
	if alg == validator.EdDSA {
		key, ok := priv.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s with a %T", alg, priv)
		}
		return ed25519.Sign(key, input), nil
	}
	var hash crypto.Hash
	switch alg {
	case validator.RS256, validator.PS256, validator.ES256:
		hash = crypto.SHA256
	case validator.RS384, validator.PS384, validator.ES384:
		hash = crypto.SHA384
	case validator.RS512, validator.PS512, validator.ES512:
		hash = crypto.SHA512
	default:
		return nil, fmt.Errorf("%w %s", ErrUnsupportedAlgorithm, alg)
	}
	h := hash.New()
	h.Write(input)
	digest := h.Sum(nil)
	switch key := priv.(type) {
	case *rsa.PrivateKey:
		if strings.HasPrefix(string(alg), "PS") {
			return rsa.SignPSS(rand.Reader, key, hash, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		if strings.HasPrefix(string(alg), "RS") {
			return rsa.SignPKCS1v15(rand.Reader, key, hash, digest)
		}
	case *ecdsa.PrivateKey:
		if strings.HasPrefix(string(alg), "ES") && curveFor(alg) == key.Curve {
			r, s, err := ecdsa.Sign(rand.Reader, key, digest)
			if err != nil {
				return nil, err
			}
			// RFC 7518 §3.4: R and S as fixed-size big-endian octets.
			size := (key.Curve.Params().BitSize + 7) / 8
			sig := make([]byte, 2*size)
			r.FillBytes(sig[:size])
			s.FillBytes(sig[size:])
			return sig, nil
		}
	}
	return nil, fmt.Errorf("%s with a %T", alg, priv)
}

func curveFor(alg validator.Algorithm) elliptic.Curve {
	switch alg {
	case validator.ES256:
		return elliptic.P256()
	case validator.ES384:
		return elliptic.P384()
	case validator.ES512:
		return elliptic.P521()
	}
	return nil
}

// confirm adds a member to the "cnf" claim of the token being minted.
func (c *mintConfig) confirm(name, value string) {
	if c.cnf == nil {
		c.cnf = map[string]any{}
	}
	c.cnf[name] = value
}

// withConfirmation returns all with c.cnf as "cnf", unless the caller's
// claims set "cnf" themselves.
func (c *mintConfig) withConfirmation(claims, all Claims) Claims {
	if c.cnf == nil {
		return all
	}
	if _, set := claims["cnf"]; set {
		return all
	}
	all["cnf"] = maps.Clone(c.cnf)
	return all
}
