package resourcemeta_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/bearerguard/bearerguard/resourcemeta"
	"github.com/bearerguard/bearerguard/validator"
)

var update = flag.Bool("update", false, "rewrite the golden documents")

func TestWellKnownURL(t *testing.T) {
	tests := []struct{ resource, want string }{
		{"https://api.example.com", "https://api.example.com/.well-known/oauth-protected-resource"},
		{"https://api.example.com/", "https://api.example.com/.well-known/oauth-protected-resource"},
		{"https://api.example.com/orders", "https://api.example.com/.well-known/oauth-protected-resource/orders"},
		{"https://api.example.com/orders/", "https://api.example.com/.well-known/oauth-protected-resource/orders/"},
		{"https://api.example.com:8443/v1/mcp", "https://api.example.com:8443/.well-known/oauth-protected-resource/v1/mcp"},
		{"https://api.example.com/a%20b", "https://api.example.com/.well-known/oauth-protected-resource/a%20b"},
		{"https://api.example.com/r?tenant=x", "https://api.example.com/.well-known/oauth-protected-resource/r?tenant=x"},
		{"http://127.0.0.1:8080/mcp", "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp"},
	}
	for _, tt := range tests {
		got, err := resourcemeta.WellKnownURL(tt.resource)
		if err != nil || got != tt.want {
			t.Errorf("WellKnownURL(%q) = %q, %v; want %q", tt.resource, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "api.example.com/x", "http://api.example.com/x", "https://api.example.com/x#frag", "https://user@api.example.com/", "ftp://a/b"} {
		if got, err := resourcemeta.WellKnownURL(bad); err == nil {
			t.Errorf("WellKnownURL(%q) = %q, want an error", bad, got)
		}
	}
}

func TestGoldenDocuments(t *testing.T) {
	v, err := validator.New(validator.WithIssuer("https://id.example.com/", validator.NewKeys()), validator.WithAudience("x"),
		validator.WithDPoP(validator.DPoPRequired), validator.WithDPoPAlgorithms(validator.ES256, validator.EdDSA))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		resource string
		opts     []resourcemeta.Option
	}{
		{"minimal", "https://api.example.com", nil},
		{"full", "https://api.example.com/orders", []resourcemeta.Option{
			resourcemeta.WithAuthorizationServers("https://id.example.com/", "https://login.example.org/tenant"),
			resourcemeta.WithScopes("read:data", "write:data", "read:data"),
			resourcemeta.WithBearerMethods("header"),
			resourcemeta.WithResourceName("Orders API"),
			resourcemeta.WithDocumentation("https://docs.example.com/orders", "https://example.com/policy", ""),
			resourcemeta.WithCertificateBoundTokens(),
			resourcemeta.FromValidator(v),
		}},
		{"mcp", "https://mcp.example.com/mcp", []resourcemeta.Option{
			resourcemeta.WithAuthorizationServers("https://id.example.com/"),
			resourcemeta.WithScopes("read:data"),
			resourcemeta.WithDPoP([]validator.Algorithm{validator.ES256}, false),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := resourcemeta.New(tt.resource, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(d)
			defer srv.Close()
			resp, err := http.Get(srv.URL + d.Path())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Cache-Control") == "" {
				t.Errorf("answer %d %v", resp.StatusCode, resp.Header)
			}
			golden := filepath.Join("testdata", tt.name+".json")
			if *update {
				if err := os.WriteFile(golden, body, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != string(want) {
				t.Errorf("document:\n%s\nwant:\n%s", body, want)
			}
			var md map[string]any
			if err := json.Unmarshal(body, &md); err != nil || md["resource"] != tt.resource {
				t.Errorf("resource member %v (%v)", md["resource"], err)
			}
		})
	}
}

// The signed metadata verifies with an independent JOSE library (jwx), and
// carries the same members as the document plus "iss".
func TestSignedMetadata(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	cases := []struct {
		name string
		opt  resourcemeta.Option
		alg  jwa.SignatureAlgorithm
		pub  any
	}{
		{"ES256", resourcemeta.WithSignedMetadata("https://id.example.com/", ec, validator.ES256, "k1"), jwa.ES256, &ec.PublicKey},
		{"EdDSA", resourcemeta.WithSignedMetadata("https://id.example.com/", ed, validator.EdDSA, ""), jwa.EdDSA, ed.Public()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := resourcemeta.New("https://api.example.com/orders", resourcemeta.WithScopes("read:data"), c.opt)
			if err != nil {
				t.Fatal(err)
			}
			signed := d.Metadata().SignedMetadata
			payload, err := jws.Verify([]byte(signed), jws.WithKey(c.alg, c.pub))
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			var claims map[string]any
			if err := json.Unmarshal(payload, &claims); err != nil {
				t.Fatal(err)
			}
			if claims["iss"] != "https://id.example.com/" || claims["resource"] != "https://api.example.com/orders" || claims["signed_metadata"] != nil {
				t.Errorf("claims %v", claims)
			}
		})
	}
	rsaMismatch := resourcemeta.WithSignedMetadata("https://id.example.com/", ec, validator.RS256, "")
	if _, err := resourcemeta.New("https://api.example.com", rsaMismatch); err == nil {
		t.Error("RS256 with an EC key was accepted")
	}
}

func TestNewRejectsBadConfiguration(t *testing.T) {
	_, err := resourcemeta.New("http://api.example.com", resourcemeta.WithAuthorizationServers("not a url"), resourcemeta.WithBearerMethods("cookie"),
		resourcemeta.WithScopes("read:data", ""), resourcemeta.WithScopes("read data")) // scopes_supported [""] was served
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"https", "WithAuthorizationServers", "WithBearerMethods", `WithScopes: "" is not a scope token`, `WithScopes: "read data" is not`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	d, _ := resourcemeta.New("https://api.example.com")
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, httptest.NewRequest("POST", "/.well-known/oauth-protected-resource", nil))
	if rec.Code != 405 {
		t.Errorf("POST answered %d", rec.Code)
	}
}

// A resource must be written in canonical form (lower-case scheme and
// host, no empty or default port): the document's "resource" is what
// clients compare byte for byte with the URI they asked for, and what
// tokens' audiences are compared with. "HTTPS://…" was accepted, and its
// document named a resource its own metadata URL did not start with.
func TestNewRefusesNonCanonicalResource(t *testing.T) {
	for _, tt := range []struct {
		resource string
		ok       bool
	}{
		{"https://mcp.example.com/mcp", true},
		{"https://mcp.example.com:8443/mcp", true},
		{"http://127.0.0.1:8080/mcp", true},
		{"HTTPS://mcp.example.com/mcp", false},
		{"Https://mcp.example.com/mcp", false},
		{"https://MCP.Example.COM/mcp", false},
		{"https://mcp.example.com:443/mcp", false},
		{"http://127.0.0.1:80/mcp", false},
		{"https://mcp.example.com:/mcp", false},
		// What WHATWG URL parsers (browsers, Node) would rewrite.
		{"https://mcp.example.com:08443/mcp", false},
		{"https://mcp.example.com:0443/mcp", false},
		{"https://0x7f.0.0.1/mcp", false},
		{"https://10.1/mcp", false},
		{"https://[0:0:0:0:0:0:0:1]/mcp", false},
		{"https://:8443/mcp", false}, // a port and no host: Node refuses it
		{"http://:8080/mcp", false},
		{"http://[::1]:8080/mcp", true},
		{"http://127.0.0.1/mcp", true},
		// From the review of the first fix: IPv4-mapped addresses (Node
		// writes [::ffff:7f00:1]), an IPv4 address's trailing dot (Node
		// drops it), ports past 65535 and zones (Node refuses both).
		{"https://[::ffff:127.0.0.1]/mcp", false},
		{"https://[::ffff:7f00:1]/mcp", false},
		{"https://[::1.2.3.4]/mcp", false},
		{"https://1.2.3.4./mcp", false},
		{"https://mcp.example.com:99999/mcp", false},
		{"https://mcp.example.com:65535/mcp", true},
		{"https://[fe80::1%25eth0]/mcp", false},
		{"https://[2001:db8::]/mcp", true},
		{"https://mcp.example.com./mcp", true},
		{"https://api.v2/mcp", true},
		{"https://a.b.c.1e2/mcp", true},
		{"https://xn--bcher-kva.example/mcp", true},
		// From the review of the second fix, each checked with node 20's
		// new URL(resource).href: "0x" alone is a number, "0xdata" a name.
		{"https://0x/mcp", false},
		{"https://0x./mcp", false},
		{"https://a.0x/mcp", false},
		{"https://a.0xff/mcp", false},
		{"https://0xdata/mcp", true},
		{"https://api.0xproject/mcp", true},
		{"https://svc.0xcafe-api/mcp", true},
		// characters WHATWG parsers percent-encode, RFC 3986 forbids
		{"https://mcp.example.com/a b", false},
		{`https://mcp.example.com/a"b`, false},
		{"https://mcp.example.com/a<b>", false},
		{"https://mcp.example.com/a`b", false},
		{"https://mcp.example.com/a{b}", false},
		{"https://mcp.example.com/a|b", false},
		{"https://mcp.example.com/a[b]", false},
		{"https://mcp.example.com/€", false},
		{"https://mcp.example.com/a%2", false},
		{"https://mcp.example.com/mcp?a'b", false},
		{"https://mcp.example.com/mcp?a b", false},
		{"https://mcp.example.com/mcp?€", false},
		{"https://mcp.example.com/a%20b/%E2%82%AC", true},
		{"https://mcp.example.com/~u/a(b)*;c=d:e@f!$&'+,", true},
		{"https://mcp.example.com/mcp?a=1&b=%27/?", true},
		// hosts WHATWG parsers refuse
		{"https://xn--a.example/mcp", false},
		{"https://xn--.example/mcp", false},
		{"https://ex%25ample.com/mcp", false},
		{"https://a_b.example/mcp", true},
		// From the review of the third fix: characters RFC 3986 allows in
		// no host, which Go's parser let through; and the bidi rule, which
		// UTS #46 applies to the whole domain once one label is
		// right-to-left (ICU-based parsers, so browsers, refuse these).
		{`https://a"b.example/mcp`, false},
		{"https://a<b.example/mcp", false},
		{"https://a>b.example/mcp", false},
		{"https://<x>.example/mcp", false},
		{"https://a]b/mcp", false},
		{"https://[::1]x/mcp", false},
		{"https://1a.xn--4db/mcp", false},
		{"https://xn--4db.1a.example/mcp", false},
		{"https://xn--4db.example/mcp", true},
		{"https://a~b!$&'()*+,;=.example/mcp", true},
	} {
		_, err := resourcemeta.New(tt.resource, resourcemeta.WithAuthorizationServers("https://id.example.com/"))
		if (err == nil) != tt.ok {
			t.Errorf("New(%q) = %v, want ok=%v", tt.resource, err, tt.ok)
		}
	}
}
