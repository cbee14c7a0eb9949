package main

// The peers' services, each written the way its library's README shows.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	auth0jwks "github.com/auth0/go-jwt-middleware/v2/jwks"
	auth0validator "github.com/auth0/go-jwt-middleware/v2/validator"
	gjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/bearerguard/bearerguard/validator"
)

// golang-jwt v5 + keyfunc v3.

type gjClaims struct {
	gjwt.RegisteredClaims
	Scope    string `json:"scope"`
	ClientID string `json:"client_id"`
}

func newGolangJWT(ctx context.Context, c serveConfig, client *http.Client) (http.Handler, func(), error) {
	kctx, cancel := context.WithCancel(ctx)
	// keyfunc's defaults (hourly refresh, an unknown kid refreshes at most
	// every 5 minutes), with our HTTP client.
	kf, err := keyfunc.NewDefaultOverrideCtx(kctx, []string{c.jwksURL}, keyfunc.Override{Client: client})
	if err != nil {
		cancel()
		return nil, nil, err
	}
	parser := gjwt.NewParser(gjwt.WithValidMethods([]string{"RS256", "ES256"}), gjwt.WithIssuer(c.issuer),
		gjwt.WithAudience(c.audience), gjwt.WithExpirationRequired(), gjwt.WithLeeway(validator.DefaultLeeway))
	verify := func(tok string) (principal, error) {
		var cl gjClaims
		if _, err := parser.ParseWithClaims(tok, &cl, kf.Keyfunc); err != nil {
			return principal{}, err
		}
		return principal{sub: cl.Subject, clientID: cl.ClientID, scope: cl.Scope}, nil
	}
	return peerMux(c.audience, verifyMiddleware(c.audience, verify)), cancel, nil
}

// auth0 go-jwt-middleware v2.

type auth0Claims struct {
	Scope    string `json:"scope"`
	ClientID string `json:"client_id"`
	Expiry   *int64 `json:"exp"`
}

// Validate requires "exp": auth0's validator checks it only when present.
func (c *auth0Claims) Validate(context.Context) error {
	if c.Expiry == nil {
		return errors.New("exp is required")
	}
	return nil
}

func newAuth0(c serveConfig, client *http.Client) (http.Handler, func(), error) {
	issuerURL, err := url.Parse(c.issuer)
	if err != nil {
		return nil, nil, err
	}
	jwksURL, err := url.Parse(c.jwksURL)
	if err != nil {
		return nil, nil, err
	}
	// The README's provider: a 5-minute cache of the JWK Set.
	provider := auth0jwks.NewCachingProvider(issuerURL, 5*time.Minute,
		auth0jwks.WithCustomJWKSURI(jwksURL), auth0jwks.WithCustomClient(client))
	// An auth0 validator accepts one signature algorithm; a service that
	// takes RS256 and ES256 tokens keeps one per algorithm and picks by the
	// token's header, as here.
	byAlg := map[string]*auth0validator.Validator{}
	for _, alg := range []auth0validator.SignatureAlgorithm{auth0validator.RS256, auth0validator.ES256} {
		v, err := auth0validator.New(provider.KeyFunc, alg, c.issuer, []string{c.audience},
			auth0validator.WithCustomClaims(func() auth0validator.CustomClaims { return &auth0Claims{} }),
			auth0validator.WithAllowedClockSkew(validator.DefaultLeeway))
		if err != nil {
			return nil, nil, err
		}
		byAlg[string(alg)] = v
	}
	validate := func(ctx context.Context, tok string) (any, error) {
		v := byAlg[headerAlg(tok)]
		if v == nil {
			return nil, errors.New("unsupported alg")
		}
		return v.ValidateToken(ctx, tok)
	}
	realm := c.audience
	mw := jwtmiddleware.New(validate, jwtmiddleware.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		unauthorized(w, realm, !errors.Is(err, jwtmiddleware.ErrJWTMissing))
	}))
	// auth0 puts *validator.ValidatedClaims in the context; turn it into
	// the principal the shared handlers read.
	toPrincipal := func(next http.Handler) http.Handler {
		return mw.CheckJWT(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			vc, _ := r.Context().Value(jwtmiddleware.ContextKey{}).(*auth0validator.ValidatedClaims)
			if vc == nil {
				unauthorized(w, realm, true)
				return
			}
			cc, _ := vc.CustomClaims.(*auth0Claims)
			if cc == nil {
				unauthorized(w, realm, true)
				return
			}
			p := principal{sub: vc.RegisteredClaims.Subject, clientID: cc.ClientID, scope: cc.Scope}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
		}))
	}
	return peerMux(realm, toPrincipal), func() {}, nil
}

// headerAlg returns the "alg" of a compact JWS's protected header, or "".
func headerAlg(tok string) string {
	h, _, ok := strings.Cut(tok, ".")
	if !ok {
		return ""
	}
	raw, err := b64.DecodeString(h)
	if err != nil {
		return ""
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(raw, &hdr) != nil {
		return ""
	}
	return hdr.Alg
}

// jwx v2.

func newJWX(ctx context.Context, c serveConfig, client *http.Client) (http.Handler, func(), error) {
	cctx, cancel := context.WithCancel(ctx)
	cache := jwk.NewCache(cctx)
	if err := cache.Register(c.jwksURL, jwk.WithHTTPClient(client)); err != nil {
		cancel()
		return nil, nil, err
	}
	fetchCtx, cancelFetch := context.WithTimeout(cctx, 10*time.Second)
	_, err := cache.Refresh(fetchCtx, c.jwksURL)
	cancelFetch()
	if err != nil {
		cancel()
		return nil, nil, err
	}
	set := jwk.NewCachedSet(cache, c.jwksURL)
	opts := []jwxjwt.ParseOption{
		jwxjwt.WithKeySet(set, jws.WithInferAlgorithmFromKey(true)),
		jwxjwt.WithValidate(true),
		jwxjwt.WithIssuer(c.issuer),
		jwxjwt.WithAudience(c.audience),
		jwxjwt.WithRequiredClaim(jwxjwt.ExpirationKey),
		jwxjwt.WithAcceptableSkew(validator.DefaultLeeway),
	}
	verify := func(tok string) (principal, error) {
		t, err := jwxjwt.ParseString(tok, opts...)
		if err != nil {
			return principal{}, err
		}
		p := principal{sub: t.Subject()}
		if v, ok := t.Get("scope"); ok {
			p.scope, _ = v.(string)
		}
		if v, ok := t.Get("client_id"); ok {
			p.clientID, _ = v.(string)
		}
		return p, nil
	}
	return peerMux(c.audience, verifyMiddleware(c.audience, verify)), cancel, nil
}
