package validator

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"reflect"
	"time"
	"unsafe"

	"github.com/bearerguard/bearerguard/internal/nilness"
)

// DPoPMode says how tokens may be sender-constrained with DPoP (RFC 9449).
type DPoPMode uint8

const (
	// DPoPAllowed (the default): both schemes are accepted; a token bound to
	// a DPoP key ("cnf.jkt") is accepted only with a valid proof of that
	// key, never as a Bearer token.
	DPoPAllowed DPoPMode = iota
	// DPoPRequired: every token must be DPoP-bound and sent with its proof;
	// Bearer tokens are refused.
	DPoPRequired
	// DPoPOff: the DPoP scheme is refused; DPoP-bound tokens are refused
	// too, since they cannot be used as Bearer tokens.
	DPoPOff
)

// String returns "allowed", "required" or "off".
func (m DPoPMode) String() string {
	switch m {
	case DPoPAllowed:
		return "allowed"
	case DPoPRequired:
		return "required"
	case DPoPOff:
		return "off"
	}
	return fmt.Sprintf("DPoPMode(%d)", uint8(m))
}

// ParseDPoPMode parses "allowed", "required" or "off".
func ParseDPoPMode(s string) (DPoPMode, error) {
	for _, m := range []DPoPMode{DPoPAllowed, DPoPRequired, DPoPOff} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("bearerguard: DPoP mode %q is not allowed, required or off", s)
}

// Defaults of DPoP proof checking.
const (
	// DefaultProofWindow is how old a proof's "iat" may be, before the
	// leeway is added; ahead of the clock it may be by the leeway only.
	DefaultProofWindow = 60 * time.Second
	// MaxProofWindow is the most [WithDPoPProofWindow] accepts: a proof
	// is remembered that long, and a proof's lifetime with the leeway
	// must not overflow.
	MaxProofWindow = time.Hour
	// DefaultNonceLifetime is how long one server nonce is issued for; a
	// nonce is accepted for two such windows.
	DefaultNonceLifetime = 5 * time.Minute
	// MinNonceLifetime and MaxNonceLifetime bound [WithDPoPNonces]'s
	// lifetime: a shorter nonce is stale before a client can retry with
	// it (a bare number there is nanoseconds), and a longer one is a
	// constant for days, no evidence of a fresh proof.
	MinNonceLifetime = 5 * time.Second
	MaxNonceLifetime = 24 * time.Hour
)

// Scheme is how a request presented its access token.
type Scheme uint8

const (
	// SchemeBearer: "Authorization: Bearer" (RFC 6750), or a query, form
	// or cookie token.
	SchemeBearer Scheme = iota
	// SchemeDPoP: "Authorization: DPoP" with a DPoP proof header (RFC 9449).
	SchemeDPoP
)

// Presentation is a token as a request presented it, with the facts the
// sender-constraint checks need. Adapters build it from the request.
// It holds the token and the proof: never log it whole.
type Presentation struct {
	// Scheme is the Authorization scheme the token came with.
	Scheme Scheme
	// Token is the access token as sent.
	Token string
	// Proof is the request's one DPoP header; "" when there is none.
	Proof string
	// Method is the request's method ("GET", …), compared with "htm".
	Method string
	// URL is the URI the client addressed (scheme, host, path; query and
	// fragment are ignored), compared with "htu". Behind a proxy it is the
	// public URL, not the one the proxy forwarded to.
	URL string
	// ClientCert is the TLS client certificate that authenticated the
	// connection (or one a trusted TLS-terminating proxy forwarded), for
	// certificate-bound tokens (RFC 8705); nil when there is none.
	ClientCert *x509.Certificate
}

// dpopConfig is the validator's DPoP configuration.
type dpopConfig struct {
	mode    DPoPMode
	modeSet bool // WithDPoP was given
	algs    algSet
	// algsText is the DPoP challenge's "algs" value, written once (New):
	// every refusal carries it.
	algsText string
	window   time.Duration
	replay   ReplayStore
	nonces   *nonces // nil when nonces are off
}

// WithDPoP sets how DPoP is accepted (default [DPoPAllowed]). Given twice,
// it is a configuration error: a second mode would silently replace the
// first ([DPoPRequired], then [DPoPAllowed] from a shared option list).
func WithDPoP(mode DPoPMode) Option {
	return func(c *config) {
		if mode > DPoPOff {
			c.errs = append(c.errs, fmt.Errorf("WithDPoP: unknown mode %d", mode))
		}
		if c.dpop.modeSet {
			c.errs = append(c.errs, errors.New("WithDPoP given twice"))
		}
		c.dpop.mode, c.dpop.modeSet = mode, true
	}
}

