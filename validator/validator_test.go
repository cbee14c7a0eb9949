package validator_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/validator"
)

func TestValidate(t *testing.T) {
	loadKeys(t)
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pubJWK := jwstest.JSON(map[string]any{"kty": "RSA", "kid": "rsa-1", "n": jwstest.Encode(rsaKey.N.Bytes()), "e": "AQAB"})
	attackerJWK := json.RawMessage(jwstest.JSON(map[string]any{"kty": "RSA", "n": jwstest.Encode(rsaKey2.N.Bytes()), "e": "AQAB"}))
	good := baseClaims(nil)
	rs := jwstest.RS(rsaKey, crypto.SHA256)
	zeroSig := jwstest.Fixed(make([]byte, 64))

	tests := []struct {
		name  string
		token string
		opts  []validator.Option
		want  error // nil: valid
	}{
		// Valid tokens, every algorithm.
		{"RS256", rs256(good), nil, nil},
		{"RS384", jwstest.Token(`{"alg":"RS384","kid":"rsa-1"}`, good, jwstest.RS(rsaKey, crypto.SHA384)), nil, nil},
		{"RS512", jwstest.Token(`{"alg":"RS512","kid":"rsa-1"}`, good, jwstest.RS(rsaKey, crypto.SHA512)), nil, nil},
		{"PS256", jwstest.Token(`{"alg":"PS256","kid":"rsa-1"}`, good, jwstest.PS(rsaKey, crypto.SHA256)), nil, nil},
		{"PS512", jwstest.Token(`{"alg":"PS512","kid":"rsa-1"}`, good, jwstest.PS(rsaKey, crypto.SHA512)), nil, nil},
		{"ES256", jwstest.Token(`{"alg":"ES256","kid":"ec-1"}`, good, jwstest.ES(ecKey, crypto.SHA256)), nil, nil},
		{"ES384", jwstest.Token(`{"alg":"ES384","kid":"ec384-1"}`, good, jwstest.ES(ec384Key, crypto.SHA384)), nil, nil},
		{"EdDSA", jwstest.Token(`{"alg":"EdDSA","kid":"ed-1"}`, good, jwstest.EdDSA(edKey)), nil, nil},
		{"HS256 for the HMAC issuer", jwstest.Token(`{"alg":"HS256"}`, baseClaims(map[string]any{"iss": hmacIssuer}), jwstest.HS(hmacSecret, crypto.SHA256)), nil, nil},
		{"HS512 for the HMAC issuer", jwstest.Token(`{"alg":"HS512"}`, baseClaims(map[string]any{"iss": hmacIssuer}), jwstest.HS(hmacSecret, crypto.SHA512)), nil, nil},
		{"no kid, one key of the type", jwstest.Token(`{"alg":"EdDSA"}`, good, jwstest.EdDSA(edKey)), nil, nil},
		{"aud array with ours", rs256(baseClaims(map[string]any{"aud": []string{"x", testAud}})), nil, nil},
		{"second configured audience", rs256(baseClaims(map[string]any{"aud": "other-api"})), nil, nil},
		{"fractional exp", rs256(baseClaims(map[string]any{"exp": float64(testNow.Unix()) + 0.5})), nil, nil},
		{"typ JWT", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","typ":"JWT"}`, good, rs), nil, nil},
		{"typ application/at+jwt", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","typ":"application/at+jwt"}`, good, rs), nil, nil},
		{"typ AT+JWT", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","typ":"AT+JWT"}`, good, rs), nil, nil},
		{"no typ", jwstest.Token(`{"alg":"RS256","kid":"rsa-1"}`, good, rs), nil, nil},
		{"header whitespace", jwstest.Token("{ \"alg\" : \"RS256\",\n\"kid\":\"rsa-1\" }", good, rs), nil, nil},
		{"unknown header members ignored", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","x-custom":{"a":[1,2,{"b":null}]}}`, good, rs), nil, nil},

		// alg attacks.
		{"alg none", jwstest.Token(`{"alg":"none"}`, good, jwstest.Fixed(nil)), nil, validator.ErrAlgorithm},
		{"alg None", jwstest.Token(`{"alg":"None","kid":"rsa-1"}`, good, jwstest.Fixed(nil)), nil, validator.ErrAlgorithm},
		{"alg NONE", jwstest.Token(`{"alg":"NONE"}`, good, jwstest.Fixed(nil)), nil, validator.ErrAlgorithm},
		{"alg nOnE with a signature", jwstest.Token(`{"alg":"nOnE"}`, good, rs), nil, validator.ErrAlgorithm},
		{"alg missing", jwstest.Token(`{"kid":"rsa-1"}`, good, rs), nil, validator.ErrAlgorithm},
		{"alg lowercase rs256", jwstest.Token(`{"alg":"rs256","kid":"rsa-1"}`, good, rs), nil, validator.ErrAlgorithm},
		{"alg not a string", jwstest.Token(`{"alg":["RS256"],"kid":"rsa-1"}`, good, rs), nil, validator.ErrMalformed},
		{"HS256 with RSA public key PEM as secret", jwstest.Token(`{"alg":"HS256","kid":"rsa-1"}`, good, jwstest.HS(pubPEM, crypto.SHA256)), nil, validator.ErrAlgorithm},
		{"HS256 with RSA public key JWK as secret", jwstest.Token(`{"alg":"HS256","kid":"rsa-1"}`, good, jwstest.HS([]byte(pubJWK), crypto.SHA256)), nil, validator.ErrAlgorithm},
		{"HS256 with RSA key PEM, HMAC allowed elsewhere", jwstest.Token(`{"alg":"HS256"}`, good, jwstest.HS(pubPEM, crypto.SHA256)), nil, validator.ErrAlgorithm},
		{"RS256 for the HMAC issuer", jwstest.Token(`{"alg":"RS256","kid":"rsa-1"}`, baseClaims(map[string]any{"iss": hmacIssuer}), rs), nil, validator.ErrAlgorithm},
		{"alg outside a narrowed allowlist", jwstest.Token(`{"alg":"PS256","kid":"rsa-1"}`, good, jwstest.PS(rsaKey, crypto.SHA256)), []validator.Option{validator.WithAlgorithms(validator.RS256)}, validator.ErrAlgorithm},
		{"RSA kid with ES256", jwstest.Token(`{"alg":"ES256","kid":"rsa-1"}`, good, jwstest.ES(ecKey, crypto.SHA256)), nil, validator.ErrUnknownKey},
		{"EC kid with RS256", jwstest.Token(`{"alg":"RS256","kid":"ec-1"}`, good, rs), nil, validator.ErrUnknownKey},
		{"key bound to RS256 used with PS256", jwstest.Token(`{"alg":"PS256","kid":"rsa-rs256"}`, good, jwstest.PS(rsaKey2, crypto.SHA256)), nil, validator.ErrUnknownKey},
		{"P-384 key with ES256", jwstest.Token(`{"alg":"ES256","kid":"ec384-1"}`, good, jwstest.ES(ecKey, crypto.SHA256)), nil, validator.ErrUnknownKey},

		// Signature attacks.
		{"ECDSA all-zero signature", jwstest.Token(`{"alg":"ES256","kid":"ec-1"}`, good, zeroSig), nil, validator.ErrSignature},
		{"ECDSA DER signature", jwstest.Token(`{"alg":"ES256","kid":"ec-1"}`, good, jwstest.ESASN1(ecKey, crypto.SHA256)), nil, validator.ErrSignature},
		{"EdDSA all-zero signature", jwstest.Token(`{"alg":"EdDSA","kid":"ed-1"}`, good, zeroSig), nil, validator.ErrSignature},
		{"signed by another RSA key", jwstest.Token(`{"alg":"RS256","kid":"rsa-1"}`, good, jwstest.RS(rsaKey2, crypto.SHA256)), nil, validator.ErrSignature},
		{"tampered payload", jwstest.SwapClaims(rs256(good), baseClaims(map[string]any{"scope": "admin"})), nil, validator.ErrSignature},
		{"empty signature", jwstest.StripSignature(rs256(good)), nil, validator.ErrSignature},
		{"PS256 signature as RS256", jwstest.Token(`{"alg":"RS256","kid":"rsa-1"}`, good, jwstest.PS(rsaKey, crypto.SHA256)), nil, validator.ErrSignature},
		{"HS256 with a wrong secret", jwstest.Token(`{"alg":"HS256"}`, baseClaims(map[string]any{"iss": hmacIssuer}), jwstest.HS([]byte("another-secret-another-secret-32"), crypto.SHA256)), nil, validator.ErrSignature},

		// Keys from the token are never used.
		{"embedded jwk, attacker key", jwstest.Token(`{"alg":"RS256","jwk":`+string(attackerJWK)+`}`, good, jwstest.RS(rsaKey2, crypto.SHA256)), nil, validator.ErrUnknownKey},
		{"embedded jwk with a trusted kid", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","jwk":`+string(attackerJWK)+`}`, good, jwstest.RS(rsaKey2, crypto.SHA256)), nil, validator.ErrSignature},
		// Header members of the wrong type, refused as the peers refuse
		// them (never used either way).
		{"x5c not an array", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","x5c":"nope"}`, good, jwstest.RS(rsaKey, crypto.SHA256)), nil, validator.ErrMalformed},
		{"jwk not an object", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","jwk":5}`, good, jwstest.RS(rsaKey, crypto.SHA256)), nil, validator.ErrMalformed},
		{"jku not a string", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","jku":1}`, good, jwstest.RS(rsaKey, crypto.SHA256)), nil, validator.ErrMalformed},
		{"x5t#S256 not a string", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","x5t#S256":true}`, good, jwstest.RS(rsaKey, crypto.SHA256)), nil, validator.ErrMalformed},
		{"x5c and jwk of their types", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","x5c":["MIIB"],"jwk":{"kty":"RSA"},"x5t":"abc"}`, good, jwstest.RS(rsaKey, crypto.SHA256)), nil, nil},
		{"jku to attacker", jwstest.Token(`{"alg":"RS256","kid":"attacker","jku":"https://evil.example/jwks"}`, good, jwstest.RS(rsaKey2, crypto.SHA256)), nil, validator.ErrUnknownKey},
		{"x5u to attacker", jwstest.Token(`{"alg":"RS256","kid":"attacker","x5u":"https://evil.example/cert"}`, good, jwstest.RS(rsaKey2, crypto.SHA256)), nil, validator.ErrUnknownKey},
		{"x5c attacker chain", jwstest.Token(`{"alg":"RS256","x5c":["MIIB"]}`, good, jwstest.RS(rsaKey2, crypto.SHA256)), nil, validator.ErrUnknownKey},
		{"kid path traversal", jwstest.Token(`{"alg":"RS256","kid":"../../../../etc/passwd"}`, good, rs), nil, validator.ErrUnknownKey},
		{"kid SQL", jwstest.Token(`{"alg":"RS256","kid":"' OR 1=1 --"}`, good, rs), nil, validator.ErrUnknownKey},
		{"kid too long", jwstest.Token(`{"alg":"RS256","kid":"`+strings.Repeat("k", 300)+`"}`, good, rs), nil, validator.ErrUnknownKey},
		{"no kid, several keys of the type", jwstest.Token(`{"alg":"RS256"}`, good, rs), nil, validator.ErrUnknownKey},

		// Extensions and formats we do not implement.
		{"crit", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","crit":["exp"],"exp":1}`, good, rs), nil, validator.ErrUnsupported},
		{"b64 false", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","b64":false,"crit":["b64"]}`, good, rs), nil, validator.ErrUnsupported},
		{"b64 alone", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","b64":true}`, good, rs), nil, validator.ErrUnsupported},
		{"nested JWT cty", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","cty":"JWT"}`, good, rs), nil, validator.ErrUnsupported},
		{"enc in a JWS header", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","enc":"A256GCM"}`, good, rs), nil, validator.ErrUnsupported},
		{"JWE compact", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d", nil, validator.ErrUnsupported},
		{"JWS JSON serialization", `{"payload":"e30","signatures":[]}`, nil, validator.ErrUnsupported},
		{"two segments", "eyJhbGciOiJSUzI1NiJ9.e30", nil, validator.ErrMalformed},
		{"one segment", "eyJhbGciOiJSUzI1NiJ9", nil, validator.ErrMalformed},
		{"four segments", "a.b.c.d", nil, validator.ErrMalformed},
		{"many dots", strings.Repeat(".", 4000), nil, validator.ErrMalformed},
		{"empty header", jwstest.Token("", good, jwstest.Fixed([]byte("sig"))), nil, validator.ErrMalformed},

		// Encoding.
		{"base64 padding", jwstest.Pad(rs256(good)), nil, validator.ErrMalformed},
		{"standard alphabet", "eyJhbGciOiJSUzI1NiJ9+/.e30.c2ln", nil, validator.ErrMalformed},
		{"non-canonical trailing bits", rs256(good)[:strings.LastIndexByte(rs256(good), '.')] + ".AB", nil, validator.ErrMalformed},
		// encoding/base64 skips line breaks even in Strict mode: in the
		// signature (not signed) they gave one token many accepted spellings.
		{"line feed in the signature", func() string { t := rs256(good); i := len(t) - 8; return t[:i] + "\n" + t[i:] }(), nil, validator.ErrMalformed},
		{"carriage return in the signature", func() string { t := rs256(good); i := len(t) - 8; return t[:i] + "\r" + t[i:] }(), nil, validator.ErrMalformed},
		{"trailing CRLF", rs256(good) + "\r\n", nil, validator.ErrMalformed},
		{"header not JSON", jwstest.Token("alg=RS256", good, jwstest.Fixed([]byte("sig"))), nil, validator.ErrMalformed},
		{"header is an array", jwstest.Token(`["RS256"]`, good, rs), nil, validator.ErrMalformed},
		{"header trailing data", jwstest.Token(`{"alg":"RS256","kid":"rsa-1"}x`, good, rs), nil, validator.ErrMalformed},
		{"header invalid UTF-8", jwstest.Token("{\"alg\":\"RS256\",\"kid\":\"\xff\"}", good, rs), nil, validator.ErrMalformed},
		{"duplicate alg", jwstest.Token(`{"alg":"none","alg":"RS256","kid":"rsa-1"}`, good, rs), nil, validator.ErrMalformed},
		// An escaped name is compared once the signature holds (before it,
		// the last "kid" is used: here the same key, so the signature holds).
		{"duplicate kid escaped", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","\u006bid":"rsa-1"}`, good, rs), nil, validator.ErrMalformed},
		{"duplicate kid escaped, another key", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","\u006bid":"ec-1"}`, good, rs), nil, validator.ErrUnknownKey},
		{"duplicate kid in capitals", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","KID":"ec-1"}`, good, rs), nil, validator.ErrMalformed},
		{"claims not JSON", jwstest.Token(`{"alg":"RS256","kid":"rsa-1"}`, "not json", rs), nil, validator.ErrMalformed},
		{"claims trailing comma", rs256(`{"iss":"` + testIssuer + `","aud":"orders",}`), nil, validator.ErrMalformed},
		{"claims too deep", rs256(`{"iss":"` + testIssuer + `","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`), nil, validator.ErrMalformed},
		{"100 KiB token", rs256(baseClaims(map[string]any{"pad": strings.Repeat("A", 100<<10)})), nil, validator.ErrTooLarge},
		{"size cap configurable", rs256(good), []validator.Option{validator.WithMaxTokenSize(256)}, validator.ErrTooLarge},
		{"empty token", "", nil, validator.ErrNoToken},

		// Claims.
		{"duplicate exp", rs256(strings.Replace(good, `"exp":`, `"exp":9999999999,"exp":`, 1)), nil, validator.ErrMalformed},
		{"duplicate exp, escaped name", rs256(strings.Replace(good, `"exp":`, `"\u0065xp":9999999999,"exp":`, 1)), nil, validator.ErrMalformed},
		{"duplicate aud", rs256(strings.Replace(good, `"aud":`, `"aud":"evil","aud":`, 1)), nil, validator.ErrMalformed},
		{"exp as string", rs256(baseClaims(map[string]any{"exp": "1800000300"})), nil, validator.ErrMalformed},
		{"exp negative", rs256(baseClaims(map[string]any{"exp": -1})), nil, validator.ErrMalformed},
		// Dates past year 5138 read as 5138: an issuer's "never" (the last
		// second of 9999) is accepted, a far "nbf" or "iat" is still ahead.
		{"exp huge", rs256(baseClaims(map[string]any{"exp": 1e300})), nil, nil},
		{"exp in 9999", rs256(baseClaims(map[string]any{"exp": 253402300799})), nil, nil},
		{"nbf huge", rs256(baseClaims(map[string]any{"nbf": 1e300})), nil, validator.ErrNotYetValid},
		{"iat in 9999", rs256(baseClaims(map[string]any{"iat": 253402300799})), nil, validator.ErrNotYetValid},
		{"exp beyond float64", rs256(strings.Replace(baseClaims(nil), `"exp":`, `"exp":1e400,"x":`, 1)), nil, validator.ErrMalformed},
		{"exp null", rs256(strings.Replace(good, `"exp":1800000300`, `"exp":null`, 1)), nil, validator.ErrMalformed},
		{"aud as number", rs256(baseClaims(map[string]any{"aud": 42})), nil, validator.ErrMalformed},
		{"aud nested arrays", rs256(baseClaims(map[string]any{"aud": [][]string{{testAud}}})), nil, validator.ErrMalformed},
		{"aud object", rs256(baseClaims(map[string]any{"aud": map[string]string{"aud": testAud}})), nil, validator.ErrMalformed},
		{"aud wrong", rs256(baseClaims(map[string]any{"aud": "payments"})), nil, validator.ErrAudience},
		{"aud prefix", rs256(baseClaims(map[string]any{"aud": "orders2"})), nil, validator.ErrAudience},
		{"aud empty array", rs256(baseClaims(map[string]any{"aud": []string{}})), nil, validator.ErrAudience},
		{"aud missing", rs256(baseClaims(map[string]any{"aud": nil})), nil, validator.ErrAudience},
		{"iss unknown", rs256(baseClaims(map[string]any{"iss": "https://evil.example/"})), nil, validator.ErrIssuer},
		{"iss without trailing slash", rs256(baseClaims(map[string]any{"iss": strings.TrimSuffix(testIssuer, "/")})), nil, validator.ErrIssuer},
		{"iss missing", rs256(baseClaims(map[string]any{"iss": nil})), nil, validator.ErrIssuer},
		{"iss not a string", rs256(baseClaims(map[string]any{"iss": []string{testIssuer}})), nil, validator.ErrMalformed},
		{"expired", rs256(baseClaims(map[string]any{"exp": testNow.Unix() - 31})), nil, validator.ErrExpired},
		{"expired within leeway", rs256(baseClaims(map[string]any{"exp": testNow.Unix() - 29})), nil, nil},
		{"exp now, no leeway", rs256(baseClaims(map[string]any{"exp": testNow.Unix()})), []validator.Option{validator.WithLeeway(0)}, validator.ErrExpired},
		{"exp in 1s, no leeway", rs256(baseClaims(map[string]any{"exp": testNow.Unix() + 1})), []validator.Option{validator.WithLeeway(0)}, nil},
		{"exp missing", rs256(baseClaims(map[string]any{"exp": nil})), nil, validator.ErrExpired},
		{"exp missing, allowed", rs256(baseClaims(map[string]any{"exp": nil})), []validator.Option{validator.WithoutExpiryRequirement()}, nil},
		{"nbf future", rs256(baseClaims(map[string]any{"nbf": testNow.Unix() + 60})), nil, validator.ErrNotYetValid},
		{"nbf within leeway", rs256(baseClaims(map[string]any{"nbf": testNow.Unix() + 20})), nil, nil},
		{"iat future", rs256(baseClaims(map[string]any{"iat": testNow.Unix() + 3600})), nil, validator.ErrNotYetValid},
		{"max age exceeded", rs256(baseClaims(map[string]any{"iat": testNow.Unix() - 7200})), []validator.Option{validator.WithMaxTokenAge(time.Hour)}, validator.ErrTooOld},
		{"max age, iat missing", rs256(baseClaims(map[string]any{"iat": nil})), []validator.Option{validator.WithMaxTokenAge(time.Hour)}, validator.ErrMissingClaim},
		{"max age ok", rs256(good), []validator.Option{validator.WithMaxTokenAge(time.Hour)}, nil},
		// "No real bound, but require iat": maxAge+leeway once overflowed
		// and refused every token (SECURITY.md 107).
		{"max age the largest Duration", rs256(good), []validator.Option{validator.WithMaxTokenAge(time.Duration(1<<63 - 1))}, nil},
		{"scope with invalid character", rs256(baseClaims(map[string]any{"scope": "read\tdata"})), nil, validator.ErrMalformed},
		{"scp with a number", rs256(baseClaims(map[string]any{"scp": []any{"a", 1}})), nil, validator.ErrMalformed},

		// typ and RFC 9068.
		{"typ dpop+jwt", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","typ":"dpop+jwt"}`, good, rs), nil, validator.ErrType},
		{"typ secevent+jwt", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","typ":"secevent+jwt"}`, good, rs), nil, validator.ErrType},
		{"typ id token", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","typ":"id_token+jwt"}`, good, rs), nil, validator.ErrType},
		{"RFC 9068 ok", rs256(good), []validator.Option{validator.WithRFC9068()}, nil},
		{"RFC 9068 typ JWT", jwstest.Token(`{"alg":"RS256","kid":"rsa-1","typ":"JWT"}`, good, rs), []validator.Option{validator.WithRFC9068()}, validator.ErrType},
		{"RFC 9068 no typ", jwstest.Token(`{"alg":"RS256","kid":"rsa-1"}`, good, rs), []validator.Option{validator.WithRFC9068()}, validator.ErrType},
		{"RFC 9068 jti missing", rs256(baseClaims(map[string]any{"jti": nil})), []validator.Option{validator.WithRFC9068()}, validator.ErrMissingClaim},
		{"RFC 9068 client_id missing", rs256(baseClaims(map[string]any{"client_id": nil, "azp": "svc-a"})), []validator.Option{validator.WithRFC9068()}, validator.ErrMissingClaim},
		{"RFC 9068 sub missing", rs256(baseClaims(map[string]any{"sub": nil})), []validator.Option{validator.WithRFC9068()}, validator.ErrMissingClaim},

		// User checks.
		{"claim check refuses", rs256(good), []validator.Option{validator.WithClaimCheck(func(_ context.Context, tok *validator.Token) error {
			if tok.ClientID == "svc-a" {
				return errors.New("svc-a is blocked")
			}
			return nil
		})}, validator.ErrClaimCheck},
		{"claim check passes", rs256(good), []validator.Option{validator.WithClaimCheck(func(context.Context, *validator.Token) error { return nil })}, nil},
	}
	names := map[string]bool{}
	for _, tt := range tests {
		if names[tt.name] {
			t.Fatalf("duplicate case name %q", tt.name)
		}
		names[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			v := newValidator(t, tt.opts...)
			tok, err := v.Validate(t.Context(), tt.token)
			if tt.want == nil {
				if err != nil || tok == nil {
					t.Fatalf("Validate() = %v, %v; want a token", tok, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Validate() error = %v, want %v", err, tt.want)
			}
			if tok != nil {
				t.Fatalf("Validate() returned a token with error %v", err)
			}
			if !errors.Is(err, validator.ErrInvalidToken) && !errors.Is(tt.want, validator.ErrNoToken) {
				t.Fatalf("error %v does not match ErrInvalidToken", err)
			}
			if len(tt.token) > 16 && strings.Contains(err.Error(), tt.token[:16]) {
				t.Fatalf("error %q contains token material", err)
			}
		})
	}
}

func TestWithoutAudienceCheck(t *testing.T) {
	loadKeys(t)
	v, err := validator.New(validator.WithIssuer(testIssuer, testKeySource(t)), validator.WithoutAudienceCheck(),
		validator.WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	for _, aud := range []any{nil, "anything", []string{}} {
		if _, err := v.Validate(t.Context(), rs256(baseClaims(map[string]any{"aud": aud}))); err != nil {
			t.Errorf("aud %v: Validate() = %v, want a token", aud, err)
		}
	}
	if _, err := v.Validate(t.Context(), rs256(baseClaims(map[string]any{"aud": 7}))); !errors.Is(err, validator.ErrMalformed) {
		t.Errorf("aud 7: Validate() = %v, want ErrMalformed", err)
	}
}

func TestValidateTokenFields(t *testing.T) {
	loadKeys(t)
	v := newValidator(t, validator.WithScopeClaim("permissions"))
	claims := baseClaims(map[string]any{
		"client_id": nil, "azp": "azp-client", "scope": "a b", "scp": []string{"b", "c"}, "permissions": "d",
		"nbf": testNow.Unix() - 5, "aud": []string{testAud, "x"}, "custom": map[string]any{"tier": "gold"},
	})
	tok, err := v.Validate(t.Context(), rs256(claims))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Issuer != testIssuer || tok.Subject != "svc-a" || tok.ID != "id-1" || tok.ClientID != "azp-client" {
		t.Errorf("token = %+v", tok)
	}
	if !slices.Equal(tok.Audience, []string{testAud, "x"}) || !tok.HasAudience("x") {
		t.Errorf("Audience = %q", tok.Audience)
	}
	if got := slices.Sorted(slices.Values(tok.Scopes.List())); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("Scopes = %q", got)
	}
	if !tok.Expiry.Equal(time.Unix(testNow.Unix()+300, 0)) || !tok.IssuedAt.Equal(time.Unix(testNow.Unix()-10, 0)) || !tok.NotBefore.Equal(time.Unix(testNow.Unix()-5, 0)) {
		t.Errorf("times = %v %v %v", tok.Expiry, tok.IssuedAt, tok.NotBefore)
	}
	if tok.Source != validator.SourceJWT || tok.KeyID != "rsa-1" || tok.Algorithm != validator.RS256 || tok.Type != "at+jwt" {
		t.Errorf("provenance = %v %q %q %q", tok.Source, tok.KeyID, tok.Algorithm, tok.Type)
	}
	custom, ok := tok.Claim("custom")
	if !ok || custom.(map[string]any)["tier"] != "gold" {
		t.Errorf("Claim(custom) = %v, %v", custom, ok)
	}
	if _, ok := tok.Claim("absent"); ok {
		t.Error("Claim(absent) found")
	}
	var dst struct {
		Custom struct {
			Tier string `json:"tier"`
		} `json:"custom"`
	}
	if err := tok.Decode(&dst); err != nil || dst.Custom.Tier != "gold" {
		t.Errorf("Decode = %+v, %v", dst, err)
	}
	var raw map[string]any
	if err := json.Unmarshal(tok.RawClaims(), &raw); err != nil || raw["sub"] != "svc-a" {
		t.Errorf("RawClaims = %v, %v", raw, err)
	}

	cidTok, err := v.Validate(t.Context(), rs256(baseClaims(map[string]any{"client_id": nil, "cid": "okta-cid"})))
	if err != nil || cidTok.ClientID != "okta-cid" {
		t.Errorf("cid fallback: %v, %v", cidTok, err)
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := validator.New(
		validator.WithIssuerSecret("https://a/", []byte("short")),
		validator.WithAlgorithms(validator.HS256, "none"),
		validator.WithLeeway(-time.Second),
		validator.WithAudience(""),
		// A second mode silently replaced the first: DPoPRequired, then
		// DPoPAllowed from a shared option list, accepted Bearer tokens.
		validator.WithDPoP(validator.DPoPRequired),
		validator.WithDPoP(validator.DPoPAllowed),
	)
	if err == nil {
		t.Fatal("New() = nil error")
	}
	for _, want := range []string{"shorter than 32 bytes", `"HS256" is not an asymmetric`, `"none" is not an asymmetric`, "negative leeway", "empty audience", "WithDPoP given twice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New() error %q lacks %q", err, want)
		}
	}
	// Durations past their caps (a unit slipped): the proof's replay
	// record once overflowed and forgot it at once, so a proof replayed
	// at will (SECURITY.md 102).
	base := []validator.Option{validator.WithIssuer(testIssuer, validator.NewKeys()), validator.WithAudience("x")}
	for _, tc := range []struct {
		opt  validator.Option
		want string
	}{
		{validator.WithLeeway(validator.MaxLeeway + 1), "WithLeeway: 1h0m0.000000001s is more than 1h0m0s"},
		{validator.WithLeeway(time.Duration(1<<63 - 1)), "WithLeeway"},
		{validator.WithDPoPProofWindow(validator.MaxProofWindow + 1), "WithDPoPProofWindow: 1h0m0.000000001s is more than 1h0m0s"},
		{validator.WithDPoPProofWindow(time.Duration(1<<63 - 1)), "WithDPoPProofWindow"},
		// A nonce of 300 ns was stale before the client could retry with
		// it (every DPoP request answered use_dpop_nonce); one of a century
		// was a constant.
		{validator.WithDPoPNonces(make([]byte, 32), 300), "WithDPoPNonces: lifetime 300ns is not between 5s and 24h0m0s"},
		{validator.WithDPoPNonces(make([]byte, 32), -time.Second), "WithDPoPNonces: lifetime -1s"},
		{validator.WithDPoPNonces(make([]byte, 32), validator.MaxNonceLifetime+1), "WithDPoPNonces: lifetime 24h0m0.000000001s"},
		// Identifiers read with their newline or a space matched no token,
		// and refused everything without saying why.
		{validator.WithAudience("orders\n"), `audience "orders\n" has white space around it`},
		{validator.WithIssuer(" https://id.example.com", validator.NewKeys()), `issuer " https://id.example.com" has white space around it`},
		{validator.WithIssuer("https://other.example.com", validator.NewKeys(), validator.IssuerAudience("api ")), "IssuerAudience: no audience, an empty one, or one with white space around it"},
		{validator.WithIssuer("https://other.example.com", validator.NewKeys(), validator.IssuerClientIDs("\tweb")), "IssuerClientIDs: no client id, an empty one, or one with white space around it"},
		{validator.WithScopeClaim(" roles"), `WithScopeClaim: claim name " roles" is empty or has white space around it`},
	} {
		if _, err := validator.New(append(base, tc.opt)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.want, err)
		}
	}
	if _, err := validator.New(append(base, validator.WithLeeway(validator.MaxLeeway), validator.WithDPoPProofWindow(validator.MaxProofWindow))...); err != nil {
		t.Errorf("the caps themselves: %v", err)
	}
	for _, d := range []time.Duration{0, validator.MinNonceLifetime, validator.MaxNonceLifetime} {
		if _, err := validator.New(append(base, validator.WithDPoPNonces(make([]byte, 32), d))...); err != nil {
			t.Errorf("WithDPoPNonces(key, %v): %v", d, err)
		}
	}
	if _, err := validator.New(validator.WithAudience("x")); err == nil || !strings.Contains(err.Error(), "no issuer") {
		t.Errorf("no issuer: %v", err)
	}
	if _, err := validator.New(validator.WithIssuer(testIssuer, validator.NewKeys())); err == nil || !strings.Contains(err.Error(), "no audience") {
		t.Errorf("no audience: %v", err)
	}
	if _, err := validator.New(validator.WithIssuer(testIssuer, validator.NewKeys()), validator.WithIssuerSecret(testIssuer, hmacSecret), validator.WithAudience("x")); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("mixed keys and secret for one issuer: %v", err)
	}
}

// unavailableSource is a key source whose issuer cannot be reached.
type unavailableSource struct{ err error }

func (s unavailableSource) Key(context.Context, string, validator.Algorithm) (*validator.Key, error) {
	return nil, s.err
}

func TestValidateKeySourceErrors(t *testing.T) {
	loadKeys(t)
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"unavailable", &validator.UnavailableError{Reason: validator.ErrKeysUnavailable, Err: errors.New("dial refused")}, validator.ErrUnavailable},
		{"unknown key", validator.ErrUnknownKey, validator.ErrUnknownKey},
		{"foreign error counts as unavailable", errors.New("boom"), validator.ErrKeysUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := validator.New(validator.WithIssuer(testIssuer, unavailableSource{tt.err}), validator.WithAudience(testAud),
				validator.WithClock(func() time.Time { return testNow }))
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Validate(t.Context(), rs256(baseClaims(nil)))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Validate() error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	loadKeys(t)
	if _, err := validator.NewKey("x", &rsaKey.PublicKey, validator.ES256); err == nil {
		t.Error("NewKey(RSA, ES256) = nil error")
	}
	if _, err := validator.NewKey("x", &rsaKey.PublicKey, validator.HS256); err == nil {
		t.Error("NewKey(RSA, HS256) = nil error")
	}
	if _, err := validator.NewKey("x", []byte("secret"), ""); err == nil {
		t.Error("NewKey([]byte) = nil error")
	}
	// RSA keys that could verify nothing, or would make every forged token
	// naming them cost a huge exponentiation, are not keys.
	odd := func(bits int) *big.Int {
		n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
		return n.Or(n, big.NewInt(0xB7))
	}
	for _, tt := range []struct {
		name string
		pub  *rsa.PublicKey
		ok   bool
	}{
		{"2048 bits, e=65537", &rsa.PublicKey{N: odd(2048), E: 65537}, true},
		{"8192 bits", &rsa.PublicKey{N: odd(validator.MaxRSABits), E: 65537}, true},
		{"8193 bits", &rsa.PublicKey{N: odd(validator.MaxRSABits + 1), E: 65537}, false},
		{"32768 bits, e=2^31-1", &rsa.PublicKey{N: odd(32768), E: 1<<31 - 1}, false},
		{"2047 bits", &rsa.PublicKey{N: odd(2047), E: 65537}, false},
		{"e=3", &rsa.PublicKey{N: odd(2048), E: 3}, true},
		{"e=1", &rsa.PublicKey{N: odd(2048), E: 1}, false},
		{"e even", &rsa.PublicKey{N: odd(2048), E: 65536}, false},
		{"modulus even", &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 2047), E: 65537}, false},
	} {
		if _, err := validator.NewKey("x", tt.pub, ""); (err == nil) != tt.ok {
			t.Errorf("NewKey(RSA %s) error = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
	k := mustKey(t, "x", &ecKey.PublicKey, "")
	if got := k.Algorithms(); !slices.Equal(got, []validator.Algorithm{validator.ES256}) {
		t.Errorf("EC P-256 Algorithms() = %v", got)
	}
	r := mustKey(t, "r", &rsaKey.PublicKey, "")
	if !r.Allows(validator.PS384) || r.Allows(validator.ES256) || r.Allows(validator.HS256) || r.Allows("none") {
		t.Errorf("RSA Algorithms() = %v", r.Algorithms())
	}
	ks := validator.NewKeys(r, mustKey(t, "r", &ecKey.PublicKey, ""))
	if got, ok := ks.Lookup("r", validator.ES256); !ok || got.Public() != crypto.PublicKey(&ecKey.PublicKey) {
		t.Error("Lookup of shared kid by alg failed")
	}
	if _, ok := ks.Lookup("", validator.RS256); !ok {
		t.Error("Lookup without kid, one RSA key: not found")
	}
}

// A forged token whose header or claims are full of member names (short,
// long, escaped, or alike under case folding) costs no more allocations
// than one of the same size padded with one long member: no name is
// compared other than as written, and none kept in a map, before the
// signature holds. (In an object of over 16 names every name used to
// allocate: 1,800 allocations and 120 µs for 8 KiB. The time each shape
// costs is BenchmarkForgedNames.)
func TestForgedNamesCostNothingBeforeSignature(t *testing.T) {
	loadKeys(t)
	v := newValidator(t, validator.WithoutTokenCache())
	allocs := func(header, claims string) float64 {
		tok := jwstest.Token(header, claims, jwstest.RS(rsaKey2, crypto.SHA256))
		if len(tok) > validator.DefaultMaxTokenSize {
			t.Fatalf("token of %d bytes", len(tok))
		}
		return testing.AllocsPerRun(100, func() {
			if _, err := v.Validate(t.Context(), tok); !errors.Is(err, validator.ErrSignature) {
				t.Fatalf("forged token: %v", err)
			}
		})
	}
	const header, size = `{"alg":"RS256","kid":"rsa-1"}`, 5000
	// A shape that allocated per name would cost hundreds more; the slack
	// is for other goroutines of a busy process, which AllocsPerRun counts.
	const slack = 2
	claims := `{"iss":"` + testIssuer + `"`
	for _, tc := range forgedNameShapes(size) {
		base := allocs(header, padded(claims, size))
		if got := allocs(header, tc.members(claims)); got > base+slack {
			t.Errorf("claims, %s: %.0f allocations, padded claims of the same size %.0f", tc.name, got, base)
		}
		hbase := allocs(padded(strings.TrimSuffix(header, "}"), size), claims+"}")
		if got := allocs(tc.members(strings.TrimSuffix(header, "}")), claims+"}"); got > hbase+slack {
			t.Errorf("header, %s: %.0f allocations, padded header of the same size %.0f", tc.name, got, hbase)
		}
	}
}

// Signed by the issuer, every shape of duplicate names is refused,
// whichever pass finds it: before the signature (the first 16 names, as
// written) or after it (escaped names, names past 16, folding, nested
// objects), through Validate and ValidateInto.
func TestSignedDuplicateNamesRefused(t *testing.T) {
	loadKeys(t)
	base := strings.TrimSuffix(baseClaims(nil), "}") // 8 names
	names := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, `,"c%02d":%d`, i, i)
		}
		return b.String()
	}
	for _, c := range []struct {
		name   string
		claims string
		opts   []validator.Option
	}{
		{"duplicate as the 16th name", base + names(7) + `,"c00":1}`, nil},
		{"duplicate as the 17th name", base + names(8) + `,"c00":1}`, nil},
		{"folded duplicate as the 17th name", base + names(8) + `,"C00":1}`, nil},
		{"second iss past 16 names", base + names(9) + `,"iss":"https://id.example.com/"}`, nil},
		{"escaped duplicate past 16 names", base + names(9) + `,"\u0063\u0030\u0030":1}`, nil},
		{"escaped duplicate", base + `,"\u0073ub":"x"}`, nil},
		{"long s folding to sub", base + `,"\u017fub":"x"}`, nil},
		{"raw long s folding to sub", base + `,"ſub":"x"}`, nil},
		{"Kelvin sign, nested", base + `,"o":{"kid":1,"\u212aid":2}}`, nil},
		{"duplicate in an array of objects", base + `,"o":[1,{"a":1,"a":2}]}`, nil},
		{"folded duplicate after an object of one name", base + `,"o":[{"a":1},{"b":{"x":1,"X":2}}]}`, nil},
		{"deep duplicate", base + `,"o":` + strings.Repeat(`{"a":`, 20) + `{"b":1,"b":2}` + strings.Repeat(`}`, 20) + `}`, nil},
		{"escaped nested duplicate", base + `,"o":{"\u0061":1,"a":2}}`, nil},
		{"SUB alone", strings.Replace(base, `"sub"`, `"SUB"`, 1) + `}`, nil},
		{"Exp beside exp", base + `,"Exp":1}`, nil},
		{"a scope claim in capitals beside it", base + `,"roles":["a"],"ROLES":["b"]}`, []validator.Option{validator.WithScopeClaim("roles")}},
		{"a scope claim in capitals alone", base + `,"ROLES":["b"]}`, []validator.Option{validator.WithScopeClaim("roles")}},
		{"cnf duplicate", base + `,"cnf":{"jkt":"a","jkt":"b"}}`, nil},
		{"cnf folded duplicate", base + `,"cnf":{"jkt":"a","JKT":"b"}}`, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := newValidator(t, append(c.opts, validator.WithoutTokenCache())...)
			if tok, err := v.Validate(t.Context(), rs256(c.claims)); err == nil {
				t.Errorf("Validate accepted %s: scopes %v", c.claims, tok.Scopes.List())
			}
			var dst validator.Token
			if err := v.ValidateInto(t.Context(), rs256(c.claims), &dst); err == nil {
				t.Errorf("ValidateInto accepted %s", c.claims)
			}
		})
	}
}

// Regression (issue 12, finding 3): claims other than "iss" used to be
// decoded, scopes included, before the signature was checked, so a forged
// token made the validator do work an attacker chose. Now a forged token is
// refused for its signature (or its issuer) whatever its other claims hold.
func TestNothingButIssDecodedBeforeSignature(t *testing.T) {
	loadKeys(t)
	v := newValidator(t)
	forged := func(claims string) string {
		return jwstest.Token(`{"alg":"RS256","kid":"rsa-1"}`, claims, jwstest.RS(rsaKey2, crypto.SHA256))
	}
	tests := []struct {
		name   string
		claims string
		want   error
	}{
		{"scope of the wrong type", baseClaims(map[string]any{"scope": 123}), validator.ErrSignature},
		{"invalid scope token", baseClaims(map[string]any{"scope": "a\tb"}), validator.ErrSignature},
		{"scp of the wrong type", baseClaims(map[string]any{"scp": map[string]any{"a": 1}}), validator.ErrSignature},
		{"exp as a string", baseClaims(map[string]any{"exp": "soon"}), validator.ErrSignature},
		{"aud nested", baseClaims(map[string]any{"aud": []any{[]string{"x"}}}), validator.ErrSignature},
		{"sub of the wrong type", baseClaims(map[string]any{"sub": false}), validator.ErrSignature},
		{"untrusted iss, bad scope", baseClaims(map[string]any{"iss": "https://attacker.example/", "scope": 1}), validator.ErrIssuer},
		// Duplicate names in nested objects (and past 16 top-level names)
		// are looked for only once the signature holds: comparing names is
		// the one part of reading JSON that costs more than a pass over its
		// bytes (a forged 8 KiB object of short names cost 120 µs before).
		{"duplicate nested member", baseClaims(map[string]any{"o": json.RawMessage(`{"a":1,"A":2}`)}), validator.ErrSignature},
		{"a name folding to a claim read", baseClaims(map[string]any{"CID": "x"}), validator.ErrSignature},
		// The claims' JSON itself is still validated first: linear work,
		// and the few top-level names too.
		{"duplicate member", `{"iss":"` + testIssuer + `","iss":"` + testIssuer + `"}`, validator.ErrMalformed},
		{"iss of the wrong type", baseClaims(map[string]any{"iss": 1}), validator.ErrMalformed},
		{"lone surrogate", baseClaims(map[string]any{"x": json.RawMessage(`"\ud800"`)}), validator.ErrMalformed},
		{"number beyond float64", baseClaims(map[string]any{"x": json.RawMessage(`1e400`)}), validator.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := v.Validate(t.Context(), forged(tt.claims)); !errors.Is(err, tt.want) {
				t.Errorf("Validate() = %v, want %v", err, tt.want)
			}
		})
	}
	// Signed by the issuer, the same duplicates are refused, and a
	// duplicate past the 16th top-level name too.
	many := map[string]any{}
	for i := range 20 {
		many[fmt.Sprintf("c%02d", i)] = i
	}
	past16 := strings.TrimSuffix(baseClaims(many), "}") + `,"c00":1}`
	for _, claims := range []string{
		past16,
		`{"iss":"` + testIssuer + `","iss":"` + testIssuer + `"}`,
		baseClaims(map[string]any{"o": json.RawMessage(`{"a":1,"A":2}`)}),
		baseClaims(map[string]any{"SUB": "x"}),
	} {
		if _, err := v.Validate(t.Context(), rs256(claims)); !errors.Is(err, validator.ErrMalformed) {
			t.Errorf("signed %s: %v, want ErrMalformed", claims, err)
		}
	}
}
