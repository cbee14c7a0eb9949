package resourcemeta_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/resourcemeta"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// Held: the resource identifier and the resource_metadata URL come from
// configuration only. No Host, X-Forwarded-* or Forwarded header moves
// them, in the 401, the 403, either challenge (Bearer, DPoP), or the
// document itself.
func TestRedteamHostHeadersDoNotPoisonMetadata(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience("https://api.example.com/mcp"),
		validator.WithDPoP(validator.DPoPAllowed))
	if err != nil {
		t.Fatal(err)
	}
	md, err := resourcemeta.New("https://api.example.com/mcp", resourcemeta.WithAuthorizationServers(iss.URL), resourcemeta.FromValidator(v))
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpbearer.New(v, httpbearer.WithResourceMetadata(md.URL()))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(md.Path(), md)
	mux.Handle("/mcp", g.Require(scopes.All("admin"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tok := iss.Mint(t, bearertest.Claims{"aud": "https://api.example.com/mcp", "scope": "read"})
	for _, path := range []string{"/mcp", md.Path()} {
		for _, auth := range []string{"", "Bearer " + tok, "Bearer x.y.z", "DPoP " + tok} {
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			req.Host = "evil.example"
			req.Header.Set("X-Forwarded-Host", "evil.example")
			req.Header.Set("X-Forwarded-Proto", "http")
			req.Header.Set("X-Forwarded-Prefix", "/evil")
			req.Header.Set("Forwarded", `host=evil.example;proto=http`)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body strings.Builder
			buf := make([]byte, 4096)
			n, _ := resp.Body.Read(buf)
			body.Write(buf[:n])
			resp.Body.Close()
			all := resp.Header.Get("WWW-Authenticate") + body.String()
			if strings.Contains(all, "evil") {
				t.Errorf("%s %q: poisoned: %s", path, auth, all)
			}
			if path == "/mcp" && strings.Count(resp.Header.Get("WWW-Authenticate"), `resource_metadata="`+md.URL()+`"`) != 2 {
				t.Errorf("%q: challenge %q", auth, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
}

// Held: signed_metadata (RFC 9728 §2.2) holds exactly the plain members
// plus "iss", with the configured alg and kid, for a full configuration.
func TestRedteamSignedMetadataEqualsPlainMembers(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	d, err := resourcemeta.New("https://api.example.com/orders?tenant=a",
		resourcemeta.WithAuthorizationServers("https://id.example.com/"),
		resourcemeta.WithScopes("read:data", "a<b>&c"),
		resourcemeta.WithBearerMethods("header", "query"),
		resourcemeta.WithResourceName("Orders \u2028 <script>"),
		resourcemeta.WithDocumentation("https://docs.example.com/", "", ""),
		resourcemeta.WithCertificateBoundTokens(),
		resourcemeta.WithDPoP([]validator.Algorithm{validator.ES256}, true),
		resourcemeta.WithSignedMetadata("https://signer.example.com", rk, validator.PS256, "kid-1"))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, httptest.NewRequest("GET", d.Path(), nil))
	var plain map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &plain); err != nil {
		t.Fatal(err)
	}
	msg, err := jws.Parse([]byte(plain["signed_metadata"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	if h.Algorithm() != jwa.PS256 || h.KeyID() != "kid-1" {
		t.Errorf("header alg %v kid %v", h.Algorithm(), h.KeyID())
	}
	payload, err := jws.Verify([]byte(plain["signed_metadata"].(string)), jws.WithKey(jwa.PS256, &rk.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	var signed map[string]any
	_ = json.Unmarshal(payload, &signed)
	if signed["iss"] != "https://signer.example.com" {
		t.Errorf("iss %v", signed["iss"])
	}
	delete(signed, "iss")
	delete(plain, "signed_metadata")
	if !reflect.DeepEqual(signed, plain) {
		t.Errorf("signed members differ:\n signed %v\n plain  %v", signed, plain)
	}
}

// A resource identifier with dot segments (or an empty segment) is
// refused: its metadata URL would not be in normal form, an RFC 3986
// §5.2.4 / WHATWG client (the TypeScript MCP SDK's URL) would fetch a
// different path (another resource's document:
// ".../oauth-protected-resource/admin"), and a ServeMux would redirect the
// document's own Path away from it.
func TestRedteamResourceWithDotSegmentsRejected(t *testing.T) {
	for _, r := range []string{
		"https://api.example.com/x/../admin",
		"https://api.example.com/x/%2e%2e/admin",
		"https://api.example.com/./mcp",
		"https://api.example.com//mcp",
	} {
		if d, err := resourcemeta.New(r); err == nil {
			rec := httptest.NewRecorder()
			mux := http.NewServeMux()
			mux.Handle(d.Path(), d)
			mux.ServeHTTP(rec, httptest.NewRequest("GET", d.Path(), nil))
			t.Errorf("New(%q) accepted: URL %s, GET Path() through a ServeMux → %d", r, d.URL(), rec.Code)
		}
	}
}

// A non-ASCII host is refused as the resource: URL() (the
// resource_metadata every challenge carries) would percent-encode it
// ("ex%C3%A4mple.com"), a host no client resolves, and not the resource's.
func TestRedteamResourceWithNonASCIIHostRejected(t *testing.T) {
	d, err := resourcemeta.New("https://exämple.com/mcp")
	if err == nil {
		t.Errorf("New accepted a non-ASCII host: resource %q, URL %q", d.Metadata().Resource, d.URL())
	}
}

// For a resource whose path ends in "/", Path() is a ServeMux subtree
// pattern: the documented mux.Handle(md.Path(), md) routes every
// well-known path below it to the document, which answers them 404, not
// with this resource's document.
func TestRedteamTrailingSlashPathIsExact(t *testing.T) {
	d, err := resourcemeta.New("https://api.example.com/mcp/")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(d.Path(), d)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/oauth-protected-resource/mcp/admin/secret", nil))
	if rec.Code == 200 {
		t.Errorf("document for %q served at .../mcp/admin/secret: %s", d.Metadata().Resource, rec.Body)
	}
}

// A WHATWG URL parser (browsers, Node, most MCP clients) reads "\\" in an
// http(s) path as "/", so "https://h/api\\..\\admin" is https://h/admin to
// the client, which builds that resource's metadata URL (RFC 9728 §3.1):
// the hazard of dot segments. A resource with a backslash is refused.
func TestRedteamResourceWithBackslashRejected(t *testing.T) {
	for _, r := range []string{`https://h/api\..\admin`, `https://h/api\\x`, `https://h/a\`} {
		if u, err := resourcemeta.WellKnownURL(r); err == nil {
			t.Errorf("WellKnownURL(%q) = %q, want an error", r, u)
		}
	}
}
