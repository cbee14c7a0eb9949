package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

// Sender-constrained tokens in validate's report: what the token is bound
// to (RFC 7800 "cnf"), the DPoP proof (RFC 9449) or client certificate
// (RFC 8705) the request came with, and which check refused it, in plain
// words. Nothing here prints token or proof material: fingerprints,
// thumbprints of public keys and certificates, and the request facts a
// proof is for (method, URL, time).

// bindingRefusal reports whether err refused the token for how it was
// presented (its binding, the DPoP scheme or proof) rather than for the
// token itself: then the token itself may still be good.
func bindingRefusal(err error) bool {
	for _, e := range []error{validator.ErrBoundToken, validator.ErrBindingMismatch, validator.ErrBearerNotAllowed,
		validator.ErrDPoPNotAccepted, validator.ErrInvalidDPoPProof, validator.ErrUseDPoPNonce, validator.ErrReplayUnavailable} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// proofInfo is a DPoP proof decoded for display, without trusting it.
type proofInfo struct {
	size        int
	fingerprint string
	alg, typ    string
	jkt         string // RFC 7638 thumbprint of the header's "jwk"; "" if none can be computed
	htm, htu    string
	ath         string
	iat         time.Time
	hasIat      bool
	hasNonce    bool
	// malformed says why the proof's form is wrong, "" when it looks
	// right (the validator decides; this only explains).
	malformed string
}

// decodeProof decodes proof for display. allowed lists the algorithms the
// API accepts.
func decodeProof(proof string, allowed []validator.Algorithm) proofInfo {
	pi := proofInfo{size: len(proof), fingerprint: validator.TokenFingerprint(proof)}
	bad := func(format string, args ...any) proofInfo {
		if pi.malformed == "" {
			pi.malformed = fmt.Sprintf(format, args...)
		}
		return pi
	}
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		return bad("it is not a compact JWS (three parts separated by dots)")
	}
	header := decodeSegment(parts[0])
	if header == nil {
		return bad("its header is not base64url-encoded JSON")
	}
	claims := decodeSegment(parts[1])
	pi.alg, _ = header["alg"].(string)
	pi.typ, _ = header["typ"].(string)
	jwk, _ := header["jwk"].(map[string]any)
	if jwk != nil {
		pi.jkt = jwkThumbprint(jwk)
	}
	if claims != nil {
		pi.htm, _ = claims["htm"].(string)
		pi.htu, _ = claims["htu"].(string)
		pi.ath, _ = claims["ath"].(string)
		if f, ok := claims["iat"].(float64); ok {
			pi.iat, pi.hasIat = time.Unix(int64(f), 0), true
		}
		_, pi.hasNonce = claims["nonce"]
	}
	if len(proof) > validator.MaxProofSize {
		bad("it is larger than %d bytes", validator.MaxProofSize)
	}
	if !strings.EqualFold(pi.typ, "dpop+jwt") {
		bad(`its typ is %q, not "dpop+jwt"`, pi.typ)
	}
	if !slices.Contains(allowed, validator.Algorithm(pi.alg)) {
		bad("its alg %q is not one the API accepts", pi.alg)
	}
	for _, name := range []string{"crit", "b64", "enc", "zip", "cty"} {
		if _, ok := header[name]; ok {
			bad("its header has %q, which DPoP proofs may not use", name)
		}
	}
	switch {
	case jwk == nil:
		bad("its header has no jwk (the public key)")
	case hasPrivateMember(jwk):
		bad("its jwk holds private key material")
	case pi.jkt == "":
		bad("its jwk is not a public EC, RSA or OKP key")
	case !algFits(pi.alg, jwk):
		bad("its alg %q does not fit its jwk (a %v %v key)", pi.alg, jwk["kty"], orEmpty(jwk["crv"]))
	}
	if claims == nil {
		return bad("its claims are not base64url-encoded JSON")
	}
	var missing []string
	for _, name := range []string{"jti", "htm", "htu", "ath"} {
		if s, _ := claims[name].(string); s == "" {
			missing = append(missing, name)
		}
	}
	if !pi.hasIat {
		missing = append(missing, "iat")
	}
	if len(missing) > 0 {
		bad("it lacks %s", strings.Join(missing, ", "))
	}
	if _, ok := claims["nonce"]; ok {
		if _, isString := claims["nonce"].(string); !isString {
			bad("its nonce is not a string")
		}
	}
	return pi
}

