package bearerguard_test

// The attack matrix: hostile tokens built with an independent encoder
// (internal/jwstest: the standard library only, none of this module's or
// jwx's code paths), checked for their exact error reason and for the exact HTTP answer
// through each adapter (net/http, Gin, Echo).

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"

	"github.com/bearerguard/bearerguard/adapters/echobearer"
	"github.com/bearerguard/bearerguard/adapters/ginbearer"
	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// rsaJWK renders an RSA public key as a JWK, by hand.
func rsaJWK(kid string, k *rsa.PublicKey, extra map[string]any) map[string]any {
	m := map[string]any{"kty": "RSA", "kid": kid, "n": jwstest.Encode(k.N.Bytes()), "e": jwstest.Encode(big.NewInt(int64(k.E)).Bytes())}
	for a, b := range extra {
		m[a] = b
	}
	return m
}

func ecJWK(kid string, k *ecdsa.PublicKey) map[string]any {
	p, _ := k.Bytes()
	return map[string]any{"kty": "EC", "crv": "P-256", "kid": kid, "x": jwstest.Encode(p[1:33]), "y": jwstest.Encode(p[33:])}
}

type attackCase struct {
	name   string
	token  string   // sent as "Bearer <token>" unless header is set
	header []string // raw Authorization header values, for request-level tricks
	query  string   // raw query string
	reason error    // Validate's error (nil: request-level case, not validated directly)
	status int      // HTTP status through every adapter
	code   string   // RFC 6750 error code in WWW-Authenticate ("" for none)
}

