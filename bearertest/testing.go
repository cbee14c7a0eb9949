package bearertest

// The testing.T forms: each calls its error-returning counterpart, reports
// an error with t.Fatalf and ties what it starts to the end of the test.

import (
	"crypto/tls"
	"crypto/x509"

	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

// T is the part of testing.TB the issuer uses; *testing.T, *testing.B and
// *testing.F satisfy it.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// NewIssuer starts an issuer on a loopback HTTPS server, with an RS256 key
// published, like [Start]. The server stops when the test ends.
func NewIssuer(t T, opts ...Option) *Issuer {
	t.Helper()
	iss, err := Start(opts...)
	if err != nil {
		t.Fatalf("%v", err)
		return nil
	}
	t.Cleanup(iss.Close)
	return iss
}

// KeySet returns a [jwks.Set] for the issuer's keys, like
// [Issuer.NewKeySet], closed when the test ends. Extra options are applied
// after the client option.
func (iss *Issuer) KeySet(t T, opts ...jwks.Option) *jwks.Set {
	t.Helper()
	set, err := iss.NewKeySet(opts...)
	if err != nil {
		t.Fatalf("%v", err)
		return nil
	}
	t.Cleanup(func() { set.Close() })
	return set
}

// Rotate generates a new key for alg, publishes it next to the existing
// ones and makes it the one Mint uses for alg, like [Issuer.RotateKey]. It
// returns the new kid.
func (iss *Issuer) Rotate(t T, alg validator.Algorithm) string {
	t.Helper()
	kid, err := iss.RotateKey(alg)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return kid
}

// Mint returns a signed JWT access token, like [Issuer.MintToken] (see
// there for the default claims). The token is also known to the
// introspection endpoint.
func (iss *Issuer) Mint(t T, claims Claims, opts ...MintOption) string {
	t.Helper()
	tok, err := iss.MintToken(claims, opts...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return tok
}

// Opaque issues an opaque token with the given claims (merged over the
// defaults Mint uses), for introspection, like [Issuer.OpaqueToken].
func (iss *Issuer) Opaque(t T, claims Claims) string {
	t.Helper()
	tok, err := iss.OpaqueToken(claims)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return tok
}

// MustDPoPKey generates a DPoP proof key for alg ("" for ES256), like
// [NewDPoPKey].
func MustDPoPKey(t T, alg validator.Algorithm) *DPoPKey {
	t.Helper()
	k, err := NewDPoPKey(alg)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return k
}

// MustProof returns a DPoP proof for a request with method and url, and
// the access token sent with it ("" for none), like [DPoPKey.Proof].
func (k *DPoPKey) MustProof(t T, method, url, accessToken string, opts ...ProofOption) string {
	t.Helper()
	proof, err := k.Proof(method, url, accessToken, opts...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return proof
}

// MustClientCA makes a client certificate authority, like [NewClientCA].
func MustClientCA(t T) *ClientCA {
	t.Helper()
	ca, err := NewClientCA()
	if err != nil {
		t.Fatalf("%v", err)
	}
	return ca
}

// MustIssue makes a client certificate for commonName, like
// [ClientCA.Issue].
func (ca *ClientCA) MustIssue(t T, commonName string) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	cert, leaf, err := ca.Issue(commonName)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return cert, leaf
}
