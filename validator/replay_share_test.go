package validator_test

import (
	"errors"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/internal/testclock"
	"github.com/bearerguard/bearerguard/validator"
)

// One client with a valid DPoP-bound token (its own, as the threat model
// allows) sent proofs with fresh "jti" until the in-process replay store
// was full, and every other client's valid proof was then refused with 503
// for the proofs' lifetime (91 s by default), again and again. Once the
// store is half full, a principal now holds at most a sixteenth of it: the
// others still get in, and it takes nine principals to fill it.
func TestReplayStoreSharePerPrincipal(t *testing.T) {
	loadKeys(t)
	const size = 100
	type client struct {
		key   proofKey
		token string
	}
	newClient := func(claims map[string]any) client {
		k := newProofKey(t)
		claims["cnf"] = map[string]any{"jkt": k.thumbprint()}
		return client{k, rs256(baseClaims(claims))}
	}
	setup := func() (*validator.Validator, *testclock.Clock) {
		clk := testclock.New(testNow)
		return newValidator(t, validator.WithClock(clk.Now),
			validator.WithDPoPReplayStore(validator.NewMemoryReplayStore(size, clk.Now))), clk
	}
	present := func(v *validator.Validator, clk *testclock.Clock, c client) error {
		p := c.key.proof("GET", apiURL, c.token, nil, map[string]any{"iat": clk.Now().Unix()})
		_, err := v.ValidatePresentation(t.Context(), validator.Presentation{Scheme: validator.SchemeDPoP,
			Token: c.token, Proof: p, Method: "GET", URL: apiURL})
		return err
	}
	flood := func(v *validator.Validator, clk *testclock.Clock, c client) (int, error) {
		for n := 0; ; n++ {
			if err := present(v, clk, c); err != nil {
				return n, err
			}
			if n > 2*size {
				t.Fatal("the store took more proofs than its size")
			}
		}
	}
	refused := func(err error) bool {
		return errors.Is(err, validator.ErrReplayStoreFull) && validator.ChallengeFor(err, "").Status == 503
	}

	const half, share = size / 2, size / 16

	t.Run("a flood leaves room for the others", func(t *testing.T) {
		v, clk := setup()
		alice := newClient(map[string]any{"client_id": "alice"})
		mallory := newClient(map[string]any{"client_id": "mallory"})
		if err := present(v, clk, alice); err != nil {
			t.Fatal(err)
		}
		n, err := flood(v, clk, mallory)
		if !refused(err) || n != half-1 {
			t.Fatalf("the flood: %d proofs, then %v; want %d (half the store), then a 503", n, err, half-1)
		}
		// Every other principal still gets in: alice, and one never seen.
		if err := present(v, clk, alice); err != nil {
			t.Errorf("alice after the flood: %v", err)
		}
		if err := present(v, clk, newClient(map[string]any{"client_id": "carol"})); err != nil {
			t.Errorf("a new client after the flood: %v", err)
		}
		// A new proof key and token for the same client is the same principal.
		if err := present(v, clk, newClient(map[string]any{"client_id": "mallory"})); !refused(err) {
			t.Errorf("mallory with another key: %v, want refused", err)
		}
		// Once its proofs expire, the flooder gets in again.
		clk.Advance(validator.DefaultProofWindow + validator.DefaultLeeway + 2*time.Second)
		if err := present(v, clk, mallory); err != nil {
			t.Errorf("mallory once its proofs expired: %v", err)
		}
	})

	t.Run("two principals cannot lock the others out", func(t *testing.T) {
		v, clk := setup()
		if n, err := flood(v, clk, newClient(map[string]any{"client_id": "spa", "sub": "eve"})); n != half || !refused(err) {
			t.Fatalf("the first flood: %d proofs, then %v; want %d, then a 503", n, err, half)
		}
		if n, err := flood(v, clk, newClient(map[string]any{"client_id": "spa", "sub": "eve2"})); n != share || !refused(err) {
			t.Fatalf("the second flood: %d proofs, then %v; want %d, then a 503", n, err, share)
		}
		// Users of the flooders' own client are principals of their own.
		for _, c := range []client{newClient(map[string]any{"client_id": "spa", "sub": "bob"}), newClient(map[string]any{"client_id": "alice"})} {
			for i := range share {
				if err := present(v, clk, c); err != nil {
					t.Fatalf("proof %d of another principal after two floods: %v", i+1, err)
				}
			}
		}
	})

	t.Run("tokens naming nobody count as their issuer's", func(t *testing.T) {
		v, clk := setup()
		if n, err := flood(v, clk, newClient(map[string]any{"sub": nil})); n != half || !refused(err) {
			t.Fatalf("the flood: %d proofs, then %v; want %d, then a 503", n, err, half)
		}
		if err := present(v, clk, newClient(map[string]any{"sub": nil})); !refused(err) {
			t.Errorf("another anonymous token, another key: %v, want refused (the same principal)", err)
		}
	})

	t.Run("full is full", func(t *testing.T) {
		v, clk := setup()
		for i := 0; ; i++ {
			c := newClient(map[string]any{"client_id": "c" + string(rune('a'+i%26)) + string(rune('a'+i/26))})
			if err := present(v, clk, c); err != nil {
				if i != size || !refused(err) {
					t.Errorf("%d principals of one proof each, then %v; want %d, then a 503", i, err, size)
				}
				break
			}
		}
	})
}
