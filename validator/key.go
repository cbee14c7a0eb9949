package validator

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
)

// Algorithm is a JWS signature algorithm name (RFC 7518 §3, RFC 8037).
// Names are case-sensitive: "none", "NONE" and "None" are never algorithms.
type Algorithm string

// The signature algorithms this package verifies.
const (
	RS256 Algorithm = "RS256"
	RS384 Algorithm = "RS384"
	RS512 Algorithm = "RS512"
	PS256 Algorithm = "PS256"
	PS384 Algorithm = "PS384"
	PS512 Algorithm = "PS512"
	ES256 Algorithm = "ES256"
	ES384 Algorithm = "ES384"
	ES512 Algorithm = "ES512"
	EdDSA Algorithm = "EdDSA"
	// Ed25519 is the fully-specified name of EdDSA over Ed25519 (RFC 9864),
	// which node-oidc-provider, jose and openid-client use.
	Ed25519 Algorithm = "Ed25519"
	HS256   Algorithm = "HS256"
	HS384   Algorithm = "HS384"
	HS512   Algorithm = "HS512"
)

// DefaultAlgorithms is the default allowlist: every asymmetric algorithm.
// HMAC algorithms are allowed only for an issuer configured with
// [WithIssuerSecret].
var DefaultAlgorithms = []Algorithm{RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519}

// algID is a compact index for an Algorithm, used in bit sets.
type algID uint8

const (
	algUnknown algID = iota
	algRS256
	algRS384
	algRS512
	algPS256
	algPS384
	algPS512
	algES256
	algES384
	algES512
	algEdDSA
	algHS256
	algHS384
	algHS512
	algEd25519 // RFC 9864's name for EdDSA with an Ed25519 key
	algLast    = algEd25519
)

type algSet uint16

func (s algSet) has(a algID) bool { return a != algUnknown && s&(1<<a) != 0 }

const (
	rsaAlgs  = algSet(1<<algRS256 | 1<<algRS384 | 1<<algRS512 | 1<<algPS256 | 1<<algPS384 | 1<<algPS512)
	hmacAlgs = algSet(1<<algHS256 | 1<<algHS384 | 1<<algHS512)
)

// parseAlg maps a header "alg" value to its ID without allocating.
func parseAlg(s string) algID {
	switch s {
	case "RS256":
		return algRS256
	case "RS384":
		return algRS384
	case "RS512":
		return algRS512
	case "PS256":
		return algPS256
	case "PS384":
		return algPS384
	case "PS512":
		return algPS512
	case "ES256":
		return algES256
	case "ES384":
		return algES384
	case "ES512":
		return algES512
	case "EdDSA":
		return algEdDSA
	case "HS256":
		return algHS256
	case "HS384":
		return algHS384
	case "HS512":
		return algHS512
	case "Ed25519":
		return algEd25519
	}
	return algUnknown
}

var algNames = [...]Algorithm{"", RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, HS256, HS384, HS512, Ed25519}

func (a algID) String() string { return string(algNames[a]) }

func (a algID) hash() crypto.Hash {
	switch a {
	case algRS256, algPS256, algES256, algHS256:
		return crypto.SHA256
	case algRS384, algPS384, algES384, algHS384:
		return crypto.SHA384
	case algRS512, algPS512, algES512, algHS512:
		return crypto.SHA512
	}
	return 0
}

// MinRSABits is the smallest RSA modulus [NewKey] accepts.
const MinRSABits = 2048

// MaxRSABits is the largest RSA modulus [NewKey] accepts: verifying with a
// larger one costs more per (forged) token than any real key needs, as
// crypto/tls decided for certificates (CVE-2023-29409).
const MaxRSABits = 8192

// MaxKeyIDLen bounds a key ID: longer "kid" values in tokens are refused
// without a lookup, and longer ones in key sets are skipped.
const MaxKeyIDLen = 256

// Key is a public verification key and the algorithms it may verify. Build
// one with [NewKey]; a Key is immutable and safe for concurrent use.
type Key struct {
	id     string
	public crypto.PublicKey
	alg    Algorithm // the JWK's "alg", or ""
	algs   algSet
}

