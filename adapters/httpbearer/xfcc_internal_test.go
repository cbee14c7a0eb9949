package httpbearer

import (
	"strings"
	"testing"
)

// xfccCert takes the certificate only from a value that is one element with
// one Cert, and reads quoted values (with their escapes) as values.
func TestXFCCCert(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"quoted", `Hash=ab;Cert="PEM"`, "PEM", true},
		{"unquoted", `Cert=PEM`, "PEM", true},
		{"key case", ` cert = "PEM" ; Subject="CN=a"`, "PEM", true},
		{"Envoy's full element", `By=spiffe://gw;Hash=ab;Cert="PEM";Subject="CN=billing,O=Example";URI=spiffe://x;DNS=a.example`, "PEM", true},
		{"separators in a quoted Subject", `Cert="PEM";Subject="CN=a;b,c=d"`, "PEM", true},
		{"escaped quote in a Subject", `Cert="PEM";Subject="CN=say \"hi\", O=x"`, "PEM", true},
		{"escaped backslash before the closing quote", `Subject="CN=a\\";Cert="PEM"`, "PEM", true},
		{"Chain is not Cert", `Cert="PEM";Chain="PEM2"`, "PEM", true},

		{"no Cert", `Hash=ab;Subject="CN=a"`, "", false},
		{"empty Cert", `Cert="";Hash=ab`, "", false},
		{"two elements", `By=a;Cert="OTHER",By=b;Cert="PEM"`, "", false},
		{"an element planted by a SAN", `Cert="PEM";URI=https://x/a,Cert=OTHER`, "", false},
		{"a Cert planted by a SAN", `Cert="PEM";DNS=a.example;Cert=OTHER`, "", false},
		{"a quote planted by a SAN never closes", `Cert="PEM";DNS=a"b`, "", false},
		{"a trailing backslash escapes nothing", `Cert="PEM";Subject="CN=a\`, "", false},
		{"empty", ``, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := xfccCert(tt.in)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("xfccCert(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// FuzzXFCCCert: no input panics; a certificate found is part of the value;
// and nothing appended to an accepted value (another element, another
// Cert) can keep it accepted, which is what stops a client's SANs, written
// after the proxy's Cert, from naming another certificate.
func FuzzXFCCCert(f *testing.F) {
	for _, s := range []string{`Hash=ab;Cert="PEM"`, `Cert=PEM;Subject="a,b"`, `Cert="P\"EM"`, `a,b`, `"`, `Cert="PEM";DNS=x,Cert=y`} {
		f.Add(s, ";Cert=x")
	}
	f.Fuzz(func(t *testing.T, v, tail string) {
		cert, ok := xfccCert(v)
		if !ok {
			return
		}
		if cert == "" || !strings.Contains(v, cert) {
			t.Fatalf("xfccCert(%q) = %q, not part of the value", v, cert)
		}
		if _, ok := xfccCert(v + "," + tail); ok {
			t.Fatalf("xfccCert accepts %q with a second element %q", v, tail)
		}
		if _, ok := xfccCert(v + ";Cert=" + tail); ok {
			t.Fatalf("xfccCert accepts %q with a second Cert %q", v, tail)
		}
	})
}
