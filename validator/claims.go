package validator

import (
	"bytes"
	"errors"
	"strings"
	"time"

	"github.com/bearerguard/bearerguard/scopes"
)

// Claims are read in two steps, so that an unauthenticated caller pays for
// nothing beyond what choosing the key needs:
//
//  1. scanUnsigned, before the signature: one linear pass of the strict
//     reader over the whole object (grammar, UTF-8, surrogates, number
//     range, nesting), keeping the raw bytes of the members this package
//     reads. Only "iss" is decoded, to choose the issuer's keys. Names are
//     compared only as written, and only the first 16. After the signature
//     holds, scanClaims passes over it again with the full duplicate-name
//     checks (every depth, unescaped, case folding), when the first pass
//     left any (claimSpans.recheck).
//  2. decodeClaims, after the signature holds: the kept members are decoded
//     into the Token (strings, audiences, dates, scopes).
//
// Introspection responses go through the same two functions
// (parseIntrospection), so both kinds of token obey the same rules.

// claim presence bits.
const (
	hasIss = 1 << iota
	hasSub
	hasAud
	hasExp
	hasIat
	hasNbf
	hasJti
	hasClientID
)

// maxExtraScopeClaims is how many configured scope claims are kept without
// allocating.
const maxExtraScopeClaims = 4

// claimSpans holds the raw values of the members the validator reads. The
// slices point into the decoded payload.
type claimSpans struct {
	present                      uint16
	iss, sub, jti, clientID, azp []byte
	cid, aud, exp, iat, nbf      []byte
	scope, scp                   []byte
	cnf                          []byte
	acr, authTime                []byte
	// Values of configured scope claims: the first few inline (a
	// pointer into the struct itself would move it to the heap), the
	// rest in extraMore.
	extra     [maxExtraScopeClaims][]byte
	extraIdx  [maxExtraScopeClaims]uint8 // which scope claim each holds
	nExtra    int
	extraMore [][]byte
	moreIdx   []uint8

	// RFC 7662 members, read only for introspection responses.
	active, tokenType []byte
	// What kind of token the claims say this is (kind): Keycloak's "typ"
	// claim, Ory Hydra's and Amazon Cognito's "token_use".
	typ, tokenUse []byte

	// recheck says that scanUnsigned left duplicate-name checks for
	// scanClaims to run once the signature holds.
	recheck bool
}

// scanClaims validates the JSON object b in one pass and records the raw
// values of the members the validator reads. It decodes nothing.
func (v *Validator) scanClaims(b []byte, s *claimSpans) error { return v.scan(b, s, false) }

// scanUnsigned is scanClaims for claims whose signature is not checked
// yet. It leaves out the duplicate-name checks whose cost is more than a
// pass over the bytes (nested objects of two or more members, a top-level
// object past 16 names, escaped names, and names that might fold), and
// sets s.recheck when it left any: the caller then runs scanClaims over
// the same bytes once the signature holds, so a signed token with
// duplicate names is still refused, and a forged one never pays for them.
// What it leaves cannot make a token accepted: a second "iss" written the
// same way is found before the signature when the object has at most 16
// names; otherwise the last one chooses the keys, and the full pass
// refuses the token once its signature holds.
func (v *Validator) scanUnsigned(b []byte, s *claimSpans) error { return v.scan(b, s, true) }

func (v *Validator) scan(b []byte, s *claimSpans, lax bool) error {
	var r objectReader
	if err := r.init(b); err != nil {
		return ErrMalformed
	}
	var buf [64]byte // for escaped names, in a lax pass
	r.lax = lax
	for {
		name, val, ok, err := r.nextInto(&buf)
		if err != nil {
			return ErrMalformed
		}
		if !ok {
			s.recheck = r.deferred
			return nil
		}
		switch string(name) {
		case "iss":
			s.present |= hasIss
			s.iss = val
		case "sub":
			s.present |= hasSub
			s.sub = val
		case "jti":
			s.present |= hasJti
			s.jti = val
		case "client_id":
			s.present |= hasClientID
			s.clientID = val
		case "azp":
			s.azp = val
		case "cid":
			s.cid = val
		case "aud":
			s.present |= hasAud
			s.aud = val
		case "exp":
			s.present |= hasExp
			s.exp = val
		case "iat":
			s.present |= hasIat
			s.iat = val
		case "nbf":
			s.present |= hasNbf
			s.nbf = val
		case "scope":
			s.scope = val
		case "scp":
			s.scp = val
		case "cnf":
			s.cnf = val
		case "acr":
			s.acr = val
		case "auth_time":
			s.authTime = val
		case "active":
			s.active = val
		case "token_type":
			s.tokenType = val
		case "typ":
			s.typ = val
		case "token_use":
			s.tokenUse = val
		default:
			if i := v.scopeClaimIndex(name); i >= 0 {
				s.addExtra(val, uint8(i))
				continue
			}
			if lax {
				// foldsToRead compares a name with every claim read: left
				// for the full pass when it could say yes.
				r.deferred = r.deferred || mayFold(name) || (v != nil && len(v.scopeClaims) > 0)
				continue
			}
			if foldsToRead(name, v) {
				// "SUB" or "\u017fub" beside (or instead of) "sub": the
				// Token's fields and a struct that Decode fills
				// (encoding/json matches names case-insensitively) would
				// read different members.
				return ErrMalformed
			}
		}
	}
}

