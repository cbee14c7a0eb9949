package bearertest_test

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/validator"
)

// A DPoP-bound token and the proof that goes with each request: the token
// names the key's thumbprint in "cnf", and the proof, signed by the key,
// names the request and the token.
func ExampleDPoPKey_Proof() {
	iss, err := bearertest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	key, err := bearertest.NewDPoPKey(validator.ES256)
	if err != nil {
		log.Fatal(err)
	}
	tok, err := iss.MintToken(bearertest.Claims{"aud": "orders"}, bearertest.BoundToKey(key))
	if err != nil {
		log.Fatal(err)
	}
	proof, err := key.Proof("GET", "https://api.example.com/orders?page=2", tok)
	if err != nil {
		log.Fatal(err)
	}

	req, _ := http.NewRequest("GET", "https://api.example.com/orders?page=2", nil)
	req.Header.Set("Authorization", "DPoP "+tok)
	req.Header.Set("DPoP", proof)

	var header struct {
		Typ string         `json:"typ"`
		Alg string         `json:"alg"`
		JWK map[string]any `json:"jwk"`
	}
	var claims struct {
		HTM string `json:"htm"`
		HTU string `json:"htu"`
		ATH string `json:"ath"`
	}
	var bound struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	decodePart(proof, 0, &header)
	decodePart(proof, 1, &claims)
	decodePart(tok, 1, &bound)
	fmt.Println(header.Typ, header.Alg, header.JWK["kty"], header.JWK["crv"])
	fmt.Println(claims.HTM, claims.HTU)
	fmt.Println("ath matches the token:", claims.ATH == bearertest.AccessTokenHash(tok))
	fmt.Println("token bound to the key:", bound.Cnf.JKT == key.Thumbprint())
	// Output:
	// dpop+jwt ES256 EC P-256
	// GET https://api.example.com/orders
	// ath matches the token: true
	// token bound to the key: true
}

// decodePart decodes part i of a compact JWS into v.
func decodePart(jws string, i int, v any) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(jws, ".")[i])
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		log.Fatal(err)
	}
}

// A server that requires client certificates from the CA, a client with a
// certificate the CA issued, and a token bound to that certificate: the
// server compares the thumbprint of the certificate it sees with the
// token's "cnf". A TLS-terminating proxy would forward the certificate
// instead, as XFCCHeader or EscapedPEM render it.
func ExampleClientCA() {
	ca, err := bearertest.NewClientCA()
	if err != nil {
		log.Fatal(err)
	}
	cert, leaf, err := ca.Issue("billing")
	if err != nil {
		log.Fatal(err)
	}
	iss, err := bearertest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	tok, err := iss.MintToken(bearertest.Claims{"aud": "orders"}, bearertest.BoundToCertificate(leaf))
	if err != nil {
		log.Fatal(err)
	}

	api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var claims struct {
			Cnf map[string]string `json:"cnf"`
		}
		decodePart(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), 1, &claims)
		peer := r.TLS.PeerCertificates[0]
		fmt.Fprintf(w, "%s, bound: %v", peer.Subject.CommonName, claims.Cnf["x5t#S256"] == bearertest.CertThumbprint(peer))
	}))
	api.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()}
	api.StartTLS()
	defer api.Close()

	client := api.Client() // trusts the server's certificate
	client.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{cert}
	req, _ := http.NewRequest("GET", api.URL, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	fmt.Println(strings.HasPrefix(bearertest.XFCCHeader(leaf), "Hash="))
	fmt.Println(bearertest.EscapedPEM(leaf)[:35])
	// Output:
	// billing, bound: true
	// true
	// -----BEGIN%20CERTIFICATE-----%0AMII
}

// The token endpoint binds the token to the key of a DPoP proof sent with
// the request (RFC 9449 §5), and says so in "token_type".
func ExampleBoundToKey_tokenEndpoint() {
	iss, err := bearertest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	iss.AddClient(bearertest.ClientConfig{ID: "svc", Secret: "svc-secret"})
	key, err := bearertest.NewDPoPKey("")
	if err != nil {
		log.Fatal(err)
	}
	proof, err := key.Proof("POST", iss.TokenURL(), "")
	if err != nil {
		log.Fatal(err)
	}

	req, _ := http.NewRequest("POST", iss.TokenURL(), strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("svc", "svc-secret")
	req.Header.Set("DPoP", proof)
	resp, err := iss.Client().Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		log.Fatal(err)
	}
	var claims struct {
		Cnf map[string]string `json:"cnf"`
	}
	decodePart(answer.AccessToken, 1, &claims)
	fmt.Println(answer.TokenType, claims.Cnf["jkt"] == key.Thumbprint())
	// Output: DPoP true
}
