package bearerguard_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/validator"
)

// A JWT decided by introspection whose own claims say it is
// sender-constrained ("cnf") must not pass as a bearer token because the
// authorization server's answer left "cnf" out (RFC 9449 §6.2 and RFC 8705
// §3.2 have the answer carry it): a stolen bound token would otherwise
// serve whoever holds it, without the key or the certificate (red-team of
// bypasses; SECURITY.md 139). The claims are read without their signature,
// so they can only have their own request refused: an unbound JWT, one
// whose "cnf" is null or empty, and an opaque token are still accepted.
func TestIntrospectedJWTThatSaysBound(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	// An answer that names no binding, whatever the token.
	iss.SetIntrospectionHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"active": true, "iss": iss.URL, "aud": audience,
			"exp": time.Now().Add(10 * time.Minute).Unix(), "sub": "billing", "client_id": "billing",
			"scope": "read:data", "token_type": "Bearer"})
	}))
	v := introspectingStack(t, iss, validator.WithIntrospectJWTs())

	dpopKey, err := bearertest.NewDPoPKey(validator.ES256)
	if err != nil {
		t.Fatal(err)
	}
	_, cert := bearertest.MustClientCA(t).MustIssue(t, "billing")
	claims := bearertest.Claims{"aud": audience, "sub": "billing"}
	with := func(cnf any) bearertest.Claims {
		return bearertest.Claims{"aud": audience, "sub": "billing", "cnf": cnf}
	}
	for _, tt := range []struct {
		name  string
		token string
		want  error
	}{
		{"bound to a DPoP key", iss.Mint(t, claims, bearertest.BoundToKey(dpopKey)), validator.ErrUnsupportedBinding},
		{"bound to a certificate", iss.Mint(t, claims, bearertest.BoundToCertificate(cert)), validator.ErrUnsupportedBinding},
		{"a confirmation method unknown here", iss.Mint(t, with(map[string]any{"kid": "k1"})), validator.ErrUnsupportedBinding},
		{"a cnf that is no object", iss.Mint(t, with("jkt")), validator.ErrUnsupportedBinding},
		{"unbound", iss.Mint(t, claims), nil},
		{"cnf null", iss.Mint(t, with(nil)), nil},
		{"cnf empty", iss.Mint(t, with(map[string]any{})), nil},
		{"opaque", iss.Opaque(t, claims), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := v.ValidatePresentation(t.Context(), validator.Presentation{Token: tt.token, Scheme: validator.SchemeBearer})
			if !errors.Is(err, tt.want) || (err == nil && tok.Source != validator.SourceIntrospection) {
				t.Fatalf("ValidatePresentation() = %+v, %v; want %v", tok, err, tt.want)
			}
		})
	}
}
