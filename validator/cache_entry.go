package validator

import (
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bearerguard/bearerguard/scopes"
)

// cachedToken is the validated-token cache's form of a token: the token's
// own strings copied end to end into one small string (the arena), its
// times as nanoseconds, its scopes shared with every other token granted
// the same ones, its issuer and audience shared with the configuration
// when they are the configured strings, and no claims JSON at all. A hit
// has the JSON at hand anyway (the token it looks up), so [Token.Claim]
// and friends decode it from the presented token when asked.
//
// A token the compact form cannot hold exactly (more than two audiences,
// fields this form does not know, times beyond 2262, …) is kept whole in
// full instead; [tokenCache.compact] checks, field by field, that
// expanding the compact form gives back the very token it was made from.
type cachedToken struct {
	arena string
	ends  [nArena]uint16 // end offset in arena of each field, in arenaField order
	// flags: which times are set, whether the issuer and audiences are
	// the configuration's strings.
	flags  uint16   // also the number of audiences, in the bits of audShift
	audCfg [2]uint8 // index into the configured audiences, when flagged
	alg    uint8    // index into algNames
	src    Source
	// payStart and payEnd locate the payload segment in the token: a hit
	// presents the very same bytes, so its claims JSON is there.
	payStart, payEnd        uint16
	exp, iat, nbf, authTime int64         // Unix nanoseconds, when flagged
	scopes                  *scopes.Set   // shared (see scopeSets)
	ic                      *issuerConfig // the issuer's configuration: its keys and, when flagged, its name
	key                     *Key          // the key that verified the token; nil for HMAC
	// more is nil for most tokens: those with no roles and no
	// permissions, held compact. One pointer for the three rare fields
	// keeps the entry a size class smaller.
	more *cachedMore
}

// cachedMore is what few cached tokens need.
type cachedMore struct {
	roles, perms *scopes.Set // shared, like scopes; nil when full is set
	full         *Token      // the whole token, when the compact form cannot hold it
}

// whole returns the token kept whole, or nil if c is compact.
func (c *cachedToken) whole() *Token {
	if c.more == nil {
		return nil
	}
	return c.more.full
}

// rolesPerms returns the compact form's roles and permissions.
func (c *cachedToken) rolesPerms() (roles, perms *scopes.Set) {
	if c.more == nil {
		return &emptySet, &emptySet
	}
	return c.more.roles, c.more.perms
}

// The arena's fields, in order.
const (
	arenaIssuer = iota
	arenaSubject
	arenaID
	arenaClientID
	arenaKeyID
	arenaType
	arenaACR
	arenaJKT
	arenaX5T
	arenaAud0
	arenaAud1
	nArena
)

const (
	flagExp = 1 << iota
	flagIat
	flagNbf
	flagAuthTime
	flagIssuerConfigured
	flagAud0Configured
	flagAud1Configured
	flagAudNil
	// audShift: the number of audiences (0 to 2) sits in the flags' two
	// bits from here, which keeps the entry a size class smaller.
	audShift = iota
)

// nAud is the number of audiences the entry holds.
func (c *cachedToken) nAud() int { return int(c.flags>>audShift) & 3 }

// maxSharedScopeSets bounds the table of shared scope sets: past it, an
// entry keeps a set of its own.
const maxSharedScopeSets = 256

// scopeSets shares one immutable [scopes.Set] among the cached tokens that
// carry the same scopes, roles or permissions (most clients of an API are
// granted one of a few sets).
type scopeSets struct {
	mu   sync.Mutex
	sets map[string]*scopes.Set
}

// emptySet is every cached token's empty set.
var emptySet scopes.Set

