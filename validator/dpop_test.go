package validator_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/validator"
)

// proofKey is a client's DPoP key, built independently of the validator.
type proofKey struct {
	priv *ecdsa.PrivateKey
	jwk  map[string]any
}

func newProofKey(t testing.TB) proofKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pt, _ := k.PublicKey.Bytes() // 0x04 || X || Y
	return proofKey{priv: k, jwk: map[string]any{"kty": "EC", "crv": "P-256",
		"x": jwstest.Encode(pt[1:33]), "y": jwstest.Encode(pt[33:65])}}
}

// thumbprint is RFC 7638 over the EC members, written out by hand.
func (k proofKey) thumbprint() string {
	c := `{"crv":"P-256","kty":"EC","x":"` + k.jwk["x"].(string) + `","y":"` + k.jwk["y"].(string) + `"}`
	sum := sha256.Sum256([]byte(c))
	return jwstest.Encode(sum[:])
}

func ath(token string) string {
	sum := sha256.Sum256([]byte(token))
	return jwstest.Encode(sum[:])
}

var jtiSeq int

// proof makes a proof for method and url carrying token; header and claim
// overrides replace members (nil removes one).
func (k proofKey) proof(method, url, token string, header, claims map[string]any) string {
	jtiSeq++
	h := map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": k.jwk}
	for n, v := range header {
		if v == nil {
			delete(h, n)
		} else {
			h[n] = v
		}
	}
	c := jwstest.Claims(map[string]any{"jti": "proof-" + big.NewInt(int64(jtiSeq)).String(), "htm": method, "htu": url,
		"iat": testNow.Unix(), "ath": ath(token)}, claims)
	return jwstest.Token(jwstest.JSON(h), c, jwstest.ES(k.priv, crypto.SHA256))
}

const apiURL = "https://api.example.com/orders/data"

func bound(jkt string) string {
	return rs256(baseClaims(map[string]any{"cnf": map[string]any{"jkt": jkt}}))
}