// algFits reports whether a JWS algorithm can be used with a JWK.
func algFits(alg string, jwk map[string]any) bool {
	switch alg {
	case "ES256":
		return jwk["kty"] == "EC" && jwk["crv"] == "P-256"
	case "ES384":
		return jwk["kty"] == "EC" && jwk["crv"] == "P-384"
	case "ES512":
		return jwk["kty"] == "EC" && jwk["crv"] == "P-521"
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return jwk["kty"] == "RSA"
	case "EdDSA":
		return jwk["kty"] == "OKP" && jwk["crv"] == "Ed25519"
	}
	return false
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

func decodeSegment(seg string) map[string]any {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

func hasPrivateMember(jwk map[string]any) bool {
	for _, name := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
		if _, ok := jwk[name]; ok {
			return true
		}
	}
	return false
}

// jwkThumbprint returns the RFC 7638 SHA-256 thumbprint of a public JWK,
// base64url: the hash of its required members, in lexicographic order,
// without whitespace. It returns "" for a key of another type or without
// its members.
func jwkThumbprint(jwk map[string]any) string {
	var names []string
	switch jwk["kty"] {
	case "EC":
		names = []string{"crv", "kty", "x", "y"}
	case "RSA":
		names = []string{"e", "kty", "n"}
	case "OKP":
		names = []string{"crv", "kty", "x"}
	default:
		return ""
	}
	members := make(map[string]string, len(names))
	for _, name := range names {
		s, ok := jwk[name].(string)
		if !ok || s == "" {
			return ""
		}
		members[name] = s
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(members) != nil { // map keys are written sorted
		return ""
	}
	sum := sha256.Sum256(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// certThumbprint is a certificate's RFC 8705 "x5t#S256".
func certThumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// accessTokenHash is the "ath" of a proof sent with token.
func accessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// comparableURL reduces a URL to what a proof's "htu" is compared on, for
// explaining a mismatch: query and fragment dropped, scheme and host in
// lower case, the default port dropped, an empty path made "/". (The
// validator also normalizes percent-encodings and dot segments.)
func comparableURL(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port := u.Port(); port != "" && !(scheme == "http" && port == "80") && !(scheme == "https" && port == "443") {
		host += ":" + port
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path
}

// presentation is how the request presented the token, for the report.
type presentation struct {
	p     validator.Presentation
	cnf   validator.Confirmation // what the token is bound to, as far as known
	known bool                   // cnf is known (from the verified token or the JWT's claims)
	proof proofInfo              // when p.Scheme is DPoP
}

// problems explains, one line each, why the binding checks refused the
// token (err): every problem found, not only the first the validator met.
// window is how far a proof's "iat" may be from now.
func (pr presentation) problems(err error, window time.Duration) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, oneLineArgs(args)...)) }
	p, cnf, pi := pr.p, pr.cnf, pr.proof
	dpop := p.Scheme == validator.SchemeDPoP
	switch {
	case errors.Is(err, validator.ErrBearerNotAllowed):
		add("DPoP required: the API refuses Bearer tokens (--dpop required); send a DPoP-bound token with a proof of its key")
	case errors.Is(err, validator.ErrDPoPNotAccepted):
		add("DPoP off: the API does not accept the DPoP scheme (--dpop off)")
	case errors.Is(err, validator.ErrBoundToken), errors.Is(err, validator.ErrBindingMismatch):
		if cnf.X5TS256 != "" {
			switch {
			case p.ClientCert == nil:
				add("no client certificate: the token is bound to a certificate (cnf x5t#S256), so the request must come over mutual TLS with it (--client-cert)")
			case certThumbprint(p.ClientCert) != cnf.X5TS256:
				add("another certificate: the client certificate's x5t#S256 is %s, the token is bound to %s", certThumbprint(p.ClientCert), cnf.X5TS256)
			}
		}
		switch {
		case !dpop && cnf.JKT != "":
			add("downgrade to Bearer: the token is bound to a DPoP key, so it must be sent as \"Authorization: DPoP\" with a proof of that key (--dpop-proof, --method, --url), never as Bearer")
		case dpop && pr.known && cnf.JKT == "":
			add("not DPoP-bound: the token is not bound to a key, so it cannot be sent with the DPoP scheme; send it as Bearer, or get a DPoP-bound token")
		case dpop && cnf.JKT != "" && pi.jkt != cnf.JKT:
			add("proof of another key: the proof's key has thumbprint %s, the token is bound to %s", orUnknown(pi.jkt), cnf.JKT)
		}
		if len(out) == 0 {
			add("binding: the request does not prove the key or certificate the token is bound to")
		}
	case errors.Is(err, validator.ErrProofMissing):
		add("no proof: the DPoP scheme needs exactly one DPoP proof")
	case errors.Is(err, validator.ErrProofMalformed):
		if pi.malformed != "" {
			add("malformed proof: %s", pi.malformed)
		} else {
			add("malformed proof: not a compact JWS of typ dpop+jwt with an allowed alg, a public jwk, and the claims jti, htm, htu, iat and ath")
		}
	case errors.Is(err, validator.ErrProofSignature):
		add("bad proof signature: the proof is not signed by the key in its own jwk header")
	case errors.Is(err, validator.ErrProofMismatch):
		if pi.htm != p.Method {
			add("htm: the proof is for method %s, the request's is %s", pi.htm, p.Method)
		}
		if comparableURL(pi.htu) != comparableURL(p.URL) {
			add("htu: the proof is for %s, the request went to %s", pi.htu, p.URL)
		}
		if pi.ath != accessTokenHash(p.Token) {
			add("ath: the proof was made for another access token (its ath is not this token's hash)")
		}
		if len(out) == 0 {
			add("htm, htu or ath: the proof (%s %s) does not match the request (%s %s) or this token", pi.htm, pi.htu, p.Method, p.URL)
		}
	case errors.Is(err, validator.ErrProofTime):
		if age := time.Since(pi.iat).Round(time.Second); age >= 0 {
			add("iat: the proof was made %s ago; proofs are accepted within %s of the clock", age, window)
		} else {
			add("iat: the proof is dated %s in the future; proofs are accepted within %s of the clock", -age, window)
		}
	case errors.Is(err, validator.ErrProofReplayed):
		add("replay: this proof (its jti) was already used; every request needs a fresh proof")
	case errors.Is(err, validator.ErrUseDPoPNonce):
		if pi.hasNonce {
			add("nonce: the proof's nonce is not a current one from this API; retry with the DPoP-Nonce value above")
		} else {
			add("nonce required: the API requires a server nonce and the proof has none; retry with the DPoP-Nonce value above")
		}
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "(none: its jwk is missing or not a public key)"
	}
	return s
}

// confirmationOf reads the "cnf" of unverified JWT claims.
func confirmationOf(claims map[string]any) validator.Confirmation {
	cnf, _ := claims["cnf"].(map[string]any)
	var c validator.Confirmation
	c.JKT, _ = cnf["jkt"].(string)
	c.X5TS256, _ = cnf["x5t#S256"].(string)
	return c
}

// report prints how the token was presented and what it is bound to.
func (pr presentation) report(w *report, verified bool) {
	p, cnf, pi := pr.p, pr.cnf, pr.proof
	switch {
	case !pr.known:
	case cnf.JKT == "" && cnf.X5TS256 == "":
		w.line(bindingLabel(verified), "none: a plain bearer token")
	default:
		var lines []string
		if cnf.JKT != "" {
			lines = append(lines, "DPoP key, cnf.jkt "+cnf.JKT)
		}
		if cnf.X5TS256 != "" {
			lines = append(lines, "client certificate, cnf x5t#S256 "+cnf.X5TS256)
		}
		w.lines(bindingLabel(verified), lines)
	}
	if p.Scheme == validator.SchemeDPoP {
		w.line("proof", "sha256 %s…, %d bytes (the proof itself is never printed)", pi.fingerprint, pi.size)
		key := "thumbprint " + orUnknown(pi.jkt)
		switch {
		case pi.jkt == "":
		case !pr.known:
		case cnf.JKT == pi.jkt:
			key += " (the token's key)"
		case cnf.JKT == "":
			key += " (the token is not bound to a key)"
		default:
			key += " (not the token's key)"
		}
		if pi.alg != "" {
			key = pi.alg + ", " + key
		}
		w.line("proof key", "%s", key)
		ath := "ath of this token"
		switch {
		case pi.ath == "":
			ath = "no ath"
		case pi.ath != accessTokenHash(p.Token):
			ath = "ath of another token"
		}
		nonce := "no nonce"
		if pi.hasNonce {
			nonce = "a nonce"
		}
		w.line("proof for", "htm %s, htu %s, %s, %s", orNone(pi.htm), orNone(pi.htu), ath, nonce)
		if pi.hasIat {
			w.line("proof iat", "%s (%s)", pi.iat.UTC().Format(time.RFC3339), relative(pi.iat, time.Now()))
		}
	}
	if c := p.ClientCert; c != nil {
		tp := certThumbprint(c)
		note := ""
		switch {
		case !pr.known:
		case cnf.X5TS256 == tp:
			note = " (the token's certificate)"
		case cnf.X5TS256 == "":
			note = " (the token is not bound to a certificate)"
		default:
			note = " (not the token's certificate)"
		}
		w.line("client cert", "%s, x5t#S256 %s%s", c.Subject, tp, note)
	}
}

func bindingLabel(verified bool) string {
	if verified {
		return "binding"
	}
	return "binding (unverified)"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// relative says how long ago, or in how long, t is.
func relative(t, now time.Time) string {
	if t.Before(now) {
		return fmt.Sprintf("%s ago", now.Sub(t).Round(time.Second))
	}
	return fmt.Sprintf("in %s", t.Sub(now).Round(time.Second))
}

// describe says how the request presented the token.
func (pr presentation) describe() string {
	s := "Authorization: Bearer"
	if pr.p.Scheme == validator.SchemeDPoP {
		s = fmt.Sprintf("Authorization: DPoP, with a DPoP proof, for %s %s", pr.p.Method, pr.p.URL)
	}
	if pr.p.ClientCert != nil {
		s += ", over mutual TLS with a client certificate"
	} else {
		s += ", no client certificate"
	}
	return s
}
