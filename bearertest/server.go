package bearertest

import (
	"crypto"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ClientConfig registers an OAuth client with the issuer.
type ClientConfig struct {
	// ID is the client's id (client_id).
	ID     string
	Secret string // for client_secret_basic and client_secret_post
	// PublicKey verifies private_key_jwt assertions, if set.
	PublicKey crypto.PublicKey
	// Scopes the client may request with client_credentials; a request
	// without "scope" gets them all.
	Scopes []string
	// Audience of the tokens issued to the client.
	Audience string
	// Opaque makes the token endpoint issue opaque tokens (checked by
	// introspection) instead of JWTs.
	Opaque bool
	// TTL of issued tokens (default 1 h).
	TTL time.Duration
}

// state is the issuer's OAuth state: clients, issued tokens, revocations.
type state struct {
	mu            sync.Mutex
	clients       map[string]ClientConfig
	issued        map[string]Claims // token → claims, for introspection
	revoked       map[string]bool
	lastAuth      string
	dpopJTIs      map[string]bool // "jkt jti" of the token endpoint's proofs
	introHook     http.Handler
	introRequests atomic.Int64
	tokenRequests atomic.Int64
}

// AddClient registers a client for the token, introspection and
// revocation endpoints.
func (iss *Issuer) AddClient(c ClientConfig) {
	iss.st.mu.Lock()
	defer iss.st.mu.Unlock()
	iss.st.clients[c.ID] = c
}

// TokenURL is the client-credentials token endpoint. A request with a
// valid DPoP proof for it (POST, "htu" TokenURL, "iat" within five minutes
// of the issuer's clock, a "jti" not seen before) gets a token bound to the
// proof's key, of "token_type" "DPoP"; an invalid proof gets the error
// "invalid_dpop_proof".
func (iss *Issuer) TokenURL() string { return iss.URL + "/oauth/token" }

// IntrospectionURL is the RFC 7662 introspection endpoint.
func (iss *Issuer) IntrospectionURL() string { return iss.URL + "/oauth/introspect" }

// RevocationURL is the RFC 7009 revocation endpoint.
func (iss *Issuer) RevocationURL() string { return iss.URL + "/oauth/revoke" }

// IntrospectionRequests returns how many introspection requests arrived.
func (iss *Issuer) IntrospectionRequests() int64 { return iss.st.introRequests.Load() }

// TokenRequests returns how many token requests arrived.
func (iss *Issuer) TokenRequests() int64 { return iss.st.tokenRequests.Load() }

// LastIntrospectionAuth returns the client authentication method of the
// last accepted introspection request: "client_secret_basic",
// "client_secret_post", "private_key_jwt" or "bearer".
func (iss *Issuer) LastIntrospectionAuth() string {
	iss.st.mu.Lock()
	defer iss.st.mu.Unlock()
	return iss.st.lastAuth
}

// SetIntrospectionHandler replaces the introspection endpoint with h (nil
// restores it), for fault injection.
func (iss *Issuer) SetIntrospectionHandler(h http.Handler) {
	iss.st.mu.Lock()
	defer iss.st.mu.Unlock()
	iss.st.introHook = h
}

// OpaqueToken issues an opaque token with the given claims (merged over
// the defaults [Issuer.MintToken] uses), for introspection, which answers
// every claim, "cnf" included (see [BoundToKey]). It fails if a
// claim cannot be encoded as JSON, which the introspection endpoint would
// otherwise discover only when asked. It is the form of [Issuer.Opaque] for
// code without a testing.T.
func (iss *Issuer) OpaqueToken(claims Claims) (string, error) {
	all := iss.defaultClaims(claims, time.Hour)
	if _, err := json.Marshal(all); err != nil {
		return "", fmt.Errorf("bearertest: opaque token: %w", err)
	}
	tok := "opaque-" + randomID() + randomID()
	iss.record(tok, all)
	return tok, nil
}

// Revoke marks a token revoked: introspection answers inactive from now on.
func (iss *Issuer) Revoke(token string) {
	iss.st.mu.Lock()
	defer iss.st.mu.Unlock()
	iss.st.revoked[token] = true
}

func (iss *Issuer) record(token string, c Claims) {
	iss.st.mu.Lock()
	defer iss.st.mu.Unlock()
	iss.st.issued[token] = c
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="bearertest"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}

// authenticate checks the client authentication of an endpoint request
// and returns the client and the method used.
func (iss *Issuer) authenticate(r *http.Request, audience string) (ClientConfig, string, bool) {
	_ = r.ParseForm()
	basicID, basicSecret, hasBasic := r.BasicAuth()
	postID, postSecret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	assertion := r.PostForm.Get("client_assertion")
	bearer, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	iss.st.mu.Lock()
	defer iss.st.mu.Unlock()
	methods := 0
	for _, used := range []bool{hasBasic, postSecret != "", assertion != "", hasBearer} {
		if used {
			methods++
		}
	}
	if methods != 1 {
		return ClientConfig{}, "", false // RFC 6749 §2.3: exactly one method
	}
	switch {
	case hasBasic:
		id, err1 := url.QueryUnescape(basicID)
		secret, err2 := url.QueryUnescape(basicSecret)
		c, ok := iss.st.clients[id]
		if err1 != nil || err2 != nil || !ok || c.Secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
			return ClientConfig{}, "", false
		}
		return c, "client_secret_basic", true
	case postSecret != "":
		c, ok := iss.st.clients[postID]
		if !ok || c.Secret == "" || subtle.ConstantTimeCompare([]byte(postSecret), []byte(c.Secret)) != 1 {
			return ClientConfig{}, "", false
		}
		return c, "client_secret_post", true
	case assertion != "":
		c, ok := iss.st.clients[postID]
		if !ok || c.PublicKey == nil || r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			return ClientConfig{}, "", false
		}
		claims, err := verifyAssertion(assertion, c.PublicKey)
		if err != nil || claims["iss"] != c.ID || claims["sub"] != c.ID || claims["aud"] != audience {
			return ClientConfig{}, "", false
		}
		if exp, ok := claims["exp"].(float64); !ok || time.Unix(int64(exp), 0).Before(iss.clock()) {
			return ClientConfig{}, "", false
		}
		return c, "private_key_jwt", true
	default:
		claims, ok := iss.st.issued[bearer]
		if !ok || iss.st.revoked[bearer] || expired(claims, iss.clock()) {
			return ClientConfig{}, "", false
		}
		id, _ := claims["client_id"].(string)
		return ClientConfig{ID: id}, "bearer", true
	}
}