// WithDPoPAlgorithms sets the algorithms a DPoP proof may be signed with
// (default: [DefaultAlgorithms], every asymmetric one). HMAC is never
// allowed: a proof is signed by the client's own key pair.
func WithDPoPAlgorithms(algs ...Algorithm) Option {
	return func(c *config) {
		c.dpop.algs = 0
		for _, a := range algs {
			id := parseAlg(string(a))
			if id == algUnknown || hmacAlgs.has(id) {
				c.errs = append(c.errs, fmt.Errorf("WithDPoPAlgorithms: %q is not an asymmetric algorithm", a))
				continue
			}
			c.dpop.algs |= 1 << id
		}
		if len(algs) == 0 {
			c.errs = append(c.errs, errors.New("WithDPoPAlgorithms: no algorithm"))
		}
	}
}

// WithDPoPProofWindow sets how old a proof's "iat" may be, before the
// leeway is added (default [DefaultProofWindow]); ahead of the clock it
// may be by the leeway only. Proofs are remembered for replay detection
// this long. More than [MaxProofWindow] is refused.
func WithDPoPProofWindow(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, errors.New("WithDPoPProofWindow: must be positive"))
		}
		if d > MaxProofWindow {
			c.errs = append(c.errs, fmt.Errorf("WithDPoPProofWindow: %v is more than %v", d, MaxProofWindow))
		}
		c.dpop.window = d
	}
}

// WithDPoPReplayStore replaces the default replay store (a
// [MemoryReplayStore] of [DefaultReplayStoreSize] proofs), for instance
// with one shared by every replica of a service. Validators may share a
// store: when guards over two of them are nested, the inner one finds the
// request's proof remembered by the outer one for this request and does
// not refuse it as a replay; both must be given the same store value (two
// stores over one Redis are two stores to them), and the inner must see
// the outer's request context with values added only (middleware between
// them that sets a deadline makes another context): otherwise the inner
// refuses the proof as replayed.
func WithDPoPReplayStore(s ReplayStore) Option {
	return func(c *config) {
		if nilness.IsNil(s) {
			c.errs = append(c.errs, errors.New("WithDPoPReplayStore: nil store"))
		}
		c.dpop.replay = s
	}
}

// WithDPoPNonces requires server-issued nonces in proofs (RFC 9449 §8): a
// proof without the current nonce is answered 401 use_dpop_nonce with a
// DPoP-Nonce header, and the client retries with it. Nonces are stateless
// (an HMAC under key of the time window, valid for lifetime to 2×lifetime;
// lifetime 0 means [DefaultNonceLifetime]), so every replica configured
// with the same key accepts them. key must have at least 32 bytes, and a
// lifetime other than 0 must lie between [MinNonceLifetime] and
// [MaxNonceLifetime].
func WithDPoPNonces(key []byte, lifetime time.Duration) Option {
	return func(c *config) {
		if len(key) < 32 {
			c.errs = append(c.errs, errors.New("WithDPoPNonces: key shorter than 32 bytes"))
		}
		if lifetime != 0 && (lifetime < MinNonceLifetime || lifetime > MaxNonceLifetime) {
			c.errs = append(c.errs, fmt.Errorf("WithDPoPNonces: lifetime %v is not between %v and %v", lifetime, MinNonceLifetime, MaxNonceLifetime))
		}
		if lifetime == 0 {
			lifetime = DefaultNonceLifetime
		}
		c.dpop.nonces = &nonces{key: append([]byte(nil), key...), window: lifetime}
	}
}

// DPoPMode returns the validator's DPoP mode.
func (v *Validator) DPoPMode() DPoPMode { return v.dpop.mode }

// DPoPAlgorithms lists the algorithms a DPoP proof may use, for the
// "algs" attribute of a DPoP challenge.
func (v *Validator) DPoPAlgorithms() []Algorithm {
	var out []Algorithm
	for id := algRS256; id <= algLast; id++ {
		if v.dpop.algs.has(id) && !hmacAlgs.has(id) {
			out = append(out, algNames[id])
		}
	}
	return out
}

// DPoPNonce returns the server nonce clients should use now, or "" when
// nonces are off. Adapters may send it in a DPoP-Nonce header on any
// response.
func (v *Validator) DPoPNonce() string {
	if v.dpop.nonces == nil {
		return ""
	}
	return v.dpop.nonces.current(v.now())
}

