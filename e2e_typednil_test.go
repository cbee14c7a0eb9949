package bearerguard_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"fmt"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/bearerguard/bearerguard/forwardauth"
	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/resourcemeta"
	"github.com/bearerguard/bearerguard/validator"
)

// Finding 93: "Constructors refuse a nil pointer inside an interface". A
// crypto.Signer or a telemetry provider is such an interface too: the nil
// *ecdsa.PrivateKey of x509.ParseECPrivateKey with its error dropped, or
// the nil *sdkmetric.MeterProvider of a failed setup. Each constructor
// below compares with nil only, and panics instead of returning an error.
func TestConstructorsRefuseTypedNilSignersAndProviders(t *testing.T) {
	var ecKey *ecdsa.PrivateKey
	var edKey ed25519.PrivateKey // nil slice: the zero value
	var mp *sdkmetric.MeterProvider
	var tp *sdktrace.TracerProvider
	keys := &validator.Keys{}
	for _, tt := range []struct {
		name string
		f    func() error
	}{
		{"introspect.New(PrivateKeyJWT(nil *ecdsa.PrivateKey))", func() error {
			_, err := introspect.New("https://as.example.com/introspect", introspect.PrivateKeyJWT("rs", ecKey, "k1"))
			return err
		}},
		{"introspect.New(PrivateKeyJWT(nil ed25519.PrivateKey))", func() error {
			_, err := introspect.New("https://as.example.com/introspect", introspect.PrivateKeyJWT("rs", edKey, "k1"))
			return err
		}},
		{"forwardauth.NewSigner(nil *ecdsa.PrivateKey)", func() error {
			_, err := forwardauth.NewSigner(ecKey, "bearerguard", "", 0)
			return err
		}},
		{"resourcemeta.New(WithSignedMetadata(nil *ecdsa.PrivateKey))", func() error {
			_, err := resourcemeta.New("https://api.example.com/", resourcemeta.WithSignedMetadata("https://api.example.com/", ecKey, validator.ES256, "k1"))
			return err
		}},
		{"validator.New(WithMeterProvider(nil *sdkmetric.MeterProvider))", func() error {
			_, err := validator.New(validator.WithIssuer("https://id.example.com/", keys), validator.WithAudience("a"), validator.WithMeterProvider(mp))
			return err
		}},
		{"validator.New(WithTracerProvider(nil *sdktrace.TracerProvider))", func() error {
			_, err := validator.New(validator.WithIssuer("https://id.example.com/", keys), validator.WithAudience("a"), validator.WithTracerProvider(tp))
			return err
		}},
		{"jwks.New(WithMeterProvider(nil *sdkmetric.MeterProvider))", func() error {
			s, err := jwks.New("https://keys.example.com/jwks", jwks.WithMeterProvider(mp))
			if err == nil {
				s.Close()
			}
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						err = fmt.Errorf("PANIC: %v", p)
					}
				}()
				err = tt.f()
			}()
			if err == nil || len(err.Error()) > 6 && err.Error()[:6] == "PANIC:" {
				t.Errorf("%s: %v; want an error", tt.name, err)
			}
		})
	}
}
