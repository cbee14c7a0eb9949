package grpcbearer_test

import (
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/grpcbearer"
	"github.com/bearerguard/bearerguard/validator"
)

// A nil *validator.Validator (v, _ := validator.New(…) with the error
// dropped) is refused by New: grpc-go does not recover a handler's panic,
// so the first call with a token would end the process.
func TestNewRefusesNilValidatorPointer(t *testing.T) {
	var v *validator.Validator
	if i, err := grpcbearer.New(v); err == nil || !strings.Contains(err.Error(), "nil validator") {
		t.Errorf("New(nil *Validator) = %v, %v; want an error", i, err)
	}
}
