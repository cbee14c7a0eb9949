package httpbearer_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

func reply(w http.ResponseWriter, r *http.Request) {
	out := contract.Reply{Anonymous: true}
	if tok, ok := validator.FromContext(r.Context()); ok {
		out = contract.Reply{Subject: tok.Subject, CtxSubject: tok.Subject}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func TestContract(t *testing.T) {
	contract.Run(t, func(t *testing.T, g *httpbearer.Guard) http.Handler {
		h := http.HandlerFunc(reply)
		mux := http.NewServeMux()
		mux.Handle("GET /data", g.Require(scopes.All("read:data"), h))
		mux.Handle("POST /data", g.Require(scopes.All("write:data"), h))
		mux.Handle("GET /either", g.Require(scopes.Any("read:data", "admin"), h))
		mux.Handle("GET /any", g.Handler(h))
		mux.Handle("GET /optional", g.Optional(h))
		mux.Handle("GET /strong", g.Require(scopes.All("read:data"), h, httpbearer.WithStepUp(contract.StrongAuth)))
		mux.Handle("GET /mixed", g.Require(contract.Mixed, h))
		mux.Handle("GET /privileged", g.Require(contract.Privileged, h))
		return mux
	}, func(t *testing.T, outer, inner *httpbearer.Guard) http.Handler {
		h := http.HandlerFunc(reply)
		mux := http.NewServeMux()
		mux.Handle("GET /nested/required", outer.Handler(inner.Require(scopes.All("read:data"), h)))
		mux.Handle("GET /nested/optional", outer.Optional(inner.Require(scopes.All("read:data"), h)))
		return mux
	})
}

// The same contract through the router-shaped middleware
// (func(http.Handler) http.Handler, as chi takes it).
func TestContractMiddleware(t *testing.T) {
	chain := func(mw func(http.Handler) http.Handler) http.Handler { return mw(http.HandlerFunc(reply)) }
	contract.Run(t, func(t *testing.T, g *httpbearer.Guard) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("GET /data", chain(g.Middleware(scopes.All("read:data"))))
		mux.Handle("POST /data", chain(g.Middleware(scopes.All("write:data"))))
		mux.Handle("GET /either", chain(g.Middleware(scopes.Any("read:data", "admin"))))
		mux.Handle("GET /any", chain(g.Middleware(scopes.Requirement{})))
		mux.Handle("GET /optional", chain(g.OptionalMiddleware()))
		mux.Handle("GET /strong", chain(g.Middleware(scopes.All("read:data"), httpbearer.WithStepUp(contract.StrongAuth))))
		mux.Handle("GET /mixed", chain(g.Middleware(contract.Mixed)))
		mux.Handle("GET /privileged", chain(g.Middleware(contract.Privileged)))
		return mux
	}, func(t *testing.T, outer, inner *httpbearer.Guard) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("GET /nested/required", outer.Middleware(scopes.Requirement{})(chain(inner.Middleware(scopes.All("read:data")))))
		mux.Handle("GET /nested/optional", outer.OptionalMiddleware()(chain(inner.Middleware(scopes.All("read:data")))))
		return mux
	})
}

func TestNewRejectsBadOptions(t *testing.T) {
	_, err := httpbearer.New(nil, httpbearer.WithRealm(`a"b`), httpbearer.WithCookie(""))
	if err == nil {
		t.Fatal("New() = nil error")
	}
	for _, want := range []string{"nil validator", "WithRealm", "WithCookie"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New() error %q lacks %q", err, want)
		}
	}
}

// Per-request requirements never grow the guard's declared scopes: only
// routes built (Require, Middleware) declare theirs.
func TestScopesDeclaredByRoutesOnly(t *testing.T) {
	v, mint := contract.Offline()
	g, err := httpbearer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	_ = g.Require(scopes.All("read:data"), http.HandlerFunc(reply))
	tok := mint("read:data")
	for i := range 100 {
		r := httptest.NewRequest("GET", "/x", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		g.Authorize(httptest.NewRecorder(), r, scopes.Any("read:data", "s"+strconv.Itoa(i)))
	}
	if got := g.Scopes(); len(got) != 1 || got[0] != "read:data" {
		t.Errorf("Scopes() = %v, want [read:data]", got)
	}
}