func TestDPoPProofs(t *testing.T) {
	loadKeys(t)
	key, other := newProofKey(t), newProofKey(t)
	tok := bound(key.thumbprint())
	plain := rs256(baseClaims(nil))
	offCurve := map[string]any{"kty": "EC", "crv": "P-256", "x": key.jwk["x"], "y": other.jwk["y"]}
	withD := map[string]any{"kty": "EC", "crv": "P-256", "x": key.jwk["x"], "y": key.jwk["y"], "d": jwstest.Encode(mustBytes(key.priv.Bytes()))}
	window := validator.DefaultProofWindow + validator.DefaultLeeway
	tests := []struct {
		name   string
		scheme validator.Scheme
		token  string
		method string
		url    string
		proof  string
		want   error // nil: accepted
	}{
		{"valid", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, nil, nil), nil},
		{"bound token as Bearer", validator.SchemeBearer, tok, "GET", apiURL, "", validator.ErrBoundToken},
		{"bound token as Bearer with a proof", validator.SchemeBearer, tok, "GET", apiURL, key.proof("GET", apiURL, tok, nil, nil), validator.ErrBoundToken},
		{"plain token with DPoP", validator.SchemeDPoP, plain, "GET", apiURL, key.proof("GET", apiURL, plain, nil, nil), validator.ErrBindingMismatch},
		{"plain token as Bearer", validator.SchemeBearer, plain, "GET", apiURL, "", nil},
		{"no proof", validator.SchemeDPoP, tok, "GET", apiURL, "", validator.ErrProofMissing},
		{"proof of another key", validator.SchemeDPoP, tok, "GET", apiURL, other.proof("GET", apiURL, tok, nil, nil), validator.ErrBindingMismatch},
		// The key is compared with the token's before any signature is
		// checked: a stranger's key costs no verification (review of
		// session 11: it was ErrProofSignature, after the work).
		{"proof of another key, a made-up signature", validator.SchemeDPoP, tok, "GET", apiURL, func() string {
			p := other.proof("GET", apiURL, tok, nil, nil)
			return p[:strings.LastIndexByte(p, '.')+1] + strings.Repeat("A", 86)
		}(), validator.ErrBindingMismatch},
		{"signed by another key", validator.SchemeDPoP, tok, "GET", apiURL, other.proof("GET", apiURL, tok, map[string]any{"jwk": key.jwk}, nil), validator.ErrProofSignature},
		{"typ missing", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, map[string]any{"typ": nil}, nil), validator.ErrProofMalformed},
		{"typ JWT", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, map[string]any{"typ": "JWT"}, nil), validator.ErrProofMalformed},
		{"typ at+jwt", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, map[string]any{"typ": "at+jwt"}, nil), validator.ErrProofMalformed},
		{"alg none", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, map[string]any{"alg": "none"}, nil), validator.ErrProofMalformed},
		{"alg HS256", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, map[string]any{"alg": "HS256"}, nil), validator.ErrProofMalformed},
		{"alg not fitting the key", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, map[string]any{"alg": "RS256"}, nil), validator.ErrProofMalformed},
		{"jwk missing", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, map[string]any{"jwk": nil}, nil), validator.ErrProofMalformed},
		{"jwk with d", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, map[string]any{"jwk": withD}, nil), validator.ErrProofMalformed},
		{"jwk off the curve", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, map[string]any{"jwk": offCurve}, nil), validator.ErrProofMalformed},
		{"jwk as a string", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, map[string]any{"jwk": "key"}, nil), validator.ErrProofMalformed},
		{"crit", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, map[string]any{"crit": []string{"x"}}, nil), validator.ErrProofMalformed},
		{"htm other method", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("POST", apiURL, tok, nil, nil), validator.ErrProofMismatch},
		{"htm lower case", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("get", apiURL, tok, nil, nil), validator.ErrProofMismatch},
		{"htm missing", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, nil, map[string]any{"htm": nil}), validator.ErrProofMalformed},
		{"htu with query", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL+"?page=2", tok, nil, nil), nil},
		{"htu with fragment", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL+"#top", tok, nil, nil), nil},
		{"request URL with query", validator.SchemeDPoP, tok, "GET", apiURL + "?page=2", key.proof("GET", apiURL, tok, nil, nil), nil},
		{"htu case in scheme and host", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", "HTTPS://API.Example.COM/orders/data", tok, nil, nil), nil},
		{"htu case in path", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", "https://api.example.com/Orders/data", tok, nil, nil), validator.ErrProofMismatch},
		{"htu default port", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", "https://api.example.com:443/orders/data", tok, nil, nil), nil},
		{"htu other port", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", "https://api.example.com:8443/orders/data", tok, nil, nil), validator.ErrProofMismatch},
		{"htu trailing dot in host", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", "https://api.example.com./orders/data", tok, nil, nil), validator.ErrProofMismatch},
		{"htu http for https", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", "http://api.example.com/orders/data", tok, nil, nil), validator.ErrProofMismatch},
		{"htu other path", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", "https://api.example.com/orders", tok, nil, nil), validator.ErrProofMismatch},
		{"htu dot segments", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", "https://api.example.com/orders/x/../data", tok, nil, nil), nil},
		{"request URL with dot segments", validator.SchemeDPoP, tok, "GET", "https://api.example.com/orders/x/../data", key.proof("GET", apiURL, tok, nil, nil), validator.ErrProofMismatch},
		{"request URL with escaped dot segments", validator.SchemeDPoP, tok, "GET", "https://api.example.com/orders/x/%2E%2e/data", key.proof("GET", apiURL, tok, nil, nil), validator.ErrProofMismatch},
		{"request URL with a dot segment, proof the same", validator.SchemeDPoP, tok, "GET", "https://api.example.com/orders/./data", key.proof("GET", "https://api.example.com/orders/./data", tok, nil, nil), validator.ErrProofMismatch},
		{"htu encoded unreserved", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", "https://api.example.com/%6Frders/data", tok, nil, nil), nil},
		{"htu relative", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", "/orders/data", tok, nil, nil), validator.ErrProofMismatch},
		{"htu missing", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, nil, map[string]any{"htu": nil}), validator.ErrProofMalformed},
		{"iat at the past edge", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, nil, map[string]any{"iat": testNow.Add(-window).Unix()}), nil},
		{"iat past the edge", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, nil, map[string]any{"iat": testNow.Add(-window).Unix() - 1}), validator.ErrProofTime},
		// Ahead only by the leeway (the clocks' skew), not the window: a
		// proof dated further ahead was remembered up to three minutes,
		// which let one client fill a bounded replay store sooner (review
		// of session 11).
		{"iat at the future edge", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, nil, map[string]any{"iat": testNow.Add(validator.DefaultLeeway).Unix()}), nil},
		{"iat beyond the future edge", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, nil, map[string]any{"iat": testNow.Add(validator.DefaultLeeway).Unix() + 1}), validator.ErrProofTime},
		{"iat a window ahead", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, nil, map[string]any{"iat": testNow.Add(window).Unix()}), validator.ErrProofTime},
		{"iat missing", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, nil, map[string]any{"iat": nil}), validator.ErrProofMalformed},
		{"iat as string", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, nil, map[string]any{"iat": "now"}), validator.ErrProofMalformed},
		{"ath of another token", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, plain, nil, nil), validator.ErrProofMismatch},
		{"ath missing", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, nil, map[string]any{"ath": nil}), validator.ErrProofMalformed},
		{"jti missing", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, nil, map[string]any{"jti": nil}), validator.ErrProofMalformed},
		{"jti too long", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, nil, map[string]any{"jti": strings.Repeat("j", 257)}), validator.ErrProofMalformed},
		{"duplicate htm", validator.SchemeDPoP, tok, "GET", apiURL, dupClaim(key, tok), validator.ErrProofMalformed},
		{"too large", validator.SchemeDPoP, tok, "GET", apiURL, key.proof("GET", apiURL, tok, nil, map[string]any{"pad": strings.Repeat("x", validator.MaxProofSize)}), validator.ErrProofMalformed},
		{"not a JWS", validator.SchemeDPoP, tok, "GET", apiURL, "not.a.proof", validator.ErrProofMalformed},
		{"empty signature", validator.SchemeDPoP, tok, "GET", apiURL, jwstest.StripSignature(key.proof("GET", apiURL, tok, nil, nil)), validator.ErrProofMalformed},
		{"bad signature", validator.SchemeDPoP, tok, "GET", apiURL, jwstest.TruncateSignature(key.proof("GET", apiURL, tok, nil, nil), 4) + "AAAA", validator.ErrProofSignature},
	}
	v := newValidator(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.ValidatePresentation(t.Context(), validator.Presentation{Scheme: tt.scheme, Token: tt.token, Proof: tt.proof, Method: tt.method, URL: tt.url})
			if tt.want == nil {
				if err != nil || got == nil {
					t.Fatalf("ValidatePresentation() = %v, %v; want accepted", got, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("ValidatePresentation() = %v, want %v", err, tt.want)
			}
			if c := validator.ChallengeFor(err, ""); c.Status != 401 && c.Status != 400 {
				t.Errorf("answered %d", c.Status)
			}
		})
	}
}

