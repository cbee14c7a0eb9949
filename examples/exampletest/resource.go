package exampletest

import (
	_ "embed"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/validator"
)

// MetadataGolden is the examples' protected resource metadata document
// (RFC 9728) with the default flags, the resource's URL written
// {{resource}}, the issuer's {{issuer}}, and the DPoP algorithms
// {{dpop_algs}}: see [Golden].
//
//go:embed testdata/metadata.json
var MetadataGolden string

// Golden fills in a golden metadata document: the resource, the issuer,
// and [DPoPAlgs] as JSON strings.
func Golden(doc, resource, issuer string) string {
	algs := `"` + strings.ReplaceAll(DPoPAlgs, " ", `","`) + `"`
	return strings.NewReplacer("{{resource}}", resource, "{{issuer}}", issuer, "{{dpop_algs}}", algs).Replace(doc)
}

// ServeAt starts the handler newHandler builds for the configuration cfg
// returns given the server's own base URL ("http://127.0.0.1:port"), for
// configurations that name the service itself (a resource). Both are
// stopped when the test ends.
func ServeAt(t *testing.T, newHandler NewHandler, iss *bearertest.Issuer, cfg func(base string) setup.Config) (*httptest.Server, setup.Config) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	c := cfg("http://" + srv.Listener.Addr().String())
	h, closeFn, err := newHandler(c, iss.Client())
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, c
}

// Metadata checks that a service with a resource publishes its protected
// resource metadata (RFC 9728) and points to it from every challenge: for
// a resource at the root and one with a path, 401 and 403 carry
// resource_metadata (the 403 keeps scope), the document at that URL is the
// golden one, and its DPoP algorithms are the DPoP challenge's. --dpop
// required and --client-ca show in the document; without a resource there
// is no document and no resource_metadata (see [Run]).
func Metadata(t *testing.T, newHandler NewHandler) {
	iss := bearertest.NewIssuer(t)
	for _, path := range []string{"", "/orders"} {
		t.Run("resource"+path, func(t *testing.T) {
			srv, cfg := ServeAt(t, newHandler, iss, func(base string) setup.Config {
				return setup.Config{Issuer: iss.URL, Audience: base + path, Resource: base + path}
			})
			mdURL := cfg.MetadataURL()
			if want := srv.URL + "/.well-known/oauth-protected-resource" + path; mdURL != want {
				t.Fatalf("metadata URL %q, want %q", mdURL, want)
			}
			read := iss.Mint(t, bearertest.Claims{"aud": cfg.Resource, "scope": "read:data"})
			dpop := `DPoP realm="` + cfg.Audience + `", algs="` + DPoPAlgs + `", resource_metadata="` + mdURL + `"`
			for _, c := range []struct {
				method, token string
				status        int
				challenge     string
			}{
				{"GET", "", 401, `Bearer realm="` + cfg.Audience + `", resource_metadata="` + mdURL + `", ` + dpop},
				{"POST", read, 403, `Bearer realm="` + cfg.Audience + `", error="insufficient_scope", error_description="The access token lacks a required scope", scope="write:data", resource_metadata="` + mdURL + `", ` + dpop},
			} {
				status, h, _ := get(t, srv.Client(), c.method, srv.URL+"/data", c.token)
				if got := h.Get("WWW-Authenticate"); status != c.status || got != c.challenge {
					t.Errorf("%s /data: %d %q\n want %d %q", c.method, status, got, c.status, c.challenge)
				}
			}
			_, h, _ := get(t, srv.Client(), "GET", srv.URL+"/data", "")
			u := ChallengeParam(h.Get("WWW-Authenticate"), "resource_metadata")
			status, h, body := get(t, srv.Client(), "GET", u, "")
			if status != 200 || h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") == "" {
				t.Fatalf("GET %s: %d %v", u, status, h)
			}
			want := Golden(MetadataGolden, cfg.Resource, iss.URL)
			if string(body) != want {
				t.Errorf("document:\n%s\nwant:\n%s", body, want)
			}
			var md struct {
				Algs []string `json:"dpop_signing_alg_values_supported"`
			}
			_, h, _ = get(t, srv.Client(), "GET", srv.URL+"/data", "")
			if json.Unmarshal(body, &md) != nil || strings.Join(md.Algs, " ") != ChallengeParam(h.Get("WWW-Authenticate"), "algs") {
				t.Errorf("document's DPoP algorithms %q differ from the challenge's %q", md.Algs, ChallengeParam(h.Get("WWW-Authenticate"), "algs"))
			}
			if status, _, _ := get(t, srv.Client(), "POST", u, ""); status != http.StatusMethodNotAllowed {
				t.Errorf("POST %s: %d", u, status)
			}
		})
	}
	t.Run("dpop required, client certificates", func(t *testing.T) {
		srv, cfg := ServeAt(t, newHandler, iss, func(base string) setup.Config {
			return setup.Config{Issuer: iss.URL, Audience: base, Resource: base, DPoP: validator.DPoPRequired, ClientCA: "unused-without-tls.pem"}
		})
		_, _, body := get(t, srv.Client(), "GET", cfg.MetadataURL(), "")
		var md map[string]any
		if err := json.Unmarshal(body, &md); err != nil || md["dpop_bound_access_tokens_required"] != true || md["tls_client_certificate_bound_access_tokens"] != true {
			t.Errorf("document %s (%v)", body, err)
		}
	})
	t.Run("no resource", func(t *testing.T) {
		srv, _ := ServeAt(t, newHandler, iss, func(string) setup.Config { return setup.Config{Issuer: iss.URL, Audience: "orders"} })
		if status, _, _ := get(t, srv.Client(), "GET", srv.URL+"/.well-known/oauth-protected-resource", ""); status != http.StatusNotFound {
			t.Errorf("metadata without a resource: %d", status)
		}
	})
}

// get sends a request with an optional Bearer token and returns the
// answer's status, headers and body.
func get(t *testing.T, client *http.Client, method, url, token string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

var paramRE = regexp.MustCompile(`([a-z_]+)="([^"]*)"`)

// ChallengeParam returns the first value of the named attribute in a
// WWW-Authenticate value, "" if there is none. (The attribute values this
// module writes contain no quotes or backslashes.)
func ChallengeParam(header, name string) string {
	for _, m := range paramRE.FindAllStringSubmatch(header, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	return ""
}
