package jwks_test

import (
	"crypto"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

// rawRSAJWK renders an RSA public key as JWK members written in the order
// given, so that a test can name a member twice (JSON member names are
// case-sensitive: "use" and "USE" are two members, RFC 8259 / RFC 7517 §4).
func rawRSAJWK(kid string, pub *rsa.PublicKey, extra string) string {
	return `{"kty":"RSA","kid":` + jwstest.JSON(kid) + `,"n":"` + b64.EncodeToString(pub.N.Bytes()) +
		`","e":"` + b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()) + `"` + extra + `}`
}

// A key the JWK marks for encryption only ("use":"enc", or "key_ops"
// without "verify") never verifies a token (package doc, point 2), however
// else the document names members. The check once read "use" and
// "key_ops" with encoding/json's struct decoding, which matches names
// case-insensitively, the last one winning: a stray "USE":"sig" or
// "KEY_OPS":["verify"] (another member to RFC 7517 and to jwx, which read
// an encryption key) made an encryption key a verification key.
func TestEncryptionKeyBehindCaseVariantMember(t *testing.T) {
	loadKeys()
	const iss = "https://id.example.com/"
	doc := `{"keys":[` +
		rawRSAJWK("sig", &rsaA.PublicKey, `,"use":"sig"`) + `,` +
		rawRSAJWK("enc", &rsaB.PublicKey, `,"use":"enc","USE":"sig"`) + `,` +
		rawRSAJWK("ops", &rsaC.PublicKey, `,"key_ops":["encrypt","wrapKey"],"KEY_OPS":["verify"]`) + `]}`
	srv := newServer(t, []byte(doc))
	set := newSet(t, srv)
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	v, err := validator.New(validator.WithIssuer(iss, set), validator.WithAudience("api"))
	if err != nil {
		t.Fatal(err)
	}
	claims := jwstest.JSON(map[string]any{"iss": iss, "aud": "api", "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	// The control: the signing key verifies.
	good := jwstest.Token(`{"alg":"RS256","kid":"sig"}`, claims, jwstest.RS(rsaA, crypto.SHA256))
	if _, err := v.Validate(t.Context(), good); err != nil {
		t.Fatalf("token of the signing key: %v", err)
	}
	for _, c := range []struct {
		kid  string
		priv *rsa.PrivateKey
	}{{"enc", rsaB}, {"ops", rsaC}} {
		tok := jwstest.Token(`{"alg":"RS256","kid":"`+c.kid+`"}`, claims, jwstest.RS(c.priv, crypto.SHA256))
		if got, err := v.Validate(t.Context(), tok); err == nil {
			t.Errorf("token signed with the encryption key %q accepted (sub %q); want it refused, the key skipped", c.kid, got.Subject)
		}
	}
}

// Key sets are fetched over HTTPS only, redirects included (SECURITY.md,
// guarantee 6; package doc, point 8), with a caller's client too
// (WithHTTPClient: a proxy, a private CA). The policy once lived only in
// the default client's CheckRedirect, so with a caller's client an https
// JWKS or discovery URL redirecting to plain http was followed and keys
// read off an unauthenticated connection trusted. The plain-http target
// here is on loopback (the test has no other address) and
// WithInsecureLoopbackHTTP is not set, so even loopback http is refused.
func TestCustomClientRedirectToPlainHTTP(t *testing.T) {
	loadKeys()
	// Whoever answers on the plain-http hop (anyone on the path) serves
	// their own key.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/jwks":
			_, _ = w.Write(jwksDoc(jwk("attacker", &rsaC.PublicKey, nil)))
		}
	}))
	t.Cleanup(plain.Close)
	var tlsSrv *httptest.Server
	tlsSrv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/jwks":
			http.Redirect(w, r, plain.URL+"/jwks", http.StatusFound)
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": tlsSrv.URL, "jwks_uri": tlsSrv.URL + "/jwks"})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(tlsSrv.Close)

	for name, mk := range map[string]func() (*jwks.Set, error){
		"New": func() (*jwks.Set, error) {
			return jwks.New(tlsSrv.URL+"/jwks", jwks.WithHTTPClient(tlsSrv.Client()), jwks.WithLogger(discard))
		},
		"Discover": func() (*jwks.Set, error) {
			return jwks.Discover(tlsSrv.URL, jwks.WithHTTPClient(tlsSrv.Client()), jwks.WithLogger(discard))
		},
	} {
		t.Run(name, func(t *testing.T) {
			set, err := mk()
			if err != nil {
				t.Fatal(err)
			}
			defer set.Close()
			err = set.Refresh(t.Context())
			if k, kerr := set.Key(t.Context(), "attacker", validator.RS256); kerr == nil {
				t.Errorf("key %q from %s (plain http, reached by a redirect) is trusted; Refresh() = %v, want ErrInsecureURL", k.ID(), plain.URL, err)
			}
			if err == nil || !strings.Contains(err.Error(), "https") {
				t.Errorf("Refresh() = %v, want the redirect to plain http refused", err)
			}
		})
	}
}

