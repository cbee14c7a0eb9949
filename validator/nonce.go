package validator

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"time"
)

// nonces issues and checks stateless DPoP nonces (RFC 9449 §8): a nonce is
// a time window's number and an HMAC of it under a secret key, so any
// replica with the key accepts it, and nothing is stored. A nonce is valid
// in its window and the next, so a client always has at least one full
// window to use it.
type nonces struct {
	key    []byte
	window time.Duration
}

// nonceTagLen is the length of the HMAC kept in a nonce.
const nonceTagLen = 16

func (n *nonces) windowOf(t time.Time) uint64 { return uint64(t.UnixNano() / int64(n.window)) }

func (n *nonces) make(w uint64) string {
	var buf [8 + sha256.Size]byte
	binary.BigEndian.PutUint64(buf[:8], w)
	m := hmac.New(sha256.New, n.key)
	m.Write(buf[:8])
	return b64.EncodeToString(m.Sum(buf[:8])[:8+nonceTagLen])
}

// current returns the nonce of the window at now.
func (n *nonces) current(now time.Time) string { return n.make(n.windowOf(now)) }

// valid reports whether nonce is the nonce of the window at now or of the
// one before.
func (n *nonces) valid(nonce string, now time.Time) bool {
	b, err := b64.DecodeString(nonce)
	if err != nil || len(b) != 8+nonceTagLen {
		return false
	}
	w := binary.BigEndian.Uint64(b[:8])
	cur := n.windowOf(now)
	if w != cur && w+1 != cur {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(n.make(w)), []byte(nonce)) == 1
}
