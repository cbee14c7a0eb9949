package introspect_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// kindServer is an authorization server whose introspection endpoint
// answers body (given the issuer's URL) to every request.
func kindServer(t *testing.T, body func(issuer string) string) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		fmt.Fprint(w, body(srv.URL+"/"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// kindGuard is an API guarded by introspection at srv only (audience
// "orders" unless checkAud is false, route scope orders:read).
func kindGuard(t *testing.T, srv *httptest.Server, checkAud bool, vopts ...validator.Option) http.Handler {
	t.Helper()
	ic, err := introspect.New(srv.URL+"/introspect", introspect.ClientSecretBasic(rsID, rsSecret),
		introspect.WithHTTPClient(srv.Client()), introspect.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ic.Close() })
	aud := validator.WithAudience(audience)
	if !checkAud {
		aud = validator.WithoutAudienceCheck()
	}
	v, err := validator.New(append([]validator.Option{validator.WithIntrospection(srv.URL+"/", ic), aud}, vopts...)...)
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	return g.Require(scopes.All("orders:read"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
}

// Answers about refresh and ID tokens are refused, however the server says
// what the token is: Ory Hydra (and fosite) introspect refresh tokens
// whatever the hint and answer "token_type": "Bearer" with "token_use":
// "refresh_token", the granted audience, the scopes and the refresh
// token's 30-day "exp"; Keycloak answers with the token's "typ";
// node-oidc-provider and Spring Authorization Server name no type and no
// audience for a refresh token: an answer whose audience is not checked
// must carry "token_type".
func TestIntrospectionRefusesRefreshTokens(t *testing.T) {
	now := time.Now().Unix()
	answer := func(extra string) func(string) string {
		return func(iss string) string {
			return fmt.Sprintf(`{"active":true,"client_id":"web-app","scope":"orders:read offline_access","exp":%d,"iat":%d,"sub":"alice","iss":%q%s}`,
				now+30*24*3600, now, iss, extra)
		}
	}
	audOptional := validator.WithIntrospectionAudienceOptional()
	typeRequired := validator.WithIntrospectionTokenTypeRequired()
	typeOptional := validator.WithIntrospectionTokenTypeOptional()
	for _, c := range []struct {
		name  string
		extra string
		opts  []validator.Option
		want  int
		noAud bool // WithoutAudienceCheck
	}{
		{"hydra access token", `,"aud":["orders"],"token_type":"Bearer","token_use":"access_token"`, nil, http.StatusOK, false},
		{"hydra refresh token", `,"aud":["orders"],"token_type":"Bearer","token_use":"refresh_token"`, nil, http.StatusUnauthorized, false},
		{"token_use of another case", `,"aud":["orders"],"token_use":"Refresh_Token"`, nil, http.StatusUnauthorized, false},
		{"cognito access", `,"aud":["orders"],"token_use":"access"`, nil, http.StatusOK, false},
		{"cognito id", `,"aud":["orders"],"token_use":"id"`, nil, http.StatusUnauthorized, false},
		{"token_use not a string", `,"aud":["orders"],"token_use":1`, nil, http.StatusUnauthorized, false},
		{"keycloak access", `,"aud":["orders"],"typ":"Bearer"`, nil, http.StatusOK, false},
		{"keycloak refresh", `,"aud":["orders"],"typ":"Refresh"`, nil, http.StatusUnauthorized, false},
		{"keycloak offline", `,"aud":["orders"],"typ":"Offline"`, nil, http.StatusUnauthorized, false},
		{"keycloak id", `,"aud":["orders"],"typ":"ID"`, nil, http.StatusUnauthorized, false},
		{"token_type refresh_token", `,"aud":["orders"],"token_type":"refresh_token"`, nil, http.StatusUnauthorized, false},
		// node-oidc-provider and Spring Authorization Server answer a
		// refresh token (Spring: an authorization code too) with neither
		// "token_type" nor "aud": unless the audience was checked, the
		// answer must name its type.
		{"node-oidc-provider access token", `,"token_type":"Bearer"`, []validator.Option{audOptional}, http.StatusOK, false},
		{"node-oidc-provider refresh token", ``, []validator.Option{audOptional}, http.StatusUnauthorized, false},
		{"spring refresh token, no audience check", ``, nil, http.StatusUnauthorized, true},
		{"spring access token, no audience check", `,"aud":["web-app"],"token_type":"Bearer"`, nil, http.StatusOK, true},
		{"audience checked, no token_type", `,"aud":"orders"`, nil, http.StatusOK, false},
		{"no token_type, optional (Django OAuth Toolkit)", ``, []validator.Option{audOptional, typeOptional}, http.StatusOK, false},
		{"token_type required, aud present", `,"aud":"orders"`, []validator.Option{typeRequired}, http.StatusUnauthorized, false},
		{"token_type required, given", `,"aud":"orders","token_type":"Bearer"`, []validator.Option{typeRequired}, http.StatusOK, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := kindGuard(t, kindServer(t, answer(c.extra)), !c.noAud, c.opts...)
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "https://api.example/orders", nil)
			req.Header.Set("Authorization", "Bearer opaque-token-1")
			h.ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Header().Get("WWW-Authenticate"), c.want)
			}
		})
	}
}

func TestIntrospectionTokenTypeRequiredNeedsIntrospection(t *testing.T) {
	if _, err := validator.New(validator.WithIssuerSecret("https://id.example/", []byte("0123456789abcdef0123456789abcdef")),
		validator.WithAudience("orders"), validator.WithIntrospectionTokenTypeRequired()); err == nil {
		t.Error("WithIntrospectionTokenTypeRequired without WithIntrospection was accepted")
	}
}