func TestAttackMatrix(t *testing.T) {
	gin.SetMode(gin.TestMode)
	trusted, _ := rsa.GenerateKey(rand.Reader, 2048)
	bound, _ := rsa.GenerateKey(rand.Reader, 2048)
	attacker, _ := rsa.GenerateKey(rand.Reader, 2048)
	encKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	leaked, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecTrusted, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecAttacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edTrusted, _ := ed25519.GenerateKey(rand.Reader)
	octSecret := []byte("a-symmetric-key-published-in-the-jwks-32b")

	// The issuer's JWKS, with traps: a symmetric key, an encryption key,
	// a published private key, and an algorithm-bound key.
	leakedJWK := rsaJWK("leaked-1", &leaked.PublicKey, map[string]any{"d": jwstest.Encode(leaked.D.Bytes()),
		"p": jwstest.Encode(leaked.Primes[0].Bytes()), "q": jwstest.Encode(leaked.Primes[1].Bytes())})
	doc := jwstest.JSON(map[string]any{"keys": []any{
		rsaJWK("rsa-1", &trusted.PublicKey, nil),
		rsaJWK("rsa-bound", &bound.PublicKey, map[string]any{"alg": "RS256"}),
		ecJWK("ec-1", &ecTrusted.PublicKey),
		map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "x": jwstest.Encode(edTrusted.Public().(ed25519.PublicKey))},
		map[string]any{"kty": "oct", "kid": "hmac-trap", "k": jwstest.Encode(octSecret)},
		rsaJWK("enc-1", &encKey.PublicKey, map[string]any{"use": "enc"}),
		leakedJWK,
	}})
	jwksSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, doc)
	}))
	t.Cleanup(jwksSrv.Close)
	const iss = "https://issuer.example.com/"
	keys, err := jwks.New(jwksSrv.URL+"/jwks", jwks.WithHTTPClient(jwksSrv.Client()), jwks.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	v, err := validator.New(validator.WithIssuer(iss, keys), validator.WithAudience("orders"), validator.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}

	now := time.Now().Unix()
	claims := func(over map[string]any) string {
		return jwstest.Claims(map[string]any{"iss": iss, "aud": "orders", "sub": "svc", "client_id": "svc", "exp": now + 600, "iat": now - 10, "scope": "read:data"}, over)
	}
	good := claims(nil)
	rsHdr := `{"alg":"RS256","kid":"rsa-1"}`
	pubDER, _ := x509.MarshalPKIXPublicKey(&trusted.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	attackerJWK := jwstest.JSON(rsaJWK("", &attacker.PublicKey, nil))
	valid := jwstest.Token(rsHdr, good, jwstest.RS(trusted, crypto.SHA256))
	n := ecTrusted.Curve.Params().N.FillBytes(make([]byte, 32))

	const bad, malformedReq = 401, 400
	const it, ir = "invalid_token", "invalid_request"
	cases := []attackCase{
		// alg tricks.
		{"alg none", jwstest.Token(`{"alg":"none"}`, good, jwstest.Fixed(nil)), nil, "", validator.ErrAlgorithm, bad, it},
		{"alg None", jwstest.Token(`{"alg":"None","kid":"rsa-1"}`, good, jwstest.Fixed(nil)), nil, "", validator.ErrAlgorithm, bad, it},
		{"alg NONE with a signature", jwstest.Token(`{"alg":"NONE"}`, good, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrAlgorithm, bad, it},
		{"alg nOnE", jwstest.Token(`{"alg":"nOnE"}`, good, jwstest.Fixed(nil)), nil, "", validator.ErrAlgorithm, bad, it},
		{"alg missing", jwstest.Token(`{"kid":"rsa-1"}`, good, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrAlgorithm, bad, it},
		{"alg lowercase", jwstest.Token(`{"alg":"rs256","kid":"rsa-1"}`, good, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrAlgorithm, bad, it},
		{"alg with trailing space", jwstest.Token(`{"alg":"RS256 ","kid":"rsa-1"}`, good, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrAlgorithm, bad, it},
		{"alg as array", jwstest.Token(`{"alg":["RS256"],"kid":"rsa-1"}`, good, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrMalformed, bad, it},
		{"HS256 keyed with the RSA public key PEM", jwstest.Token(`{"alg":"HS256","kid":"rsa-1"}`, good, jwstest.HS(pubPEM, crypto.SHA256)), nil, "", validator.ErrAlgorithm, bad, it},
		{"HS256 keyed with the RSA modulus", jwstest.Token(`{"alg":"HS256","kid":"rsa-1"}`, good, jwstest.HS(trusted.N.Bytes(), crypto.SHA256)), nil, "", validator.ErrAlgorithm, bad, it},
		{"HS256 keyed with the JWKS oct key", jwstest.Token(`{"alg":"HS256","kid":"hmac-trap"}`, good, jwstest.HS(octSecret, crypto.SHA256)), nil, "", validator.ErrAlgorithm, bad, it},
		{"ES256 header on the RSA kid", jwstest.Token(`{"alg":"ES256","kid":"rsa-1"}`, good, jwstest.ES(ecAttacker, crypto.SHA256)), nil, "", validator.ErrUnknownKey, bad, it},
		{"RS256 header on the EC kid", jwstest.Token(`{"alg":"RS256","kid":"ec-1"}`, good, jwstest.RS(attacker, crypto.SHA256)), nil, "", validator.ErrUnknownKey, bad, it},
		{"PS256 on a key bound to RS256", jwstest.Token(`{"alg":"PS256","kid":"rsa-bound"}`, good, jwstest.RS(bound, crypto.SHA256)), nil, "", validator.ErrUnknownKey, bad, it},
		{"ES384 on a P-256 key", jwstest.Token(`{"alg":"ES384","kid":"ec-1"}`, good, jwstest.Fixed(make([]byte, 96))), nil, "", validator.ErrUnknownKey, bad, it},
		{"EdDSA header on the RSA kid", jwstest.Token(`{"alg":"EdDSA","kid":"rsa-1"}`, good, jwstest.Fixed(make([]byte, 64))), nil, "", validator.ErrUnknownKey, bad, it},
		// Extensions and formats.
		{"crit", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","crit":["exp"],"exp":1}`, good, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrUnsupported, bad, it},
		{"b64 false", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","b64":false,"crit":["b64"]}`, good, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrUnsupported, bad, it},
		{"enc in a JWS header", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","enc":"A128GCM"}`, good, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrUnsupported, bad, it},
		{"nested JWT", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","cty":"JWT"}`, good, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrUnsupported, bad, it},
		{"JWE compact", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d", nil, "", validator.ErrUnsupported, bad, it},
		{"typ dpop+jwt", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","typ":"dpop+jwt"}`, good, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrType, bad, it},
		{"typ secevent+jwt", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","typ":"secevent+jwt"}`, good, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrType, bad, it},
		{"duplicate alg", jwstest.Token(`{"alg":"none","alg":"RS256","kid":"rsa-1"}`, good, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrMalformed, bad, it},
		// Escaped and case-folded names are compared once the signature
		// holds (before it, the last "kid" chooses the key).
		{"duplicate kid, escaped", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","\u006bid":"rsa-1"}`, good, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrMalformed, bad, it},
		{"duplicate kid, escaped, naming another key", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","\u006bid":"ec-1"}`, good, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrUnknownKey, bad, it},
		{"duplicate kid in capitals", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","KID":"ec-1"}`, good, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrMalformed, bad, it},
		// Keys from the token.
		{"embedded jwk, attacker key", jwstest.Token(`{"alg":"RS256","jwk":`+attackerJWK+`}`, good, jwstest.RS(attacker, crypto.SHA256)), nil, "", validator.ErrUnknownKey, bad, it},
		{"embedded jwk with a trusted kid", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","jwk":`+attackerJWK+`}`, good, jwstest.RS(attacker, crypto.SHA256)), nil, "", validator.ErrSignature, bad, it},
		{"jku to the attacker", jwstest.Token(`{"alg":"RS256","kid":"evil","jku":"https://evil.example/jwks"}`, good, jwstest.RS(attacker, crypto.SHA256)), nil, "", validator.ErrUnknownKey, bad, it},
		{"x5u to the attacker", jwstest.Token(`{"alg":"RS256","kid":"evil","x5u":"https://evil.example/c.pem"}`, good, jwstest.RS(attacker, crypto.SHA256)), nil, "", validator.ErrUnknownKey, bad, it},
		{"x5c attacker chain", jwstest.Token(`{"alg":"RS256","x5c":["MIIBIjANBg"]}`, good, jwstest.RS(attacker, crypto.SHA256)), nil, "", validator.ErrUnknownKey, bad, it},
		// Key-set tricks.
		{"kid of an encryption key", jwstest.Token(`{"alg":"RS256","kid":"enc-1"}`, good, jwstest.RS(encKey, crypto.SHA256)), nil, "", validator.ErrUnknownKey, bad, it},
		{"kid of a published private key", jwstest.Token(`{"alg":"RS256","kid":"leaked-1"}`, good, jwstest.RS(leaked, crypto.SHA256)), nil, "", validator.ErrUnknownKey, bad, it},
		{"kid unknown", jwstest.Token(`{"alg":"RS256","kid":"rotated-away"}`, good, jwstest.RS(attacker, crypto.SHA256)), nil, "", validator.ErrUnknownKey, bad, it},
		{"kid path traversal", jwstest.Token(`{"alg":"RS256","kid":"../../../etc/passwd"}`, good, jwstest.RS(attacker, crypto.SHA256)), nil, "", validator.ErrUnknownKey, bad, it},
		{"kid 300 bytes", jwstest.Token(`{"alg":"RS256","kid":"`+strings.Repeat("k", 300)+`"}`, good, jwstest.RS(attacker, crypto.SHA256)), nil, "", validator.ErrUnknownKey, bad, it},
		{"kid as number", jwstest.Token(`{"alg":"RS256","kid":1}`, good, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrMalformed, bad, it},
		{"no kid, several RSA keys", jwstest.Token(`{"alg":"RS256"}`, good, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrUnknownKey, bad, it},
		// Signatures.
		{"trusted kid, attacker signature", jwstest.Token(rsHdr, good, jwstest.RS(attacker, crypto.SHA256)), nil, "", validator.ErrSignature, bad, it},
		{"ECDSA all-zero signature", jwstest.Token(`{"alg":"ES256","kid":"ec-1"}`, good, jwstest.Fixed(make([]byte, 64))), nil, "", validator.ErrSignature, bad, it},
		{"ECDSA r = s = n", jwstest.Token(`{"alg":"ES256","kid":"ec-1"}`, good, jwstest.Fixed(append(append([]byte{}, n...), n...))), nil, "", validator.ErrSignature, bad, it},
		{"ECDSA DER-encoded signature", jwstest.Token(`{"alg":"ES256","kid":"ec-1"}`, good, jwstest.ESASN1(ecTrusted, crypto.SHA256)), nil, "", validator.ErrSignature, bad, it},
		{"EdDSA all-zero signature", jwstest.Token(`{"alg":"EdDSA","kid":"ed-1"}`, good, jwstest.Fixed(make([]byte, 64))), nil, "", validator.ErrSignature, bad, it},
		{"empty signature", jwstest.StripSignature(valid), nil, "", validator.ErrSignature, bad, it},
		{"truncated signature", jwstest.TruncateSignature(valid, 10), nil, "", validator.ErrSignature, bad, it},
		{"payload spliced under a valid signature", jwstest.SwapClaims(valid, claims(map[string]any{"scope": "read:data admin"})), nil, "", validator.ErrSignature, bad, it},
		// Claims.
		{"expired", jwstest.Token(rsHdr, claims(map[string]any{"exp": now - 3600}), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrExpired, bad, it},
		{"exp missing", jwstest.Token(rsHdr, claims(map[string]any{"exp": nil}), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrExpired, bad, it},
		{"exp as string", jwstest.Token(rsHdr, claims(map[string]any{"exp": "99999999999"}), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrMalformed, bad, it},
		// 1e300 reads as year 5138 (an issuer's "never"); beyond float64 is malformed.
		{"exp beyond float64", jwstest.Token(rsHdr, claims(map[string]any{"exp": json.Number("1e400")}), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrMalformed, bad, it},
		{"nbf in the future", jwstest.Token(rsHdr, claims(map[string]any{"nbf": now + 3600}), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrNotYetValid, bad, it},
		{"iat in the future", jwstest.Token(rsHdr, claims(map[string]any{"iat": now + 3600}), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrNotYetValid, bad, it},
		{"iss missing", jwstest.Token(rsHdr, claims(map[string]any{"iss": nil}), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrIssuer, bad, it},
		{"iss of another issuer", jwstest.Token(rsHdr, claims(map[string]any{"iss": "https://evil.example/"}), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrIssuer, bad, it},
		{"iss without its trailing slash", jwstest.Token(rsHdr, claims(map[string]any{"iss": strings.TrimSuffix(iss, "/")}), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrIssuer, bad, it},
		{"aud of another API", jwstest.Token(rsHdr, claims(map[string]any{"aud": "payments"}), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrAudience, bad, it},
		{"aud missing", jwstest.Token(rsHdr, claims(map[string]any{"aud": nil}), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrAudience, bad, it},
		{"aud as number", jwstest.Token(rsHdr, claims(map[string]any{"aud": 1}), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrMalformed, bad, it},
		{"aud nested array", jwstest.Token(rsHdr, claims(map[string]any{"aud": [][]string{{"orders"}}}), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrMalformed, bad, it},
		{"duplicate exp", jwstest.Token(rsHdr, strings.Replace(good, `"exp":`, `"exp":99999999999,"exp":`, 1), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrMalformed, bad, it},
		{"duplicate exp, escaped name", jwstest.Token(rsHdr, strings.Replace(good, `"exp":`, `"\u0065xp":99999999999,"exp":`, 1), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrMalformed, bad, it},
		{"duplicate aud", jwstest.Token(rsHdr, strings.Replace(good, `"aud":`, `"aud":"payments","aud":`, 1), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrMalformed, bad, it},
		{"scope with a tab", jwstest.Token(rsHdr, claims(map[string]any{"scope": "read:data\tadmin"}), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrMalformed, bad, it},
		{"claims an array", jwstest.Token(rsHdr, `["orders"]`, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrMalformed, bad, it},
		{"claims with trailing garbage", jwstest.Token(rsHdr, good+`x`, jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrMalformed, bad, it},
		{"claims nested 100 deep", jwstest.Token(rsHdr, strings.Replace(good, `{`, `{"x":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`,`, 1), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrMalformed, bad, it},
		{"claims invalid UTF-8", jwstest.Token(rsHdr, strings.Replace(good, `"svc"`, "\"\xff\xfe\"", 1), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrMalformed, bad, it},
		// Encoding and size.
		{"base64 padding (not a b64token: 400 at the door)", jwstest.Pad(valid), nil, "", validator.ErrMalformed, malformedReq, ir},
		{"standard alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(valid) + "+/", nil, "", validator.ErrMalformed, bad, it},
		{"non-canonical trailing bits", valid[:strings.LastIndexByte(valid, '.')] + ".AB", nil, "", validator.ErrMalformed, bad, it},
		{"two segments", valid[:strings.LastIndexByte(valid, '.')], nil, "", validator.ErrMalformed, bad, it},
		{"four segments", valid + ".x", nil, "", validator.ErrMalformed, bad, it},
		{"JWS JSON serialization", "", []string{`Bearer {"payload":"e30","signatures":[]}`}, "", nil, malformedReq, ir},
		{"10,000 dots", strings.Repeat(".", 10_000), nil, "", validator.ErrTooLarge, bad, it},
		{"8 KiB + 1", jwstest.Token(rsHdr, claims(map[string]any{"pad": strings.Repeat("A", 8<<10)}), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrTooLarge, bad, it},
		{"100 KiB", jwstest.Token(rsHdr, claims(map[string]any{"pad": strings.Repeat("A", 100<<10)}), jwstest.RS(trusted, crypto.SHA256)), nil, "", validator.ErrTooLarge, bad, it},
		// Request tricks.
		{"two Authorization headers", "", []string{"Bearer " + valid, "Bearer " + valid}, "", nil, malformedReq, ir},
		{"Bearer alone", "", []string{"Bearer"}, "", nil, malformedReq, ir},
		{"token with a space inside", "", []string{"Bearer " + valid[:20] + " " + valid[20:]}, "", nil, malformedReq, ir},
		{"token then a second token", "", []string{"Bearer " + valid + ", Bearer " + valid}, "", nil, malformedReq, ir},
		{"token in the query when not enabled", "", nil, "access_token=" + valid, nil, malformedReq, ir},
		{"token in header and query", valid, nil, "access_token=" + valid, nil, malformedReq, ir},
	}
	if len(cases) < 50 {
		t.Fatalf("only %d hostile cases", len(cases))
	}
	// Sanity: the good token passes everywhere.
	if _, err := v.Validate(t.Context(), valid); err != nil {
		t.Fatalf("valid token refused: %v", err)
	}

	guard, err := httpbearer.New(v, httpbearer.WithRealm("orders"))
	if err != nil {
		t.Fatal(err)
	}
	ok := func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }
	need := scopes.All("read:data")
	mux := http.NewServeMux()
	mux.Handle("GET /data", guard.Require(need, http.HandlerFunc(ok)))
	gb, err := ginbearer.New(guard)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := echobearer.New(guard)
	if err != nil {
		t.Fatal(err)
	}
	g := gin.New()
	g.GET("/data", gb.Require(need), func(c *gin.Context) { c.String(200, "ok") })
	e := echo.New()
	e.GET("/data", func(c echo.Context) error { return c.String(200, "ok") }, eb.Require(need))
	adapters := map[string]http.Handler{"nethttp": mux, "gin": g, "echo": e}

	for _, c := range append(cases, attackCase{name: "valid (control)", token: valid, reason: nil, status: 200}) {
		t.Run(c.name, func(t *testing.T) {
			if c.reason != nil {
				_, err := v.Validate(t.Context(), c.token)
				if !errors.Is(err, c.reason) {
					t.Errorf("Validate() = %v, want %v", err, c.reason)
				}
			}
			for name, h := range adapters {
				req := httptest.NewRequest("GET", "/data?"+c.query, nil)
				switch {
				case c.header != nil:
					req.Header["Authorization"] = c.header
				case c.token != "":
					req.Header.Set("Authorization", "Bearer "+c.token)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != c.status {
					t.Errorf("%s: status %d, want %d (%s)", name, w.Code, c.status, w.Header().Get("WWW-Authenticate"))
				}
				chal := w.Header().Get("WWW-Authenticate")
				if c.code != "" && !strings.Contains(chal, `error="`+c.code+`"`) {
					t.Errorf("%s: WWW-Authenticate %q lacks error=%q", name, chal, c.code)
				}
				if c.status != 200 && w.Header().Get("Cache-Control") != "no-store" {
					t.Errorf("%s: no Cache-Control: no-store", name)
				}
				if len(valid) > 0 && strings.Contains(w.Body.String()+chal, valid[:30]) {
					t.Errorf("%s: answer contains token material", name)
				}
			}
		})
	}
	t.Logf("%d hostile cases, each through %d adapters", len(cases), len(adapters))
}
