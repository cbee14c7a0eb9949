package jwks_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

// The issuer rotates the key under a kid the set already holds while a
// fetch is in flight that read the document before the rotation. A valid
// token signed with the new key fails under the stale key; the validator
// asks RefreshKey, which joined the older fetch, saw the stale key again
// and answered nil: the valid token was refused 401, where a lookup of a
// new kid in the same race asks once more (finding 91). It now asks once
// more too.
func TestRefreshKeyJoiningAnOlderFetchAsksAgain(t *testing.T) {
	loadKeys()
	oldDoc := jwksDoc(jwk("k", &rsaA.PublicKey, nil))
	newDoc := jwksDoc(jwk("k", &rsaB.PublicKey, nil))
	s := newServer(t, oldDoc)
	set := newSet(t, s)
	if err := set.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	v := rvValidator(t, set)
	validateN(t, v, rvToken(t, "k", rsaA, "warm"), 1)

	// A refresh reaches the issuer, which answers slowly with the
	// document as it was then.
	arrived, release := make(chan struct{}), make(chan struct{})
	s.setHandler(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(oldDoc)
	})
	refreshed := make(chan error, 1)
	go func() { refreshed <- set.Refresh(context.Background()) }()
	<-arrived
	// Meanwhile the issuer rotates under the same kid and signs with b.
	s.set(200, newDoc, nil)
	tok := rvToken(t, "k", rsaB, "new")
	got := make(chan error, 1)
	go func() {
		_, err := v.Validate(context.Background(), tok)
		got <- err
	}()
	time.Sleep(100 * time.Millisecond) // the validation fails under the stale key and RefreshKey joins the fetch in flight
	close(release)
	if err := <-refreshed; err != nil {
		t.Fatal(err)
	}
	err := <-got
	if err != nil {
		t.Errorf("valid token signed with the key rotated in under a known kid, validated while an older fetch was in flight: %v (401 class: %v), want accepted (asked again, as Key does)", err, errors.Is(err, validator.ErrInvalidToken))
	}
	// The very same token a moment later is accepted: the refusal was
	// only the race.
	if _, err := v.Validate(t.Context(), tok); err != nil {
		t.Errorf("same token later: %v", err)
	}
}