// scopeClaimIndex returns the index of name among the configured scope
// claims, or -1 (no conversion of name that could allocate).
func (v *Validator) scopeClaimIndex(name []byte) int {
	if v == nil {
		return -1
	}
	for i, c := range v.scopeClaims {
		if string(name) == c {
			return i
		}
	}
	return -1
}

// readClaims are the members scanClaims reads, by their exact names.
var readClaims = []string{"iss", "sub", "jti", "client_id", "azp", "cid", "aud", "exp", "iat", "nbf",
	"scope", "scp", "cnf", "acr", "auth_time", "active", "token_type", "typ", "token_use"}

// foldsToRead reports whether name, which is none of the members read,
// equals one of them (or a configured scope claim) under case folding, as
// bytes.EqualFold and encoding/json compare names. Every member read is
// lower-case ASCII, so only a name with an upper-case ASCII letter or a
// non-ASCII byte can fold to one of those.
func foldsToRead(name []byte, v *Validator) bool {
	if mayFold(name) {
		for _, r := range readClaims {
			if bytes.EqualFold(name, []byte(r)) {
				return true
			}
		}
	}
	if v != nil {
		for _, c := range v.scopeClaims {
			if bytes.EqualFold(name, []byte(c)) {
				return true
			}
		}
	}
	return false
}

func (s *claimSpans) addExtra(val []byte, idx uint8) {
	if s.nExtra < len(s.extra) {
		s.extra[s.nExtra] = val
		s.extraIdx[s.nExtra] = idx
		s.nExtra++
		return
	}
	s.extraMore = append(s.extraMore, val)
	s.moreIdx = append(s.moreIdx, idx)
}

// kind refuses ([ErrType]) claims that say they are not an access
// token's, the same for a JWT's claims and an introspection answer: a
// "token_type" or "typ" naming a refresh or ID token (Keycloak's "typ" is
// "Bearer", "Refresh", "Offline" or "ID"; RFC 7662 §2.2 "token_type"), or a
// "token_use" other than an access token's (Ory Hydra introspects refresh
// tokens whatever the hint and says "token_use": "refresh_token"; Amazon
// Cognito's is "access" or "id"). A signed ID token whose "aud" happens to
// be this API's (a client id used as the API's audience) is so refused as
// it would be through introspection. A "typ" of another type, or not a
// string, is not this package's to read; a "token_type" or "token_use"
// that is not a string is [ErrMalformed].
func (s *claimSpans) kind() error {
	if s.tokenType != nil {
		tt, err := jsonStringView(s.tokenType)
		if err != nil {
			return ErrMalformed
		}
		if refusedType(tt) {
			return ErrType
		}
	}
	if s.tokenUse != nil {
		u, err := jsonStringView(s.tokenUse)
		if err != nil {
			return ErrMalformed
		}
		if !strings.EqualFold(u, "access_token") && !strings.EqualFold(u, "access") {
			return ErrType
		}
	}
	if s.typ != nil {
		if t, err := jsonStringView(s.typ); err == nil && refusedType(t) {
			return ErrType
		}
	}
	return nil
}

// bindingSaid refuses ([ErrUnsupportedBinding]) claims whose "token_type"
// says DPoP but whose "cnf" names no key (RFC 9449 §6.2 for an
// introspection answer; a JWT's claims are read alike): accepting the token
// as a bearer one would be the downgrade §7.2 forbids.
func (s *claimSpans) bindingSaid(tok *Token) error {
	if s.tokenType == nil || tok.Confirmation.JKT != "" {
		return nil
	}
	if tt, err := jsonStringView(s.tokenType); err == nil && strings.EqualFold(tt, "DPoP") {
		return ErrUnsupportedBinding
	}
	return nil
}

// issuer decodes "iss", the only claim read before the signature is
// checked.
func (s *claimSpans) issuer() (string, error) {
	if s.iss == nil {
		return "", ErrIssuer
	}
	iss, err := jsonStringView(s.iss)
	if err != nil {
		return "", ErrMalformed
	}
	return iss, nil
}