// shared returns a set equal to s that references no memory of s, or nil
// if it cannot make one (then the token is kept whole).
func (t *scopeSets) shared(s scopes.Set) *scopes.Set {
	if s.Len() == 0 && reflect.DeepEqual(s, emptySet) {
		return &emptySet
	}
	names := s.List()
	// The key is length-prefixed: role and permission names may hold
	// spaces, so {"a b"} and {"a", "b"} must not share a key.
	var b strings.Builder
	for _, n := range names {
		b.WriteString(strconv.Itoa(len(n)))
		b.WriteByte(':')
		b.WriteString(n)
	}
	key := b.String()
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.sets[key]; ok {
		return p
	}
	for i, n := range names {
		names[i] = strings.Clone(n)
	}
	own, err := scopes.FromNames(names)
	if err != nil {
		return nil
	}
	p := &own
	if t.sets == nil {
		t.sets = make(map[string]*scopes.Set)
	}
	if len(t.sets) < maxSharedScopeSets {
		t.sets[key] = p
	}
	return p
}

// compact returns the cache's form of tok (a token that passed full
// validation) for validator v; token is the token as presented.
func (v *Validator) compact(tok *Token, token string, key *Key, ic *issuerConfig) cachedToken {
	c := cachedToken{ic: ic, key: key, src: tok.Source}
	whole := func() cachedToken {
		return cachedToken{ic: ic, key: key, more: &cachedMore{full: tok.clone()}}
	}
	alg := -1
	for i, a := range algNames {
		if a == tok.Algorithm {
			alg = i
			break
		}
	}
	if alg < 0 || len(tok.Audience) > 2 || (tok.Audience != nil && len(tok.Audience) == 0) || len(token) > 1<<16-1 {
		return whole()
	}
	if p := payloadSegment(token); p != "" {
		c.payStart = uint16(strings.IndexByte(token, '.') + 1)
		c.payEnd = c.payStart + uint16(len(p))
	}
	c.alg = uint8(alg)
	var fields [nArena]string
	if tok.Issuer == ic.issuer {
		c.flags |= flagIssuerConfigured
	} else {
		fields[arenaIssuer] = tok.Issuer
	}
	fields[arenaSubject], fields[arenaID], fields[arenaClientID] = tok.Subject, tok.ID, tok.ClientID
	fields[arenaKeyID], fields[arenaType], fields[arenaACR] = tok.KeyID, tok.Type, tok.ACR
	fields[arenaJKT], fields[arenaX5T] = tok.Confirmation.JKT, tok.Confirmation.X5TS256
	if tok.Audience == nil {
		c.flags |= flagAudNil
	}
	c.flags |= uint16(len(tok.Audience)) << audShift // at most 2: see above
	for i, a := range tok.Audience {
		if j := slicesIndex(v.audiences, a); j >= 0 && j < 256 {
			c.flags |= flagAud0Configured << i
			c.audCfg[i] = uint8(j)
		} else {
			fields[arenaAud0+i] = a
		}
	}
	n := 0
	for _, f := range fields {
		n += len(f)
	}
	if n > 1<<16-1 {
		return whole()
	}
	var b strings.Builder
	b.Grow(n)
	for i, f := range fields {
		b.WriteString(f)
		c.ends[i] = uint16(b.Len())
	}
	c.arena = b.String()
	for _, t := range []struct {
		flag uint16
		at   time.Time
		dst  *int64
	}{{flagExp, tok.Expiry, &c.exp}, {flagIat, tok.IssuedAt, &c.iat}, {flagNbf, tok.NotBefore, &c.nbf}, {flagAuthTime, tok.AuthTime, &c.authTime}} {
		if !t.at.IsZero() {
			c.flags |= t.flag
			*t.dst = t.at.UnixNano()
		}
	}
	c.scopes = v.cache.scopes.shared(tok.Scopes)
	roles, perms := v.cache.scopes.shared(tok.Roles), v.cache.scopes.shared(tok.Permissions)
	if c.scopes == nil || roles == nil || perms == nil {
		return whole()
	}
	if roles != &emptySet || perms != &emptySet {
		c.more = &cachedMore{roles: roles, perms: perms}
	}
	// The compact form must give back exactly the token it was made from
	// (but for the claims JSON, which a hit takes from the presented
	// token): anything it does not know, it must not drop.
	want := *tok
	want.claims, want.claimsEncoded = "", false
	if !reflect.DeepEqual(*c.token(v, "", nil), want) {
		return whole()
	}
	return c
}

