package introspect_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// policyValidator: introspection at srv, whose issuer (srv.URL+"/") is
// also configured with WithIssuer and iopts (none when nil); vopts add the
// audience options.
func policyValidator(t *testing.T, srv *httptest.Server, iopts []validator.IssuerOption, vopts ...validator.Option) *validator.Validator {
	t.Helper()
	ic, err := introspect.New(srv.URL+"/introspect", introspect.ClientSecretBasic(rsID, rsSecret),
		introspect.WithHTTPClient(srv.Client()), introspect.WithLogger(discard), introspect.WithMaxTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ic.Close() })
	pk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k, err := validator.NewKey("k1", &pk.PublicKey, validator.ES256)
	if err != nil {
		t.Fatal(err)
	}
	opts := []validator.Option{validator.WithIntrospection(srv.URL+"/", ic)}
	if iopts != nil {
		opts = append(opts, validator.WithIssuer(srv.URL+"/", validator.NewKeys(k), iopts...))
	}
	v, err := validator.New(append(opts, vopts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func policyAnswer(extra string) func(string) string {
	now := time.Now().Unix()
	return func(iss string) string {
		return fmt.Sprintf(`{"active":true,"client_id":"web-app","scope":"orders:read","exp":%d,"iat":%d,"sub":"alice","iss":%q%s}`,
			now+3600, now, iss, extra)
	}
}

// An answer must name its token_type when no audience of this API was
// compared with its "aud": an issuer's own IssuerAudience compares; a
// client allow-list (IssuerClientIDs) never looks at "aud"; an empty
// token_type names nothing.
func TestIntrospectionTokenTypeWhenAudienceUnchecked(t *testing.T) {
	clientIDs := []validator.IssuerOption{validator.IssuerClientIDs("web-app")}
	ownAud := []validator.IssuerOption{validator.IssuerAudience("orders-api")}
	orders := validator.WithAudience("orders")
	for _, c := range []struct {
		name  string
		extra string
		iopts []validator.IssuerOption
		vopts []validator.Option
		want  error
	}{
		{"issuer audience checked, no token_type", `,"aud":"orders-api"`, ownAud, []validator.Option{validator.WithoutAudienceCheck()}, nil},
		{"issuer audience, wrong aud", `,"aud":"other-api","token_type":"Bearer"`, ownAud, []validator.Option{validator.WithoutAudienceCheck()}, validator.ErrAudience},
		{"client allow-list, no aud, no token_type", ``, clientIDs, []validator.Option{orders}, validator.ErrType},
		{"client allow-list, unrelated aud, no token_type", `,"aud":"https://as.example/other"`, clientIDs, []validator.Option{orders}, validator.ErrType},
		{"client allow-list, empty aud array, no token_type", `,"aud":[]`, clientIDs, []validator.Option{orders}, validator.ErrType},
		{"client allow-list, token_type", `,"aud":"https://as.example/other","token_type":"Bearer"`, clientIDs, []validator.Option{orders}, nil},
		{"audience optional, empty token_type", `,"token_type":""`, nil, []validator.Option{orders, validator.WithIntrospectionAudienceOptional()}, validator.ErrType},
		{"audience optional, blank token_type", `,"token_type":" "`, nil, []validator.Option{orders, validator.WithIntrospectionAudienceOptional()}, validator.ErrType},
		{"audience optional, token_type N_A", `,"token_type":"N_A"`, nil, []validator.Option{orders, validator.WithIntrospectionAudienceOptional()}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := policyValidator(t, kindServer(t, policyAnswer(c.extra)), c.iopts, c.vopts...)
			_, err := v.Validate(context.Background(), "opaque-token")
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}
