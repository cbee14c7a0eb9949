package grpcbearer_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/bearerguard/bearerguard/adapters/grpcbearer"
	"github.com/bearerguard/bearerguard/adapters/internal/contract"
	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// TestWrappedValidator: an interceptor over a type that embeds a Validator
// calls that type's own ValidatePresentation on every call, cache hits of
// the embedded Validator included.
func TestWrappedValidator(t *testing.T) {
	f := newFixture(t)
	d := contract.NewDenyList(f.v, "svc-denied")
	e := start(t, newInterceptor(t, d, table...), nil)
	denied := f.iss.Mint(t, bearertest.Claims{"aud": realm, "scope": "read:data", "sub": "svc-denied"})
	allowed := f.token(t, "read:data")
	for i := range 3 { // the later calls are cache hits of the embedded Validator
		e.unary(t, bearer(denied)...).want(t, "denied", codes.Unauthenticated, "The access token is invalid",
			bearerErr("invalid_token", "The access token is invalid", ""))
		if r := e.unary(t, bearer(allowed)...); r.code != codes.OK || r.subject != "svc-read-data" {
			t.Fatalf("allowed call: %v %q, subject %q", r.code, r.msg, r.subject)
		}
		if got, want := d.Calls(), int64(2*(i+1)); got != want {
			t.Fatalf("after %d pairs of calls the override ran %d times, want %d", i+1, got, want)
		}
	}
}

type ctxKey struct{}

// admin is what a scribbling handler writes over its token's scopes.
var admin, _ = scopes.Parse("admin")

// TestAuthorizeContext: the context Authorize returns carries the call's
// own token (a copy that no other call and no later validation shares) and
// everything of its parent: values, deadline and cancellation. Over a
// *validator.Validator (the token inside the context node) and over a type
// wrapping one (validator.NewContext).
func TestAuthorizeContext(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		name string
		v    grpcbearer.PresentationValidator
	}{
		{"validator", f.v},
		{"wrapped validator", contract.NewDenyList(f.v, "nobody")},
	} {
		t.Run(c.name, func(t *testing.T) {
			auth := newInterceptor(t, c.v, table...)
			tok := f.token(t, "read:data")
			parent := context.WithValue(context.Background(), ctxKey{}, "parent value")
			parent, cancel := context.WithTimeout(parent, time.Hour)
			parent = metadata.NewIncomingContext(parent, metadata.Pairs("authorization", "Bearer "+tok))
			var toks []*validator.Token
			for range 3 { // the first validation, then cache hits
				ctx, err := auth.Authorize(parent, unaryMethod)
				if err != nil {
					t.Fatal(err)
				}
				got, ok := validator.FromContext(ctx)
				if !ok || got.Subject != "svc-read-data" || !got.Scopes.Has("read:data") || len(got.Audience) != 1 || got.Audience[0] != realm {
					t.Fatalf("token in the context: %v %+v", ok, got)
				}
				if printed := fmt.Sprint(ctx); strings.Contains(printed, "svc-read-data") || strings.Contains(printed, "read:data") {
					t.Fatalf("the context prints the token: %s", printed)
				}
				if ctx.Value(ctxKey{}) != "parent value" {
					t.Fatalf("the parent's value is lost: %v", ctx.Value(ctxKey{}))
				}
				if md, _ := metadata.FromIncomingContext(ctx); len(md.Get("authorization")) != 1 {
					t.Fatalf("the call's metadata is lost: %v", md)
				}
				if dl, ok := ctx.Deadline(); !ok || time.Until(dl) < 59*time.Minute {
					t.Fatalf("the parent's deadline is lost: %v %v", dl, ok)
				}
				for _, earlier := range toks {
					if earlier == got {
						t.Fatal("two calls share one *Token")
					}
				}
				toks = append(toks, got)
				// The handler owns its token: what it writes stays its own.
				got.Subject, got.Scopes, got.Audience[0] = "scribbled", admin, "scribbled"
			}
			for i, got := range toks {
				if got.Subject != "scribbled" || got.Audience[0] != "scribbled" {
					t.Fatalf("call %d's token changed after its call: %+v", i, got)
				}
			}
			ctx, err := auth.Authorize(parent, unaryMethod)
			if err != nil {
				t.Fatal(err)
			}
			cancel()
			select {
			case <-ctx.Done():
				if ctx.Err() != context.Canceled {
					t.Fatalf("Err %v after the parent's cancel", ctx.Err())
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the parent's cancellation did not reach the returned context")
			}
			if got, _ := validator.FromContext(ctx); got.Subject != "svc-read-data" || got.Scopes.Has("admin") {
				t.Fatalf("a handler's writes reached a later call: %+v", got)
			}
		})
	}
}

