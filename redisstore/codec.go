package redisstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"time"

	"github.com/bearerguard/bearerguard/internal/introspection"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// A value in Redis is one format byte, then:
//
//	plain:      payload
//	encrypted:  len(key id) (1 byte), key id, salt (16 bytes),
//	            AES-GCM(payload) under HKDF-SHA256(key, salt), zero nonce
//
// and a payload is a kind byte (inactive or active), the entry's expiry
// (Unix nanoseconds, 8 bytes, big-endian) and, for an active answer, the
// introspection answer as the authorization server sent it
// (Token.RawClaims), which Get reads again with the validator's strict
// parser. The additional data of an encrypted value binds it to its Redis
// key and header, so a value moved to another key is refused.
const (
	formatPlain     byte = 1
	formatEncrypted byte = 2

	kindInactive byte = 0
	kindActive   byte = 1

	saltSize    = 16
	payloadHead = 1 + 8

	aadLabel = "bearerguard/redisstore/v1 value\x00"
	kdfInfo  = "bearerguard/redisstore/v1 value key"
)

var (
	errNotAnswer = errors.New("not an introspection answer")
	errFormat    = errors.New("malformed value")
	errKey       = errors.New("value encrypted under an unknown key id")
	errPlain     = errors.New("unencrypted value while encryption is on")
	errOpen      = errors.New("value failed authentication")
)

// codec turns cache entries into Redis values and back.
type codec struct {
	keys  map[string][]byte // by id
	first string            // the id that encrypts; "" when encryption is off
}

func newCodec(keys []EncryptionKey) *codec {
	c := &codec{keys: make(map[string][]byte, len(keys))}
	for i, k := range keys {
		if i == 0 {
			c.first = k.ID
		}
		c.keys[k.ID] = k.Key
	}
	return c
}

// encode returns the value for e under the Redis key rkey.
func (c *codec) encode(rkey string, e introspect.Entry) ([]byte, error) {
	var raw []byte
	kind := kindInactive
	if e.Token != nil {
		if e.Token.Source != validator.SourceIntrospection {
			return nil, errNotAnswer
		}
		if raw = e.Token.RawClaims(); len(raw) == 0 {
			return nil, errNotAnswer
		}
		kind = kindActive
	}
	if c.first == "" {
		v := make([]byte, 0, 1+payloadHead+len(raw))
		v = append(v, formatPlain, kind)
		v = binary.BigEndian.AppendUint64(v, uint64(e.Expires.UnixNano()))
		return append(v, raw...), nil
	}
	payload := make([]byte, 0, payloadHead+len(raw))
	payload = append(payload, kind)
	payload = binary.BigEndian.AppendUint64(payload, uint64(e.Expires.UnixNano()))
	payload = append(payload, raw...)

	head := make([]byte, 0, 2+len(c.first)+saltSize+len(payload)+16)
	head = append(head, formatEncrypted, byte(len(c.first)))
	head = append(head, c.first...)
	salt := head[len(head) : len(head)+saltSize]
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	head = head[:len(head)+saltSize]
	aead, err := valueAEAD(c.keys[c.first], salt)
	if err != nil {
		return nil, err
	}
	return aead.Seal(head, zeroNonce[:], payload, aad(rkey, head)), nil
}

// decode returns the entry a value under rkey stands for.
func (c *codec) decode(rkey string, v []byte) (introspect.Entry, error) {
	if len(v) == 0 {
		return introspect.Entry{}, errFormat
	}
	var payload []byte
	switch v[0] {
	case formatPlain:
		if c.first != "" {
			return introspect.Entry{}, errPlain
		}
		payload = v[1:]
	case formatEncrypted:
		if len(v) < 2 {
			return introspect.Entry{}, errFormat
		}
		n := int(v[1])
		if len(v) < 2+n+saltSize {
			return introspect.Entry{}, errFormat
		}
		key, ok := c.keys[string(v[2:2+n])]
		if !ok {
			return introspect.Entry{}, errKey
		}
		head := v[:2+n+saltSize]
		aead, err := valueAEAD(key, head[2+n:])
		if err != nil {
			return introspect.Entry{}, err
		}
		if payload, err = aead.Open(nil, zeroNonce[:], v[len(head):], aad(rkey, head)); err != nil {
			return introspect.Entry{}, errOpen
		}
	default:
		return introspect.Entry{}, errFormat
	}
	if len(payload) < payloadHead {
		return introspect.Entry{}, errFormat
	}
	e := introspect.Entry{Expires: time.Unix(0, int64(binary.BigEndian.Uint64(payload[1:payloadHead])))}
	raw := payload[payloadHead:]
	switch payload[0] {
	case kindInactive:
		if len(raw) != 0 {
			return introspect.Entry{}, errFormat
		}
		return e, nil
	case kindActive:
		// The parser keeps views into raw: it must be this value's own
		// bytes, which nothing else holds or reuses.
		tok, err := introspection.ParseResponse[*validator.Token](raw)
		if err != nil || tok == nil {
			return introspect.Entry{}, errFormat
		}
		e.Token = tok
		return e, nil
	}
	return introspect.Entry{}, errFormat
}

var zeroNonce [12]byte

// valueAEAD is AES-GCM under the value's own key, derived from the
// configured key and the value's salt: each derived key seals one value,
// so a fixed nonce is safe and the configured key has no nonce budget to
// exhaust.
func valueAEAD(key, salt []byte) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, key, salt, kdfInfo, len(key))
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// aad binds a value to its Redis key and header.
func aad(rkey string, head []byte) []byte {
	b := make([]byte, 0, len(aadLabel)+4+len(rkey)+len(head))
	b = append(b, aadLabel...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(rkey)))
	b = append(b, rkey...)
	return append(b, head...)
}
