package jwks

import (
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
