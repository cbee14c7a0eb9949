package bearerguard_test

// The attack matrix: hostile tokens built with an independent encoder (the
// standard library only, none of this module's or jwx's code paths),
// checked for their exact error reason and for the exact HTTP answer
// through each adapter (net/http, Gin, Echo).

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
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
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

var raw64 = base64.RawURLEncoding

// forge joins header and claims (given as literal JSON) and signs them.
func forge(header, claims string, sign func([]byte) []byte) string {
	in := raw64.EncodeToString([]byte(header)) + "." + raw64.EncodeToString([]byte(claims))
	return in + "." + raw64.EncodeToString(sign([]byte(in)))
}

func rs256(k *rsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		d := sha256.Sum256(in)
		s, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
		if err != nil {
			panic(err)
		}
		return s
	}
}

func es256(k *ecdsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		d := sha256.Sum256(in)
		r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
		if err != nil {
			panic(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
}

func hs256(secret []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

func fixed(sig []byte) func([]byte) []byte { return func([]byte) []byte { return sig } }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// rsaJWK renders an RSA public key as a JWK, by hand.
func rsaJWK(kid string, k *rsa.PublicKey, extra map[string]any) map[string]any {
	m := map[string]any{"kty": "RSA", "kid": kid, "n": raw64.EncodeToString(k.N.Bytes()), "e": raw64.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
	for a, b := range extra {
		m[a] = b
	}
	return m
}

func ecJWK(kid string, k *ecdsa.PublicKey) map[string]any {
	p, _ := k.Bytes()
	return map[string]any{"kty": "EC", "crv": "P-256", "kid": kid, "x": raw64.EncodeToString(p[1:33]), "y": raw64.EncodeToString(p[33:])}
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
	leakedJWK := rsaJWK("leaked-1", &leaked.PublicKey, map[string]any{"d": raw64.EncodeToString(leaked.D.Bytes()),
		"p": raw64.EncodeToString(leaked.Primes[0].Bytes()), "q": raw64.EncodeToString(leaked.Primes[1].Bytes())})
	doc := mustJSON(map[string]any{"keys": []any{
		rsaJWK("rsa-1", &trusted.PublicKey, nil),
		rsaJWK("rsa-bound", &bound.PublicKey, map[string]any{"alg": "RS256"}),
		ecJWK("ec-1", &ecTrusted.PublicKey),
		map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "x": raw64.EncodeToString(edTrusted.Public().(ed25519.PublicKey))},
		map[string]any{"kty": "oct", "kid": "hmac-trap", "k": raw64.EncodeToString(octSecret)},
		rsaJWK("enc-1", &encKey.PublicKey, map[string]any{"use": "enc"}),
		leakedJWK,
	}})
	jwksSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, doc)
	}))
	t.Cleanup(jwksSrv.Close)
	const iss = "https://issuer.example.com/"
	keys, err := jwks.New(jwksSrv.URL+"/jwks", jwks.WithHTTPClient(jwksSrv.Client()), jwks.WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	v, err := validator.New(validator.WithIssuer(iss, keys), validator.WithAudience("orders"), validator.WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}

	now := time.Now().Unix()
	claims := func(over map[string]any) string {
		c := map[string]any{"iss": iss, "aud": "orders", "sub": "svc", "client_id": "svc", "exp": now + 600, "iat": now - 10, "scope": "read:data"}
		for k, x := range over {
			if x == nil {
				delete(c, k)
			} else {
				c[k] = x
			}
		}
		return mustJSON(c)
	}
	good := claims(nil)
	rsHdr := `{"alg":"RS256","kid":"rsa-1"}`
	pubDER, _ := x509.MarshalPKIXPublicKey(&trusted.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	attackerJWK := mustJSON(rsaJWK("", &attacker.PublicKey, nil))
	valid := forge(rsHdr, good, rs256(trusted))
	n := ecTrusted.Curve.Params().N.FillBytes(make([]byte, 32))

	const bad, malformedReq = 401, 400
	const it, ir = "invalid_token", "invalid_request"
	cases := []attackCase{
		// alg tricks.
		{"alg none", forge(`{"alg":"none"}`, good, fixed(nil)), nil, "", validator.ErrAlgorithm, bad, it},
		{"alg None", forge(`{"alg":"None","kid":"rsa-1"}`, good, fixed(nil)), nil, "", validator.ErrAlgorithm, bad, it},
		{"alg NONE with a signature", forge(`{"alg":"NONE"}`, good, rs256(trusted)), nil, "", validator.ErrAlgorithm, bad, it},
		{"alg nOnE", forge(`{"alg":"nOnE"}`, good, fixed(nil)), nil, "", validator.ErrAlgorithm, bad, it},
		{"alg missing", forge(`{"kid":"rsa-1"}`, good, rs256(trusted)), nil, "", validator.ErrAlgorithm, bad, it},
		{"alg lowercase", forge(`{"alg":"rs256","kid":"rsa-1"}`, good, rs256(trusted)), nil, "", validator.ErrAlgorithm, bad, it},
		{"alg with trailing space", forge(`{"alg":"RS256 ","kid":"rsa-1"}`, good, rs256(trusted)), nil, "", validator.ErrAlgorithm, bad, it},
		{"alg as array", forge(`{"alg":["RS256"],"kid":"rsa-1"}`, good, rs256(trusted)), nil, "", validator.ErrMalformed, bad, it},
		{"HS256 keyed with the RSA public key PEM", forge(`{"alg":"HS256","kid":"rsa-1"}`, good, hs256(pubPEM)), nil, "", validator.ErrAlgorithm, bad, it},
		{"HS256 keyed with the RSA modulus", forge(`{"alg":"HS256","kid":"rsa-1"}`, good, hs256(trusted.N.Bytes())), nil, "", validator.ErrAlgorithm, bad, it},
		{"HS256 keyed with the JWKS oct key", forge(`{"alg":"HS256","kid":"hmac-trap"}`, good, hs256(octSecret)), nil, "", validator.ErrAlgorithm, bad, it},
		{"ES256 header on the RSA kid", forge(`{"alg":"ES256","kid":"rsa-1"}`, good, es256(ecAttacker)), nil, "", validator.ErrUnknownKey, bad, it},
		{"RS256 header on the EC kid", forge(`{"alg":"RS256","kid":"ec-1"}`, good, rs256(attacker)), nil, "", validator.ErrUnknownKey, bad, it},
		{"PS256 on a key bound to RS256", forge(`{"alg":"PS256","kid":"rsa-bound"}`, good, rs256(bound)), nil, "", validator.ErrUnknownKey, bad, it},
		{"ES384 on a P-256 key", forge(`{"alg":"ES384","kid":"ec-1"}`, good, fixed(make([]byte, 96))), nil, "", validator.ErrUnknownKey, bad, it},
		{"EdDSA header on the RSA kid", forge(`{"alg":"EdDSA","kid":"rsa-1"}`, good, fixed(make([]byte, 64))), nil, "", validator.ErrUnknownKey, bad, it},
		// Extensions and formats.
		{"crit", forge(`{"alg":"RS256","kid":"rsa-1","crit":["exp"],"exp":1}`, good, rs256(trusted)), nil, "", validator.ErrUnsupported, bad, it},
		{"b64 false", forge(`{"alg":"RS256","kid":"rsa-1","b64":false,"crit":["b64"]}`, good, rs256(trusted)), nil, "", validator.ErrUnsupported, bad, it},
		{"enc in a JWS header", forge(`{"alg":"RS256","kid":"rsa-1","enc":"A128GCM"}`, good, rs256(trusted)), nil, "", validator.ErrUnsupported, bad, it},
		{"nested JWT", forge(`{"alg":"RS256","kid":"rsa-1","cty":"JWT"}`, good, rs256(trusted)), nil, "", validator.ErrUnsupported, bad, it},
		{"JWE compact", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d", nil, "", validator.ErrUnsupported, bad, it},
		{"typ dpop+jwt", forge(`{"alg":"RS256","kid":"rsa-1","typ":"dpop+jwt"}`, good, rs256(trusted)), nil, "", validator.ErrType, bad, it},
		{"typ secevent+jwt", forge(`{"alg":"RS256","kid":"rsa-1","typ":"secevent+jwt"}`, good, rs256(trusted)), nil, "", validator.ErrType, bad, it},
		{"duplicate alg", forge(`{"alg":"none","alg":"RS256","kid":"rsa-1"}`, good, rs256(trusted)), nil, "", validator.ErrMalformed, bad, it},
		{"duplicate kid, escaped", forge(`{"alg":"RS256","kid":"rsa-1","\u006bid":"ec-1"}`, good, rs256(trusted)), nil, "", validator.ErrMalformed, bad, it},
		// Keys from the token.
		{"embedded jwk, attacker key", forge(`{"alg":"RS256","jwk":`+attackerJWK+`}`, good, rs256(attacker)), nil, "", validator.ErrUnknownKey, bad, it},
		{"embedded jwk with a trusted kid", forge(`{"alg":"RS256","kid":"rsa-1","jwk":`+attackerJWK+`}`, good, rs256(attacker)), nil, "", validator.ErrSignature, bad, it},
		{"jku to the attacker", forge(`{"alg":"RS256","kid":"evil","jku":"https://evil.example/jwks"}`, good, rs256(attacker)), nil, "", validator.ErrUnknownKey, bad, it},
		{"x5u to the attacker", forge(`{"alg":"RS256","kid":"evil","x5u":"https://evil.example/c.pem"}`, good, rs256(attacker)), nil, "", validator.ErrUnknownKey, bad, it},
		{"x5c attacker chain", forge(`{"alg":"RS256","x5c":["MIIBIjANBg"]}`, good, rs256(attacker)), nil, "", validator.ErrUnknownKey, bad, it},
		// Key-set tricks.
		{"kid of an encryption key", forge(`{"alg":"RS256","kid":"enc-1"}`, good, rs256(encKey)), nil, "", validator.ErrUnknownKey, bad, it},
		{"kid of a published private key", forge(`{"alg":"RS256","kid":"leaked-1"}`, good, rs256(leaked)), nil, "", validator.ErrUnknownKey, bad, it},
		{"kid unknown", forge(`{"alg":"RS256","kid":"rotated-away"}`, good, rs256(attacker)), nil, "", validator.ErrUnknownKey, bad, it},
		{"kid path traversal", forge(`{"alg":"RS256","kid":"../../../etc/passwd"}`, good, rs256(attacker)), nil, "", validator.ErrUnknownKey, bad, it},
		{"kid 300 bytes", forge(`{"alg":"RS256","kid":"`+strings.Repeat("k", 300)+`"}`, good, rs256(attacker)), nil, "", validator.ErrUnknownKey, bad, it},
		{"kid as number", forge(`{"alg":"RS256","kid":1}`, good, rs256(trusted)), nil, "", validator.ErrMalformed, bad, it},
		{"no kid, several RSA keys", forge(`{"alg":"RS256"}`, good, rs256(trusted)), nil, "", validator.ErrUnknownKey, bad, it},
		// Signatures.
		{"trusted kid, attacker signature", forge(rsHdr, good, rs256(attacker)), nil, "", validator.ErrSignature, bad, it},
		{"ECDSA all-zero signature", forge(`{"alg":"ES256","kid":"ec-1"}`, good, fixed(make([]byte, 64))), nil, "", validator.ErrSignature, bad, it},
		{"ECDSA r = s = n", forge(`{"alg":"ES256","kid":"ec-1"}`, good, fixed(append(append([]byte{}, n...), n...))), nil, "", validator.ErrSignature, bad, it},
		{"ECDSA DER-encoded signature", forge(`{"alg":"ES256","kid":"ec-1"}`, good, func(in []byte) []byte {
			d := sha256.Sum256(in)
			s, _ := ecdsa.SignASN1(rand.Reader, ecTrusted, d[:])
			return s
		}), nil, "", validator.ErrSignature, bad, it},
		{"EdDSA all-zero signature", forge(`{"alg":"EdDSA","kid":"ed-1"}`, good, fixed(make([]byte, 64))), nil, "", validator.ErrSignature, bad, it},
		{"empty signature", strings.TrimRight(valid[:strings.LastIndexByte(valid, '.')+1], ""), nil, "", validator.ErrSignature, bad, it},
		{"truncated signature", truncateSig(valid, 10), nil, "", validator.ErrSignature, bad, it},
		{"payload spliced under a valid signature", splice(valid, claims(map[string]any{"scope": "read:data admin"})), nil, "", validator.ErrSignature, bad, it},
		// Claims.
		{"expired", forge(rsHdr, claims(map[string]any{"exp": now - 3600}), rs256(trusted)), nil, "", validator.ErrExpired, bad, it},
		{"exp missing", forge(rsHdr, claims(map[string]any{"exp": nil}), rs256(trusted)), nil, "", validator.ErrExpired, bad, it},
		{"exp as string", forge(rsHdr, claims(map[string]any{"exp": "99999999999"}), rs256(trusted)), nil, "", validator.ErrMalformed, bad, it},
		{"exp 1e300", forge(rsHdr, claims(map[string]any{"exp": 1e300}), rs256(trusted)), nil, "", validator.ErrMalformed, bad, it},
		{"nbf in the future", forge(rsHdr, claims(map[string]any{"nbf": now + 3600}), rs256(trusted)), nil, "", validator.ErrNotYetValid, bad, it},
		{"iat in the future", forge(rsHdr, claims(map[string]any{"iat": now + 3600}), rs256(trusted)), nil, "", validator.ErrNotYetValid, bad, it},
		{"iss missing", forge(rsHdr, claims(map[string]any{"iss": nil}), rs256(trusted)), nil, "", validator.ErrIssuer, bad, it},
		{"iss of another issuer", forge(rsHdr, claims(map[string]any{"iss": "https://evil.example/"}), rs256(trusted)), nil, "", validator.ErrIssuer, bad, it},
		{"iss without its trailing slash", forge(rsHdr, claims(map[string]any{"iss": strings.TrimSuffix(iss, "/")}), rs256(trusted)), nil, "", validator.ErrIssuer, bad, it},
		{"aud of another API", forge(rsHdr, claims(map[string]any{"aud": "payments"}), rs256(trusted)), nil, "", validator.ErrAudience, bad, it},
		{"aud missing", forge(rsHdr, claims(map[string]any{"aud": nil}), rs256(trusted)), nil, "", validator.ErrAudience, bad, it},
		{"aud as number", forge(rsHdr, claims(map[string]any{"aud": 1}), rs256(trusted)), nil, "", validator.ErrMalformed, bad, it},
		{"aud nested array", forge(rsHdr, claims(map[string]any{"aud": [][]string{{"orders"}}}), rs256(trusted)), nil, "", validator.ErrMalformed, bad, it},
		{"duplicate exp", forge(rsHdr, strings.Replace(good, `"exp":`, `"exp":99999999999,"exp":`, 1), rs256(trusted)), nil, "", validator.ErrMalformed, bad, it},
		{"duplicate exp, escaped name", forge(rsHdr, strings.Replace(good, `"exp":`, `"\u0065xp":99999999999,"exp":`, 1), rs256(trusted)), nil, "", validator.ErrMalformed, bad, it},
		{"duplicate aud", forge(rsHdr, strings.Replace(good, `"aud":`, `"aud":"payments","aud":`, 1), rs256(trusted)), nil, "", validator.ErrMalformed, bad, it},
		{"scope with a tab", forge(rsHdr, claims(map[string]any{"scope": "read:data\tadmin"}), rs256(trusted)), nil, "", validator.ErrMalformed, bad, it},
		{"claims an array", forge(rsHdr, `["orders"]`, rs256(trusted)), nil, "", validator.ErrMalformed, bad, it},
		{"claims with trailing garbage", forge(rsHdr, good+`x`, rs256(trusted)), nil, "", validator.ErrMalformed, bad, it},
		{"claims nested 100 deep", forge(rsHdr, strings.Replace(good, `{`, `{"x":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`,`, 1), rs256(trusted)), nil, "", validator.ErrMalformed, bad, it},
		{"claims invalid UTF-8", forge(rsHdr, strings.Replace(good, `"svc"`, "\"\xff\xfe\"", 1), rs256(trusted)), nil, "", validator.ErrMalformed, bad, it},
		// Encoding and size.
		{"base64 padding (not a b64token: 400 at the door)", pad(valid), nil, "", validator.ErrMalformed, malformedReq, ir},
		{"standard alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(valid) + "+/", nil, "", validator.ErrMalformed, bad, it},
		{"non-canonical trailing bits", valid[:strings.LastIndexByte(valid, '.')] + ".AB", nil, "", validator.ErrMalformed, bad, it},
		{"two segments", valid[:strings.LastIndexByte(valid, '.')], nil, "", validator.ErrMalformed, bad, it},
		{"four segments", valid + ".x", nil, "", validator.ErrMalformed, bad, it},
		{"JWS JSON serialization", "", []string{`Bearer {"payload":"e30","signatures":[]}`}, "", nil, malformedReq, ir},
		{"10,000 dots", strings.Repeat(".", 10_000), nil, "", validator.ErrTooLarge, bad, it},
		{"8 KiB + 1", forge(rsHdr, claims(map[string]any{"pad": strings.Repeat("A", 8<<10)}), rs256(trusted)), nil, "", validator.ErrTooLarge, bad, it},
		{"100 KiB", forge(rsHdr, claims(map[string]any{"pad": strings.Repeat("A", 100<<10)}), rs256(trusted)), nil, "", validator.ErrTooLarge, bad, it},
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
	g := gin.New()
	g.GET("/data", ginbearer.New(guard).Require(need), func(c *gin.Context) { c.String(200, "ok") })
	e := echo.New()
	e.GET("/data", func(c echo.Context) error { return c.String(200, "ok") }, echobearer.New(guard).Require(need))
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

func splice(tok, claims string) string {
	p := strings.Split(tok, ".")
	p[1] = raw64.EncodeToString([]byte(claims))
	return strings.Join(p, ".")
}

func pad(tok string) string {
	p := strings.Split(tok, ".")
	for i := range p {
		if r := len(p[i]) % 4; r != 0 {
			p[i] += strings.Repeat("=", 4-r)
		}
	}
	return strings.Join(p, ".")
}

// truncateSig drops the last n bytes of the decoded signature.
func truncateSig(tok string, n int) string {
	i := strings.LastIndexByte(tok, '.')
	sig, _ := raw64.DecodeString(tok[i+1:])
	return tok[:i+1] + raw64.EncodeToString(sig[:len(sig)-n])
}
