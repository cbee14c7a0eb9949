package forwardauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/bearerguard/bearerguard/internal/nilness"
	"github.com/bearerguard/bearerguard/internal/secretfile"
	"github.com/bearerguard/bearerguard/validator"
)

// DefaultInternalTokenTTL is the default lifetime of an internal token.
const DefaultInternalTokenTTL = 60 * time.Second

// DefaultInternalTokenHeader is the default header that carries it.
const DefaultInternalTokenHeader = "X-Auth-Token"

// Signer mints the short-lived internal JWT passed upstream on success,
// so that an upstream can verify who called without trusting the network
// between it and the gateway. Its claims: iss (the Signer's issuer), aud
// (when set), sub, client_id, scope, iat and exp: now plus the lifetime,
// and never later than the access token's own expiry. Its header: alg
// from the key (ES256 for P-256, EdDSA for Ed25519, RS256 for RSA of
// 2048 bits or more), typ "JWT" and kid, the key's RFC 7638 thumbprint.
// Upstreams verify it with [Signer.JWKS]. A Signer is safe for
// concurrent use.
//
// The tokens a [Decider] mints ([WithInternalToken]) also name the
// request they were minted for: "htm" (its method) and "htu" (the
// Guard's public URL with the path, as a DPoP proof's "htu" is compared
// with, or else the scheme and the host the gateway sent, in lower case,
// without a trailing dot or a default port, and the path as sent; never
// the query), "route" (the route that allowed it), "identity" (the
// values of the identity headers taken from claims, by header name, as
// the headers carry them) and a random "jti"; a request without a host
// gets none (400). An upstream that verifies the token must also check
// that "htm" is its request's method and "htu" its configured public
// origin with the path it routes by (never a URL built from Host or
// X-Forwarded-*, which whoever replays a token sends), or that "route" is
// one it serves that way: a token is valid for its whole lifetime, and
// whoever holds one could otherwise present it on another request, a
// route the gateway denies included.
type Signer struct {
	key      crypto.Signer
	alg      jwa.SignatureAlgorithm
	kid      string
	issuer   string
	audience string
	ttl      time.Duration
	jwks     []byte
}

// Format prints the signer's algorithm, key id, issuer and audience, for
// every verb: fmt would print the private key it holds.
func (s *Signer) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "forwardauth.Signer{alg: %s, kid: %q, issuer: %q, audience: %q}", s.alg, s.kid, s.issuer, s.audience)
}

// LoadSigningKey reads a PKCS #8 (or SEC 1 EC, or PKCS #1 RSA) PEM private
// key file. Its errors name neither the path nor what the file holds: a
// key given by mistake where its path belongs must not be printed.
func LoadSigningKey(path string) (crypto.Signer, error) {
	if strings.HasPrefix(strings.TrimSpace(path), "-----BEGIN") {
		return nil, errors.New("forwardauth: a PEM key was given where its file's path belongs")
	}
	data, err := secretfile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("forwardauth: the key file: %w", err)
	}
	block, _ := pem.Decode([]byte(data))
	if block == nil {
		return nil, errors.New("forwardauth: no PEM block in the key file")
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("forwardauth: PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("forwardauth: the key file: %w", err) // x509 errors carry no key material
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("forwardauth: the key cannot sign")
	}
	return s, nil
}

