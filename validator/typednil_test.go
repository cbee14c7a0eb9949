package validator_test

import (
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

// A constructor's nil result passed on by a caller that dropped its error
// (keys, _ := jwks.Discover(…)) is a nil pointer inside a non-nil
// interface: New refuses it, where a check of x == nil let it through to
// panic on the first token.
func TestNewRefusesNilPointersInInterfaces(t *testing.T) {
	var keys *jwks.Set
	var ic *introspect.Client
	var store *validator.MemoryReplayStore
	for _, tt := range []struct {
		name string
		opts []validator.Option
		want string
	}{
		{"nil *jwks.Set", []validator.Option{validator.WithIssuer("https://id.example.com/", keys)}, "nil key source"},
		{"nil *jwks.Set for tenants", []validator.Option{validator.WithTenantIssuers("https://login.example.com/{tenantid}/v2.0", []string{"t1"}, keys)}, "nil key source"},
		{"nil *introspect.Client", []validator.Option{validator.WithIntrospection("https://id.example.com/", ic)}, "nil introspector"},
		{"nil replay store", []validator.Option{validator.WithIssuer("https://id.example.com/", &validator.Keys{}), validator.WithDPoPReplayStore(store)}, "nil store"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := validator.New(append(tt.opts, validator.WithAudience("orders"))...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, %v; want an error saying %q", v, err, tt.want)
			}
		})
	}
}
