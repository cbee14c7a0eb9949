package jwks

// The seam to github.com/lestrrat-go/jwx/v2: the only file of this package
// that imports it. Moving to jwx/v3 is a change to this file alone.

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
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
// [validator.NewKey]), and entries over maxEntryBytes. A set that
// publishes more than maxExposed private keys, or has an entry over
// maxEntryBytes that may be one, keeps none.
func parseKeySet(body []byte) ([]*validator.Key, []skippedKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Keys == nil {
		return nil, nil, errNotJWKS
	}
	var keys []*validator.Key
	var skipped []skippedKey
	// Keys whose private half the set publishes, found from the raw
	// members of every entry (also those skipped for another reason, or
	// beyond maxKeys).
	var exposed exposedKeys
	for i, raw := range doc.Keys {
		exposed.add(raw)
		if i >= maxKeys {
			if i == maxKeys {
				skipped = append(skipped, skippedKey{reason: fmt.Sprintf("%d more keys beyond the first %d", len(doc.Keys)-maxKeys, maxKeys)})
			}
			continue
		}
		if len(raw) > maxEntryBytes {
			skipped = append(skipped, skippedKey{reason: fmt.Sprintf("an entry of %d bytes, over %d", len(raw), maxEntryBytes)})
			continue
		}
		k, kid, err := parseKey(raw)
		if err != nil {
			skipped = append(skipped, skippedKey{kid: kid, reason: err.Error()})
			continue
		}
		keys = append(keys, k)
	}
	// A key whose private half is published is compromised under any kid:
	// its public copies go too. A set that publishes more private keys
	// than are looked at, or one in an entry too large to look at, trusts
	// none of its keys: which of them the rest expose is not known.
	if exposed.compromised != "" {
		for _, k := range keys {
			skipped = append(skipped, skippedKey{kid: k.ID(), reason: exposed.compromised + ": none of its keys is trusted"})
		}
		return nil, skipped, nil
	}
	keys = slices.DeleteFunc(keys, func(k *validator.Key) bool {
		if exposed.has(k) {
			skipped = append(skipped, skippedKey{kid: k.ID(), reason: "its private key is published in the key set"})
			return true
		}
		return false
	})
	return keys, skipped, nil
}

// privateMembers are the JWK members of private keys (RFC 7518 §6.2.2,
// §6.3.2; RFC 8037 §2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth"}

// maxExposed bounds how many of a set's private keys are looked at.
// Deriving a public key costs a scalar multiplication (about 1 ms for
// P-521), and a 1 MiB set holds thousands of entries, fetched again
// whenever forged tokens name an unknown kid: past maxExposed the set is
// compromised whole. No honest set publishes even one.
const maxExposed = 8

// maxExposedFactorBits bounds an RSA prime whose product is taken: a
// factor of a usable modulus (at most 8192 bits) is no longer, and two
// 500 KB ones cost 100 ms to multiply.
const maxExposedFactorBits = 8192

// maxEntryBytes bounds one entry of a set that is decoded: a JWK, even an
// RSA-8192 private key with a certificate chain, is a few KB, and one of
// 1 MiB with 100,000 members cost 280 ms to decode the three ways a key
// is read.
const maxEntryBytes = 64 << 10

// privateNames are privateMembers as a member name is written, quoted.
var privateNames = func() [][]byte {
	out := make([][]byte, len(privateMembers))
	for i, m := range privateMembers {
		out[i] = []byte(`"` + m + `"`)
	}
	return out
}()

// mayBePrivate reports whether the entry raw can have a private member:
// it has one's name in quotes, or an escape (which can spell one). A byte
// scan, so that the entries that cannot (most of a hostile 1 MiB set of
// "0" or "{}") are not decoded.
func mayBePrivate(raw []byte) bool {
	if bytes.IndexByte(raw, '\\') >= 0 {
		return true
	}
	for _, name := range privateNames {
		if bytes.Contains(raw, name) {
			return true
		}
	}
	return false
}

// exposedKeys are the public keys (RSA moduli, EC points, Ed25519 keys)
// of the private keys a set publishes, derived from the private values
// where they can be, and the kids of those whose public key cannot;
// compromised says why no key of the set is trusted, when the set
// publishes more than maxExposed of them or one in an entry over
// maxEntryBytes.
type exposedKeys struct {
	moduli      []*big.Int
	points      []*ecdh.PublicKey
	ed          []ed25519.PublicKey
	kids        []string
	n           int
	compromised string
}

