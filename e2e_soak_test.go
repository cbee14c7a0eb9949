package bearerguard_test

// Soak: many goroutines validate tokens while the issuer rotates keys and
// flaps between up and down. No token that must be refused is ever
// accepted; once keys are stable again, every good token is accepted.
// Bounded: BEARERGUARD_SOAK sets the duration (default 3 s; e.g. 20s for a
// long run).

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/internal/jwstest"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

func soakDuration(t *testing.T) time.Duration {
	d := 3 * time.Second
	if s := os.Getenv("BEARERGUARD_SOAK"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d <= 0 || d > 10*time.Minute {
			t.Fatalf("BEARERGUARD_SOAK=%q: want a duration up to 10m", s)
		}
	}
	return d
}

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test skipped in -short mode")
	}
	duration := soakDuration(t)
	iss := bearertest.NewIssuer(t)
	attacker := bearertest.NewIssuer(t)
	iss.Rotate(t, validator.EdDSA)
	keys := iss.KeySet(t, jwks.WithMinRefetchInterval(5*time.Millisecond), jwks.WithUnknownKeyTTL(0), jwks.WithLogger(slog.New(slog.DiscardHandler)))
	v, err := validator.New(validator.WithIssuer(iss.URL, keys), validator.WithAudience(audience), validator.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	// Tokens that must always be refused.
	good := iss.Mint(t, bearertest.Claims{"aud": audience}, bearertest.WithAlgorithm(validator.EdDSA))
	mustRefuse := []string{
		good[:len(good)-6] + "AAAAAA", // tampered
		iss.Mint(t, bearertest.Claims{"aud": "payments"}, bearertest.WithAlgorithm(validator.EdDSA)),
		iss.Mint(t, bearertest.Claims{"aud": audience}, bearertest.WithAlgorithm(validator.EdDSA), bearertest.ExpiresIn(-time.Hour)),
		attacker.Mint(t, bearertest.Claims{"aud": audience, "iss": iss.URL}, bearertest.WithKeyID(iss.CurrentKeyID(validator.RS256))),
		jwstest.Token(`{"alg":"none"}`, jwstest.JSON(map[string]any{"iss": iss.URL, "aud": audience, "exp": time.Now().Add(time.Hour).Unix()}), jwstest.Fixed(nil)),
	}

	// The current good tokens, replaced as keys rotate.
	var mu sync.Mutex
	current := []string{good}
	stop := make(chan struct{})
	var wg sync.WaitGroup

	// Rotate: a new key every 40 ms; keys older than the last two are removed.
	wg.Go(func() {
		var kids []string
		for {
			select {
			case <-stop:
				return
			case <-time.After(40 * time.Millisecond):
			}
			kid := iss.Rotate(t, validator.EdDSA)
			kids = append(kids, kid)
			if len(kids) > 2 {
				iss.Remove(kids[0])
				kids = kids[1:]
			}
			tok := iss.Mint(t, bearertest.Claims{"aud": audience}, bearertest.WithAlgorithm(validator.EdDSA))
			mu.Lock()
			current = append(current, tok)
			if len(current) > 20 {
				current = current[1:]
			}
			mu.Unlock()
		}
	})
	// Flap: the JWKS endpoint goes down and up every 25 ms.
	wg.Go(func() {
		down := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
		for i := 0; ; i++ {
			select {
			case <-stop:
				iss.SetJWKSHandler(nil)
				return
			case <-time.After(25 * time.Millisecond):
			}
			if i%2 == 0 {
				iss.SetJWKSHandler(down)
			} else {
				iss.SetJWKSHandler(nil)
			}
		}
	})

	var wrong, accepted, refused, checks atomic.Int64
	deadline := time.Now().Add(duration)
	var workers sync.WaitGroup
	for w := range 8 {
		workers.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				if (i+w)%3 == 0 {
					tok := mustRefuse[(i/3)%len(mustRefuse)]
					if _, err := v.Validate(ctx, tok); err == nil {
						wrong.Add(1)
						t.Errorf("accepted a token that must be refused: case %d", (i/3)%len(mustRefuse))
					}
					checks.Add(1)
					continue
				}
				mu.Lock()
				tok := current[i%len(current)]
				mu.Unlock()
				// During churn a good token may be refused (its key not yet
				// fetched, or already removed); it must never be refused
				// for anything but keys.
				_, err := v.Validate(ctx, tok)
				switch {
				case err == nil:
					accepted.Add(1)
				case errors.Is(err, validator.ErrUnknownKey), errors.Is(err, validator.ErrUnavailable):
					refused.Add(1)
				default:
					wrong.Add(1)
					t.Errorf("good token refused for a wrong reason: %v", err)
				}
				checks.Add(1)
			}
		})
	}
	workers.Wait()
	close(stop)
	wg.Wait()

	// Keys stable again: every current good token is accepted, every bad one refused.
	if err := keys.Refresh(ctx); err != nil {
		t.Fatalf("final refresh: %v", err)
	}
	latest := iss.Mint(t, bearertest.Claims{"aud": audience}, bearertest.WithAlgorithm(validator.EdDSA))
	if _, err := v.Validate(ctx, latest); err != nil {
		wrong.Add(1)
		t.Errorf("stable keys, current token refused: %v", err)
	}
	for i, tok := range mustRefuse {
		if _, err := v.Validate(ctx, tok); err == nil {
			wrong.Add(1)
			t.Errorf("stable keys, bad token %d accepted", i)
		}
	}
	t.Logf("%v soak: %d decisions (%d good accepted, %d good refused during key churn), %d JWKS fetches, %d wrong",
		duration, checks.Load(), accepted.Load(), refused.Load(), iss.JWKSRequests(), wrong.Load())
	if wrong.Load() != 0 {
		t.Fatalf("%d wrong decisions", wrong.Load())
	}
}