func expired(c Claims, now time.Time) bool {
	switch exp := c["exp"].(type) {
	case int64:
		return !now.Before(time.Unix(exp, 0))
	case float64:
		return !now.Before(time.Unix(int64(exp), 0))
	}
	return false
}

// serveToken is the client-credentials token endpoint (RFC 6749 §4.4).
// With a DPoP proof (RFC 9449 §5), it issues a token bound to the proof's
// key, of type "DPoP".
func (iss *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	iss.st.tokenRequests.Add(1)
	c, _, ok := iss.authenticate(r, iss.TokenURL())
	if !ok || c.Secret == "" && c.PublicKey == nil {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	granted := c.Scopes
	if req := strings.Fields(r.PostForm.Get("scope")); len(req) > 0 {
		for _, s := range req {
			if !slices.Contains(c.Scopes, s) {
				oauthError(w, http.StatusBadRequest, "invalid_scope")
				return
			}
		}
		granted = req
	}
	jkt, err := iss.tokenProof(r)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_dpop_proof")
		return
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = time.Hour
	}
	claims := Claims{"sub": c.ID, "client_id": c.ID, "scope": strings.Join(granted, " ")}
	if c.Audience != "" {
		claims["aud"] = c.Audience
	}
	typ := "Bearer"
	if jkt != "" {
		claims["cnf"] = map[string]any{"jkt": jkt}
		typ = "DPoP"
	}
	var tok string
	if c.Opaque {
		tok = "opaque-" + randomID() + randomID()
		iss.record(tok, iss.defaultClaims(claims, ttl))
	} else if tok, err = iss.mint(claims, mintConfig{alg: "RS256", header: map[string]any{"typ": "at+jwt"}, expiresIn: ttl}); err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok, "token_type": typ, "expires_in": int(ttl / time.Second), "scope": strings.Join(granted, " "),
	})
}

