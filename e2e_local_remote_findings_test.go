package bearerguard_test

// What TestLocalAndRemotePathsDecideAlike found (SECURITY.md 134), one test
// each: the same claims as a JWT and as an introspection answer decide
// alike. Each failed before its fix.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// lrPair is a JWT validator and an introspection validator configured alike
// (same issuer, audience, leeway, clock), and the endpoint behind the second.
type lrPair struct {
	t         *testing.T
	sk        *ecdsa.PrivateKey
	srv       *lrIntrospectionServer
	jwt, intr *validator.Validator
	now       int64
	n         int
}

func newLRPair(t *testing.T, opts ...validator.Option) *lrPair {
	t.Helper()
	return newLRPairWith(t, nil, opts...)
}

// newLRPairWith also gives the introspection validator introOnly, options
// that need WithIntrospection.
func newLRPairWith(t *testing.T, introOnly []validator.Option, opts ...validator.Option) *lrPair {
	t.Helper()
	p := &lrPair{t: t, now: time.Now().Unix()}
	now := time.Unix(p.now, 0)
	clock := func() time.Time { return now }
	var err error
	if p.sk, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	key, err := validator.NewKey("k1", p.sk.Public(), validator.ES256)
	if err != nil {
		t.Fatal(err)
	}
	p.srv = newLRIntrospectionServer(t)
	ic, err := introspect.New(p.srv.srv.URL+"/introspect", introspect.ClientSecretBasic("rs", "s3cret"),
		introspect.WithInsecureLoopbackHTTP(), introspect.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ic.Close() })
	common := append([]validator.Option{validator.WithIssuer(lrIssuer, validator.NewKeys(key)),
		validator.WithAudience("api"), validator.WithClock(clock), validator.WithLogger(discardLogger())}, opts...)
	if p.jwt, err = validator.New(common...); err != nil {
		t.Fatal(err)
	}
	if p.intr, err = validator.New(append(append(common, validator.WithIntrospection(lrIssuer, ic)), introOnly...)...); err != nil {
		t.Fatal(err)
	}
	return p
}

// claims is a valid claim set with extra members (raw JSON, "name":value
// pairs) appended.
func (p *lrPair) claims(extra string) string {
	c := fmt.Sprintf(`{"iss":%q,"aud":"api","sub":"user-1","client_id":"cli","iat":%d,"exp":%d,"scope":"read"`, lrIssuer, p.now, p.now+3600)
	if extra != "" {
		c += "," + extra
	}
	return c + "}"
}

// both validates claims as a JWT and as the answer for an opaque token.
func (p *lrPair) both(claims string) (jt *validator.Token, jerr error, it *validator.Token, ierr error) {
	jwt := jwstest.Token(`{"alg":"ES256","kid":"k1","typ":"at+jwt"}`, claims, jwstest.ES(p.sk, crypto.SHA256))
	p.n++
	opaque := "opaque-" + strconv.Itoa(p.n)
	p.srv.set(opaque, `{"active":true,`+strings.TrimPrefix(claims, "{"))
	jt, jerr = p.jwt.Validate(context.Background(), jwt)
	it, ierr = p.intr.Validate(context.Background(), opaque)
	return
}

// Finding: a JWT whose own claims say it is a refresh or ID token
// (Keycloak "typ": "Refresh"/"Offline"/"ID", Hydra/Cognito "token_use") is
// accepted locally, where the same claims as an introspection answer are
// refused (ErrType) "whatever the options".
func TestTokenKindClaimsDecideAlike(t *testing.T) {
	p := newLRPair(t)
	for _, extra := range []string{`"typ":"Refresh"`, `"typ":"ID"`, `"typ":"Offline"`, `"token_use":"refresh_token"`,
		`"token_use":"id"`, `"typ":"id_token"`} {
		_, jerr, _, ierr := p.both(p.claims(extra))
		if lrClass(jerr) != lrClass(ierr) {
			t.Errorf("%s: JWT path %s, introspection path %s", extra, lrClass(jerr), lrClass(ierr))
		}
	}
}

// Finding: an answer with "iss": "" (present, empty) is treated as one
// without "iss" and accepted; the same claims as a JWT are refused
// (ErrIssuer). README: "iss (when present) must be trusted".
func TestEmptyIssuerDecidesAlike(t *testing.T) {
	p := newLRPair(t)
	c := strings.Replace(p.claims(""), `"iss":"`+lrIssuer+`"`, `"iss":""`, 1)
	_, jerr, it, ierr := p.both(c)
	if lrClass(jerr) != lrClass(ierr) {
		t.Errorf(`"iss":"": JWT path %s, introspection path %s (Token.Issuer %q)`, lrClass(jerr), lrClass(ierr), issuerOf(it))
	}
}