// NewKey checks a public key and binds it to the algorithms it may verify.
// public must be *rsa.PublicKey (at least [MinRSABits] bits),
// *ecdsa.PublicKey on P-256, P-384 or P-521, or ed25519.PublicKey (not of
// small order, canonically encoded). If alg is
// set, the key verifies only that algorithm, which must fit the key type;
// otherwise the key type decides: RSA keys verify RS* and PS*, EC keys the
// ES* algorithm of their curve, Ed25519 keys EdDSA (also under its RFC 9864
// name Ed25519). No asymmetric key ever
// verifies an HMAC algorithm.
func NewKey(id string, public crypto.PublicKey, alg Algorithm) (*Key, error) {
	if len(id) > MaxKeyIDLen {
		return nil, fmt.Errorf("bearerguard: key ID longer than %d bytes", MaxKeyIDLen)
	}
	var algs algSet
	switch pub := public.(type) {
	case *rsa.PublicKey:
		if pub == nil || pub.N == nil || pub.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("bearerguard: RSA key shorter than %d bits", MinRSABits)
		}
		if pub.N.BitLen() > MaxRSABits {
			return nil, fmt.Errorf("bearerguard: RSA key longer than %d bits", MaxRSABits)
		}
		if pub.E < 3 || pub.E%2 == 0 || pub.N.Bit(0) == 0 {
			// crypto/rsa refuses such a key at every verification: it
			// could never verify anything, so it is not a key.
			return nil, errors.New("bearerguard: RSA key with an even modulus, or an exponent below 3 or even")
		}
		algs = rsaAlgs
	case *ecdsa.PublicKey:
		if pub == nil || pub.Curve == nil {
			return nil, errors.New("bearerguard: empty EC key")
		}
		switch pub.Curve {
		case elliptic.P256():
			algs = 1 << algES256
		case elliptic.P384():
			algs = 1 << algES384
		case elliptic.P521():
			algs = 1 << algES512
		default:
			return nil, fmt.Errorf("bearerguard: unsupported EC curve %s", pub.Curve.Params().Name)
		}
		// Refuse points off the curve (invalid-curve attacks).
		if _, err := pub.ECDH(); err != nil {
			return nil, errors.New("bearerguard: EC public key is not a valid curve point")
		}
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			return nil, errors.New("bearerguard: bad Ed25519 key size")
		}
		// A point of small order verifies signatures anyone can make.
		if weakEd25519(pub) {
			return nil, errors.New("bearerguard: Ed25519 public key of small order or not canonical")
		}
		algs = 1<<algEdDSA | 1<<algEd25519
	default:
		return nil, fmt.Errorf("bearerguard: unsupported key type %T", public)
	}
	if alg != "" {
		id := parseAlg(string(alg))
		if !algs.has(id) {
			return nil, fmt.Errorf("bearerguard: algorithm %q does not fit a %T key", alg, public)
		}
		algs = 1 << id
		if id == algEdDSA || id == algEd25519 {
			algs = 1<<algEdDSA | 1<<algEd25519 // one algorithm, two names (RFC 9864)
		}
	}
	return &Key{id: id, public: public, alg: alg, algs: algs}, nil
}

// ID returns the key's "kid", or "".
func (k *Key) ID() string { return k.id }

// Public returns the public key.
func (k *Key) Public() crypto.PublicKey { return k.public }

// Equal reports whether k and o are the same key: same ID, same
// algorithms, same public key material.
func (k *Key) Equal(o *Key) bool {
	if k == o {
		return true
	}
	if k == nil || o == nil || k.id != o.id || k.algs != o.algs || k.alg != o.alg {
		return false
	}
	eq, ok := k.public.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(o.public)
}

// Allows reports whether the key may verify alg.
func (k *Key) Allows(alg Algorithm) bool { return k.algs.has(parseAlg(string(alg))) }

// Algorithms lists the algorithms the key may verify.
func (k *Key) Algorithms() []Algorithm {
	var out []Algorithm
	for id := algRS256; id <= algLast; id++ {
		if k.algs.has(id) {
			out = append(out, algNames[id])
		}
	}
	return out
}

// KeySource finds the key that verifies a token. [jwks.Set] is the usual
// implementation; [Keys] is a fixed one.
type KeySource interface {
	// Key returns the key identified by kid that may verify alg. kid may be
	// empty (see [Keys.Lookup] for what then matches). It returns an error
	// matching [ErrUnknownKey] when no key matches, or [ErrUnavailable]
	// when the keys cannot be had and nothing cached can decide.
	Key(ctx context.Context, kid string, alg Algorithm) (*Key, error)
}

// KeyRefresher is an optional interface of a [KeySource] whose key under a
// kid can go stale: an issuer that rotates a key and keeps its kid (or
// uses none) signs with the new key before the source has seen it. When a
// signature fails with the key Key returned, the validator asks
// RefreshKey once for another key for the same kid and alg, and verifies
// with it if there is one. RefreshKey must bound its own work (a
// [github.com/bearerguard/bearerguard/jwks.Set] refetches at most once per
// minimum refetch interval, the budget of unknown kids); a nil key and nil
// error mean no other key, an error matching [ErrUnavailable] that nobody
// could tell (the refetch failed: the token is answered 503, not 401).
type KeyRefresher interface {
	RefreshKey(ctx context.Context, kid string, alg Algorithm, stale *Key) (*Key, error)
}

// Keys is an immutable index of verification keys. It is also a fixed
// [KeySource].
type Keys struct {
	byID map[string][]*Key
	all  []*Key
}

// NewKeys indexes keys by ID. Keys may share an ID (for instance an RSA and
// an EC key); a lookup then takes the first that allows the algorithm.
func NewKeys(keys ...*Key) *Keys {
	ks := &Keys{byID: make(map[string][]*Key, len(keys))}
	for _, k := range keys {
		if k == nil {
			continue
		}
		ks.all = append(ks.all, k)
		ks.byID[k.id] = append(ks.byID[k.id], k)
	}
	return ks
}

// Len returns the number of keys.
func (ks *Keys) Len() int { return len(ks.all) }

// All returns the keys. The caller must not modify the slice.
func (ks *Keys) All() []*Key { return ks.all }

// Lookup finds a key for a token's "kid" and "alg".
//
// With a kid, it returns the first key with exactly that ID that allows alg.
// Without one, it returns the key that allows alg only if exactly one key in
// the set does: with several candidates nothing matches, since trying each
// would let a token pick its key.
func (ks *Keys) Lookup(kid string, alg Algorithm) (*Key, bool) {
	id := parseAlg(string(alg))
	if kid != "" {
		for _, k := range ks.byID[kid] {
			if k.algs.has(id) {
				return k, true
			}
		}
		return nil, false
	}
	var found *Key
	for _, k := range ks.all {
		if k.algs.has(id) {
			if found != nil {
				return nil, false
			}
			found = k
		}
	}
	return found, found != nil
}

// Key implements [KeySource].
func (ks *Keys) Key(_ context.Context, kid string, alg Algorithm) (*Key, error) {
	if k, ok := ks.Lookup(kid, alg); ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}