// TestConcurrentCallsOwnTokens: concurrent calls with different tokens,
// each handler scribbling over its own token, each see only theirs (run
// with -race).
func TestConcurrentCallsOwnTokens(t *testing.T) {
	f := newFixture(t)
	auth := newInterceptor(t, f.v, table...)
	const callers = 8
	toks := make([]string, callers)
	for i := range toks {
		toks[i] = f.iss.Mint(t, bearertest.Claims{"aud": realm, "scope": "read:data", "sub": fmt.Sprintf("svc-%d", i)})
	}
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Go(func() {
			ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+toks[i]))
			for n := range 200 {
				cctx, err := auth.Authorize(ctx, unaryMethod)
				if err != nil {
					errs <- err
					return
				}
				tok, _ := validator.FromContext(cctx)
				want := fmt.Sprintf("svc-%d", i)
				if tok.Subject != want || !tok.Scopes.Has("read:data") || tok.Scopes.Has("admin") || tok.Audience[0] != realm {
					errs <- fmt.Errorf("caller %d, call %d: token %+v", i, n, tok)
					return
				}
				tok.Subject = strings.Repeat("x", i+1)
				tok.Scopes = admin
				tok.Audience[0] = "scribbled"
				if tok.Subject != strings.Repeat("x", i+1) {
					errs <- fmt.Errorf("caller %d: another call wrote its token", i)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Interceptors over two validators that share one DPoP replay store,
// chained, accept a call's proof once: the inner one finds it remembered
// by the outer one for this very call. A replayed call is refused.
func TestChainedInterceptorsShareReplayStore(t *testing.T) {
	iss := bearertest.NewIssuer(t)
	key := bearertest.MustDPoPKey(t, validator.ES256)
	bound := iss.Mint(t, bearertest.Claims{"aud": []string{realm, "admin"}, "scope": "read:data", "sub": "svc-dpop"}, bearertest.BoundToKey(key))
	store := validator.NewMemoryReplayStore(100, nil)
	const base = "https://api.example.com/grpc"
	var chain []grpc.UnaryServerInterceptor
	for _, aud := range []string{realm, "admin"} {
		v, err := validator.New(validator.WithIssuer(iss.URL, iss.KeySet(t)), validator.WithAudience(aud), validator.WithDPoPReplayStore(store))
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, newInterceptor(t, v, tableWith(grpcbearer.WithBaseURL(base+"/"))...).Unary())
	}
	e := startWith(t, []grpc.ServerOption{grpc.ChainUnaryInterceptor(chain...)}, nil)
	md := []string{"authorization", "DPoP " + bound, "dpop", key.MustProof(t, "POST", base+unaryMethod, bound)}
	r := e.unary(t, md...)
	r.want(t, "chained, one store", codes.OK, "", "")
	if r.subject != "svc-dpop" {
		t.Errorf("chained, one store: subject %q", r.subject)
	}
	e.unary(t, md...).want(t, "replayed", codes.Unauthenticated, "The DPoP proof was already used",
		dpopErr("invalid_dpop_proof", "The DPoP proof was already used"))
}