// decodeClaims decodes the recorded members into tok. Every step is linear
// in the size of its value. Unescaped strings are views of the claims
// buffer, which the Token keeps and nobody writes to again: no copy, no
// allocation per claim. The Audience is built in audBuf's spare capacity
// while it fits (nil: a slice of its own). skip marks the configured scope
// claims not read as scopes for this token (nil: all are).
func decodeClaims(s *claimSpans, tok *Token, audBuf []string, skip []bool) error {
	var err error
	str := func(raw []byte) string {
		if raw == nil || err != nil {
			return ""
		}
		var out string
		out, err = jsonStringView(raw)
		return out
	}
	date := func(raw []byte) time.Time {
		if raw == nil || err != nil {
			return time.Time{}
		}
		var t time.Time
		t, err = jsonNumericDate(raw)
		return t
	}
	tok.Issuer = str(s.iss)
	tok.Subject = str(s.sub)
	tok.ID = str(s.jti)
	tok.ClientID = str(s.clientID)
	azp, cid := str(s.azp), str(s.cid)
	tok.Expiry = date(s.exp)
	tok.IssuedAt = date(s.iat)
	tok.NotBefore = date(s.nbf)
	tok.ACR = str(s.acr)
	tok.AuthTime = date(s.authTime)
	if s.aud != nil && err == nil {
		tok.Audience, err = jsonStringsView(s.aud, audBuf)
	}
	if err == nil {
		tok.Scopes, err = s.scopes(skip)
	}
	if err == nil && s.cnf != nil {
		tok.Confirmation, err = decodeConfirmation(s.cnf)
	}
	if errors.Is(err, ErrUnsupportedBinding) {
		return err
	}
	if err != nil {
		return ErrMalformed
	}
	// A present "client_id" names the client (RFC 9068 §2.2), even empty;
	// "azp", then "cid", only stand in for an absent one.
	if s.present&hasClientID == 0 {
		tok.ClientID = azp
		if s.azp == nil {
			tok.ClientID = cid
		}
	}
	return nil
}

// scopes merges "scope", "scp" and the configured scope claims, but for
// those skip marks (the claims the token's issuer reads as roles or
// permissions). A list of strings is collected first and de-duplicated
// once, so the work stays linear however many claims hold scopes.
func (s *claimSpans) scopes(skip []bool) (scopes.Set, error) {
	var list []string
	var err error
	if s.scope != nil {
		// "scope" is a space-delimited string (RFC 8693 §4.2, RFC 9068
		// §2.2.3); Spring Authorization Server writes it as an array of
		// scope tokens, which is read as "scp" is.
		if s.scope[0] == '"' {
			// Inline (not appendScopeValue) keeps list off the heap.
			var str string
			if str, err = jsonStringView(s.scope); err != nil {
				return scopes.Set{}, err
			}
			list = appendScopeString(list, str)
		} else if list, err = appendScopeValue(list, s.scope); err != nil {
			return scopes.Set{}, err
		}
	}
	if s.scp != nil {
		if list, err = appendScopeValue(list, s.scp); err != nil {
			return scopes.Set{}, err
		}
	}
	for i, raw := range s.extra[:s.nExtra] {
		if skip != nil && skip[s.extraIdx[i]] {
			continue
		}
		if list, err = appendScopeValue(list, raw); err != nil {
			return scopes.Set{}, err
		}
	}
	for i, raw := range s.extraMore {
		if skip != nil && skip[s.moreIdx[i]] {
			continue
		}
		if list, err = appendScopeValue(list, raw); err != nil {
			return scopes.Set{}, err
		}
	}
	if list == nil {
		return scopes.Set{}, nil
	}
	return scopes.FromList(list)
}

// decodeConfirmation reads a "cnf" claim (RFC 7800 §3.1): an object whose
// "jkt" (RFC 9449 §6) and "x5t#S256" (RFC 8705 §3.1) members, when present,
// must be non-empty strings (an empty one makes the token malformed, even
// beside the other: the issuer meant a binding it did not write). A "cnf"
// with neither names only methods this library cannot check (a "jwk", a
// "kid", …): the token is refused rather than accepted as a plain bearer
// token.
func decodeConfirmation(raw []byte) (Confirmation, error) {
	var c Confirmation
	var r objectReader
	if err := r.init(raw); err != nil {
		return c, errJSON
	}
	for {
		name, val, ok, err := r.next()
		if err != nil {
			return c, err
		}
		if !ok {
			break
		}
		var s string
		switch string(name) {
		case "jkt":
			s, err = jsonStringView(val)
			c.JKT = s
		case "x5t#S256":
			s, err = jsonStringView(val)
			c.X5TS256 = s
		default:
			continue
		}
		if err != nil {
			return c, err
		}
		if s == "" {
			return c, ErrMalformed
		}
	}
	if c.JKT == "" && c.X5TS256 == "" {
		return c, ErrUnsupportedBinding
	}
	return c, nil
}

// appendScopeString appends the space-delimited tokens of str (empty
// tokens from repeated spaces are skipped; FromList checks the rest).
func appendScopeString(list []string, str string) []string {
	for len(str) > 0 {
		i := 0
		for i < len(str) && str[i] != ' ' {
			i++
		}
		if i > 0 {
			list = append(list, str[:i])
		}
		if i == len(str) {
			break
		}
		str = str[i+1:]
	}
	return list
}

// appendScopeValue appends a claim that is a space-delimited string or an
// array of scope tokens.
func appendScopeValue(list []string, raw []byte) ([]string, error) {
	if len(raw) > 0 && raw[0] == '"' {
		str, err := jsonStringView(raw)
		if err != nil {
			return list, err
		}
		return appendScopeString(list, str), nil
	}
	// Each element must be one scope token: FromList refuses one with a
	// space or another character RFC 6749 §3.3 does not allow.
	more, err := jsonStringsView(raw, nil)
	if err != nil {
		return list, err
	}
	return append(list, more...), nil
}