// A key set holding an absurd RSA key (32768 bits, e = 2^31-1, which
// crypto/rsa accepts) would make every forged token naming its kid cost a
// full exponentiation over that modulus: unauthenticated requests, tens of
// milliseconds of CPU each, nothing cached. Keys over MaxRSABits (8192, as
// crypto/tls since CVE-2023-29409) are skipped; DPoP proof keys are capped
// at 4096 bits for the same reason (validator/jwk.go).
func TestHugeRSAKeySkipped(t *testing.T) {
	const bits = 32768
	n := new(big.Int).Lsh(big.NewInt(1), bits-1)
	n.Or(n, big.NewInt(0xB7)) // odd: all crypto/rsa checks for a public key
	huge := &rsa.PublicKey{N: n, E: 1<<31 - 1}
	loadKeys()
	doc := `{"keys":[` + rawRSAJWK("a", &rsaA.PublicKey, "") + `,` + rawRSAJWK("huge", huge, "") + `]}`
	srv := newServer(t, []byte(doc))
	set := newSet(t, srv)
	_ = set.Refresh(t.Context())
	const iss = "https://id.example.com/"
	v, err := validator.New(validator.WithIssuer(iss, set), validator.WithAudience("api"))
	if err != nil {
		t.Fatal(err)
	}
	claims := jwstest.JSON(map[string]any{"iss": iss, "aud": "api", "exp": time.Now().Add(time.Hour).Unix()})
	forged := jwstest.Token(`{"alg":"RS256","kid":"huge"}`, claims, jwstest.Fixed(append(make([]byte, bits/8-1), 7)))
	if len(forged) > validator.DefaultMaxTokenSize {
		t.Fatalf("forged token of %d bytes is over the size cap", len(forged))
	}
	const tries = 5
	start := time.Now()
	for range tries {
		if _, err := v.Validate(t.Context(), forged); !errors.Is(err, validator.ErrSignature) && !errors.Is(err, validator.ErrUnknownKey) {
			t.Fatalf("forged token: %v", err)
		}
	}
	per := time.Since(start) / tries
	if _, err := set.Key(t.Context(), "huge", validator.RS256); err == nil {
		t.Errorf("a %d-bit RSA key with e=2^31-1 is kept: each forged %d-byte token naming it costs %v of CPU to refuse (want keys over 8192 bits skipped)",
			bits, len(forged), per)
	}
}

// Refresh is the tool for "fetch the key set now" (start-up, an admin
// endpoint: the operator who just removed a compromised key upstream). It
// once joined any fetch in flight, even one that had read the old document
// before Refresh was called, and reported success while the removed key
// stayed trusted until the next refresh (15 min by default, up to 24 h
// with a max-age). It now waits that fetch out and joins or starts one
// that began after the call. (The same join made TestMetricsAndSpans
// flaky.)
func TestRefreshSeesKeyRemoval(t *testing.T) {
	loadKeys()
	srv := newServer(t, jwksDoc(jwk("compromised", &rsaA.PublicKey, nil), jwk("b", &rsaB.PublicKey, nil)))
	set := newSet(t, srv)
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A fetch (the background refresh, or one a token with an unknown
	// kid triggered) reads the document, then its response is slow.
	arrived, release := make(chan struct{}), make(chan struct{})
	old := jwksDoc(jwk("compromised", &rsaA.PublicKey, nil), jwk("b", &rsaB.PublicKey, nil))
	var once atomic.Bool
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) {
		if once.CompareAndSwap(false, true) {
			close(arrived)
			<-release
			_, _ = w.Write(old)
			return
		}
		_, _ = w.Write(jwksDoc(jwk("b", &rsaB.PublicKey, nil)))
	})
	go func() { _, _ = set.Key(t.Context(), "rotated-in", validator.RS256) }() // starts that fetch
	<-arrived
	// The operator removes the key upstream, then asks for a refresh.
	refreshed := make(chan error, 1)
	go func() { refreshed <- set.Refresh(t.Context()) }()
	time.Sleep(200 * time.Millisecond)
	close(release)
	if err := <-refreshed; err != nil {
		t.Fatalf("Refresh() = %v", err)
	}
	if _, err := set.Key(t.Context(), "compromised", validator.RS256); err == nil {
		t.Errorf("Refresh() returned nil after the key was removed upstream, yet the key is still trusted (%d fetches in all)", srv.requests.Load())
	}
}