// token returns a Token built from c, whose claims JSON is the payload
// of the presented token ("" when only the fields are wanted): dst,
// overwritten whole, with an Audience of its own (one small allocation),
// or, when dst is nil, a new Token with its Audience in the same
// allocation.
func (c *cachedToken) token(v *Validator, token string, dst *Token) *Token {
	if full := c.whole(); full != nil {
		if dst == nil {
			return full.clone()
		}
		full.copyInto(dst)
		return dst
	}
	var aud []string // the room for the Audience
	if dst == nil {
		b := new(tokenBlock)
		dst, aud = &b.tok, b.aud[:]
	} else {
		*dst = Token{}
		if n := c.nAud(); n > 0 && c.flags&flagAudNil == 0 {
			aud = make([]string, n)
		}
	}
	t := dst
	a, e := c.arena, &c.ends
	if c.flags&flagIssuerConfigured != 0 {
		t.Issuer = c.ic.issuer
	} else {
		t.Issuer = a[:e[arenaIssuer]]
	}
	t.Subject, t.ID, t.ClientID = a[e[arenaSubject-1]:e[arenaSubject]], a[e[arenaID-1]:e[arenaID]], a[e[arenaClientID-1]:e[arenaClientID]]
	t.KeyID, t.Type, t.ACR = a[e[arenaKeyID-1]:e[arenaKeyID]], a[e[arenaType-1]:e[arenaType]], a[e[arenaACR-1]:e[arenaACR]]
	if e[arenaJKT-1] != e[arenaX5T] {
		t.Confirmation = Confirmation{JKT: a[e[arenaJKT-1]:e[arenaJKT]], X5TS256: a[e[arenaX5T-1]:e[arenaX5T]]}
	}
	if c.flags&flagAudNil == 0 {
		n := c.nAud()
		for i := range n {
			if c.flags&(flagAud0Configured<<i) != 0 {
				aud[i] = v.audiences[c.audCfg[i]]
			} else {
				aud[i] = a[e[arenaAud0+i-1]:e[arenaAud0+i]]
			}
		}
		if n == 0 {
			aud = []string{} // cannot happen: an empty list is kept whole
		}
		t.Audience = aud[:n:n]
	}
	t.Expiry, t.IssuedAt, t.NotBefore, t.AuthTime = c.time(flagExp, c.exp), c.time(flagIat, c.iat), c.time(flagNbf, c.nbf), c.time(flagAuthTime, c.authTime)
	roles, perms := c.rolesPerms()
	t.Scopes, t.Roles, t.Permissions = *c.scopes, *roles, *perms
	t.Source = c.src
	t.Algorithm = algNames[c.alg]
	if c.payEnd > c.payStart && int(c.payEnd) <= len(token) {
		t.claims, t.claimsEncoded = token[c.payStart:c.payEnd], true
	}
	return t
}

func (c *cachedToken) time(flag uint16, ns int64) time.Time {
	if c.flags&flag == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// times returns the token's exp, nbf and iat without building a Token.
func (c *cachedToken) times() (exp, nbf, iat time.Time) {
	if full := c.whole(); full != nil {
		return full.Expiry, full.NotBefore, full.IssuedAt
	}
	return c.time(flagExp, c.exp), c.time(flagNbf, c.nbf), c.time(flagIat, c.iat)
}

// keyID and algorithm are what the entry's key was looked up by.
func (c *cachedToken) keyID() string {
	if full := c.whole(); full != nil {
		return full.KeyID
	}
	start := int(c.ends[arenaKeyID-1])
	return c.arena[start:c.ends[arenaKeyID]]
}

func (c *cachedToken) algorithm() Algorithm {
	if full := c.whole(); full != nil {
		return full.Algorithm
	}
	return algNames[c.alg]
}

func slicesIndex(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// payloadSegment returns the payload segment of a compact JWS ("" if it
// has none: then the token could not have been cached).
func payloadSegment(token string) string {
	i := strings.IndexByte(token, '.')
	if i < 0 {
		return ""
	}
	rest := token[i+1:]
	j := strings.IndexByte(rest, '.')
	if j < 0 {
		return ""
	}
	return rest[:j]
}
