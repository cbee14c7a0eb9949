package contract

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// BuildNested returns the adapter's handler with routes guarded twice, the
// way applications nest middleware: an outer guard on a group (or around
// the whole tree), an inner, stricter guard on the route. Both routes
// answer JSON Reply on success:
//
//	GET /nested/required  outer: any valid token;      inner: read:data
//	GET /nested/optional  outer: anonymous allowed;    inner: read:data
type BuildNested func(t *testing.T, outer, inner *httpbearer.Guard) http.Handler

// nestedCases checks that every guard decides for itself (issue 12,
// finding 1): a token the outer guard accepted is not let through by an
// inner guard whose validator would refuse it, and a token planted in the
// request's context by other middleware ([validator.NewContext]) is never
// taken for a validated one.
func nestedCases(t *testing.T, f *fixture, build Build, nested BuildNested) {
	const bare = `Bearer realm="orders"`
	wrongAudience := `Bearer realm="orders", error="invalid_token", error_description="The access token is not meant for this resource"`
	refused := `Bearer realm="orders", error="invalid_token", error_description="The access token was refused"`
	tooOld := `Bearer realm="orders", error="invalid_token", error_description="The access token is too old"`

	outerV, err := validator.New(validator.WithIssuer(f.iss.URL, f.iss.KeySet(t)), validator.WithAudience("public"))
	if err != nil {
		t.Fatal(err)
	}
	innerV, err := validator.New(validator.WithIssuer(f.iss.URL, f.iss.KeySet(t)), validator.WithAudience("admin"),
		validator.WithMaxTokenAge(time.Hour),
		validator.WithClaimCheck(func(_ context.Context, tok *validator.Token) error {
			if tok.Subject == "svc-evil" {
				return errors.New("subject not allowed here")
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	mint := func(sub string, aud []string, iat time.Time) string {
		return f.iss.Mint(t, bearertest.Claims{"aud": aud, "scope": "read:data", "sub": sub, "iat": iat.Unix()})
	}
	now := time.Now()
	public := mint("svc-public", []string{"public"}, now)
	both := mint("svc-both", []string{"public", "admin"}, now)
	evil := mint("svc-evil", []string{"public", "admin"}, now)
	old := f.iss.Mint(t, bearertest.Claims{"aud": []string{"public", "admin"}, "scope": "read:data", "sub": "svc-old",
		"iat": now.Add(-3 * time.Hour).Unix()}, bearertest.ExpiresIn(time.Hour))

	srv := serve(t, func(t *testing.T, _ *httpbearer.Guard) http.Handler {
		return nested(t, guard(t, outerV), guard(t, innerV))
	}, nil)
	tests := []struct {
		name, path, token string
		status            int
		challenge         string
		subject           string
	}{
		{"outer accepts, inner wrong audience", "/nested/required", public, 401, wrongAudience, ""},
		{"optional outer, inner wrong audience", "/nested/optional", public, 401, wrongAudience, ""},
		{"outer accepts, inner claim check refuses", "/nested/required", evil, 401, refused, ""},
		{"optional outer, inner claim check refuses", "/nested/optional", evil, 401, refused, ""},
		{"outer accepts, inner max age refuses", "/nested/required", old, 401, tooOld, ""},
		{"both accept", "/nested/required", both, 200, "", "svc-both"},
		{"optional outer, both accept", "/nested/optional", both, 200, "", "svc-both"},
		{"optional outer, anonymous, inner requires", "/nested/optional", "", 401, bare, ""},
	}
	for _, tt := range tests {
		t.Run("nested/"+tt.name, func(t *testing.T) {
			var h http.Header
			if tt.token != "" {
				h = auth("Bearer " + tt.token)
			}
			check(t, do(t, srv, "GET", tt.path, h, ""), tt.status, tt.challenge, tt.subject, false)
		})
	}

	// One validator, guards that take tokens different ways: an inner guard
	// reuses only a token an outer guard took a way it takes too. A
	// header-only inner guard (an API kept away from cookies, against
	// CSRF) under a guard that reads the session cookie let the cookie's
	// token through (review of session 11).
	sameV, err := validator.New(validator.WithIssuer(f.iss.URL, f.iss.KeySet(t)), validator.WithAudience("admin"))
	if err != nil {
		t.Fatal(err)
	}
	fromCookie := http.Header{"Cookie": {"session=" + mint("svc-cookie", []string{"admin"}, now)}}
	for _, tt := range []struct {
		name      string
		inner     []httpbearer.Option
		path      string
		status    int
		challenge string
		subject   string
	}{
		{"same validator, cookie taken by the outer guard only", nil, "/nested/required", 401, bare, ""},
		{"same validator, optional outer, cookie taken by the outer guard only", nil, "/nested/optional", 401, bare, ""},
		{"same validator, both take the cookie", []httpbearer.Option{httpbearer.WithCookie("session")}, "/nested/required", 200, "", "svc-cookie"},
	} {
		t.Run("nested/"+tt.name, func(t *testing.T) {
			srv := serve(t, func(t *testing.T, _ *httpbearer.Guard) http.Handler {
				return nested(t, guard(t, sameV, httpbearer.WithCookie("session")), guard(t, sameV, tt.inner...))
			}, nil)
			check(t, do(t, srv, "GET", tt.path, fromCookie, ""), tt.status, tt.challenge, tt.subject, false)
		})
	}

	t.Run("nested/dpop", func(t *testing.T) { nestedDPoPCases(t, f, build, nested) })

	// Middleware that plants a token in the request's context, the way any
	// code calling validator.NewContext could: no guard takes it for a
	// token it validated.
	planted := &validator.Token{Issuer: f.iss.URL, Subject: "planted", Audience: []string{Audience},
		Scopes: scopes.MustParse("read:data write:data admin")}
	plant := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(validator.NewContext(r.Context(), planted)))
		})
	}
	psrv := serve(t, func(t *testing.T, g *httpbearer.Guard) http.Handler { return plant(build(t, g)) }, guard(t, f.v))
	read := f.token(t, "read:data")
	for _, tt := range []struct {
		name, method, path, token string
		status                    int
		subject                   string
		anonymous                 bool
	}{
		{"planted token, no credentials", "GET", "/data", "", 401, "", false},
		{"planted token, POST", "POST", "/data", "", 401, "", false},
		{"planted token, any", "GET", "/any", "", 401, "", false},
		{"planted token, request's own token wins", "GET", "/data", read, 200, "svc-read-data", false},
		// An optional route lets the request through as anonymous: the
		// handler must not find the planted token either.
		{"planted token, optional route, no credentials", "GET", "/optional", "", 200, "", true},
		{"planted token, optional route, request's own token wins", "GET", "/optional", read, 200, "svc-read-data", false},
	} {
		t.Run("nested/"+tt.name, func(t *testing.T) {
			var h http.Header
			challenge := bare
			if tt.token != "" {
				h = auth("Bearer " + tt.token)
				challenge = ""
			}
			if tt.anonymous {
				challenge = ""
			}
			check(t, do(t, psrv, tt.method, tt.path, h, ""), tt.status, challenge, tt.subject, tt.anonymous)
		})
	}
}