// ValidatePresentation checks a token as a request presented it: the token
// itself as [Validator.Validate] does (the validated-token cache included),
// then what it is bound to, on every request:
//
//   - a DPoP-bound token ("cnf.jkt") must come with the DPoP scheme and a
//     valid proof (RFC 9449 §4.3: "typ", "alg", a public "jwk" whose
//     signature holds, "htm", "htu", "iat" within the window, "ath" of this
//     token, the nonce when nonces are on) whose key has that thumbprint,
//     and the proof's "jti" must not have been seen before; sent as Bearer
//     it is refused ([ErrBoundToken]);
//   - the DPoP scheme with a token that is not DPoP-bound is refused
//     ([ErrBindingMismatch]); with [DPoPRequired], so is the Bearer scheme;
//   - a certificate-bound token ("cnf" "x5t#S256") must come with a client
//     certificate of that SHA-256 thumbprint (RFC 8705 §3).
func (v *Validator) ValidatePresentation(ctx context.Context, p Presentation) (*Token, error) {
	return v.validateRecorded(ctx, p, nil)
}

// ValidatePresentationInto is [Validator.ValidatePresentation] writing the
// token into *dst, as [Validator.ValidateInto] does.
func (v *Validator) ValidatePresentationInto(ctx context.Context, p Presentation, dst *Token) error {
	if dst == nil {
		panic("bearerguard: ValidatePresentationInto with a nil *Token") // as errors.As panics on a nil target
	}
	tok, err := v.validateRecorded(ctx, p, dst)
	if err != nil {
		*dst = Token{} // nothing of an earlier token is left for a caller that ignores err
		return err
	}
	if tok != dst {
		tok.copyInto(dst)
	}
	return nil
}

// validateRecorded validates with telemetry and logging around it; a
// cache hit is written into dst when it is not nil.
func (v *Validator) validateRecorded(ctx context.Context, p Presentation, dst *Token) (*Token, error) {
	if v.issuers == nil {
		return nil, errNotBuilt
	}
	start := v.tel.start(ctx)
	tok, err := v.validatePresentation(ctx, p, dst)
	v.tel.record(ctx, start, v.sourceOf(tok, p.Token), err)
	if err != nil {
		v.logReject(ctx, p.Token, err)
		return nil, err
	}
	return tok, nil
}

// sourceOf says how token was (or would have been) checked, for metrics:
// the token's own Source when it was accepted.
func (v *Validator) sourceOf(tok *Token, token string) Source {
	switch {
	case tok != nil:
		return tok.Source
	case token == "":
		return 0
	case v.introspector != nil && (v.introspectJWTs || !looksLikeJWS(token)):
		return SourceIntrospection
	}
	return SourceJWT
}

func (v *Validator) validatePresentation(ctx context.Context, p Presentation, dst *Token) (*Token, error) {
	switch {
	case p.Scheme == SchemeDPoP && v.dpop.mode == DPoPOff:
		return nil, ErrDPoPNotAccepted
	case p.Scheme == SchemeBearer && v.dpop.mode == DPoPRequired && p.Token != "":
		return nil, ErrBearerNotAllowed
	case p.Scheme == SchemeDPoP && p.Proof == "":
		return nil, ErrProofMissing
	}
	tok, err := v.validate(ctx, p.Token, dst)
	if err != nil {
		return nil, err
	}
	if err := v.checkBinding(ctx, tok, p); err != nil {
		return nil, err
	}
	if v.requireGrant {
		if err := v.checkGrant(tok); err != nil {
			return nil, err
		}
	}
	return tok, nil
}

// checkBinding checks that the request proves what tok is bound to.
func (v *Validator) checkBinding(ctx context.Context, tok *Token, p Presentation) error {
	cnf := tok.Confirmation
	if cnf.X5TS256 != "" {
		if p.ClientCert == nil {
			return ErrBoundToken
		}
		sum := sha256.Sum256(p.ClientCert.Raw)
		if subtle.ConstantTimeCompare([]byte(b64.EncodeToString(sum[:])), []byte(cnf.X5TS256)) != 1 {
			return ErrBindingMismatch
		}
	}
	if p.Scheme != SchemeDPoP {
		if cnf.JKT != "" {
			return ErrBoundToken // no downgrade to Bearer
		}
		return nil
	}
	if cnf.JKT == "" {
		return ErrBindingMismatch // a proof of a key the token is not bound to
	}
	return v.checkProof(ctx, tok, p)
}

