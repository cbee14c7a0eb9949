package jwks_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

func TestDiscover(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		suffix string
	}{
		{"OIDC", "/.well-known/openid-configuration", ""},
		{"RFC 8414", "/.well-known/oauth-authorization-server", ""},
		{"OIDC with path", "/tenant/a/.well-known/openid-configuration", "/tenant/a"},
		{"RFC 8414 with path, inserted", "/.well-known/oauth-authorization-server/tenant/a", "/tenant/a"},
		{"RFC 8414 with path, appended", "/tenant/a/.well-known/oauth-authorization-server", "/tenant/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := issuerServer(t, tt.path, tt.suffix, same, nil)
			set, err := jwks.Discover(srv.URL+tt.suffix, jwks.WithHTTPClient(srv.Client()))
			if err != nil {
				t.Fatal(err)
			}
			defer set.Close()
			if _, err := set.Key(t.Context(), "a", validator.RS256); err != nil {
				t.Fatalf("Key() = %v", err)
			}
			if st := set.Status(); st.URL != srv.URL+"/keys" {
				t.Errorf("Status().URL = %q", st.URL)
			}
		})
	}
}

func TestDiscoverIssuerMismatch(t *testing.T) {
	for _, claimed := range []func(string) string{
		func(s string) string { return s + "/" },
		func(s string) string { return "https://evil.example" },
		func(s string) string { return strings.ToUpper(s) },
		func(s string) string { return "" },
	} {
		srv := issuerServer(t, "/.well-known/openid-configuration", "", claimed, nil)
		set, err := jwks.Discover(srv.URL, jwks.WithHTTPClient(srv.Client()), jwks.WithLogger(discard))
		if err != nil {
			t.Fatal(err)
		}
		_, err = set.Key(t.Context(), "a", validator.RS256)
		if !errors.Is(err, validator.ErrKeysUnavailable) || !strings.Contains(err.Error(), "does not match") {
			t.Errorf("issuer %q claimed %q: Key() = %v, want unavailable by issuer mismatch", srv.URL, claimed(srv.URL), err)
		}
		set.Close()
	}
}

func TestDiscoverRecovers(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	srv := issuerServer(t, "/.well-known/openid-configuration", "", same, &failing)
	set, err := jwks.Discover(srv.URL, jwks.WithHTTPClient(srv.Client()), jwks.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if _, err := set.Key(t.Context(), "a", validator.RS256); !errors.Is(err, validator.ErrKeysUnavailable) {
		t.Fatalf("Key() with discovery down = %v", err)
	}
	failing.Store(false)
	if err := set.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh() after discovery healed = %v", err)
	}
	if _, err := set.Key(t.Context(), "a", validator.RS256); err != nil {
		t.Fatalf("Key() after recovery = %v", err)
	}
}

func TestDiscoverRefusesInsecureJWKSURI(t *testing.T) {
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": "http://evil.example/keys"})
	})
	srv = httptest.NewTLSServer(mux)
	defer srv.Close()
	set, err := jwks.Discover(srv.URL, jwks.WithHTTPClient(srv.Client()), jwks.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if _, err := set.Key(t.Context(), "a", validator.RS256); !errors.Is(err, validator.ErrKeysUnavailable) || !strings.Contains(err.Error(), "https") {
		t.Fatalf("Key() = %v, want unavailable: jwks_uri not https", err)
	}
}

// A failed discovery is logged with the issuer it was for (the JWKS URL is
// not known yet), and a failed fetch with the JWKS URL, never an empty one.
func TestDiscoverFailureLogNamesTheIssuer(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	srv := issuerServer(t, "/.well-known/openid-configuration", "", same, &failing)
	var logs bytes.Buffer
	set, err := jwks.Discover(srv.URL, jwks.WithHTTPClient(srv.Client()), jwks.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if err := set.Refresh(t.Context()); err == nil {
		t.Fatal("Refresh() with discovery down succeeded")
	}
	out := logs.String()
	if !strings.Contains(out, "no keys are loaded") || !strings.Contains(out, "issuer="+srv.URL) || strings.Contains(out, `jwks_url=""`) {
		t.Errorf("discovery failure logged as:\n%s", out)
	}
}
