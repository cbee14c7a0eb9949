package validator_test

// Sender-constrained tokens against RFC 9449, 8705 and 7800: the conformance
// gaps a review found (SECURITY.md 114).

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/validator"
)

// An authorization server that answers an introspection request with
// "token_type": "DPoP" says the token is DPoP-bound (RFC 9449 §6.2). When
// the answer carries no "cnf" (or a "cnf" without "jkt"), the resource
// server cannot check the binding, and accepting the token as a plain
// Bearer token would be the downgrade RFC 9449 §7.2 forbids: it is refused,
// as a "cnf" naming only methods the library cannot check is
// (ErrUnsupportedBinding).
func TestIntrospectedDPoPTokenWithoutJKTRefused(t *testing.T) {
	iss, ic := introspectingIssuer(t)
	v, err := validator.New(validator.WithIntrospection(iss.URL, ic), validator.WithAudience("orders"))
	if err != nil {
		t.Fatal(err)
	}
	tok := iss.Opaque(t, bearertest.Claims{"aud": "orders", "token_type": "DPoP"})
	got, err := v.ValidatePresentation(t.Context(), validator.Presentation{Scheme: validator.SchemeBearer, Token: tok})
	if !errors.Is(err, validator.ErrUnsupportedBinding) {
		t.Errorf("introspection answered token_type DPoP with no cnf: %v (token %+v), want ErrUnsupportedBinding", err, got)
	}
}

// A "cnf" whose "jkt" is empty beside an "x5t#S256" is malformed: the
// issuer meant a DPoP binding it did not write, and reading the token as
// certificate-bound only would drop it.
func TestCnfEmptyJKTBesideX5TMalformed(t *testing.T) {
	loadKeys(t)
	cert := selfSigned(t, "client")
	sum := sha256.Sum256(cert.Raw)
	tok := rs256(baseClaims(map[string]any{"cnf": map[string]any{"jkt": "", "x5t#S256": jwstest.Encode(sum[:])}}))
	v := newValidator(t)
	if _, err := v.ValidatePresentation(t.Context(), validator.Presentation{Token: tok, ClientCert: cert}); !errors.Is(err, validator.ErrMalformed) {
		t.Errorf(`"cnf": {"jkt": "", "x5t#S256": …}: %v, want ErrMalformed`, err)
	}
}

// An Ed25519 proof key that is a point of small order (here the identity,
// x = 0x01 00…00) verifies a "signature" anyone can compute without any
// private key: R = [s]B, S = s (crypto/ed25519 verifies it), so a token
// bound to such a key's thumbprint would be a bearer token for whoever
// holds it. Such keys are refused, as is every small-order or
// non-canonical encoding.
func TestEd25519SmallOrderProofKeyRefused(t *testing.T) {
	loadKeys(t)
	identity := make([]byte, 32)
	identity[0] = 1
	x := jwstest.Encode(identity)
	canonical := `{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`
	sum := sha256.Sum256([]byte(canonical))
	jkt := jwstest.Encode(sum[:])
	tok := bound(jkt)

	// A forger with no key: R = [a]B (an ordinary public key), S = a mod L.
	seed := make([]byte, 32)
	seed[0] = 42
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	h := sha512.Sum512(seed)
	a := h[:32]
	a[0] &= 248
	a[31] &= 127
	a[31] |= 64
	le := func(b []byte) *big.Int {
		r := make([]byte, len(b))
		for i := range b {
			r[len(b)-1-i] = b[i]
		}
		return new(big.Int).SetBytes(r)
	}
	L, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	s := new(big.Int).Mod(le(a), L)
	sBE := s.FillBytes(make([]byte, 32))
	sLE := make([]byte, 32)
	for i := range sBE {
		sLE[31-i] = sBE[i]
	}
	forge := func([]byte) []byte { return append(append([]byte(nil), pub...), sLE...) }

	hdr := `{"typ":"dpop+jwt","alg":"EdDSA","jwk":{"kty":"OKP","crv":"Ed25519","x":"` + x + `"}}`
	claims := `{"jti":"forged-1","htm":"GET","htu":"` + apiURL + `","iat":` + strconv.FormatInt(testNow.Unix(), 10) + `,"ath":"` + ath(tok) + `"}`
	proof := jwstest.Token(hdr, claims, forge)
	if in := proof[:strings.LastIndexByte(proof, '.')]; !ed25519.Verify(identity, []byte(in), forge(nil)) {
		t.Fatal("the forgery does not verify: the test proves nothing")
	}
	v := newValidator(t)
	_, err := v.ValidatePresentation(t.Context(), validator.Presentation{Scheme: validator.SchemeDPoP, Token: tok, Proof: proof, Method: "GET", URL: apiURL})
	if !errors.Is(err, validator.ErrProofMalformed) {
		t.Errorf("a proof forged without any private key, for a small-order Ed25519 key: %v, want ErrProofMalformed", err)
	}
	// Every small-order point, with either sign, and the non-canonical
	// encodings (y ≥ p) are refused as proof keys.
	for _, h := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0000000000000000000000000000000000000000000000000000000000000080",
		"0100000000000000000000000000000000000000000000000000000000000080",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	} {
		k, _ := hex.DecodeString(h)
		hdr := `{"typ":"dpop+jwt","alg":"EdDSA","jwk":{"kty":"OKP","crv":"Ed25519","x":"` + jwstest.Encode(k) + `"}}`
		proof := jwstest.Token(hdr, claims, forge)
		if _, err := v.ValidatePresentation(t.Context(), validator.Presentation{Scheme: validator.SchemeDPoP, Token: tok, Proof: proof, Method: "GET", URL: apiURL}); !errors.Is(err, validator.ErrProofMalformed) {
			t.Errorf("proof key %s: %v, want ErrProofMalformed", h, err)
		}
	}
}

// An issuer's Ed25519 key of small order would let anyone sign its
// tokens: NewKey refuses it, as the jwks package's keys go through it.
func TestNewKeyRefusesSmallOrderEd25519(t *testing.T) {
	identity := make(ed25519.PublicKey, ed25519.PublicKeySize)
	identity[0] = 1
	if _, err := validator.NewKey("weak", identity, validator.EdDSA); err == nil {
		t.Error("NewKey accepted the identity point as an Ed25519 key")
	}
	good, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := validator.NewKey("good", good, validator.EdDSA); err != nil {
		t.Errorf("NewKey refused a generated key: %v", err)
	}
}