// serveIntrospect is the RFC 7662 endpoint, with RFC 9701 signed answers
// when asked for.
func (iss *Issuer) serveIntrospect(w http.ResponseWriter, r *http.Request) {
	iss.st.introRequests.Add(1)
	iss.st.mu.Lock()
	hook := iss.st.introHook
	iss.st.mu.Unlock()
	if hook != nil {
		hook.ServeHTTP(w, r)
		return
	}
	caller, method, ok := iss.authenticate(r, iss.IntrospectionURL())
	if !ok {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	iss.st.mu.Lock()
	iss.st.lastAuth = method
	token := r.PostForm.Get("token")
	claims, known := iss.st.issued[token]
	active := known && !iss.st.revoked[token] && !expired(claims, iss.clock())
	iss.st.mu.Unlock()
	resp := map[string]any{"active": false}
	if active {
		resp = map[string]any{"active": true, "token_type": tokenType(claims)}
		for k, v := range claims {
			resp[k] = v
		}
	}
	if strings.Contains(r.Header.Get("Accept"), "application/token-introspection+jwt") {
		body := Claims{"iss": iss.URL, "aud": caller.ID, "iat": iss.clock().Unix(), "token_introspection": resp}
		signed, err := iss.mint(body, mintConfig{alg: "RS256", header: map[string]any{"typ": "token-introspection+jwt"}, raw: true})
		if err != nil {
			oauthError(w, http.StatusInternalServerError, "server_error")
			return
		}
		w.Header().Set("Content-Type", "application/token-introspection+jwt")
		_, _ = w.Write([]byte(signed))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// serveRevoke is the RFC 7009 revocation endpoint.
func (iss *Issuer) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := iss.authenticate(r, iss.RevocationURL()); !ok {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	iss.Revoke(r.PostForm.Get("token"))
	w.WriteHeader(http.StatusOK)
}

// proofLeeway is how far a DPoP proof's "iat" may be from the issuer's
// clock at the token endpoint.
const proofLeeway = 5 * time.Minute

// tokenProof checks the DPoP proof of a token request (RFC 9449 §4.3) and
// returns the thumbprint of its key, or "" if there is none. The issuer
// sends no DPoP-Nonce, so it checks no "nonce".
func (iss *Issuer) tokenProof(r *http.Request) (string, error) {
	vals := r.Header.Values("DPoP")
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", errors.New("more than one DPoP header")
	}
	claims, pub, err := verifyDPoPProof(vals[0])
	if err != nil {
		return "", err
	}
	if claims["htm"] != http.MethodPost || claims["htu"] != iss.TokenURL() {
		return "", fmt.Errorf("htm %v, htu %v", claims["htm"], claims["htu"])
	}
	jti, _ := claims["jti"].(string)
	iat, ok := claims["iat"].(float64)
	if jti == "" || !ok {
		return "", errors.New("no jti or iat")
	}
	if d := iss.clock().Sub(time.Unix(int64(iat), 0)); d > proofLeeway || d < -proofLeeway {
		return "", fmt.Errorf("iat %v off by %v", iat, d)
	}
	jwk, err := publicJWK(pub)
	if err != nil {
		return "", err
	}
	jkt, err := thumbprint(jwk)
	if err != nil {
		return "", err
	}
	iss.st.mu.Lock()
	defer iss.st.mu.Unlock()
	if iss.st.dpopJTIs == nil {
		iss.st.dpopJTIs = map[string]bool{}
	}
	if iss.st.dpopJTIs[jkt+" "+jti] {
		return "", errors.New("jti replayed")
	}
	iss.st.dpopJTIs[jkt+" "+jti] = true
	return jkt, nil
}

// tokenType is the "token_type" of an introspection answer: "DPoP" for a
// token whose "cnf" has a "jkt" (RFC 9449 §6.2), else "Bearer"; a
// "token_type" claim overrides it.
func tokenType(c Claims) string {
	var jkt bool
	switch cnf := c["cnf"].(type) {
	case map[string]any:
		_, jkt = cnf["jkt"]
	case Claims:
		_, jkt = cnf["jkt"]
	case map[string]string:
		_, jkt = cnf["jkt"]
	}
	if jkt {
		return "DPoP"
	}
	return "Bearer"
}
