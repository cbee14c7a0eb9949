package bearertest_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/validator"
)

// decodedJWS is a compact JWS taken apart, without checking anything.
type decodedJWS struct {
	header, claims map[string]any
	input          string // the signing input
	sig            []byte
}

func decodeJWS(t *testing.T, tok string) decodedJWS {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%d parts in %q", len(parts), tok)
	}
	var d decodedJWS
	for i, dst := range []*map[string]any{&d.header, &d.claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	d.input, d.sig = parts[0]+"."+parts[1], sig
	return d
}

// b64 decodes a base64url member of a JWK.
func b64(jwk map[string]any, name string) ([]byte, error) {
	s, ok := jwk[name].(string)
	if !ok {
		return nil, fmt.Errorf("no %q", name)
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// jwkPublicKey turns a public JWK into a key, with the standard library.
func jwkPublicKey(jwk map[string]any) (crypto.PublicKey, error) {
	switch jwk["kty"] {
	case "EC":
		curves := map[any]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}
		curve, ok := curves[jwk["crv"]]
		if !ok {
			return nil, fmt.Errorf("crv %v", jwk["crv"])
		}
		x, err1 := b64(jwk, "x")
		y, err2 := b64(jwk, "y")
		size := (curve.Params().BitSize + 7) / 8
		if err := errors.Join(err1, err2); err != nil || len(x) != size || len(y) != size {
			return nil, fmt.Errorf("x, y of %d and %d bytes, want %d: %v", len(x), len(y), size, err)
		}
		return ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
	case "RSA":
		n, err1 := b64(jwk, "n")
		e, err2 := b64(jwk, "e")
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	case "OKP":
		x, err := b64(jwk, "x")
		if err != nil || jwk["crv"] != "Ed25519" || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("OKP key %v: %v", jwk, err)
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("kty %v", jwk["kty"])
}

// verifyJWS checks a signature made with alg (RFC 7518 §3), with the
// standard library.
func verifyJWS(alg validator.Algorithm, pub crypto.PublicKey, input string, sig []byte) error {
	if alg == validator.EdDSA {
		if k, ok := pub.(ed25519.PublicKey); ok && ed25519.Verify(k, []byte(input), sig) {
			return nil
		}
		return errors.New("EdDSA signature does not verify")
	}
	hashes := map[string]crypto.Hash{"256": crypto.SHA256, "384": crypto.SHA384, "512": crypto.SHA512}
	hash, ok := hashes[string(alg[2:])]
	if !ok {
		return fmt.Errorf("alg %s", alg)
	}
	h := hash.New()
	h.Write([]byte(input))
	digest := h.Sum(nil)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch alg[:2] {
		case "RS":
			return rsa.VerifyPKCS1v15(k, hash, digest, sig)
		case "PS":
			return rsa.VerifyPSS(k, hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: hash})
		}
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		if alg[:2] != "ES" || len(sig) != 2*size {
			return fmt.Errorf("%s signature of %d bytes for a %d-byte curve", alg, len(sig), size)
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		if ecdsa.Verify(k, digest, r, s) {
			return nil
		}
		return errors.New("ECDSA signature does not verify")
	}
	return fmt.Errorf("%s with a %T", alg, pub)
}

// jwkThumbprint is RFC 7638 §3 written out: the required members, in
// lexicographic order, without whitespace.
func jwkThumbprint(jwk map[string]any) string {
	var canonical string
	switch jwk["kty"] {
	case "EC":
		canonical = fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`, jwk["crv"], jwk["x"], jwk["y"])
	case "RSA":
		canonical = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, jwk["e"], jwk["n"])
	case "OKP":
		canonical = fmt.Sprintf(`{"crv":%q,"kty":"OKP","x":%q}`, jwk["crv"], jwk["x"])
	}
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestJWKThumbprintHelperRFC7638(t *testing.T) {
	// The test's own thumbprint, on the RFC 7638 §3.1 key.
	jwk := map[string]any{"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
		"n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}
	if got, want := jwkThumbprint(jwk), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("jwkThumbprint = %q, want %q", got, want)
	}
}

var proofAlgorithms = []struct {
	alg      validator.Algorithm // asked for
	want     validator.Algorithm // in "alg"
	kty, crv string
}{
	{"", validator.ES256, "EC", "P-256"},
	{validator.ES256, validator.ES256, "EC", "P-256"},
	{validator.ES384, validator.ES384, "EC", "P-384"},
	{validator.ES512, validator.ES512, "EC", "P-521"},
	{validator.RS256, validator.RS256, "RSA", ""},
	{validator.RS384, validator.RS384, "RSA", ""},
	{validator.RS512, validator.RS512, "RSA", ""},
	{validator.PS256, validator.PS256, "RSA", ""},
	{validator.PS384, validator.PS384, "RSA", ""},
	{validator.PS512, validator.PS512, "RSA", ""},
	{validator.EdDSA, validator.EdDSA, "OKP", "Ed25519"},
}

// A proof of every algorithm verifies, with the standard library, against
// the key it embeds, and says what RFC 9449 §4.2 asks.
func TestDPoPProofVerifies(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, tt := range proofAlgorithms {
		t.Run(string(tt.want)+"/"+string(tt.alg), func(t *testing.T) {
			t.Parallel()
			k, err := bearertest.NewDPoPKey(tt.alg)
			if err != nil {
				t.Fatal(err)
			}
			k.SetClock(func() time.Time { return now })
			if k.Algorithm() != tt.want {
				t.Errorf("Algorithm() = %s, want %s", k.Algorithm(), tt.want)
			}
			proof, err := k.Proof("GET", "https://api.example.com/orders/7", "the-access-token")
			if err != nil {
				t.Fatal(err)
			}
			d := decodeJWS(t, proof)

			jwk, _ := d.header["jwk"].(map[string]any)
			if d.header["typ"] != "dpop+jwt" || d.header["alg"] != string(tt.want) || len(d.header) != 3 {
				t.Errorf("header %v, want typ dpop+jwt, alg %s, jwk and nothing else", d.header, tt.want)
			}
			if !reflect.DeepEqual(jwk, k.PublicJWK()) {
				t.Errorf("header jwk %v, PublicJWK %v", jwk, k.PublicJWK())
			}
			members := map[string][]string{"EC": {"crv", "kty", "x", "y"}, "RSA": {"e", "kty", "n"}, "OKP": {"crv", "kty", "x"}}[tt.kty]
			if got := slices.Sorted(maps.Keys(jwk)); !reflect.DeepEqual(got, members) || jwk["kty"] != tt.kty || tt.crv != "" && jwk["crv"] != tt.crv {
				t.Errorf("jwk %v, want kty %s, crv %q and members %v", jwk, tt.kty, tt.crv, members)
			}
			pub, err := jwkPublicKey(jwk)
			if err != nil {
				t.Fatal(err)
			}
			if err := verifyJWS(tt.want, pub, d.input, d.sig); err != nil {
				t.Errorf("signature: %v", err)
			}
			if !publicEqual(pub, k.Public()) {
				t.Errorf("the jwk is not Public()")
			}
			if got, want := k.Thumbprint(), jwkThumbprint(jwk); got != want {
				t.Errorf("Thumbprint() = %q, want %q", got, want)
			}

			sum := sha256.Sum256([]byte("the-access-token"))
			want := map[string]any{
				"htm": "GET", "htu": "https://api.example.com/orders/7", "iat": float64(now.Unix()),
				"ath": base64.RawURLEncoding.EncodeToString(sum[:]), "jti": d.claims["jti"],
			}
			if jti, _ := d.claims["jti"].(string); len(jti) < 16 || !reflect.DeepEqual(d.claims, want) {
				t.Errorf("claims %v, want %v with a random jti", d.claims, want)
			}
		})
	}
}

func publicEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

func TestDPoPProofDefaults(t *testing.T) {
	k := bearertest.MustDPoPKey(t, validator.ES256)
	tests := []struct {
		name, method, url, token string
		htu                      string
		ath                      bool
	}{
		{"query stripped", "GET", "https://api.example.com/orders?page=2&q=a", "tok", "https://api.example.com/orders", true},
		{"fragment stripped", "PUT", "https://api.example.com/orders#top", "tok", "https://api.example.com/orders", true},
		{"query and fragment stripped", "DELETE", "https://api.example.com/a/b?x=1#f?g", "tok", "https://api.example.com/a/b", true},
		{"path kept as given", "GET", "https://API.example.com:443/a/%7Eb/", "tok", "https://API.example.com:443/a/%7Eb/", true},
		{"no access token, no ath", "POST", "https://as.example.com/token", "", "https://as.example.com/token", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decodeJWS(t, k.MustProof(t, tt.method, tt.url, tt.token))
			if d.claims["htm"] != tt.method || d.claims["htu"] != tt.htu {
				t.Errorf("htm %v, htu %v; want %s, %s", d.claims["htm"], d.claims["htu"], tt.method, tt.htu)
			}
			if _, ok := d.claims["ath"]; ok != tt.ath {
				t.Errorf("ath present: %v, want %v", ok, tt.ath)
			}
		})
	}

	// jti is fresh per proof; iat follows the key's clock, and nil
	// restores time.Now.
	a, b := decodeJWS(t, k.MustProof(t, "GET", "https://x/", "")), decodeJWS(t, k.MustProof(t, "GET", "https://x/", ""))
	if a.claims["jti"] == b.claims["jti"] {
		t.Errorf("two proofs with jti %v", a.claims["jti"])
	}
	k.SetClock(func() time.Time { return time.Unix(42, 0) })
	if d := decodeJWS(t, k.MustProof(t, "GET", "https://x/", "")); d.claims["iat"] != float64(42) {
		t.Errorf("iat %v with the clock at 42", d.claims["iat"])
	}
	k.SetClock(nil)
	before := time.Now().Unix()
	iat, _ := decodeJWS(t, k.MustProof(t, "GET", "https://x/", "")).claims["iat"].(float64)
	if int64(iat) < before || int64(iat) > time.Now().Unix() {
		t.Errorf("iat %v after SetClock(nil), want now", iat)
	}
}

// Each ProofOption changes what it says and nothing else.
func TestProofOptions(t *testing.T) {
	k := bearertest.MustDPoPKey(t, validator.ES256)
	other := bearertest.MustDPoPKey(t, validator.ES256)
	otherRSA := bearertest.MustDPoPKey(t, validator.RS256)
	k.SetClock(func() time.Time { return time.Unix(1_700_000_000, 0) })
	base := []bearertest.ProofOption{bearertest.ProofJTI("fixed")}
	const method, target, token = "POST", "https://api.example.com/orders", "tok"
	baseline := decodeJWS(t, k.MustProof(t, method, target, token, base...))
	privateJWK := k.PublicJWK()
	privateJWK["d"] = "bm90LXJlYWxseS1wcml2YXRl"
	later := time.Unix(1_800_000_000, 0)

	tests := []struct {
		name   string
		opts   []bearertest.ProofOption
		header func(h map[string]any)
		claims func(c map[string]any)
		signer *bearertest.DPoPKey // whose key verifies the signature (default k)
	}{
		{"none", nil, nil, nil, nil},
		{"ProofNonce", []bearertest.ProofOption{bearertest.ProofNonce("n-1")}, nil,
			func(c map[string]any) { c["nonce"] = "n-1" }, nil},
		{"ProofIssuedAt", []bearertest.ProofOption{bearertest.ProofIssuedAt(later)}, nil,
			func(c map[string]any) { c["iat"] = float64(later.Unix()) }, nil},
		{"ProofJTI, the last one wins", []bearertest.ProofOption{bearertest.ProofJTI("again")}, nil,
			func(c map[string]any) { c["jti"] = "again" }, nil},
		{"ProofClaims overrides", []bearertest.ProofOption{bearertest.ProofClaims(map[string]any{"htm": "GET", "htu": "https://evil.example/"})}, nil,
			func(c map[string]any) { c["htm"], c["htu"] = "GET", "https://evil.example/" }, nil},
		{"ProofClaims adds", []bearertest.ProofOption{bearertest.ProofClaims(map[string]any{"extra": []any{"a", 1.0}})}, nil,
			func(c map[string]any) { c["extra"] = []any{"a", 1.0} }, nil},
		{"ProofClaims removes", []bearertest.ProofOption{bearertest.ProofClaims(map[string]any{"ath": nil, "jti": nil})}, nil,
			func(c map[string]any) { delete(c, "ath"); delete(c, "jti") }, nil},
		{"ProofClaims over ProofNonce and ProofIssuedAt", []bearertest.ProofOption{
			bearertest.ProofClaims(map[string]any{"nonce": "claims", "iat": nil}), bearertest.ProofNonce("option"), bearertest.ProofIssuedAt(later),
		}, nil, func(c map[string]any) { c["nonce"] = "claims"; delete(c, "iat") }, nil},
		{"ProofClaims merge", []bearertest.ProofOption{
			bearertest.ProofClaims(map[string]any{"a": "1", "b": "1"}), bearertest.ProofClaims(map[string]any{"b": "2"}),
		}, nil, func(c map[string]any) { c["a"], c["b"] = "1", "2" }, nil},
		{"ProofHeader typ", []bearertest.ProofOption{bearertest.ProofHeader("typ", "JWT")},
			func(h map[string]any) { h["typ"] = "JWT" }, nil, nil},
		{"ProofHeader removes typ", []bearertest.ProofOption{bearertest.ProofHeader("typ", nil)},
			func(h map[string]any) { delete(h, "typ") }, nil, nil},
		{"ProofHeader alg lies", []bearertest.ProofOption{bearertest.ProofHeader("alg", "HS256")},
			func(h map[string]any) { h["alg"] = "HS256" }, nil, nil},
		{"ProofHeader private jwk", []bearertest.ProofOption{bearertest.ProofHeader("jwk", privateJWK)},
			func(h map[string]any) { h["jwk"].(map[string]any)["d"] = privateJWK["d"] }, nil, nil},
		{"ProofHeader removes jwk", []bearertest.ProofOption{bearertest.ProofHeader("jwk", nil)},
			func(h map[string]any) { delete(h, "jwk") }, nil, nil},
		{"ProofHeader adds kid", []bearertest.ProofOption{bearertest.ProofHeader("kid", "k1")},
			func(h map[string]any) { h["kid"] = "k1" }, nil, nil},
		{"ProofSignedBy", []bearertest.ProofOption{bearertest.ProofSignedBy(other)}, nil, nil, other},
		{"ProofSignedBy another algorithm", []bearertest.ProofOption{bearertest.ProofSignedBy(otherRSA)},
			func(h map[string]any) { h["alg"] = "RS256" }, nil, otherRSA},
		{"ProofSignedBy with ProofHeader alg", []bearertest.ProofOption{bearertest.ProofSignedBy(otherRSA), bearertest.ProofHeader("alg", "ES256")},
			nil, nil, otherRSA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decodeJWS(t, k.MustProof(t, method, target, token, append(base, tt.opts...)...))
			wantHeader, wantClaims := deepCopy(t, baseline.header), deepCopy(t, baseline.claims)
			if tt.header != nil {
				tt.header(wantHeader)
			}
			if tt.claims != nil {
				tt.claims(wantClaims)
			}
			if !reflect.DeepEqual(d.header, wantHeader) {
				t.Errorf("header %v, want %v", d.header, wantHeader)
			}
			if !reflect.DeepEqual(d.claims, wantClaims) {
				t.Errorf("claims %v, want %v", d.claims, wantClaims)
			}
			signer := tt.signer
			if signer == nil {
				signer = k
			}
			if err := verifyJWS(signer.Algorithm(), signer.Public(), d.input, d.sig); err != nil {
				t.Errorf("signature by %s key: %v", signer.Algorithm(), err)
			}
			if signer != k {
				if err := verifyJWS(k.Algorithm(), k.Public(), d.input, d.sig); err == nil {
					t.Error("the signature verifies with the embedded key")
				}
			}
		})
	}
}

func deepCopy(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDPoPErrors(t *testing.T) {
	k := bearertest.MustDPoPKey(t, "")
	var unencodable *json.UnsupportedTypeError
	tests := []struct {
		name    string
		call    func() error
		is      error
		as      any
		message string
	}{
		{"NewDPoPKey HS256", func() error { _, err := bearertest.NewDPoPKey(validator.HS256); return err },
			bearertest.ErrUnsupportedAlgorithm, nil, "bearertest: generating a DPoP HS256 key: unsupported algorithm HS256"},
		{"NewDPoPKey none", func() error { _, err := bearertest.NewDPoPKey("none"); return err },
			bearertest.ErrUnsupportedAlgorithm, nil, "bearertest: generating a DPoP none key: unsupported algorithm none"},
		{"Proof unencodable claim", func() error {
			_, err := k.Proof("GET", "https://x/", "", bearertest.ProofClaims(map[string]any{"x": make(chan int)}))
			return err
		}, nil, &unencodable, "bearertest: DPoP proof: json: unsupported type: chan int"},
		{"Proof unencodable header", func() error {
			_, err := k.Proof("GET", "https://x/", "", bearertest.ProofHeader("x", func() {}))
			return err
		}, nil, &unencodable, "bearertest: DPoP proof: json: unsupported type: func()"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if tt.as != nil && !errors.As(err, tt.as) {
				t.Errorf("errors.As(%v, %T) = false", err, tt.as)
			}
			if err.Error() != tt.message {
				t.Errorf("error %q, want %q", err, tt.message)
			}
		})
	}
}

// introspection asks iss's introspection endpoint about token, as client
// "api", for a JSON answer, or for a signed one (RFC 9701) whose
// "token_introspection" it returns.
func introspection(t *testing.T, iss *bearertest.Issuer, token string, signed bool) map[string]any {
	t.Helper()
	req, err := http.NewRequest("POST", iss.IntrospectionURL(), strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("api", "api-secret")
	if signed {
		req.Header.Set("Accept", "application/token-introspection+jwt")
	}
	resp, err := iss.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspection: %s", resp.Status)
	}
	if signed {
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := decodeJWS(t, string(body)).claims["token_introspection"].(map[string]any)
		return answer
	}
	var answer map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatal(err)
	}
	return answer
}

// Bound tokens carry "cnf" in the JWT and in introspection answers, plain
// and signed; "token_type" is DPoP for a token bound to a DPoP key.
func TestBoundTokens(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "api", Secret: "api-secret"})
	k := bearertest.MustDPoPKey(t, validator.ES256)
	ca := bearertest.MustClientCA(t)
	_, leaf := ca.MustIssue(t, "billing")
	jkt, x5t := k.Thumbprint(), bearertest.CertThumbprint(leaf)
	mint := func(claims bearertest.Claims, opts ...bearertest.MintOption) func(t *testing.T) string {
		return func(t *testing.T) string { return iss.Mint(t, claims, opts...) }
	}
	opaque := func(claims bearertest.Claims) func(t *testing.T) string {
		return func(t *testing.T) string { return iss.Opaque(t, claims) }
	}

	tests := []struct {
		name      string
		token     func(t *testing.T) string
		jwt       bool
		cnf       map[string]any // nil: no "cnf"
		tokenType string
	}{
		{"unbound", mint(bearertest.Claims{"aud": "orders"}), true, nil, "Bearer"},
		{"BoundToKey", mint(bearertest.Claims{"aud": "orders"}, bearertest.BoundToKey(k)), true,
			map[string]any{"jkt": jkt}, "DPoP"},
		{"BoundToCertificate", mint(bearertest.Claims{"aud": "orders"}, bearertest.BoundToCertificate(leaf)), true,
			map[string]any{"x5t#S256": x5t}, "Bearer"},
		{"both", mint(bearertest.Claims{"aud": "orders"}, bearertest.BoundToCertificate(leaf), bearertest.BoundToKey(k)), true,
			map[string]any{"jkt": jkt, "x5t#S256": x5t}, "DPoP"},
		{"a cnf claim replaces BoundToKey", mint(bearertest.Claims{"cnf": map[string]any{"jkt": "other"}}, bearertest.BoundToKey(k)), true,
			map[string]any{"jkt": "other"}, "DPoP"},
		{"a nil cnf claim removes it", mint(bearertest.Claims{"cnf": nil}, bearertest.BoundToKey(k)), true, nil, "Bearer"},
		{"a token_type claim wins", mint(bearertest.Claims{"token_type": "N_A"}, bearertest.BoundToKey(k)), true,
			map[string]any{"jkt": jkt}, "N_A"},
		{"opaque, jkt", opaque(bearertest.Claims{"cnf": map[string]any{"jkt": jkt}}), false,
			map[string]any{"jkt": jkt}, "DPoP"},
		{"opaque, jkt as Claims", opaque(bearertest.Claims{"cnf": bearertest.Claims{"jkt": jkt}}), false,
			map[string]any{"jkt": jkt}, "DPoP"},
		{"opaque, x5t#S256", opaque(bearertest.Claims{"cnf": map[string]string{"x5t#S256": x5t}}), false,
			map[string]any{"x5t#S256": x5t}, "Bearer"},
		{"opaque, token_type set", opaque(bearertest.Claims{"cnf": map[string]any{"x5t#S256": x5t}, "token_type": "DPoP"}), false,
			map[string]any{"x5t#S256": x5t}, "DPoP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := tt.token(t)
			if tt.jwt {
				claims := decodeJWS(t, tok).claims
				if cnf, ok := claims["cnf"]; tt.cnf == nil && ok || tt.cnf != nil && !reflect.DeepEqual(cnf, tt.cnf) {
					t.Errorf("JWT cnf %v, want %v", cnf, tt.cnf)
				}
			}
			for _, signed := range []bool{false, true} {
				answer := introspection(t, iss, tok, signed)
				if answer["active"] != true || answer["token_type"] != tt.tokenType {
					t.Errorf("signed %v: active %v, token_type %v; want true, %s", signed, answer["active"], answer["token_type"], tt.tokenType)
				}
				if cnf, ok := answer["cnf"]; tt.cnf == nil && ok || tt.cnf != nil && !reflect.DeepEqual(cnf, tt.cnf) {
					t.Errorf("signed %v: introspection cnf %v, want %v", signed, cnf, tt.cnf)
				}
			}
		})
	}
}

// tokenRequest asks iss's token endpoint for a token for client "svc",
// with a DPoP header for each proof.
func tokenRequest(t *testing.T, iss *bearertest.Issuer, proofs ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", iss.TokenURL(), strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("svc", "svc-secret")
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	resp, err := iss.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// The token endpoint binds the tokens it issues to the key of a valid
// DPoP proof (RFC 9449 §5) and rejects invalid proofs.
func TestTokenEndpointDPoP(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	iss.AddClient(bearertest.ClientConfig{ID: "api", Secret: "api-secret"})
	k := bearertest.MustDPoPKey(t, validator.ES256)
	ed := bearertest.MustDPoPKey(t, validator.EdDSA)
	other := bearertest.MustDPoPKey(t, validator.ES256)
	privateJWK := k.PublicJWK()
	privateJWK["d"] = "bm90LXJlYWxseS1wcml2YXRl"
	proof := func(k *bearertest.DPoPKey, opts ...bearertest.ProofOption) func(t *testing.T) []string {
		return func(t *testing.T) []string { return []string{k.MustProof(t, "POST", iss.TokenURL(), "", opts...)} }
	}
	replayed := k.MustProof(t, "POST", iss.TokenURL(), "")

	tests := []struct {
		name   string
		proofs func(t *testing.T) []string
		jkt    string // the key bound; "" for an error
	}{
		{"ES256", proof(k), k.Thumbprint()},
		{"EdDSA", proof(ed), ed.Thumbprint()},
		{"with a nonce nobody asked for", proof(k, bearertest.ProofNonce("n")), k.Thumbprint()},
		{"first use", func(*testing.T) []string { return []string{replayed} }, k.Thumbprint()},
		{"replayed", func(*testing.T) []string { return []string{replayed} }, ""},
		{"two DPoP headers", func(t *testing.T) []string { return append(proof(k)(t), proof(k)(t)...) }, ""},
		{"not a JWS", func(*testing.T) []string { return []string{"not.a-jws"} }, ""},
		{"htm GET", proof(k, bearertest.ProofClaims(map[string]any{"htm": "GET"})), ""},
		{"htu elsewhere", proof(k, bearertest.ProofClaims(map[string]any{"htu": "https://elsewhere.example/oauth/token"})), ""},
		{"htu with a query", proof(k, bearertest.ProofClaims(map[string]any{"htu": iss.TokenURL() + "?x=1"})), ""},
		{"no jti", proof(k, bearertest.ProofClaims(map[string]any{"jti": nil})), ""},
		{"no iat", proof(k, bearertest.ProofClaims(map[string]any{"iat": nil})), ""},
		{"iat too old", proof(k, bearertest.ProofIssuedAt(time.Now().Add(-10*time.Minute))), ""},
		{"iat in the future", proof(k, bearertest.ProofIssuedAt(time.Now().Add(10*time.Minute))), ""},
		{"iat a little off", proof(k, bearertest.ProofIssuedAt(time.Now().Add(-time.Minute))), k.Thumbprint()},
		{"typ JWT", proof(k, bearertest.ProofHeader("typ", "JWT")), ""},
		{"alg none", proof(k, bearertest.ProofHeader("alg", "none")), ""},
		{"alg HS256", proof(k, bearertest.ProofHeader("alg", "HS256")), ""},
		{"no jwk", proof(k, bearertest.ProofHeader("jwk", nil)), ""},
		{"private jwk", proof(k, bearertest.ProofHeader("jwk", privateJWK)), ""},
		{"signed by another key", proof(k, bearertest.ProofSignedBy(other)), ""},
	}
	for _, opaque := range []bool{false, true} {
		iss.AddClient(bearertest.ClientConfig{ID: "svc", Secret: "svc-secret", Opaque: opaque})
		for _, tt := range tests {
			if opaque && tt.name == "replayed" {
				continue // "first use" used it up already
			}
			name := tt.name
			if opaque {
				name = "opaque/" + name
			}
			t.Run(name, func(t *testing.T) {
				proofs := tt.proofs(t)
				if opaque && tt.name == "first use" {
					proofs = proof(k)(t)
				}
				status, body := tokenRequest(t, iss, proofs...)
				if tt.jkt == "" {
					if status != http.StatusBadRequest || body["error"] != "invalid_dpop_proof" {
						t.Fatalf("%d %v, want 400 invalid_dpop_proof", status, body)
					}
					return
				}
				tok, _ := body["access_token"].(string)
				if status != http.StatusOK || body["token_type"] != "DPoP" || tok == "" {
					t.Fatalf("%d %v, want 200 and a DPoP token", status, body)
				}
				want := map[string]any{"jkt": tt.jkt}
				if !opaque {
					if cnf := decodeJWS(t, tok).claims["cnf"]; !reflect.DeepEqual(cnf, want) {
						t.Errorf("JWT cnf %v, want %v", cnf, want)
					}
				}
				answer := introspection(t, iss, tok, false)
				if answer["token_type"] != "DPoP" || !reflect.DeepEqual(answer["cnf"], want) {
					t.Errorf("introspection token_type %v, cnf %v; want DPoP, %v", answer["token_type"], answer["cnf"], want)
				}
			})
		}
	}

	// Without a proof, nothing changes.
	status, body := tokenRequest(t, iss)
	if status != http.StatusOK || body["token_type"] != "Bearer" {
		t.Errorf("without a proof: %d %v", status, body)
	}
	resp, err := iss.Client().Get(iss.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var meta map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil {
		t.Fatal(err)
	}
	if algs, _ := meta["dpop_signing_alg_values_supported"].([]any); len(algs) == 0 {
		t.Errorf("dpop_signing_alg_values_supported %v", meta["dpop_signing_alg_values_supported"])
	}
}

// A proof's iat follows the key's clock, which the token endpoint compares
// with the issuer's.
func TestTokenEndpointDPoPClock(t *testing.T) {
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	iss := bearertest.NewIssuer(t, bearertest.WithClock(func() time.Time { return past }))
	iss.AddClient(bearertest.ClientConfig{ID: "svc", Secret: "svc-secret", TTL: 100 * 365 * 24 * time.Hour})
	k := bearertest.MustDPoPKey(t, "")
	if status, body := tokenRequest(t, iss, k.MustProof(t, "POST", iss.TokenURL(), "")); status != http.StatusBadRequest {
		t.Errorf("proof on time.Now, issuer in 2020: %d %v, want 400", status, body)
	}
	k.SetClock(func() time.Time { return past })
	if status, body := tokenRequest(t, iss, k.MustProof(t, "POST", iss.TokenURL(), "")); status != http.StatusOK || body["token_type"] != "DPoP" {
		t.Errorf("proof on the issuer's clock: %d %v, want 200 DPoP", status, body)
	}
}

// The T forms report the error forms' errors with Fatalf, unchanged, and
// register no cleanups.
func TestBoundTFormsReport(t *testing.T) {
	rt := &recordingT{}
	k := bearertest.MustDPoPKey(rt, "")
	ca := bearertest.MustClientCA(rt)
	if len(rt.fatals) != 0 || k == nil || ca == nil {
		t.Fatalf("fatals %q", rt.fatals)
	}
	tests := []struct {
		name  string
		call  func()
		fatal string
	}{
		{"MustDPoPKey", func() { bearertest.MustDPoPKey(rt, validator.PS256) }, ""},
		{"MustDPoPKey HS256", func() { bearertest.MustDPoPKey(rt, validator.HS256) }, "bearertest: generating a DPoP HS256 key: unsupported algorithm HS256"},
		{"MustProof", func() { k.MustProof(rt, "GET", "https://x/", "tok") }, ""},
		{"MustProof unencodable", func() {
			k.MustProof(rt, "GET", "https://x/", "tok", bearertest.ProofClaims(map[string]any{"x": make(chan int)}))
		}, "bearertest: DPoP proof: json: unsupported type: chan int"},
		{"MustClientCA", func() { bearertest.MustClientCA(rt) }, ""},
		{"MustIssue", func() { ca.MustIssue(rt, "billing") }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fatals := len(rt.fatals)
			tt.call()
			got := rt.fatals[fatals:]
			switch {
			case tt.fatal == "" && len(got) != 0:
				t.Errorf("Fatalf %q, want none", got)
			case tt.fatal != "" && (len(got) != 1 || got[0] != tt.fatal):
				t.Errorf("Fatalf %q, want %q", got, tt.fatal)
			}
		})
	}
	if len(rt.cleanups) != 0 {
		t.Errorf("%d cleanups registered, want none", len(rt.cleanups))
	}
}