// NewSigner returns a Signer for key, whose tokens name issuer (required)
// and, when not empty, audience, and live ttl (0: [DefaultInternalTokenTTL];
// at most 10 minutes).
func NewSigner(key crypto.Signer, issuer, audience string, ttl time.Duration) (*Signer, error) {
	var errs []error
	if issuer == "" {
		errs = append(errs, errors.New("empty issuer"))
	}
	if ttl == 0 {
		ttl = DefaultInternalTokenTTL
	}
	if ttl < time.Second || ttl > 10*time.Minute {
		errs = append(errs, fmt.Errorf("lifetime %v: between 1s and 10m", ttl))
	}
	var alg jwa.SignatureAlgorithm
	if nilness.IsNil(key) {
		return nil, errors.New("forwardauth: NewSigner: nil key")
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			errs = append(errs, errors.New("an EC key must be P-256 (ES256)"))
		}
		alg = jwa.ES256
	case ed25519.PrivateKey:
		alg = jwa.EdDSA
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			errs = append(errs, errors.New("an RSA key must have 2048 bits or more"))
		}
		alg = jwa.RS256
	default:
		errs = append(errs, errors.New("the key must be EC P-256, Ed25519 or RSA"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("forwardauth: internal token: %w", errors.Join(errs...))
	}
	pub, err := jwk.FromRaw(key.Public())
	if err != nil {
		return nil, fmt.Errorf("forwardauth: internal token: %w", err)
	}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("forwardauth: internal token: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(tp)
	_ = pub.Set(jwk.KeyIDKey, kid)
	_ = pub.Set(jwk.AlgorithmKey, alg)
	_ = pub.Set(jwk.KeyUsageKey, "sig")
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return nil, err
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	return &Signer{key: key, alg: alg, kid: kid, issuer: issuer, audience: audience, ttl: ttl, jwks: doc}, nil
}

// JWKS returns the JSON Web Key Set (RFC 7517) of the Signer's public key,
// for upstreams to verify internal tokens with.
func (s *Signer) JWKS() []byte { return append([]byte(nil), s.jwks...) }

// KeyID returns the kid of the Signer's tokens.
func (s *Signer) KeyID() string { return s.kid }

// internalClaims are the claims of an internal token.
type internalClaims struct {
	Issuer   string `json:"iss"`
	Audience string `json:"aud,omitempty"`
	Subject  string `json:"sub,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	Scope    string `json:"scope,omitempty"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
	requestBinding
}

// requestBinding ties an internal token a [Decider] mints to the request
// it allowed, so that an upstream can refuse it on any other: "htm" and
// "htu" as a DPoP proof has them (RFC 9449 §4.2: the method, and the URI
// without query or fragment), the route that decided, the identity
// headers' values taken from claims ([IdentityFile.Claims], as the
// headers carry them), and a "jti" of its own.
type requestBinding struct {
	ID       string            `json:"jti,omitempty"`
	Method   string            `json:"htm,omitempty"`
	URI      string            `json:"htu,omitempty"`
	Route    string            `json:"route,omitempty"`
	Identity map[string]string `json:"identity,omitempty"`
}

// newJTI returns 128 random bits, base64url: a unique "jti".
func newJTI() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Sign mints an internal token for tok at now: its "exp" is the Signer's
// lifetime after now, and never past tok's "exp". It names no request:
// the tokens of a [Decider] ([WithInternalToken]) also carry "jti",
// "htm", "htu", "route" and "identity", binding each to the request it
// allowed.
func (s *Signer) Sign(tok *validator.Token, scope string, now time.Time) (string, error) {
	return s.sign(tok, scope, now, 0, requestBinding{})
}

// sign is Sign for a Decider whose validator accepts tok up to leeway
// after its "exp": the internal token lasts no longer than that, but it
// is not born expired when the access token was accepted within the
// leeway (an upstream verifying it with less leeway than the gateway's
// would refuse what the gateway allowed).
func (s *Signer) sign(tok *validator.Token, scope string, now time.Time, leeway time.Duration, b requestBinding) (string, error) {
	exp := now.Add(s.ttl)
	if accepted := tok.Expiry.Add(leeway); !tok.Expiry.IsZero() && accepted.Before(exp) {
		exp = accepted
	}
	payload, err := json.Marshal(internalClaims{
		Issuer: s.issuer, Audience: s.audience, Subject: tok.Subject, ClientID: tok.ClientID, Scope: scope,
		IssuedAt: now.Unix(), Expiry: exp.Unix(), requestBinding: b,
	})
	if err != nil {
		return "", err
	}
	hdrs := jws.NewHeaders() // per call: Sign sets "alg" in it
	_ = hdrs.Set(jws.KeyIDKey, s.kid)
	_ = hdrs.Set(jws.TypeKey, "JWT")
	out, err := jws.Sign(payload, jws.WithKey(s.alg, s.key, jws.WithProtectedHeaders(hdrs)))
	if err != nil {
		return "", fmt.Errorf("forwardauth: signing the internal token: %w", err)
	}
	return string(out), nil
}