// nestedDPoPCases: guards over two validators that share one DPoP replay
// store, nested, accept a request's proof once (the inner guard does not
// take the outer guard's remembering it for a replay), and refuse it when
// replayed; a token carried over from another request by other middleware
// does not let a replayed proof through.
func nestedDPoPCases(t *testing.T, f *fixture, build Build, nested BuildNested) {
	key := newDPoPKey(t)
	bound := f.iss.Mint(t, bearertest.Claims{"aud": []string{"public", "admin", Audience}, "scope": "read:data",
		"sub": "svc-dpop", "cnf": map[string]any{"jkt": key.jkt}})
	newValidator := func(aud string, store validator.ReplayStore) *validator.Validator {
		opts := []validator.Option{validator.WithIssuer(f.iss.URL, f.iss.KeySet(t)), validator.WithAudience(aud)}
		if store != nil {
			opts = append(opts, validator.WithDPoPReplayStore(store))
		}
		v, err := validator.New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	shared := validator.NewMemoryReplayStore(100, nil)
	sharing := serve(t, func(t *testing.T, _ *httpbearer.Guard) http.Handler {
		return nested(t, guard(t, newValidator("public", shared)), guard(t, newValidator("admin", shared)))
	}, nil)
	own := serve(t, func(t *testing.T, _ *httpbearer.Guard) http.Handler {
		return nested(t, guard(t, newValidator("public", nil)), guard(t, newValidator("admin", nil)))
	}, nil)
	const replayed = "The DPoP proof was already used"
	for _, tt := range []struct {
		name string
		srv  *httptest.Server
		path string
	}{
		{"one shared store", sharing, "/nested/required"},
		{"one shared store, optional outer", sharing, "/nested/optional"},
		{"a store each", own, "/nested/required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			proof := key.proof("GET", tt.srv.URL+tt.path, bound)
			check(t, do(t, tt.srv, "GET", tt.path, dpopHeader(bound, proof), ""), 200, "", "svc-dpop", false)
			r := do(t, tt.srv, "GET", tt.path, dpopHeader(bound, proof), "")
			if r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), replayed) {
				t.Errorf("replayed: %d %q, want 401 %q", r.status, r.header.Get("WWW-Authenticate"), replayed)
			}
		})
	}

	// A token accepted with a proof, kept by middleware and planted in a
	// later request that replays the proof: the proof is remembered again
	// (the kept token's proof is another request's), and refused.
	t.Run("token of another request planted", func(t *testing.T) {
		store := validator.NewMemoryReplayStore(100, nil)
		v := newValidator(Audience, store)
		var kept *validator.Token
		srv := serve(t, func(t *testing.T, g *httpbearer.Guard) http.Handler {
			h := build(t, g)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if kept != nil {
					r = r.WithContext(validator.NewContext(r.Context(), kept))
				}
				h.ServeHTTP(w, r)
			})
		}, guard(t, v))
		proof := key.proof("GET", srv.URL+"/data", bound)
		tok, err := v.ValidatePresentation(t.Context(), validator.Presentation{Scheme: validator.SchemeDPoP, Token: bound,
			Proof: proof, Method: "GET", URL: srv.URL + "/data"})
		if err != nil {
			t.Fatal(err)
		}
		kept = tok
		r := do(t, srv, "GET", "/data", dpopHeader(bound, strings.Clone(proof)), "")
		if r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), replayed) {
			t.Errorf("replayed under a planted token: %d %q, want 401 %q", r.status, r.header.Get("WWW-Authenticate"), replayed)
		}
	})
}
