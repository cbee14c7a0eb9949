package contract

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/validator"
)

// StrongAuth is what the contract's GET /strong route requires besides
// read:data (RFC 9470 step-up).
var StrongAuth = validator.StepUp{ACR: []string{"urn:example:mfa"}, MaxAge: 10 * time.Minute}

// stepUpCases checks per-route step-up requirements (RFC 9470) and the
// resource_metadata attribute (RFC 9728 §5.1) through the adapter.
func stepUpCases(t *testing.T, f *fixture, build Build) {
	srv := serve(t, build, guard(t, f.v))
	mint := func(scope string, claims bearertest.Claims) string {
		c := bearertest.Claims{"aud": Audience, "scope": scope, "sub": "svc-strong"}
		for k, v := range claims {
			c[k] = v
		}
		return f.iss.Mint(t, c)
	}
	now := time.Now()
	const stepUp = `Bearer realm="orders", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:example:mfa", max_age="600"`
	tests := []struct {
		name      string
		token     string
		status    int
		challenge string
	}{
		{"strong and recent", mint("read:data", bearertest.Claims{"acr": "urn:example:mfa", "auth_time": now.Unix()}), 200, ""},
		{"weaker acr", mint("read:data", bearertest.Claims{"acr": "urn:example:pwd", "auth_time": now.Unix()}), 401, stepUp},
		{"no acr", mint("read:data", bearertest.Claims{"auth_time": now.Unix()}), 401, stepUp},
		{"authenticated too long ago", mint("read:data", bearertest.Claims{"acr": "urn:example:mfa", "auth_time": now.Add(-time.Hour).Unix()}), 401, stepUp},
		{"no auth_time", mint("read:data", bearertest.Claims{"acr": "urn:example:mfa"}), 401, stepUp},
		{"scope checked first", mint("write:data", bearertest.Claims{"acr": "urn:example:pwd"}), 403,
			`Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read:data"`},
	}
	for _, tt := range tests {
		t.Run("stepup/"+tt.name, func(t *testing.T) {
			subject := ""
			if tt.status == 200 {
				subject = "svc-strong"
			}
			check(t, do(t, srv, "GET", "/strong", auth("Bearer "+tt.token), ""), tt.status, tt.challenge, subject, false)
		})
	}
	// Other routes of the same guard do not require the step-up.
	t.Run("stepup/other route", func(t *testing.T) {
		check(t, do(t, srv, "GET", "/data", auth("Bearer "+mint("read:data", nil)), ""), 200, "", "svc-strong", false)
	})

	t.Run("resource_metadata", func(t *testing.T) {
		const md = "https://api.example.com/.well-known/oauth-protected-resource"
		srv := serve(t, build, guard(t, f.v, httpbearer.WithResourceMetadata(md)))
		r := do(t, srv, "GET", "/data", nil, "")
		want := `Bearer realm="orders", resource_metadata="` + md + `", DPoP realm="orders", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519", resource_metadata="` + md + `"`
		if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != want {
			t.Errorf("401: %d %q\nwant %q", r.status, r.header.Get("WWW-Authenticate"), want)
		}
		r = do(t, srv, "GET", "/data", auth("Bearer "+f.token(t, "write:data")), "")
		if got := r.header.Get("WWW-Authenticate"); r.status != 403 || got == "" || !strings.Contains(got, `scope="read:data"`) || !strings.Contains(got, `resource_metadata="`+md+`"`) {
			t.Errorf("403: %d %q", r.status, got)
		}
	})
}

// scopesCases: the guard lists the scopes its routes require, for the
// metadata document's scopes_supported (RFC 9728).
func scopesCases(t *testing.T, f *fixture, build Build) {
	g := guard(t, f.v)
	_ = build(t, g)
	got := g.Scopes()
	for _, want := range []string{"read:data", "write:data", "admin"} {
		if !slices.Contains(got, want) {
			t.Errorf("Scopes() = %v, lacks %q", got, want)
		}
	}
	if len(got) != 3 {
		t.Errorf("Scopes() = %v, want each scope once", got)
	}
}
