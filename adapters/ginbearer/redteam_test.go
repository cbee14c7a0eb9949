package ginbearer_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bearerguard/bearerguard/adapters/ginbearer"
	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/validator"
)

// Two guards, each over its own validator (contract.OuterTokenUnderOptional):
// a request whose only credential is a cookie token for the site passes
// the outer guard, and the inner, Optional one decides "anonymous".
// net/http's handler then finds no token (validator.FromContext), and
// ginbearer.Token(c) must find none either; it once returned the outer
// guard's token, one the admin guard never validated and would refuse.
func TestOptionalClearsOuterGuardsToken(t *testing.T) {
	gin.SetMode(gin.TestMode)
	outerG, innerG, req := contract.OuterTokenUnderOptional(t)
	outer, inner := must(t, outerG), must(t, innerG)
	r := gin.New()
	var got *validator.Token
	var inCtx bool
	r.Group("/", outer.Optional()).GET("/admin/whoami", inner.Optional(), func(c *gin.Context) {
		got, _ = ginbearer.Token(c)
		_, inCtx = validator.FromContext(c.Request.Context())
		c.Status(http.StatusOK)
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if got != nil {
		t.Fatalf("the admin guard let the request through as anonymous (validator.FromContext finds a token: %v), "+
			"but ginbearer.Token gives its handler the outer guard's token: sub %q, aud %q", inCtx, got.Subject, got.Audience)
	}
}

// A DPoP proof binds a request to one URI (RFC 9449 §4.3 "htu"). The
// Guard normalizes the request's own path as RFC 3986 §6.2.2 says:
// %2e is decoded and dot segments are removed, so the request
// GET /files/%2e%2e/public is taken to be GET /public. Gin routes it
// literally: /files/*path, with path "/../public". A proof made for
// GET /public (captured on its way, say) is accepted on another route and
// handler. forwardauth refuses such paths (SECURITY.md guarantee 14); the
// Guard compares them as equal.
func TestDPoPProofNotMovedByDotSegments(t *testing.T) {
	gin.SetMode(gin.TestMode)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	key, _ := validator.NewKey("k", pub, validator.EdDSA)
	v, err := validator.New(validator.WithIssuer("https://id.example.com/", validator.NewKeys(key)), validator.WithAudience("orders"))
	if err != nil {
		t.Fatal(err)
	}
	dk := bearertest.MustDPoPKey(t, validator.ES256)
	enc := base64.RawURLEncoding
	claims, _ := json.Marshal(map[string]any{"iss": "https://id.example.com/", "aud": "orders", "sub": "alice", "scope": "read:data",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "cnf": map[string]any{"jkt": dk.Thumbprint()}})
	in := enc.EncodeToString([]byte(`{"alg":"EdDSA","kid":"k"}`)) + "." + enc.EncodeToString(claims)
	tok := in + "." + enc.EncodeToString(ed25519.Sign(priv, []byte(in)))

	g, err := httpbearer.New(v, httpbearer.WithPublicURL("https://api.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	auth := must(t, g)
	r := gin.New()
	var ran string
	r.GET("/public", auth.Authenticate(), func(c *gin.Context) { ran = "public"; c.Status(200) })
	r.GET("/files/*path", auth.Authenticate(), func(c *gin.Context) { ran = "files " + c.Param("path"); c.Status(200) })

	proof := dk.MustProof(t, "GET", "https://api.example.com/public", tok)
	req := httptest.NewRequest("GET", "/files/%2e%2e/public", nil)
	req.Header.Set("Authorization", "DPoP "+tok)
	req.Header.Set("DPoP", proof)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code == 200 && ran != "public" {
		t.Fatalf("a proof for GET https://api.example.com/public was accepted at GET /files/%%2e%%2e/public, and Gin ran the handler %q", ran)
	}
}