// add records raw's public key if raw carries private members, whatever
// else is wrong with it.
func (e *exposedKeys) add(raw json.RawMessage) {
	if e.compromised != "" || !mayBePrivate(raw) {
		return
	}
	if len(raw) > maxEntryBytes {
		e.compromised = fmt.Sprintf("the key set has an entry of %d bytes that may publish a private key", len(raw))
		return
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return
	}
	private := false
	for _, name := range privateMembers {
		if _, ok := m[name]; ok {
			private = true
		}
	}
	if !private {
		return
	}
	if e.n++; e.n > maxExposed {
		e.compromised = fmt.Sprintf("the key set publishes more than %d private keys", maxExposed)
		return
	}
	str := func(name string) string {
		var v string
		_ = json.Unmarshal(m[name], &v)
		return v
	}
	bytesOf := func(name string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(str(name))
		if err != nil || len(b) == 0 {
			return nil
		}
		return b
	}
	num := func(name string) *big.Int {
		if b := bytesOf(name); b != nil {
			return new(big.Int).SetBytes(b)
		}
		return nil
	}
	derived := false
	switch str("kty") {
	case "RSA":
		if n := num("n"); n != nil {
			e.moduli, derived = append(e.moduli, n), true
		}
		// By the value, not the encoding: leading zero bytes pad it.
		if p, q := num("p"), num("q"); p != nil && q != nil && p.BitLen() <= maxExposedFactorBits && q.BitLen() <= maxExposedFactorBits {
			e.moduli, derived = append(e.moduli, new(big.Int).Mul(p, q)), true
		}
	case "EC":
		curves := map[string]struct {
			c    ecdh.Curve
			size int
		}{"P-256": {ecdh.P256(), 32}, "P-384": {ecdh.P384(), 48}, "P-521": {ecdh.P521(), 66}}
		if c, ok := curves[str("crv")]; ok {
			// d as its value, in the curve's size: an encoder that
			// writes big.Int.Bytes() drops a leading zero byte (one P-256
			// key in 256).
			if d := num("d"); d != nil && d.BitLen() <= 8*c.size {
				if priv, err := c.c.NewPrivateKey(d.FillBytes(make([]byte, c.size))); err == nil {
					e.points, derived = append(e.points, priv.PublicKey()), true
				}
			}
			// The entry's own point counts too: a d that derives
			// nothing still says that point's private half is out.
			if x, y := num("x"), num("y"); x != nil && y != nil && x.BitLen() <= 8*c.size && y.BitLen() <= 8*c.size {
				point := append([]byte{4}, x.FillBytes(make([]byte, c.size))...)
				if pub, err := c.c.NewPublicKey(append(point, y.FillBytes(make([]byte, c.size))...)); err == nil {
					e.points, derived = append(e.points, pub), true
				}
			}
		}
	case "OKP":
		if str("crv") == "Ed25519" {
			if d := bytesOf("d"); len(d) == ed25519.SeedSize {
				e.ed, derived = append(e.ed, ed25519.NewKeyFromSeed(d).Public().(ed25519.PublicKey)), true
			}
			if x := bytesOf("x"); len(x) == ed25519.PublicKeySize {
				e.ed, derived = append(e.ed, ed25519.PublicKey(x)), true
			}
		}
	}
	if !derived {
		e.kids = append(e.kids, str("kid"))
	}
}

// has reports whether k is one of the exposed keys, or shares a kid with
// an exposed key whose public half could not be derived.
func (e *exposedKeys) has(k *validator.Key) bool {
	if slices.Contains(e.kids, k.ID()) {
		return true
	}
	switch pub := k.Public().(type) {
	case *rsa.PublicKey:
		return slices.ContainsFunc(e.moduli, func(n *big.Int) bool { return n.Cmp(pub.N) == 0 })
	case *ecdsa.PublicKey:
		p, err := pub.ECDH()
		return err == nil && slices.ContainsFunc(e.points, func(x *ecdh.PublicKey) bool { return x.Equal(p) })
	case ed25519.PublicKey:
		return slices.ContainsFunc(e.ed, func(x ed25519.PublicKey) bool { return x.Equal(pub) })
	}
	return false
}

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
		return nil, kid, errors.New("private key material published in the key set")
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
