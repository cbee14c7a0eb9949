package setup

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/validator"
)

func TestParseResource(t *testing.T) {
	tests := []struct {
		name               string
		args               []string
		env                map[string]string
		audience, resource string
		metadataURL        string
		err                string
	}{
		{name: "audience not a URL: no resource", args: []string{"--audience", "orders"}, audience: "orders"},
		{name: "https audience is the resource", args: []string{"--audience", "https://api.example.com/mcp"},
			audience: "https://api.example.com/mcp", resource: "https://api.example.com/mcp",
			metadataURL: "https://api.example.com/.well-known/oauth-protected-resource/mcp"},
		{name: "resource alone is the audience", env: map[string]string{"BEARERGUARD_RESOURCE": "https://api.example.com"},
			audience: "https://api.example.com", resource: "https://api.example.com",
			metadataURL: "https://api.example.com/.well-known/oauth-protected-resource"},
		{name: "both", args: []string{"--audience", "orders", "--resource", "https://api.example.com/orders/"},
			audience: "orders", resource: "https://api.example.com/orders/",
			metadataURL: "https://api.example.com/.well-known/oauth-protected-resource/orders/"},
		{name: "loopback http", args: []string{"--resource", "http://127.0.0.1:8080/mcp"},
			audience: "http://127.0.0.1:8080/mcp", resource: "http://127.0.0.1:8080/mcp",
			metadataURL: "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp"},
		{name: "plain http audience is no resource", args: []string{"--audience", "http://api.example.com/"}, audience: "http://api.example.com/"},
		{name: "bad resource", args: []string{"--audience", "orders", "--resource", "http://api.example.com/"},
			err: `--resource "http://api.example.com/" is not an absolute https URL (http on loopback) without a fragment`},
		{name: "resource with a fragment", args: []string{"--resource", "https://api.example.com/#x"}, err: "--resource"},
		{name: "resource not in canonical form", args: []string{"--resource", "https://API.example.com/mcp"}, err: "write its scheme and host in lower case"},
		{name: "audience not in canonical form is no resource", args: []string{"--audience", "https://api.example.com:443/mcp"}, audience: "https://api.example.com:443/mcp"},
		{name: "neither", err: "--audience (or BEARERGUARD_AUDIENCE) is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := map[string]string{"BEARERGUARD_ISSUER": "https://id.example.com/"}
			for k, v := range tt.env {
				e[k] = v
			}
			var out bytes.Buffer
			c, err := Parse("x", tt.args, env(e), &out)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || c.Audience != tt.audience || c.Resource != tt.resource || c.MetadataURL() != tt.metadataURL {
				t.Errorf("audience %q resource %q metadata %q (%v), want %q %q %q", c.Audience, c.Resource, c.MetadataURL(), err, tt.audience, tt.resource, tt.metadataURL)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	if md, err := (Config{Issuer: "https://id.example.com/", Audience: "orders"}).Metadata(); md != nil || err != nil {
		t.Errorf("without a resource: %v, %v", md, err)
	}
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Issuer: "https://id.example.com/", Resource: "https://api.example.com/orders", DPoP: validator.DPoPOff},
			`{"resource":"https://api.example.com/orders","authorization_servers":["https://id.example.com/"],"bearer_methods_supported":["header"]}`},
		{Config{Issuer: "https://id.example.com/", Resource: "https://api.example.com", DPoP: validator.DPoPRequired, ClientCA: "ca.pem"},
			`{"resource":"https://api.example.com","authorization_servers":["https://id.example.com/"],"bearer_methods_supported":["header"],"tls_client_certificate_bound_access_tokens":true,` +
				`"dpop_signing_alg_values_supported":` + algsJSON() + `,"dpop_bound_access_tokens_required":true}`},
	}
	for _, tt := range tests {
		md, err := tt.cfg.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		md.ServeHTTP(rec, httptest.NewRequest("GET", md.Path(), nil))
		if got := strings.TrimSpace(rec.Body.String()); got != tt.want {
			t.Errorf("document\n%s\nwant\n%s", rec.Body, tt.want)
		}
	}
	if _, err := (Config{Issuer: "http://id.example.com/", Resource: "https://api.example.com"}).Metadata(); err == nil {
		t.Error("a plain-http issuer was accepted as an authorization server")
	}
}

// algsJSON is validator.DefaultAlgorithms as a JSON array.
func algsJSON() string {
	b, _ := json.Marshal(validator.DefaultAlgorithms)
	return string(b)
}