// dupClaim is a proof whose claims name "htm" twice.
func dupClaim(k proofKey, tok string) string {
	h := jwstest.JSON(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": k.jwk})
	c := `{"jti":"dup","htm":"GET","htm":"POST","htu":"` + apiURL + `","iat":` + big.NewInt(testNow.Unix()).String() + `,"ath":"` + ath(tok) + `"}`
	return jwstest.Token(h, c, jwstest.ES(k.priv, crypto.SHA256))
}

func TestDPoPReplay(t *testing.T) {
	loadKeys(t)
	key := newProofKey(t)
	tok := bound(key.thumbprint())
	clk := testclock.New(testNow)
	v := newValidator(t, validator.WithClock(clk.Now))
	p := key.proof("GET", apiURL, tok, nil, nil)
	pres := validator.Presentation{Scheme: validator.SchemeDPoP, Token: tok, Proof: p, Method: "GET", URL: apiURL}
	for i, want := range []error{nil, validator.ErrProofReplayed, validator.ErrProofReplayed} {
		if _, err := v.ValidatePresentation(t.Context(), pres); !errors.Is(err, want) && (want != nil || err != nil) {
			t.Fatalf("use %d: %v, want %v", i+1, err, want)
		}
	}
	// A fresh proof of the same key passes; the token cache does not skip
	// the proof checks.
	pres.Proof = key.proof("GET", apiURL, tok, nil, nil)
	if _, err := v.ValidatePresentation(t.Context(), pres); err != nil {
		t.Fatalf("fresh proof: %v", err)
	}
	pres.Proof = ""
	if _, err := v.ValidatePresentation(t.Context(), pres); !errors.Is(err, validator.ErrProofMissing) {
		t.Fatalf("cached token without proof: %v", err)
	}
	// Once its window has passed the proof is too old, not a replay.
	clk.Set(testNow.Add(validator.DefaultProofWindow + validator.DefaultLeeway + time.Second))
	pres.Proof = p
	if _, err := v.ValidatePresentation(t.Context(), pres); !errors.Is(err, validator.ErrProofTime) && !errors.Is(err, validator.ErrExpired) {
		t.Fatalf("old proof: %v", err)
	}
}

func TestDPoPModes(t *testing.T) {
	loadKeys(t)
	key := newProofKey(t)
	tok := bound(key.thumbprint())
	plain := rs256(baseClaims(nil))
	dpop := func(token string) validator.Presentation {
		return validator.Presentation{Scheme: validator.SchemeDPoP, Token: token, Proof: key.proof("GET", apiURL, token, nil, nil), Method: "GET", URL: apiURL}
	}
	bearer := func(token string) validator.Presentation { return validator.Presentation{Token: token} }
	tests := []struct {
		mode validator.DPoPMode
		p    validator.Presentation
		want error
	}{
		{validator.DPoPRequired, dpop(tok), nil},
		{validator.DPoPRequired, bearer(plain), validator.ErrBearerNotAllowed},
		{validator.DPoPRequired, bearer(tok), validator.ErrBearerNotAllowed},
		{validator.DPoPRequired, dpop(plain), validator.ErrBindingMismatch},
		{validator.DPoPOff, dpop(tok), validator.ErrDPoPNotAccepted},
		{validator.DPoPOff, bearer(tok), validator.ErrBoundToken},
		{validator.DPoPOff, bearer(plain), nil},
		{validator.DPoPAllowed, dpop(tok), nil},
		{validator.DPoPAllowed, bearer(plain), nil},
	}
	for _, tt := range tests {
		v := newValidator(t, validator.WithDPoP(tt.mode))
		_, err := v.ValidatePresentation(t.Context(), tt.p)
		if (tt.want == nil) != (err == nil) || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("mode %v, scheme %d: %v, want %v", tt.mode, tt.p.Scheme, err, tt.want)
		}
	}
	if m, err := validator.ParseDPoPMode("required"); err != nil || m != validator.DPoPRequired {
		t.Errorf("ParseDPoPMode = %v, %v", m, err)
	}
	if _, err := validator.ParseDPoPMode("maybe"); err == nil {
		t.Error("ParseDPoPMode accepted maybe")
	}
}