// checkProof verifies the request's DPoP proof for tok, then the nonce,
// then records the proof against replay: the store sees only proofs that
// passed every other check.
func (v *Validator) checkProof(ctx context.Context, tok *Token, p Presentation) error {
	htu, ok := normalizeRequestURL(p.URL)
	if !ok {
		return ErrProofMismatch
	}
	jkt, pc, err := v.verifyProof(p.Proof, p.Method, htu, p.Token, tok.Confirmation.JKT)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(jkt), []byte(tok.Confirmation.JKT)) != 1 {
		return ErrBindingMismatch
	}
	now := v.now()
	if n := v.dpop.nonces; n != nil && (!pc.hasNonce || !n.valid(pc.nonce, now)) {
		return &NonceError{Nonce: n.current(now)}
	}
	key := replayKey(tok.Issuer, jkt, pc.jti)
	if !v.rememberedInRequest(ctx, key, p.Proof) {
		// The proof is accepted up to iat+window+leeway inclusive
		// (verifyProof), and stores forget at expires exclusive: remember
		// it a second longer.
		expires := pc.iat.Add(v.dpop.window + v.leeway + time.Second)
		var fresh bool
		if st, ok := v.dpop.replay.(ownedReplayStore); ok {
			fresh, err = st.rememberFor(ctx, key, replayOwner(tok), expires)
		} else {
			fresh, err = v.dpop.replay.Remember(ctx, key, expires)
		}
		if err != nil {
			return &UnavailableError{Reason: ErrReplayUnavailable, Err: err}
		}
		if !fresh {
			return ErrProofReplayed
		}
	}
	tok.proof = &acceptedProof{store: v.dpop.replay, key: key, proof: p.Proof, done: ctx.Done()}
	return nil
}

// acceptedProof is what a validator that accepted a DPoP proof leaves on
// the request's token: the store that remembered the proof, its key there,
// the proof as the request carried it, and the request's context's Done
// channel.
type acceptedProof struct {
	store ReplayStore
	key   string
	proof string
	done  <-chan struct{}
}

// rememberedInRequest reports whether this very proof was already
// remembered in v's replay store for this request: by another validator
// sharing the store, whose guard bound the token to ctx (nested guards
// over two validators). Such a guard's second check of the request's one
// proof is not a replay, and must not be refused as one.
//
// It holds only when the token in ctx carries a mark that a validator set
// after the same store (the same value) answered "fresh" for the same key,
// in the same request: ctx has the Done channel the marking validator's
// context had (a context derived with values shares it; another request's
// never does, and a context that is never done has none), and the proof
// is the very string the request carried then, the same bytes in memory,
// not merely equal ones. A token that other middleware carried over from
// another request (with [NewContext]) therefore never spares a proof its
// replay check, even over HTTP/2, where hpack may hand two requests on a
// connection one string. A validator with a store of its own always
// remembers; so does one behind middleware that derives a context with a
// deadline or cancellation of its own (the proof is then refused as
// replayed, as without the mark).
func (v *Validator) rememberedInRequest(ctx context.Context, key, proof string) bool {
	t, ok := FromContext(ctx)
	if !ok || t.proof == nil {
		return false
	}
	m := t.proof
	return m.done != nil && m.done == ctx.Done() && m.key == key && sameString(m.proof, proof) && sameStore(m.store, v.dpop.replay)
}

// sameString reports whether a and b are one string in memory.
func sameString(a, b string) bool {
	return len(a) == len(b) && len(a) > 0 && unsafe.StringData(a) == unsafe.StringData(b)
}

// sameStore reports whether a and b are one store: the same comparable
// value (a store of a type that cannot be compared is only itself, and
// comparing it would panic).
func sameStore(a, b ReplayStore) bool {
	ta := reflect.TypeOf(a)
	// Value.Comparable looks into interface fields: a struct type is
	// comparable, yet == panics when a field holds a map (a wrapper
	// around a store that cannot be compared).
	return ta != nil && ta == reflect.TypeOf(b) && reflect.ValueOf(a).Comparable() && reflect.ValueOf(b).Comparable() && a == b
}

// replayKey binds a proof's "jti" to the token's issuer and the proof key:
// a fixed-length digest, with length-prefixed fields so that none can run
// into another.
func replayKey(iss, jkt, jti string) string {
	h := sha256.New()
	for _, f := range []string{"bearerguard/dpop/v1", iss, jkt, jti} {
		var n [4]byte
		n[0], n[1], n[2], n[3] = byte(len(f)>>24), byte(len(f)>>16), byte(len(f)>>8), byte(len(f))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return b64.EncodeToString(h.Sum(nil))
}
