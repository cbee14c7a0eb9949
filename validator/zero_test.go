package validator_test

import (
	"errors"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

// TestZeroValues: values not built by their constructors refuse, or work,
// and never panic: a panic in a gRPC handler ends the process (SECURITY.md
// 106).
func TestZeroValues(t *testing.T) {
	var v validator.Validator
	if _, err := v.Validate(t.Context(), "x.y.z"); !errors.Is(err, validator.ErrUnavailable) {
		t.Errorf("zero Validator: Validate = %v, want ErrUnavailable", err)
	}
	var dst validator.Token
	if err := v.ValidatePresentationInto(t.Context(), validator.Presentation{Scheme: validator.SchemeDPoP, Token: "x.y.z", Proof: "a.b.c"}, &dst); !errors.Is(err, validator.ErrUnavailable) {
		t.Errorf("zero Validator: ValidatePresentationInto = %v, want ErrUnavailable", err)
	}
	if err := v.CheckStepUp(&validator.Token{ACR: "mfa"}, validator.StepUp{}); !errors.Is(err, validator.ErrUnavailable) {
		t.Errorf("zero Validator: CheckStepUp = %v, want ErrUnavailable", err)
	}

	// The zero MemoryReplayStore is a store of DefaultReplayStoreSize.
	var s validator.MemoryReplayStore
	exp := time.Now().Add(time.Minute)
	for i, want := range []bool{true, false} {
		if fresh, err := s.Remember(t.Context(), "k", exp); err != nil || fresh != want {
			t.Errorf("zero MemoryReplayStore: Remember #%d = %v, %v; want %v", i, fresh, err, want)
		}
	}
	if s.Len() != 1 {
		t.Errorf("zero MemoryReplayStore: Len = %d", s.Len())
	}
}