func TestDPoPNonces(t *testing.T) {
	loadKeys(t)
	key := newProofKey(t)
	tok := bound(key.thumbprint())
	clk := testclock.New(testNow)
	secret := []byte("0123456789abcdef0123456789abcdef")
	v := newValidator(t, validator.WithClock(clk.Now), validator.WithDPoPNonces(secret, time.Minute))
	other := newValidator(t, validator.WithClock(clk.Now), validator.WithDPoPNonces([]byte("another key, also 32 bytes long!"), time.Minute))
	try := func(v *validator.Validator, nonce any) error {
		claims := map[string]any{"nonce": nonce, "iat": clk.Now().Unix()}
		p := key.proof("GET", apiURL, tok, nil, claims)
		_, err := v.ValidatePresentation(t.Context(), validator.Presentation{Scheme: validator.SchemeDPoP, Token: tok, Proof: p, Method: "GET", URL: apiURL})
		return err
	}
	err := try(v, nil)
	var ne *validator.NonceError
	if !errors.As(err, &ne) || ne.Nonce == "" || !errors.Is(err, validator.ErrUseDPoPNonce) {
		t.Fatalf("proof without nonce: %v, want a NonceError", err)
	}
	c := v.Challenge(err, "orders", validator.SchemeDPoP)
	if c.Status != 401 || c.Nonce != ne.Nonce || !strings.Contains(c.Header, `DPoP realm="orders", error="use_dpop_nonce"`) {
		t.Errorf("challenge %+v", c)
	}
	if err := try(v, ne.Nonce); err != nil {
		t.Fatalf("retry with the nonce: %v", err)
	}
	if err := try(other, ne.Nonce); !errors.Is(err, validator.ErrUseDPoPNonce) {
		t.Errorf("nonce of another key: %v", err)
	}
	if err := try(v, ne.Nonce[:len(ne.Nonce)-2]+"AA"); !errors.Is(err, validator.ErrUseDPoPNonce) {
		t.Errorf("forged nonce: %v", err)
	}
	clk.Set(testNow.Add(time.Minute))
	if err := try(v, ne.Nonce); err != nil {
		t.Errorf("nonce of the previous window: %v", err)
	}
	clk.Set(testNow.Add(2*time.Minute + time.Second))
	if err := try(v, ne.Nonce); !errors.Is(err, validator.ErrUseDPoPNonce) {
		t.Errorf("nonce two windows old: %v", err)
	}
	if v.DPoPNonce() == ne.Nonce {
		t.Error("nonce did not rotate")
	}
	if _, err := validator.New(validator.WithIssuer(testIssuer, testKeySource(t)), validator.WithAudience(testAud), validator.WithDPoPNonces([]byte("short"), 0)); err == nil {
		t.Error("short nonce key accepted")
	}
}

