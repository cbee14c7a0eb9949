package validator_test

import (
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/validator"
)

// TestIntrospectionIssuerSpelledOtherwise: an introspection issuer that a
// keyed issuer's name differs from only in spelling got none of that
// issuer's checks (a client allow-list, a tenant) on answers without
// "iss" (SECURITY.md 116 refused a trailing slash only); "" beside keyed
// issuers did the same; and a client discovered for one issuer could be
// named as another's, whose users its answers then spoke for.
func TestIntrospectionIssuerSpelledOtherwise(t *testing.T) {
	const iss = "https://id.example.com"
	ic, err := introspect.New("https://id.example.com/introspect", introspect.ClientSecretBasic("rs", "secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	other, err := introspect.Discover("https://other.example.com", introspect.ClientSecretBasic("rs", "secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	same, err := introspect.Discover(iss, introspect.ClientSecretBasic("rs", "secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer same.Close()
	keyed := validator.WithIssuer(iss, validator.NewKeys(), validator.IssuerClientIDs("web-app"))
	for _, tt := range []struct {
		name string
		opts []validator.Option
		want string // "": accepted
	}{
		{"the same name", []validator.Option{keyed, validator.WithIntrospection(iss, ic)}, ""},
		{"trailing slash", []validator.Option{keyed, validator.WithIntrospection(iss+"/", ic)}, "differ only in spelling"},
		{"upper-case scheme", []validator.Option{keyed, validator.WithIntrospection("HTTPS://id.example.com", ic)}, "differ only in spelling"},
		{"upper-case host", []validator.Option{keyed, validator.WithIntrospection("https://ID.example.com/", ic)}, "differ only in spelling"},
		{"trailing space", []validator.Option{keyed, validator.WithIntrospection(iss+" ", ic)}, "white space, a control character or a fragment"},
		{"leading space", []validator.Option{keyed, validator.WithIntrospection(" "+iss, ic)}, "white space"},
		{"empty fragment", []validator.Option{keyed, validator.WithIntrospection(iss+"#", ic)}, "a fragment"},
		{"empty beside a keyed issuer", []validator.Option{keyed, validator.WithIntrospection("", ic)}, `issuer "" beside WithIssuer`},
		{"another issuer of its own", []validator.Option{keyed, validator.WithIntrospection("https://opaque.example.com", ic)}, ""},
		{"default port spelled out", []validator.Option{keyed, validator.WithIntrospection("https://id.example.com:443", ic)}, "differ only in spelling"},
		{"default port, upper case, slash", []validator.Option{keyed, validator.WithIntrospection("HTTPS://ID.example.com:443/", ic)}, "differ only in spelling"},
		{"another port is another issuer", []validator.Option{keyed, validator.WithIntrospection("https://id.example.com:8443", ic)}, ""},
		{"an escaped path", []validator.Option{validator.WithIssuer(iss+"/~ops", validator.NewKeys()), validator.WithIntrospection(iss+"/%7Eops", ic)}, "differ only in spelling"},
		{"default port with a leading zero", []validator.Option{keyed, validator.WithIntrospection("https://id.example.com:0443", ic)}, "differ only in spelling"},
		{"host with a trailing dot", []validator.Option{keyed, validator.WithIntrospection("https://id.example.com./", ic)}, "differ only in spelling"},
		{"a dot segment", []validator.Option{validator.WithIssuer(iss+"/tenants/acme", validator.NewKeys()), validator.WithIntrospection(iss+"/./tenants/x/../acme", ic)}, "differ only in spelling"},
		{"an encoded slash is another issuer", []validator.Option{validator.WithIssuer(iss+"/tenants/acme", validator.NewKeys()), validator.WithIntrospection(iss+"/tenants%2Facme", ic)}, ""},
		{"an IPv6 address written at length", []validator.Option{validator.WithIssuer("https://[::1]:8443", validator.NewKeys()), validator.WithIntrospection("https://[0:0::1]:8443", ic)}, "differ only in spelling"},
		{"lower-case hex in a percent-encoding", []validator.Option{validator.WithIssuer(iss+"/a%2Fb", validator.NewKeys()), validator.WithIntrospection(iss+"/a%2fb", ic)}, "differ only in spelling"},
		{"a path in another case is another issuer", []validator.Option{keyed, validator.WithIntrospection(iss+"/Realm", ic)}, ""},
		{"discovered for another issuer", []validator.Option{keyed, validator.WithIntrospection(iss, other)}, `the introspector asks the endpoint of issuer "https://other.example.com"`},
		{"discovered for this issuer", []validator.Option{keyed, validator.WithIntrospection(iss, same)}, ""},
		{"introspection only, no name", []validator.Option{validator.WithIntrospection("", ic)}, ""},
		{"introspection only, discovered", []validator.Option{validator.WithIntrospection("", other)}, "the introspector asks the endpoint"},
	} {
		_, err := validator.New(append(tt.opts, validator.WithAudience("orders"))...)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}