func issuerOf(t *validator.Token) string {
	if t == nil {
		return "<nil>"
	}
	return t.Issuer
}

// Finding: claims the strict reader refuses (a number beyond float64, a
// name folding to a read claim, a duplicate nested member, a lone
// surrogate) are invalid_token (401) as a JWT, but an introspection answer
// so written is "unavailable" (503 with Retry-After), never cached, so every
// retry by the client is one more request to the authorization server.
func TestStrictReaderRefusalsClassAlike(t *testing.T) {
	p := newLRPair(t)
	for _, extra := range []string{`"big":1e400`, `"SUB":"x"`, `"Scope":"admin"`, `"ext":{"a":1,"a":2}`, `"x":"\ud800"`} {
		_, jerr, _, ierr := p.both(p.claims(extra))
		before := p.srv.count()
		for range 3 {
			p.intr.Validate(context.Background(), "opaque-"+strconv.Itoa(p.n))
		}
		if lrTop(jerr) != lrTop(ierr) {
			t.Errorf("%s: JWT path %s, introspection path %s; 3 retries asked the server %d times",
				extra, lrClass(jerr), lrClass(ierr), p.srv.count()-before)
		}
	}
}

// WithScopeClaim: "It applies to every issuer's tokens".
func TestScopeClaimReadAlike(t *testing.T) {
	p := newLRPair(t, validator.WithScopeClaim("permissions"))
	jt, jerr, it, ierr := p.both(p.claims(`"permissions":["orders:write"]`))
	if jerr != nil || ierr != nil {
		t.Fatalf("JWT %v, introspection %v", jerr, ierr)
	}
	if jt.Scopes.String() != it.Scopes.String() {
		t.Errorf("WithScopeClaim(permissions): JWT scopes %q, introspection scopes %q", jt.Scopes, it.Scopes)
	}
}

// A JWT from a keyed issuer, signature good, refused locally because its
// "tid" is not its issuer's tenant (ErrIssuer), is then sent to the
// introspection endpoint: README says WithIntrospection sends "tokens that
// are not JWTs from a keyed issuer". The token (a bearer credential) goes
// to another party, and the decision the local path took is handed to it.
func TestLocallyRefusedJWTNotSentToIntrospection(t *testing.T) {
	now := time.Now().Unix()
	sk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key, _ := validator.NewKey("k1", sk.Public(), validator.ES256)
	srv := newLRIntrospectionServer(t)
	ic, err := introspect.New(srv.srv.URL+"/introspect", introspect.ClientSecretBasic("rs", "s3cret"), introspect.WithInsecureLoopbackHTTP())
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	v, err := validator.New(
		validator.WithTenantIssuers("https://login.example.com/{tenantid}/v2.0", []string{"t1"}, validator.NewKeys(key)),
		validator.WithIntrospection(lrIssuer, ic), validator.WithAudience("api"), validator.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	claims := fmt.Sprintf(`{"iss":"https://login.example.com/t1/v2.0","tid":"t2","aud":"api","sub":"u","exp":%d,"iat":%d}`, now+3600, now)
	jwt := jwstest.Token(`{"alg":"ES256","kid":"k1"}`, claims, jwstest.ES(sk, crypto.SHA256))
	_, verr := v.Validate(context.Background(), jwt)
	if n := srv.count(); n != 0 {
		t.Errorf("a JWT of a keyed issuer refused locally (tid) was sent to the introspection endpoint (%d request(s)); answer: %s", n, lrClass(verr))
	}
}

// "token_type": "DPoP" without "cnf.jkt" is refused alike: as an answer
// (RFC 9449 §6.2, no downgrade to Bearer) and in a JWT's claims, which are
// read for "token_type" too (found by the review of the fixes above).
func TestTokenTypeDPoPWithoutJKTDecidesAlike(t *testing.T) {
	p := newLRPair(t)
	_, jerr, _, ierr := p.both(p.claims(`"token_type":"DPoP"`))
	if lrClass(jerr) != lrClass(ierr) || !errors.Is(jerr, validator.ErrUnsupportedBinding) {
		t.Errorf(`"token_type":"DPoP" without cnf.jkt: JWT path %s, introspection path %s; want UnsupportedBinding for both`, lrClass(jerr), lrClass(ierr))
	}
}