func TestCertificateBinding(t *testing.T) {
	loadKeys(t)
	cert, other := selfSigned(t, "client"), selfSigned(t, "other")
	sum := sha256.Sum256(cert.Raw)
	tok := rs256(baseClaims(map[string]any{"cnf": map[string]any{"x5t#S256": jwstest.Encode(sum[:])}}))
	v := newValidator(t)
	tests := []struct {
		name string
		cert *x509.Certificate
		want error
	}{
		{"its certificate", cert, nil},
		{"no certificate", nil, validator.ErrBoundToken},
		{"another certificate", other, validator.ErrBindingMismatch},
	}
	for _, tt := range tests {
		_, err := v.ValidatePresentation(t.Context(), validator.Presentation{Token: tok, ClientCert: tt.cert})
		if (tt.want == nil) != (err == nil) || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := v.Validate(t.Context(), tok); !errors.Is(err, validator.ErrBoundToken) {
		t.Errorf("Validate of a certificate-bound token: %v", err)
	}
	for _, cnf := range []any{map[string]any{"jwk": map[string]any{"kty": "EC"}}, map[string]any{}} {
		if _, err := v.Validate(t.Context(), rs256(baseClaims(map[string]any{"cnf": cnf}))); !errors.Is(err, validator.ErrUnsupportedBinding) {
			t.Errorf("cnf %v: %v, want ErrUnsupportedBinding", cnf, err)
		}
	}
	for _, cnf := range []any{"x", map[string]any{"jkt": 1}} {
		if _, err := v.Validate(t.Context(), rs256(baseClaims(map[string]any{"cnf": cnf}))); !errors.Is(err, validator.ErrMalformed) {
			t.Errorf("cnf %v: %v, want ErrMalformed", cnf, err)
		}
	}
}

func selfSigned(t *testing.T, cn string) *x509.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDPoPChallenges(t *testing.T) {
	loadKeys(t)
	algs := `algs="ES256 EdDSA"`
	tests := []struct {
		mode   validator.DPoPMode
		err    error
		scheme validator.Scheme
		want   string
	}{
		{validator.DPoPAllowed, validator.ErrNoToken, validator.SchemeBearer, `Bearer realm="api", DPoP realm="api", ` + algs},
		{validator.DPoPAllowed, validator.ErrExpired, validator.SchemeBearer, `Bearer realm="api", error="invalid_token", error_description="The access token expired", DPoP realm="api", ` + algs},
		{validator.DPoPAllowed, validator.ErrExpired, validator.SchemeDPoP, `Bearer realm="api", DPoP realm="api", error="invalid_token", error_description="The access token expired", ` + algs},
		{validator.DPoPAllowed, validator.ErrProofReplayed, validator.SchemeDPoP, `Bearer realm="api", DPoP realm="api", error="invalid_dpop_proof", error_description="The DPoP proof was already used", ` + algs},
		{validator.DPoPRequired, validator.ErrNoToken, validator.SchemeBearer, `DPoP realm="api", ` + algs},
		{validator.DPoPRequired, validator.ErrBearerNotAllowed, validator.SchemeBearer, `DPoP realm="api", error="invalid_token", error_description="The access token must be DPoP-bound and sent with a DPoP proof", ` + algs},
		{validator.DPoPOff, validator.ErrExpired, validator.SchemeBearer, `Bearer realm="api", error="invalid_token", error_description="The access token expired"`},
	}
	for _, tt := range tests {
		v := newValidator(t, validator.WithDPoP(tt.mode), validator.WithDPoPAlgorithms(validator.ES256, validator.EdDSA))
		if got := v.Challenge(tt.err, "api", tt.scheme).Header; got != tt.want {
			t.Errorf("mode %v, %v, scheme %d:\n got %s\nwant %s", tt.mode, tt.err, tt.scheme, got, tt.want)
		}
	}
}

// The Ed25519 proof key path, end to end.
func TestDPoPEdDSAProof(t *testing.T) {
	loadKeys(t)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	jwk := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": jwstest.Encode(pub)}
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + jwstest.Encode(pub) + `"}`))
	tok := bound(jwstest.Encode(sum[:]))
	p := jwstest.Token(jwstest.JSON(map[string]any{"typ": "dpop+jwt", "alg": "EdDSA", "jwk": jwk}),
		jwstest.JSON(map[string]any{"jti": "ed", "htm": "POST", "htu": apiURL, "iat": testNow.Unix(), "ath": ath(tok)}), jwstest.EdDSA(priv))
	v := newValidator(t)
	if _, err := v.ValidatePresentation(t.Context(), validator.Presentation{Scheme: validator.SchemeDPoP, Token: tok, Proof: p, Method: "POST", URL: apiURL}); err != nil {
		t.Fatal(err)
	}
}

