package jwks

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/validator"
)

// FuzzParseKeySet: any document parses without panicking, every key kept
// is usable for verification, and the output is bounded.
func FuzzParseKeySet(f *testing.F) {
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"a","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAA"},{"kty":"RSA","use":"enc"},null,1,"x"]}`))
	f.Add([]byte(`<html>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		keys, skipped, err := parseKeySet(doc)
		if err != nil {
			if keys != nil || skipped != nil {
				t.Fatalf("error %v with output", err)
			}
			return
		}
		if len(keys) > maxKeys || len(skipped) > maxKeys+1 {
			t.Fatalf("%d keys, %d skipped: unbounded", len(keys), len(skipped))
		}
		for _, k := range keys {
			if len(k.Algorithms()) == 0 || k.Allows(validator.HS256) || len(k.ID()) > validator.MaxKeyIDLen {
				t.Fatalf("unusable key kept: %q %v", k.ID(), k.Algorithms())
			}
		}
	})
}

// A set's private entries cost a scalar multiplication each to look at
// (about 1 ms for P-521), and forged tokens naming an unknown kid make a
// set be fetched again: at most maxExposed are looked at, after which the
// set trusts none of its keys, and an RSA prime too long for a usable
// modulus is not multiplied (red-team of the outbound calls: 8,593 P-521
// entries in a 1 MiB set cost 9.2 s per fetch).
func TestExposedKeysBounded(t *testing.T) {
	priv, err := ecdh.P521().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	entry := fmt.Sprintf(`{"kty":"EC","crv":"P-521","d":%q}`, base64.RawURLEncoding.EncodeToString(priv.Bytes()))
	for _, n := range []int{1, maxExposed, maxExposed + 1, 8000} {
		var e exposedKeys
		for range n {
			e.add(json.RawMessage(entry))
		}
		derived := len(e.points) + len(e.moduli) + len(e.ed) + len(e.kids)
		if derived > maxExposed || derived != min(n, maxExposed) || (e.compromised != "") != (n > maxExposed) {
			t.Errorf("%d private entries: %d derived, compromised %q; want %d, %v", n, derived, e.compromised, min(n, maxExposed), n > maxExposed)
		}
	}
	// Two 20 KB "primes": not multiplied, the kid stands for the key.
	huge := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 20<<10))
	var e exposedKeys
	e.add(json.RawMessage(fmt.Sprintf(`{"kty":"RSA","kid":"big","p":%q,"q":%q}`, huge, huge)))
	if len(e.moduli) != 0 || !slices.Equal(e.kids, []string{"big"}) || e.compromised != "" {
		t.Errorf("huge RSA primes: %d moduli, kids %q, compromised %q; want none, [big], \"\"", len(e.moduli), e.kids, e.compromised)
	}
	// An entry too large to decode that may be private: no key of the
	// set is trusted.
	e = exposedKeys{}
	e.add(json.RawMessage(`{"d":"AA","pad":"` + strings.Repeat("A", maxEntryBytes) + `"}`))
	if e.compromised == "" {
		t.Errorf("a %d-byte entry with a private member: not compromised", maxEntryBytes+20)
	}
}

// Only an entry that may have a private member is decoded: most of a
// hostile set ("0", "{}", public keys) is passed over by a byte scan, and
// an escape, which can spell a member's name, is decoded.
func TestMayBePrivate(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want bool
	}{
		{`0`, false},
		{`{}`, false},
		{`{"kty":"RSA","kid":"a","n":"sXch","e":"AQAB"}`, false},
		{`{"kty":"EC","d":"AA"}`, true},
		{`{"kty":"RSA","p":"AA","q":"AA"}`, true},
		{`{"kty":"RSA","oth":[]}`, true},
		{`{"kty":"EC","\u0064":"AA"}`, true},
		{`{"kid":"d"}`, true}, // a value, read to be sure
	} {
		if got := mayBePrivate([]byte(tc.raw)); got != tc.want {
			t.Errorf("mayBePrivate(%s) = %v, want %v", tc.raw, got, tc.want)
		}
	}
}

// A hostile 1 MiB set of entries that cannot be private ("0", "{}", an
// object without a private member's name) is read without one decoded
// map per entry (review of
// SECURITY.md 149: every entry was decoded to look for private members,
// 180-350 ms a fetch). Forged tokens naming an unknown kid have the set
// fetched again, so this is work anyone can ask for.
func TestHostileSetAllocationBounded(t *testing.T) {
	for _, tc := range []struct {
		entry string
		perB  float64 // bytes allocated per byte of body, at most
	}{
		// The list of entries itself, 24 bytes a slice header and its
		// copy, is most of it: 66, 42 and 17 here; decoding every entry
		// too made it 182, 111 and 93.
		{"0", 100},
		{"{}", 70},
		{`{"a":0}`, 40},
	} {
		n := (1 << 20) / (len(tc.entry) + 1)
		body := []byte(`{"keys":[` + strings.TrimSuffix(strings.Repeat(tc.entry+",", n), ",") + `]}`)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		keys, _, err := parseKeySet(body)
		runtime.ReadMemStats(&after)
		if err != nil || len(keys) != 0 {
			t.Fatalf("%s × %d: %d keys, %v", tc.entry, n, len(keys), err)
		}
		if per := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(body)); per > tc.perB {
			t.Errorf("%s × %d: %.1f bytes allocated per byte of body, want at most %.0f", tc.entry, n, per, tc.perB)
		} else {
			t.Logf("%s × %d: %.1f bytes allocated per byte of body", tc.entry, n, per)
		}
	}
}
