package bearertest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/validator"
)

// Probe: %v of a *DPoPKey with an Ed25519 key prints the private key's
// bytes (ed25519.PrivateKey is a byte slice held by value).
func TestDPoPKeyPrinting(t *testing.T) {
	k := bearertest.MustDPoPKey(t, validator.EdDSA)
	out := fmt.Sprintf("%v", k)
	if strings.Count(out, " ") > 40 {
		t.Errorf("%%v of an EdDSA *bearertest.DPoPKey prints its private key bytes: %.200s…", out)
	}
}