func mustBytes(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// RFC 9864's fully-specified name "Ed25519" is EdDSA over an Ed25519 key,
// for access tokens and DPoP proofs alike, whichever name the key's JWK
// "alg" uses.
func TestEd25519AlgorithmName(t *testing.T) {
	loadKeys(t)
	for _, keyAlg := range []validator.Algorithm{"", validator.EdDSA, validator.Ed25519} {
		v := newValidator(t, validator.WithIssuer("https://ed.example.com/", validator.NewKeys(mustKey(t, "ed", edKey.Public(), keyAlg))))
		for _, alg := range []string{"EdDSA", "Ed25519"} {
			tok := jwstest.Token(`{"alg":"`+alg+`","kid":"ed"}`, baseClaims(map[string]any{"iss": "https://ed.example.com/"}), jwstest.EdDSA(edKey))
			if _, err := v.Validate(t.Context(), tok); err != nil {
				t.Errorf("key alg %q, token alg %s: %v", keyAlg, alg, err)
			}
		}
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + jwstest.Encode(pub) + `"}`))
	tok := bound(jwstest.Encode(sum[:]))
	p := jwstest.Token(jwstest.JSON(map[string]any{"typ": "dpop+jwt", "alg": "Ed25519", "jwk": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": jwstest.Encode(pub)}}),
		jwstest.JSON(map[string]any{"jti": "ed25519", "htm": "GET", "htu": apiURL, "iat": testNow.Unix(), "ath": ath(tok)}), jwstest.EdDSA(priv))
	if _, err := newValidator(t).ValidatePresentation(t.Context(), validator.Presentation{Scheme: validator.SchemeDPoP, Token: tok, Proof: p, Method: "GET", URL: apiURL}); err != nil {
		t.Errorf("Ed25519 proof: %v", err)
	}
}

// An attacker cannot grow the replay store: only proofs that passed every
// other check (with a valid token bound to their key) are recorded, and a
// full store refuses instead of forgetting.
func TestReplayStoreBounded(t *testing.T) {
	loadKeys(t)
	key, other := newProofKey(t), newProofKey(t)
	tok := bound(key.thumbprint())
	store := validator.NewMemoryReplayStore(2, func() time.Time { return testNow })
	v := newValidator(t, validator.WithDPoPReplayStore(store))
	present := func(token, proof, url string) error {
		_, err := v.ValidatePresentation(t.Context(), validator.Presentation{Scheme: validator.SchemeDPoP, Token: token, Proof: proof, Method: "GET", URL: url})
		return err
	}
	expired := rs256(baseClaims(map[string]any{"exp": testNow.Unix() - 3600, "cnf": map[string]any{"jkt": key.thumbprint()}}))
	for i, err := range []error{
		present(expired, key.proof("GET", apiURL, expired, nil, nil), apiURL),                           // the token fails first
		present("garbage.token.here", key.proof("GET", apiURL, "garbage.token.here", nil, nil), apiURL), // no valid token at all
		present(tok, other.proof("GET", apiURL, tok, nil, nil), apiURL),                                 // another key
		present(tok, key.proof("GET", apiURL, tok, nil, nil), apiURL+"/other"),                          // another URL
		present(tok, jwstest.TruncateSignature(key.proof("GET", apiURL, tok, nil, nil), 4)+"AAAA", apiURL),
	} {
		if err == nil {
			t.Fatalf("attempt %d accepted", i)
		}
	}
	if n := store.Len(); n != 0 {
		t.Fatalf("failed requests left %d proofs in the replay store", n)
	}
	// Three principals, so that the store fills (one alone may have half
	// of it: MemoryReplayStore's shares).
	principal := func(id string) string {
		return rs256(baseClaims(map[string]any{"client_id": id, "cnf": map[string]any{"jkt": key.thumbprint()}}))
	}
	for i, tok := range []string{principal("a"), principal("b")} {
		if err := present(tok, key.proof("GET", apiURL, tok, nil, nil), apiURL); err != nil {
			t.Fatalf("proof %d: %v", i, err)
		}
	}
	third := principal("c")
	err := present(third, key.proof("GET", apiURL, third, nil, nil), apiURL)
	if !errors.Is(err, validator.ErrReplayUnavailable) || !errors.Is(err, validator.ErrReplayStoreFull) || store.Len() != 2 {
		t.Fatalf("full store: %v (len %d), want a refusal, never a forgotten proof", err, store.Len())
	}
	if c := validator.ChallengeFor(err, ""); c.Status != 503 {
		t.Errorf("full store answered %d, want 503", c.Status)
	}
}

// A proof is accepted while its "iat" is within window+leeway of the
// clock, edges included ("iat at the past edge" in TestDPoPProofs), and
// stores forget at their expiry, exclusive: the validator must have the
// proof remembered past iat+window+leeway, or at that very instant it is
// still valid and already forgotten, and accepted a second time.
func TestProofReplayAtWindowEdge(t *testing.T) {
	loadKeys(t)
	key := newProofKey(t)
	tok := bound(key.thumbprint())
	clk := testclock.New(testNow)
	v := newValidator(t, validator.WithClock(clk.Now))
	p := key.proof("GET", apiURL, tok, nil, nil) // iat = testNow
	pres := validator.Presentation{Scheme: validator.SchemeDPoP, Token: tok, Proof: p, Method: "GET", URL: apiURL}
	if _, err := v.ValidatePresentation(t.Context(), pres); err != nil {
		t.Fatalf("first use: %v", err)
	}
	clk.Set(testNow.Add(validator.DefaultProofWindow + validator.DefaultLeeway))
	if _, err := v.ValidatePresentation(t.Context(), pres); err == nil {
		t.Fatal("the same proof was accepted twice (replayed at iat+window+leeway)")
	} else if !errors.Is(err, validator.ErrProofReplayed) {
		t.Fatalf("replay: %v", err)
	}
}

// mapStore is a ReplayStore of a type that cannot be compared: a second
// validator given the same one remembers the proof again (and refuses it)
// instead of panicking on the comparison.
type mapStore map[string]bool

// wrappedStore is of a comparable struct type, holding a store of a type
// that cannot be compared (a prefixing wrapper, say): reflect calls the
// type comparable, yet == on two such values panics.
type wrappedStore struct {
	validator.ReplayStore
	prefix string
}

func (s mapStore) Remember(_ context.Context, key string, _ time.Time) (bool, error) {
	if s[key] {
		return false, nil
	}
	s[key] = true
	return true, nil
}

// A second validator checking a request's one proof, under the token the
// first validator accepted with it (nested guards), does not refuse it as
// a replay when the first remembered it in the same store for the same
// request; it remembers it itself in any other case, and every later use
// is refused.
func TestProofRememberedOncePerRequest(t *testing.T) {
	loadKeys(t)
	key := newProofKey(t)
	tok := bound(key.thumbprint())
	clock := func() time.Time { return testNow }
	shared := validator.NewMemoryReplayStore(10, clock)
	tests := []struct {
		name         string
		outer, inner validator.ReplayStore
		copied       bool  // the inner check gets an equal copy of the proof string, not the very one
		otherRequest bool  // the inner check runs in another request's context (the token carried over)
		neverDone    bool  // both run in a context that is never done (no request's)
		want         error // of the inner check under the outer's token
	}{
		{"one store", shared, shared, false, false, false, nil},
		{"one store, an equal copy of the proof string", shared, shared, true, false, false, validator.ErrProofReplayed},
		{"one store, another request's context", shared, shared, false, true, false, validator.ErrProofReplayed},
		{"one store, a context that is never done", shared, shared, false, false, true, validator.ErrProofReplayed},
		{"a store each", validator.NewMemoryReplayStore(10, clock), validator.NewMemoryReplayStore(10, clock), false, false, false, nil},
		{"one store that cannot be compared", mapStore{}, nil, false, false, false, validator.ErrProofReplayed},
		{"one comparable store holding one that cannot be", wrappedStore{mapStore{}, "x"}, nil, false, false, false, validator.ErrProofReplayed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.inner == nil {
				tt.inner = tt.outer
			}
			outer := newValidator(t, validator.WithDPoPReplayStore(tt.outer))
			inner := newValidator(t, validator.WithDPoPReplayStore(tt.inner))
			p := key.proof("GET", apiURL, tok, nil, nil)
			pres := validator.Presentation{Scheme: validator.SchemeDPoP, Token: tok, Proof: p, Method: "GET", URL: apiURL}
			request, cancel := context.WithCancel(t.Context()) // a server's request context
			defer cancel()
			if tt.neverDone {
				request = context.Background()
			}
			accepted, err := outer.ValidatePresentation(request, pres)
			if err != nil {
				t.Fatalf("outer: %v", err)
			}
			if tt.copied {
				pres.Proof = strings.Clone(p)
			}
			if tt.otherRequest {
				var cancel2 context.CancelFunc
				request, cancel2 = context.WithCancel(t.Context())
				defer cancel2()
			}
			if _, err := inner.ValidatePresentation(validator.NewContext(request, accepted), pres); !errors.Is(err, tt.want) && (tt.want != nil || err != nil) {
				t.Fatalf("inner, under the outer's token: %v, want %v", err, tt.want)
			}
			// Any later request with the proof is a replay, to either.
			pres.Proof = p
			for name, v := range map[string]*validator.Validator{"outer": outer, "inner": inner} {
				if _, err := v.ValidatePresentation(t.Context(), pres); !errors.Is(err, validator.ErrProofReplayed) {
					t.Errorf("%s, replayed: %v", name, err)
				}
			}
		})
	}
}

// Over HTTP/2 hpack hands a repeated header value to the next request on a
// connection as the very same string: a token kept by middleware from one
// request and planted in the next, which replays its proof, must not let
// the replay through (the mark holds the request context's Done channel,
// which no other request shares).
func TestProofReplayOverHTTP2UnderKeptToken(t *testing.T) {
	loadKeys(t)
	key := newProofKey(t)
	tok := bound(key.thumbprint())
	v := newValidator(t)
	var mu sync.Mutex
	var kept *validator.Token
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		mu.Lock()
		if kept != nil {
			ctx = validator.NewContext(ctx, kept) // middleware that carries a token over
		}
		mu.Unlock()
		got, err := v.ValidatePresentation(ctx, validator.Presentation{Scheme: validator.SchemeDPoP,
			Token: tok, Proof: r.Header.Get("DPoP"), Method: "GET", URL: apiURL})
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		kept = got
		mu.Unlock()
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	p := key.proof("GET", apiURL, tok, nil, nil)
	for i, want := range []int{http.StatusOK, http.StatusUnauthorized} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL, nil)
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", p)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("request %d over %s, want HTTP/2", i+1, resp.Proto)
		}
		if resp.StatusCode != want {
			t.Errorf("request %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
}

// TestProofReplayAtTheCaps: with the largest leeway and proof window New
// accepts, a proof is remembered past its acceptance and refused the second
// time. Past the caps the record's expiry overflowed into the past and the
// store forgot the proof at once (SECURITY.md 102).
func TestProofReplayAtTheCaps(t *testing.T) {
	loadKeys(t)
	key := newProofKey(t)
	tok := bound(key.thumbprint())
	v := newValidator(t, validator.WithLeeway(validator.MaxLeeway), validator.WithDPoPProofWindow(validator.MaxProofWindow))
	p := validator.Presentation{Scheme: validator.SchemeDPoP, Token: tok, Method: "GET", URL: apiURL,
		Proof: key.proof("GET", apiURL, tok, nil, nil)}
	if _, err := v.ValidatePresentation(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if _, err := v.ValidatePresentation(t.Context(), p); !errors.Is(err, validator.ErrProofReplayed) {
		t.Errorf("the proof again: %v, want ErrProofReplayed", err)
	}
}
